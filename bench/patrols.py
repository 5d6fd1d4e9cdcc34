"""Patrols (issue 13): point batches through gunicorn, and one day's coverage of 16,000 grids.

Both walk the synthetic city (synthetic_city.py): its unit grids' edges are the streets. The
inspectors are 300 users `bench-inspector-000…299` (role inspector, unusable passwords, scoped
to the synthetic community), each given a block of the city (a 20 × 15 partition of its
160 × 100 cells) to walk: a non-backtracking random walk along the grid edges inside the block,
sampled at the inspector's pace, with GPS noise of the reported accuracy, a few fixes of poor
accuracy and a few jumps (fixed seed).

- **Point batches** (`run_batches`): each inspector starts a patrol (the service), then every
  batch of 10 points (1 s apart, accuracy 3–15 m) is a `POST /api/v1/patrols/<id>/points/`
  with the inspector's API token (knox, `Authorization: Token …`) to gunicorn (sync workers,
  DEBUG off) on loopback, from a second process (bench/loadgen.py, `--json-requests`) over a
  fixed number of keep-alive connections, as fast as the server answers (the real rate, 300
  inspectors every 10 s, is 30 batches/s; the target is ten times that). Batches go round by
  round (every inspector's first batch, then every second…), and every 20th batch is sent twice
  in a row, as a phone does when an answer was lost: the two race for the patrol's row lock.
  Afterwards the stored points are counted: each point sent exactly once, none twice, and the
  patrols' counters agree with the rows. Baselines, same run: the same load on
  `GET /open311/v2/discovery.json` (the server stack without any database work), and the raw
  PostGIS work of one batch — the service's own INSERT … unnest … ON CONFLICT with the unit-grid
  lookup, prepared, on a plain psycopg connection in autocommit, one batch after the other.
  The benchmark's patrols are deleted afterwards (their start events stay: audit rows).
- **Coverage of a day** (`run_coverage`): 300 ended patrols on DAY (08:30–~12:00 and
  ~13:30–17:00, a fix every 10–30 s, ~26 km each: ~380,000 points), written once in bulk (COPY
  into patrols_patrol and patrols_trackpoint; each fix judged by the service's own cleaning,
  each placed in its unit grid in memory with the same tie-break; the lines built in SQL as
  `end_patrol` builds them) and kept; `--drop-patrols` (or `--drop-synthetic`) deletes them.
  Measured: `coverage(since=DAY 00:00, until=DAY+1 00:00)` as the command center calls it (all
  unit grids, all inspectors), median of REPEAT, alternating call by call with two raw
  baselines on a plain psycopg connection: the bare share query (simplify, buffer, subdivide,
  intersection and union per grid over the day's stored lines, no points, time or visits) and
  the floor of any such answer, a plain ST_DWithin join counting the lines near each grid. The
  grids coverage finds walked are checked against the ST_DWithin grids.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from time import perf_counter_ns
from typing import Any

import numpy as np
import psycopg
import shapely
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from pyproj import Transformer

from bench.common import OUT_DIR, Result, percentile_us
from bench.server import gunicorn
from bench.synthetic_city import (
    COLUMNS,
    COMMUNITY_CODE,
    DISTRICT_CODE,
    METRIC_EPSG,
    ROWS,
    STORAGE_EPSG,
)
from geogrid.grids.assignment import GridIndex

INSPECTORS = 300
BLOCKS = (20, 15)  # blocks across × down: 300 blocks of 8 × 6–7 cells, one per inspector
USERNAME = "bench-inspector-{:03d}"
BATCH = 10
RESEND_EVERY = 20  # every 20th batch is sent twice (a lost answer)
SEED = 20261203
# The generated day: a Monday long before any `load_demo` history (which covers the past
# year), so coverage() of this day reads the benchmark's 300 tracks and nothing else.
DAY = date(2025, 6, 2)
DAY_NAMESPACE = uuid.UUID("5b1c0f3e-27a4-4d8e-9f61-0c3e2b7a9d41")
TARGET_BATCHES_PER_S = 300
TARGET_HTTP_P99_MS = 50
TARGET_COVERAGE_S = 5.0
REPEAT = 3
RAW_BATCHES = 600
TAU_S = 60.0  # correlation time of the GPS error

# --- Walks ------------------------------------------------------------------------------------


@dataclass
class Streets:
    """The grid edges as a graph: nodes (metric x, y), neighbours in CSR form."""

    x: np.ndarray
    y: np.ndarray
    start: np.ndarray  # neighbours of node i: target[start[i]:start[i + 1]]
    target: np.ndarray
    blocks: list[np.ndarray]  # per inspector: the nodes inside their block

    def block_box(self, block: int) -> tuple[float, float, float, float]:
        nodes = self.blocks[block]
        return (
            float(self.x[nodes].min()),
            float(self.y[nodes].min()),
            float(self.x[nodes].max()),
            float(self.y[nodes].max()),
        )


def streets(city: GridIndex) -> Streets:
    """The street graph of the synthetic city (neighbouring grids share their vertices bit for
    bit, so each shared edge is one street) and each inspector's block of nodes."""
    rings = shapely.get_exterior_ring(shapely.get_parts(city.geoms))
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    nodes, inverse = np.unique(coords, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    same_ring = ring[1:] == ring[:-1]
    u, v = inverse[:-1][same_ring], inverse[1:][same_ring]
    pairs = np.unique(np.column_stack([np.r_[u, v], np.r_[v, u]]), axis=0)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    start = np.searchsorted(pairs[:, 0], np.arange(len(nodes) + 1))
    to_metric = Transformer.from_crs(STORAGE_EPSG, METRIC_EPSG, always_xy=True)
    x, y = to_metric.transform(nodes[:, 0], nodes[:, 1])
    x, y = np.asarray(x), np.asarray(y)
    # Blocks by position in the city's bounding box: 20 across, 15 down.
    across = np.minimum(((x - x.min()) / (np.ptp(x) + 1e-9) * BLOCKS[0]).astype(int), BLOCKS[0] - 1)
    down = np.minimum(((y - y.min()) / (np.ptp(y) + 1e-9) * BLOCKS[1]).astype(int), BLOCKS[1] - 1)
    block_of = down * BLOCKS[0] + across
    order = np.argsort(block_of, kind="stable")
    bounds = np.searchsorted(block_of[order], np.arange(BLOCKS[0] * BLOCKS[1] + 1))
    blocks = [order[bounds[b] : bounds[b + 1]] for b in range(BLOCKS[0] * BLOCKS[1])]
    assert COLUMNS * ROWS // len(blocks) > 40  # every block holds a neighbourhood of grids
    return Streets(x, y, start, pairs[:, 1], blocks)


def walk(
    graph: Streets, block: int, metres: float, rng: np.random.Generator, node: int | None = None
) -> tuple[np.ndarray, np.ndarray, int]:
    """A walk of at least `metres` along the streets inside the block (metric x, y of the
    nodes passed) and its last node: never straight back unless at a dead end."""
    west, south, east, north = graph.block_box(block)
    margin = 40.0
    if node is None:
        node = int(rng.choice(graph.blocks[block]))
    path, previous, walked = [node], -1, 0.0
    while walked < metres:
        neighbours = graph.target[graph.start[node] : graph.start[node + 1]]
        inside = neighbours[
            (graph.x[neighbours] >= west - margin)
            & (graph.x[neighbours] <= east + margin)
            & (graph.y[neighbours] >= south - margin)
            & (graph.y[neighbours] <= north + margin)
            & (neighbours != previous)
        ]
        choices = inside if len(inside) else neighbours
        following = int(choices[rng.integers(len(choices))])
        walked += float(
            np.hypot(graph.x[following] - graph.x[node], graph.y[following] - graph.y[node])
        )
        previous, node = node, following
        path.append(node)
    return graph.x[path], graph.y[path], node


@dataclass
class Fixes:
    seconds: np.ndarray  # since the walk's start
    lon: np.ndarray
    lat: np.ndarray
    accuracy: np.ndarray


def fixes(
    x: np.ndarray,
    y: np.ndarray,
    seconds: np.ndarray,
    speed: float,
    rng: np.random.Generator,
    *,
    poor: float = 0.01,
    jumps: float = 0.003,
) -> Fixes:
    """GPS fixes at `seconds` of a walk along the polyline (x, y) at `speed` m/s. A phone's
    error drifts rather than jumping from one second to the next, so the noise (and the
    reported accuracy, 3–15 m) follow a slow random walk (correlation time TAU_S) whose spread
    is the reported accuracy; `poor` of the fixes are reported at 60–150 m (and that far off),
    `jumps` of them are a multipath jump of 150–600 m with a good-looking accuracy."""
    along = np.r_[0.0, np.cumsum(np.hypot(np.diff(x), np.diff(y)))]
    s = np.minimum(seconds * speed, along[-1])
    px, py = np.interp(s, along, x), np.interp(s, along, y)
    n = len(seconds)
    rho = np.exp(-np.diff(seconds, prepend=seconds[0] - 1e9) / TAU_S)
    shocks = rng.standard_normal((3, n))
    drift = np.empty((3, n))
    drift[:, 0] = shocks[:, 0]
    for k in range(1, n):
        drift[:, k] = rho[k] * drift[:, k - 1] + np.sqrt(1 - rho[k] ** 2) * shocks[:, k]
    accuracy = 9.0 + 6.0 * np.tanh(drift[2])
    noise = drift[:2] * (accuracy / 2)
    bad = rng.random(n) < poor
    accuracy[bad] = rng.uniform(60.0, 150.0, int(bad.sum()))
    noise[:, bad] = rng.standard_normal((2, int(bad.sum()))) * accuracy[bad]
    jump = rng.random(n) < jumps
    angle = rng.uniform(0, 2 * np.pi, n)
    reach = np.where(jump, rng.uniform(150.0, 600.0, n), 0.0)
    px = px + noise[0] + reach * np.cos(angle)
    py = py + noise[1] + reach * np.sin(angle)
    to_storage = Transformer.from_crs(METRIC_EPSG, STORAGE_EPSG, always_xy=True)
    lon, lat = to_storage.transform(px, py)
    return Fixes(seconds, np.round(lon, 7), np.round(lat, 7), np.round(accuracy, 1))


# --- The inspectors ---------------------------------------------------------------------------


def ensure_inspectors() -> list[int]:
    """The 300 benchmark inspectors' ids (created once), each scoped to the synthetic
    community so their patrols carry its district."""
    from geogrid.accounts.models import Role, User
    from geogrid.grids.models import Grid, GridScope

    community = Grid.objects.get(code=COMMUNITY_CODE, valid_to__isnull=True)
    ids = []
    for i in range(INSPECTORS):
        user, created = User.objects.get_or_create(
            username=USERNAME.format(i), defaults={"role": Role.INSPECTOR}
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        GridScope.objects.get_or_create(user=user, grid=community)
        ids.append(user.pk)
    return ids


def _connect() -> psycopg.Connection:
    db = settings.DATABASES["default"]
    return psycopg.connect(
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        dbname=db["NAME"],
        user=db["USER"] or None,
        password=db["PASSWORD"] or None,
        autocommit=True,
    )


def _delete_patrols(where: str, params: list[Any]) -> int:
    """Delete benchmark patrols and their points (their audit events stay)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM patrols_patrol p WHERE {where}", params)
        ids = [r[0] for r in cursor.fetchall()]
        if not ids:
            return 0
        cursor.execute("DELETE FROM patrols_trackpoint WHERE patrol_id = ANY(%s)", [ids])
        cursor.execute("DELETE FROM patrols_patrol WHERE id = ANY(%s)", [ids])
    return len(ids)


_BENCH_INSPECTOR = (
    "p.inspector_id IN (SELECT id FROM accounts_user WHERE username LIKE 'bench-inspector-%%')"
)


def drop_patrol_data() -> int:
    """Delete every patrol of the benchmark inspectors (the generated day included)."""
    removed = _delete_patrols(_BENCH_INSPECTOR, [])
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE patrols_patrol, patrols_trackpoint")
    return removed


# --- 1. Point batches through gunicorn --------------------------------------------------------


def _batches(
    graph: Streets, patrols: list[int], started: datetime, rounds: int, rng: np.random.Generator
) -> list[list[dict[str, Any]]]:
    """Per inspector, `rounds` batches of BATCH points each, 1 s apart, walking their block."""
    out = []
    seconds = np.arange(rounds * BATCH, dtype=float)
    for i, _ in enumerate(patrols):
        speed = float(rng.uniform(1.1, 1.5))
        x, y, _ = walk(graph, i, speed * len(seconds) + 50, rng)
        track = fixes(x, y, seconds, speed, rng)
        points = [
            {
                "id": str(uuid.UUID(bytes=rng.bytes(16), version=4)),
                "t": (started + timedelta(seconds=5 + float(t))).isoformat(),
                "x": float(lon),
                "y": float(lat),
                "accuracy": float(a),
            }
            for t, lon, lat, a in zip(
                track.seconds, track.lon, track.lat, track.accuracy, strict=True
            )
        ]
        out.append([points[r * BATCH : (r + 1) * BATCH] for r in range(rounds)])
    return out


def _loadgen(
    port: int,
    *,
    concurrency: int,
    path: str | None = None,
    requests: int = 0,
    json_requests: str | None = None,
) -> dict:
    command = [
        sys.executable,
        "-m",
        "bench.loadgen",
        "--port",
        str(port),
        "--concurrency",
        str(concurrency),
    ]
    if json_requests:
        command += ["--json-requests", json_requests]
    else:
        command += ["--path", str(path), "--requests", str(requests)]
    output = subprocess.run(
        command, check=True, capture_output=True, text=True, cwd=settings.BASE_DIR
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def _raw_insert(patrol_id: int, district: str, batches: list[list[dict[str, Any]]]) -> list[int]:
    """The raw PostGIS work of a batch, one after the other: the service's INSERT … unnest …
    ON CONFLICT with the unit-grid lookup, prepared, autocommit. Nanoseconds per batch."""
    from geogrid.patrols.services import _INSERT_SQL

    timings = []
    with _connect() as raw, raw.cursor() as cursor:
        for batch in batches:
            params = {
                "district": district,
                "patrol": patrol_id,
                "now": timezone.now(),
                "ids": [uuid.UUID(p["id"]) for p in batch],
                "times": [datetime.fromisoformat(p["t"]) for p in batch],
                "lons": [p["x"] for p in batch],
                "lats": [p["y"] for p in batch],
                "accuracies": [p["accuracy"] for p in batch],
                "statuses": ["ok"] * len(batch),
            }
            start = perf_counter_ns()
            cursor.execute(_INSERT_SQL, params, prepare=True)
            timings.append(perf_counter_ns() - start)
        prepared = cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%%unnest%%'"
        ).fetchone()[0]
    if not prepared:
        raise RuntimeError("the raw baseline's INSERT was not prepared")
    return timings


def run_batches(city: GridIndex, *, requests: int, concurrency: int, workers: int) -> list[Result]:
    from geogrid.accounts.models import User
    from geogrid.accounts.services import issue_token
    from geogrid.patrols.models import Patrol, PatrolSource
    from geogrid.patrols.services import start_patrol

    rng = np.random.default_rng(SEED)
    inspector_ids = ensure_inspectors()
    _delete_patrols(_BENCH_INSPECTOR + " AND p.source = %s", [PatrolSource.APP])
    users = {u.pk: u for u in User.objects.filter(pk__in=inspector_ids)}
    # Two rounds warm the workers (imports, connections, prepared statements); the measured
    # load follows. With ~5 % resent, `requests` batches need this many rounds.
    rounds = 2 + max(1, round(requests / INSPECTORS / (1 + 1 / RESEND_EVERY)))
    started = timezone.now() - timedelta(seconds=rounds * BATCH + 600)
    patrols, tokens = [], []
    for pk in inspector_ids:
        patrol, _ = start_patrol(
            actor=users[pk],
            client_id=uuid.UUID(bytes=rng.bytes(16), version=4),
            started_at=started,
        )
        patrols.append(patrol.pk)
        tokens.append(issue_token(user=users[pk])[0])
    graph = streets(city)
    per_inspector = _batches(graph, patrols, started, rounds, rng)
    plan: list[dict[str, Any]] = []
    for r in range(rounds):
        for i, patrol_id in enumerate(patrols):
            item = {
                "path": f"/api/v1/patrols/{patrol_id}/points/",
                "headers": {"Authorization": f"Token {tokens[i]}"},
                "body": {"crs": "EPSG:4490", "points": per_inspector[i][r]},
            }
            plan.append(item)
            if len(plan) % RESEND_EVERY == 0:
                plan.append(item)
    warm = 2 * INSPECTORS + (2 * INSPECTORS) // RESEND_EVERY
    OUT_DIR.mkdir(exist_ok=True)
    warm_file, load_file = OUT_DIR / "patrol-warm.json", OUT_DIR / "patrol-batches.json"
    warm_file.write_text(json.dumps(plan[:warm]), encoding="utf-8")
    load_file.write_text(json.dumps(plan[warm:]), encoding="utf-8")
    sent_points = {p["id"] for item in plan for p in item["body"]["points"]}
    print(
        f"  {len(plan):,} batches ({len(plan) - warm:,} measured) of {BATCH} points from "
        f"{INSPECTORS} inspectors, {len(sent_points):,} distinct points",
        flush=True,
    )
    with gunicorn(workers) as port:
        warmed = _loadgen(port, concurrency=concurrency, json_requests=str(warm_file))
        _loadgen(
            port, concurrency=workers, path="/open311/v2/discovery.json", requests=workers * 20
        )
        baseline = _loadgen(
            port,
            concurrency=concurrency,
            path="/open311/v2/discovery.json",
            requests=len(plan) - warm,
        )
        measured = _loadgen(port, concurrency=concurrency, json_requests=str(load_file))
    # Exactly once: every point sent is stored, none twice, and the counters agree.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT (patrol_id, client_id)), "
            "count(*) FILTER (WHERE status = 'ok'), count(*) FILTER (WHERE status = 'jump'), "
            "count(*) FILTER (WHERE status = 'inaccurate'), count(grid_id) "
            "FROM patrols_trackpoint WHERE patrol_id = ANY(%s)",
            [patrols],
        )
        stored, distinct, ok, jump, inaccurate, in_grid = cursor.fetchone()
        cursor.execute(
            "SELECT sum(points_accepted), sum(points_jump), sum(points_inaccurate) "
            "FROM patrols_patrol WHERE id = ANY(%s)",
            [patrols],
        )
        counters = [int(v or 0) for v in cursor.fetchone()]
    exactly_once = stored == distinct == len(sent_points) and counters == [ok, jump, inaccurate]
    # The raw baseline: the same INSERT for as many batches, into one spare patrol.
    spare = Patrol.objects.create(
        client_id=uuid.uuid4(),
        inspector_id=inspector_ids[0],
        district_code=DISTRICT_CODE,
        started_at=started,
    )
    raw_plan = [item["body"]["points"] for item in plan[warm : warm + RAW_BATCHES + 50]]
    # New ids: the rows above are stored already (a repeat would insert nothing).
    for batch in raw_plan:
        for p in batch:
            p["id"] = str(uuid.UUID(bytes=rng.bytes(16), version=4))
    raw = _raw_insert(spare.pk, DISTRICT_CODE, raw_plan)[50:]
    raw_seconds = sum(raw) / 1e9
    removed = _delete_patrols(_BENCH_INSPECTOR + " AND p.source = %s", [PatrolSource.APP])
    from knox.models import AuthToken

    AuthToken.objects.filter(user_id__in=inspector_ids).delete()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE patrols_patrol, patrols_trackpoint")
    details = {
        "measured": measured,
        "warm_up": warmed,
        "baseline_discovery": baseline,
        "raw_insert": {
            "batches": len(raw),
            "p50_ms": percentile_us(raw, 50) / 1000,
            "p99_ms": percentile_us(raw, 99) / 1000,
            "batches_per_s": len(raw) / raw_seconds,
        },
        "workers": workers,
        "concurrency": concurrency,
        "batches_sent": len(plan),
        "points_sent_distinct": len(sent_points),
        "points_stored": stored,
        "points_stored_distinct": distinct,
        "verdicts": {"ok": ok, "jump": jump, "inaccurate": inaccurate, "in_a_grid": in_grid},
        "patrol_counters": counters,
        "exactly_once": exactly_once,
        "patrols_removed": removed,
    }
    ok_load = measured["errors"] == 0 and warmed["errors"] == 0 and exactly_once
    note = f"{stored:,} of {len(sent_points):,} points stored once" + (
        "" if exactly_once else " — MISMATCH"
    )
    return [
        Result(
            f"patrol point batches/s ({workers} workers, {concurrency} connections)",
            measured["rps"],
            "req/s",
            "GET discovery.json (no database)",
            baseline["rps"],
            target="≥ 300/s, 0 errors, exactly once",
            passed=ok_load and measured["rps"] >= TARGET_BATCHES_PER_S,
            higher_is_better=True,
            details=details,
        ),
        Result(
            f"patrol point batch p99 (p50 {measured['p50_ms']} ms; {note})",
            measured["p99_ms"],
            "ms",
            "raw prepared INSERT … unnest p99",
            details["raw_insert"]["p99_ms"],
            target="p99 ≤ 50 ms",
            passed=ok_load and measured["p99_ms"] <= TARGET_HTTP_P99_MS,
            details=details,
        ),
    ]


# --- 2. Coverage of one day -------------------------------------------------------------------


def _day_start() -> datetime:
    return timezone.make_aware(datetime.combine(DAY, datetime.min.time()))


def _day_patrols() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM patrols_patrol p WHERE {_BENCH_INSPECTOR} "
            "AND p.source = 'demo' AND p.started_at >= %s AND p.started_at < %s "
            "AND p.geom IS NOT NULL",
            [_day_start(), _day_start() + timedelta(days=1)],
        )
        return cursor.fetchone()[0]


# Each generated patrol's line, as `end_patrol` draws it (services._LINE_SQL), for all at once.
_LINES_SQL = """
WITH pts AS (
    SELECT patrol_id, geom, recorded_at,
           CASE WHEN recorded_at - lag(recorded_at) OVER w > make_interval(secs => %(gap)s)
                THEN 1 ELSE 0 END AS brk
    FROM patrols_trackpoint WHERE patrol_id = ANY(%(patrols)s) AND status = 'ok'
    WINDOW w AS (PARTITION BY patrol_id ORDER BY recorded_at)
), pieces AS (
    SELECT patrol_id, geom, recorded_at,
           sum(brk) OVER (PARTITION BY patrol_id ORDER BY recorded_at) AS piece FROM pts
), lines AS (
    SELECT patrol_id, ST_RemoveRepeatedPoints(ST_MakeLine(geom ORDER BY recorded_at)) AS line
    FROM pieces GROUP BY patrol_id, piece
), walked AS (
    SELECT patrol_id, ST_Multi(ST_Collect(line)) AS geom,
           COALESCE(sum(ST_Length(line::geography)), 0) AS metres
    FROM lines WHERE ST_NPoints(line) >= 2 GROUP BY patrol_id
)
UPDATE patrols_patrol p SET geom = walked.geom, distance_m = walked.metres
FROM walked WHERE p.id = walked.patrol_id
"""


def ensure_day(city: GridIndex, progress=print) -> bool:
    """The generated day of 300 patrols (created once and kept); True when created now."""
    from geogrid.patrols.cleaning import clean
    from geogrid.patrols.models import PointStatus
    from geogrid.patrols.services import limits

    if _day_patrols() == INSPECTORS:
        return False
    progress(f"  generating {INSPECTORS} day-long tracks on {DAY} (once)…")
    clock = time.perf_counter()
    inspector_ids = ensure_inspectors()
    _delete_patrols(
        _BENCH_INSPECTOR + " AND p.source = 'demo' AND p.started_at >= %s AND p.started_at < %s",
        [_day_start(), _day_start() + timedelta(days=1)],
    )
    rng = np.random.default_rng(SEED + 1)
    graph = streets(city)
    day0 = _day_start()
    rule = limits()
    tracks = []
    for i in range(INSPECTORS):
        speed = float(rng.uniform(0.9, 1.3))
        parts, node = [], None
        # Morning and afternoon, a lunch break between (a gap: a new piece of line).
        for begin_h, hours in ((8.5, rng.uniform(3.0, 3.5)), (13.5, rng.uniform(3.0, 3.5))):
            begin = begin_h * 3600 + rng.uniform(0, 1800)
            steps = rng.uniform(10, 30, int(hours * 3600 / 10) + 1)
            seconds = np.cumsum(steps)
            seconds = seconds[seconds <= hours * 3600]
            x, y, node = walk(graph, i, speed * seconds[-1] + 50, rng, node)
            f = fixes(x, y, seconds, speed, rng, poor=0.01, jumps=0.005)
            f.seconds = f.seconds + begin
            parts.append(f)
        t = np.concatenate([p.seconds for p in parts])
        lon = np.concatenate([p.lon for p in parts])
        lat = np.concatenate([p.lat for p in parts])
        accuracy = np.concatenate([p.accuracy for p in parts])
        verdicts = clean(t + day0.timestamp(), lon, lat, accuracy, previous=None, limits=rule)
        tracks.append((t, lon, lat, accuracy, verdicts))
    lon_all = np.concatenate([tr[1] for tr in tracks])
    lat_all = np.concatenate([tr[2] for tr in tracks])
    positions = city.positions(lon_all, lat_all)
    grid_all = np.where(positions >= 0, city.ids[np.maximum(positions, 0)], -1)
    progress(
        f"  {len(lon_all):,} fixes generated and cleaned in {time.perf_counter() - clock:.1f} s; "
        "writing…"
    )
    wkb = shapely.to_wkb(
        shapely.set_srid(shapely.points(lon_all, lat_all), STORAGE_EPSG),
        hex=True,
        include_srid=True,
    )
    with transaction.atomic():
        raw = connection.connection
        with raw.cursor() as cursor:
            with cursor.copy(
                "COPY patrols_patrol (district_code, client_id, inspector_id, source, status, "
                "started_at, ended_at, points_accepted, points_jump, points_inaccurate, "
                "distance_m) FROM STDIN"
            ) as copy:
                for i, (t, _, _, _, verdicts) in enumerate(tracks):
                    copy.write_row(
                        (
                            DISTRICT_CODE,
                            uuid.uuid5(DAY_NAMESPACE, str(i)),
                            inspector_ids[i],
                            "demo",
                            "ended",
                            day0 + timedelta(seconds=float(t[0])),
                            day0 + timedelta(seconds=float(t[-1])),
                            verdicts.count(PointStatus.ACCEPTED),
                            verdicts.count(PointStatus.JUMP),
                            verdicts.count(PointStatus.INACCURATE),
                            0.0,
                        )
                    )
            cursor.execute(
                "SELECT inspector_id, id FROM patrols_patrol WHERE source = 'demo' "
                "AND client_id = ANY(%s)",
                ([uuid.uuid5(DAY_NAMESPACE, str(i)) for i in range(INSPECTORS)],),
            )
            patrol_of = dict(cursor.fetchall())
            at = 0
            with cursor.copy(
                "COPY patrols_trackpoint (district_code, patrol_id, client_id, recorded_at, "
                "received_at, geom, accuracy_m, status, grid_id) FROM STDIN"
            ) as copy:
                for i, (t, _, _, accuracy, verdicts) in enumerate(tracks):
                    patrol_id = patrol_of[inspector_ids[i]]
                    received = day0 + timedelta(seconds=float(t[-1]) + 60)
                    for k in range(len(t)):
                        grid = int(grid_all[at])
                        copy.write_row(
                            (
                                DISTRICT_CODE,
                                patrol_id,
                                uuid.UUID(bytes=rng.bytes(16), version=4),
                                day0 + timedelta(seconds=float(t[k])),
                                received,
                                wkb[at],
                                float(accuracy[k]),
                                verdicts[k],
                                grid if grid >= 0 else None,
                            )
                        )
                        at += 1
        with connection.cursor() as cursor:
            cursor.execute(
                _LINES_SQL,
                {"patrols": list(patrol_of.values()), "gap": float(settings.GEOGRID_PATROL_GAP_S)},
            )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE patrols_patrol, patrols_trackpoint")
    progress(f"  written in {time.perf_counter() - clock:.1f} s in all")
    return True


# The bare share, as coverage.py first computed it: the day's stored lines, simplified to a
# metre, each buffered whole, cut into pieces, intersected with each grid they reach and
# unioned per grid. No points, no time, no visits.
RAW_SHARE_SQL = """
WITH buffers AS (
    SELECT ST_Subdivide(ST_Buffer(ST_Simplify(ST_Transform(geom, %(metric)s), 1.0),
                                  %(distance)s, 'quad_segs=4'), 128) AS geom
    FROM patrols_patrol
    WHERE started_at < %(until)s AND ended_at >= %(since)s AND geom IS NOT NULL
), near AS (
    SELECT geom, ST_Transform(ST_Envelope(geom), 4490) AS box FROM buffers
)
SELECT g.id,
       ST_Area(ST_Intersection(ST_Transform(g.geom, %(metric)s), ST_Union(n.geom)))
         / ST_Area(ST_Transform(g.geom, %(metric)s))
FROM grids_grid g JOIN near n ON g.geom && n.box
WHERE g.valid_to IS NULL AND g.level_id = %(level)s
GROUP BY g.id, g.geom
"""
# The floor: which grids lie within the distance of which lines, nothing built.
RAW_DWITHIN_SQL = """
SELECT g.id, count(*)
FROM patrols_patrol p
JOIN grids_grid g ON g.geom && ST_Expand(p.geom, %(degrees)s)
WHERE p.started_at < %(until)s AND p.ended_at >= %(since)s AND p.geom IS NOT NULL
  AND g.valid_to IS NULL AND g.level_id = %(level)s
  AND ST_DWithin(ST_Transform(g.geom, %(metric)s), ST_Transform(p.geom, %(metric)s),
                 %(distance)s)
GROUP BY g.id
"""


def _patrols_without_walked_area(since: datetime, until: datetime, distance: float) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.id FROM patrols_patrol p WHERE p.started_at < %s AND p.ended_at >= %s "
            "AND p.geom IS NOT NULL AND NOT EXISTS (SELECT 1 FROM patrols_walkedarea w "
            "WHERE w.patrol_id = p.id AND w.distance_m = %s)",
            [until, since, distance],
        )
        return [row[0] for row in cursor.fetchall()]


def run_coverage(city: GridIndex, *, repeat: int = REPEAT) -> list[Result]:
    from geogrid.patrols.coverage import coverage, leaf_level_id

    created = ensure_day(city)
    since, until = _day_start(), _day_start() + timedelta(days=1)
    distance = float(settings.GEOGRID_COVERAGE_DISTANCE_M)
    # Ending a patrol draws the ground it covered (services.draw_walked_areas); the day's
    # patrols were written in bulk, so they get theirs here, timed apart: it is the work the
    # 300 end_patrol calls of the day do, one patrol at a time, spread over the day.
    clock = time.perf_counter()
    missing = _patrols_without_walked_area(since, until, distance)
    if missing:
        from geogrid.patrols.services import draw_walked_areas

        with transaction.atomic():
            draw_walked_areas(missing)
        drawn_s = time.perf_counter() - clock
        print(
            f"  walked areas of {len(missing)} patrols drawn in {drawn_s:.1f} s "
            f"({drawn_s / len(missing) * 1000:.0f} ms a patrol, as at each end_patrol)",
            flush=True,
        )
    params = {
        "since": since,
        "until": until,
        "metric": settings.GEOGRID_METRIC_SRID,
        "distance": distance,
        # A metre is ~1/111,000 degree of latitude and more of longitude: the box is
        # grown generously and ST_DWithin decides in metres.
        "degrees": distance / 111_000 * 2,
        "level": leaf_level_id(),
    }
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), sum(points_accepted + points_jump + points_inaccurate), "
            "sum(points_jump), sum(points_inaccurate), sum(distance_m) "
            "FROM patrols_patrol WHERE started_at < %s AND ended_at >= %s",
            [until, since],
        )
        patrols, points, jumps, inaccurate, metres = cursor.fetchone()
    timings: dict[str, list[int]] = {"coverage": [], "share": [], "dwithin": []}
    rows, shares, near = [], [], []
    with _connect() as raw, raw.cursor() as cursor:
        # One warm-up of each (caches, plans), then REPEAT rounds, the order turning.
        steps = {
            "coverage": lambda: coverage(since=since, until=until),
            "share": lambda: cursor.execute(RAW_SHARE_SQL, params).fetchall(),
            "dwithin": lambda: cursor.execute(RAW_DWITHIN_SQL, params).fetchall(),
        }
        names = list(steps)
        for round_ in range(repeat + 1):
            for name in names[round_ % 3 :] + names[: round_ % 3]:
                start = perf_counter_ns()
                value = steps[name]()
                if round_:
                    timings[name].append(perf_counter_ns() - start)
                if name == "coverage":
                    rows = value
                elif name == "share":
                    shares = value
                else:
                    near = value
    med = {name: statistics.median(t) / 1e9 for name, t in timings.items()}
    walked = {r.grid_id for r in rows if r.share > 0}
    within = {g for g, _ in near}
    synthetic_rows = [r for r in rows if r.code.startswith(DISTRICT_CODE)]
    details = {
        "day": DAY.isoformat(),
        "created_now": created,
        "patrols": patrols,
        "points": int(points or 0),
        "jumps": int(jumps or 0),
        "inaccurate": int(inaccurate or 0),
        "km_walked": round(float(metres or 0) / 1000, 1),
        "grids_answered": len(rows),
        "synthetic_grids": len(synthetic_rows),
        "grids_walked": len(walked),
        "grids_within_distance": len(within),
        "walked_not_within": len(walked - within),
        "within_not_walked": len(within - walked),
        "mean_share_synthetic": round(
            sum(r.share for r in synthetic_rows) / max(1, len(synthetic_rows)), 4
        ),
        "visits": sum(r.visits for r in rows),
        "hours_in_grids": round(sum(r.seconds for r in rows) / 3600, 1),
        "timings_s": {k: [round(v / 1e9, 3) for v in t] for k, t in timings.items()},
        "raw_share_grids": len(shares),
    }
    label = (
        f"coverage of {len(synthetic_rows):,} grids, {patrols} tracks "
        f"({int(points or 0):,} points), {len(walked):,} grids walked"
    )
    return [
        Result(
            label,
            med["coverage"],
            "s",
            "raw share SQL, whole-line buffers",
            med["share"],
            target="≤ 5 s",
            passed=med["coverage"] <= TARGET_COVERAGE_S,
            details=details,
        ),
        Result(
            f"coverage, same day (walked {len(walked):,} grids; within "
            f"{distance:g} m of a track by ST_DWithin {len(within):,})",
            med["coverage"],
            "s",
            "raw ST_DWithin grid × track join",
            med["dwithin"],
            details=details,
        ),
    ]
