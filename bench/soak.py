"""Soak test: a mixed, rate-bounded load against gunicorn (DEBUG off) for a fixed time.

- load: bench/loadgen.py in a second process (`--plan`): Open311 POSTs, component searches
  (near a point; by code prefix), locate, vector tiles (grids and components, z14) and the
  command center's refreshes (grid counts over 30 and 365 days, indicators, hot grids), in a
  fixed random order at RATE requests/s from CONCURRENCY keep-alive connections, for SECONDS
  (default 120 s at 20/s: 2,400 requests), against gunicorn as `make serve` runs it (the
  repository's gunicorn.conf.py: WORKERS threaded processes, JSON request logs) on loopback. Open311 and locate use the demo city; tiles and the command center the synthetic
  city and its million reports (the `tiles` and `heat` benchmarks make them once);
- baseline, same run, just before: the same requests one at a time (one connection, a low
  rate, every kind equally often) — what each kind costs without the others;
- recorded: throughput (and per 10-second window), per kind p50/p95/p99/max and errors, how
  far the load fell behind its schedule, and the database's size (`pg_database_size`) and
  connections (`pg_stat_activity`: before, the most seen while the load ran, after).
Every case the soak writes is deleted afterwards (its size figure is taken before that).
The server runs as in production: the grid tiles seeded first (`seed_tiles --if-stale`, as the
timer keeps them) and the command center's answers kept GEOGRID_DASHBOARD_CACHE_S seconds per
worker (the default 30), so a dashboard kind's p50 is mostly a kept answer and its p95/p99 a
computed one.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import timedelta

import shapely
from django.conf import settings
from django.db import connection
from django.utils import timezone

from bench import cases, tiles
from bench.common import OUT_DIR, Result
from bench.heat import _token
from bench.server import gunicorn
from bench.synthetic_city import clustered_points
from geogrid.grids.assignment import GridIndex
from geogrid.tiles.seeding import seed_layer

# Kind: (weight per 100 requests, the target of bench/README.md that applies, as
# (statistic, bound in ms), or None where the README sets no absolute target).
KINDS: dict[str, tuple[int, tuple[str, float] | None]] = {
    "open311 POST": (30, ("p99", 50.0)),
    "locate": (20, None),
    "components near": (10, None),
    "components code prefix": (5, None),
    "tiles grids z14": (15, ("p95", 10.0)),
    "tiles components z14": (10, ("p95", 200.0)),
    # A dashboard refreshes its cards every 30–60 s: at the default 20 requests/s these
    # weights are ~1.6 refreshes a second, some 50–100 dashboards open at once.
    "grid-counts 30 days": (3, ("p50", 100.0)),
    "grid-counts 365 days": (1, ("p50", 250.0)),
    "indicators 30 days": (3, None),
    "hot-grids 30 days": (3, None),
}
# The one-at-a-time baseline: one connection, a request every 200 ms (most take far less, so
# each runs alone), 150 requests, every kind equally often.
QUIET_RATE, QUIET_SECONDS = 5, 30


def _database_figures() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_database_size(current_database()), "
            "(SELECT count(*) FROM pg_stat_activity "
            " WHERE datname = current_database() AND pid <> pg_backend_pid()), "
            "(SELECT count(*) FROM pg_stat_activity WHERE backend_type = "
            " 'client backend' AND pid <> pg_backend_pid())"
        )
        size, here, everywhere = cursor.fetchone()
    return {
        "size_bytes": int(size),
        "connections": int(here),
        "connections_all_databases": int(everywhere),
    }


def _plan(demo: GridIndex, synthetic: GridIndex, key: str, token: str) -> dict:
    lon, lat = clustered_points(6_000, _bounds(demo), seed=97)
    inside = demo.positions(lon, lat) >= 0
    lon, lat = lon[inside][:2_000].tolist(), lat[inside][:2_000].tolist()
    points = list(zip(lon, lat, strict=True))
    synthetic_bounds = _bounds(synthetic)
    s_lon, s_lat = clustered_points(2_000, synthetic_bounds, seed=98)
    with connection.cursor() as cursor:
        # Code prefixes of real components (district + class + the first 3 serial digits:
        # up to 1,000 matches, one page of 50 returned).
        cursor.execute(
            "SELECT DISTINCT left(code, length(code) - 3) FROM "
            "(SELECT code FROM components_component TABLESAMPLE SYSTEM (1) "
            " LIMIT 500) c"
        )
        prefixes = [row[0] for row in cursor.fetchall()] or ["110101"]
    auth = {"Authorization": f"Token {token}"}
    now = timezone.now()
    year = (f"since={(now - timedelta(days=365)).isoformat()}&until={now.isoformat()}").replace(
        "+", "%2B"
    )
    return {
        "open311 POST": {
            "method": "POST",
            "paths": ["/open311/v2/requests.json"],
            "bodies": [
                {
                    "api_key": key,
                    "service_code": cases.SERVICE,
                    "lat": f"{y:.7f}",
                    "long": f"{x:.7f}",
                    "description": cases.MARK,
                }
                for x, y in points
            ],
        },
        "locate": {
            "paths": [
                f"/api/v1/locate?lon={x:.7f}&lat={y:.7f}"
                for x, y in list(points[::2])
                + list(zip(s_lon.tolist(), s_lat.tolist(), strict=True))[:1_000]
            ]
        },
        "components near": {
            "headers": auth,
            "paths": [
                f"/api/v1/components/?near={x:.6f},{y:.6f}&radius=300&page_size=50"
                for x, y in points[1::2]
            ],
        },
        "components code prefix": {
            "headers": auth,
            "paths": [f"/api/v1/components/?q={prefix}&page_size=50" for prefix in prefixes],
        },
        "tiles grids z14": {
            "paths": [
                f"/tiles/grids/{z}/{x}/{y}.pbf"
                for z, x, y in tiles._tiles(synthetic_bounds, 14, 200)
            ]
        },
        "tiles components z14": {
            "paths": [
                f"/tiles/components/{z}/{x}/{y}.pbf"
                for z, x, y in tiles._tiles(synthetic_bounds, 14, 200)
            ]
        },
        "grid-counts 30 days": {"headers": auth, "paths": ["/api/v1/command-center/grid-counts/"]},
        "grid-counts 365 days": {
            "headers": auth,
            "paths": [f"/api/v1/command-center/grid-counts/?{year}"],
        },
        "indicators 30 days": {"headers": auth, "paths": ["/api/v1/command-center/indicators/"]},
        "hot-grids 30 days": {"headers": auth, "paths": ["/api/v1/command-center/hot-grids/"]},
    }


def _bounds(index: GridIndex) -> tuple[float, float, float, float]:
    west, south, east, north = (float(v) for v in shapely.total_bounds(index.geoms))
    return west, south, east, north


def _loadgen(
    port: int, plan_path, *, seconds: float, rate: float, concurrency: int, on_poll=None
) -> dict:
    command = [
        sys.executable,
        "-m",
        "bench.loadgen",
        "--port",
        str(port),
        "--plan",
        str(plan_path),
        "--duration",
        str(seconds),
        "--rate",
        str(rate),
        "--concurrency",
        str(concurrency),
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=settings.BASE_DIR
    )
    if on_poll is not None:
        stop = threading.Event()
        # Sampled from this process while the load runs (its own connection, not gunicorn's).
        sampler = threading.Thread(target=on_poll, args=(stop,), daemon=True)
        sampler.start()
    out, err = process.communicate()
    if on_poll is not None:
        stop.set()
        sampler.join()
    if process.returncode:
        raise RuntimeError(f"loadgen failed: {err[-2000:]}")
    return json.loads(out.strip().splitlines()[-1])


def run(
    demo: GridIndex,
    synthetic: GridIndex,
    *,
    seconds: float,
    rate: float,
    workers: int,
    concurrency: int,
) -> list[Result]:
    from geogrid.cases.models import Open311Key
    from geogrid.cases.open311_keys import create_open311_key

    # The tiles and the command center need the synthetic city's components and reports.
    tiles.ensure_components(synthetic)
    from bench.heat import ensure_reports

    ensure_reports()
    # As the seed_tiles timer keeps them in production (deploy/geogrid-seed-tiles.timer).
    seeded = seed_layer(if_stale=True)
    print(
        f"  grid tiles seeded: {'already current' if seeded.skipped else seeded.stored}"
        f" (in {seeded.seconds} s)",
        flush=True,
    )
    Open311Key.objects.filter(name="bench-soak").delete()
    _, key = create_open311_key(name="bench-soak")
    token = _token()
    plan = _plan(demo, synthetic, key, token)
    for name, spec in plan.items():
        spec["weight"] = KINDS[name][0]
    OUT_DIR.mkdir(exist_ok=True)
    plan_path = OUT_DIR / "soak-plan.json"
    plan_path.write_text(json.dumps(plan), encoding="utf-8")
    # The baseline sends every kind equally often, so the rare ones get samples too.
    quiet_path = OUT_DIR / "soak-plan-one-at-a-time.json"
    quiet_path.write_text(
        json.dumps({name: dict(spec, weight=1) for name, spec in plan.items()}), encoding="utf-8"
    )

    peak = {"connections": 0, "connections_all_databases": 0}

    def sample(stop: threading.Event) -> None:
        from django.db import connections

        try:
            while not stop.wait(2.0):
                figures = _database_figures()
                for field in peak:
                    peak[field] = max(peak[field], figures[field])
        finally:
            connections.close_all()

    with gunicorn(workers, production=True) as port:
        # Warm every worker (imports, connections, prepared statements) with a short burst.
        _loadgen(port, plan_path, seconds=3, rate=60, concurrency=workers)
        print(f"  one at a time ({QUIET_RATE}/s for {QUIET_SECONDS} s), the baseline…", flush=True)
        quiet = _loadgen(port, quiet_path, seconds=QUIET_SECONDS, rate=QUIET_RATE, concurrency=1)
        before = _database_figures()
        print(
            f"  soak: {rate:g} requests/s for {seconds:g} s from {concurrency} connections "
            f"({workers} workers)…",
            flush=True,
        )
        loaded = _loadgen(
            port, plan_path, seconds=seconds, rate=rate, concurrency=concurrency, on_poll=sample
        )
        after = _database_figures()
    removed = cases._cleanup()
    Open311Key.objects.filter(name="bench-soak").delete()
    mb = 1024 * 1024
    print(
        f"  {loaded['answered']:,} requests in {loaded['seconds']:.0f} s "
        f"({loaded['rps']} req/s; per 10 s: {loaded['per_10s']}), {loaded['errors']} errors; "
        f"behind schedule p99 {loaded['late_p99_ms']} ms",
        flush=True,
    )
    print(
        f"  database {before['size_bytes'] / mb:,.0f} → {after['size_bytes'] / mb:,.0f} MB; "
        f"connections {before['connections']} → peak {peak['connections']} → "
        f"{after['connections']} (all databases: {before['connections_all_databases']} → "
        f"{peak['connections_all_databases']} → {after['connections_all_databases']})",
        flush=True,
    )
    details = {
        "load": loaded,
        "one_at_a_time": quiet,
        "database_before": before,
        "database_after": after,
        "peak_during_load": peak,
        "workers": workers,
        "cases_removed": removed,
    }
    results = [
        Result(
            f"soak {seconds:g} s, {workers} workers, {concurrency} connections: requests/s "
            f"({loaded['answered']:,} requests, {loaded['errors']} errors)",
            loaded["rps"],
            "req/s",
            "rate asked",
            float(rate),
            target="0 errors, rate held",
            higher_is_better=True,
            passed=loaded["errors"] == 0 and loaded["rps"] >= 0.97 * rate,
            details=details,
        )
    ]
    for name, (_, target) in KINDS.items():
        figures, alone = loaded["kinds"][name], quiet["kinds"][name]
        label = (
            f"soak {name} p99 (p50 {figures['p50_ms']} ms, p95 {figures['p95_ms']} ms, "
            f"{figures['sent']:,} sent, {figures['errors']} errors)"
        )
        passed = None
        goal = "0 errors"
        if figures["errors"]:
            passed = False
        if target is not None:
            statistic, bound = target
            goal = f"{statistic} ≤ {bound:g} ms, 0 errors"
            passed = figures["errors"] == 0 and figures[f"{statistic}_ms"] <= bound
        results.append(
            Result(
                label,
                figures["p99_ms"],
                "ms",
                "one at a time p99",
                alone["p99_ms"],
                target=goal,
                passed=passed,
                details={"load": figures, "one_at_a_time": alone},
            )
        )
    results.append(
        Result(
            f"soak database size, MB (connections {before['connections']} → peak "
            f"{peak['connections']} → {after['connections']})",
            round(after["size_bytes"] / mb, 1),
            "MB",
            "size before",
            round(before["size_bytes"] / mb, 1),
            details={"before": before, "after": after, "peak": peak},
        )
    )
    return results
