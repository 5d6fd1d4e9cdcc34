"""The demo's patrol history: a year of patrols for every demo inspector, on the working days
of the calendar, so that the command center's patrol layer, coverage and indicators have
something true-looking to show (docs/domain.md §8).

Generated with a fixed seed, in bulk (docs/architecture.md §4.4): each inspector walks the
edges of their unit grids (the demo has no road network: grid edges stand in for streets, as
for the components), 1.5–2.5 hours a day at walking pace, a fix every FIX_EVERY_S seconds with
GPS noise; now and then a fix jumps a kilometre or so (marked a jump), a fix is poor (marked
inaccurate), or the phone goes quiet for a quarter of an hour (the track has a gap). The
verdicts are those `cleaning.clean` gives (tests/patrols/test_demo.py checks it), written
directly rather than computed point by point, and the lines are drawn in shapely. Patrols go
in with one INSERT, points with one binary COPY. Every generated patrol has the source
演示数据（生成）, which the pages show.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
import shapely
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from geogrid.accounts.models import Role, User
from geogrid.core.db import raw_cursor
from geogrid.core.demo import DemoStep
from geogrid.core.gis import from_metric, to_metric
from geogrid.core.pgcopy import COPY_HEADER, COPY_TRAILER, binary_copy_rows, point_ewkb
from geogrid.core.worktime import current_calendar
from geogrid.grids.assignment import GridIndex, leaf_level_slug
from geogrid.grids.models import Grid
from geogrid.patrols.models import Patrol, PatrolAction, PatrolEvent, PatrolSource, PointStatus
from geogrid.patrols.services import draw_walked_areas

SEED = 20_261_203
# A fix every 45 s (the field app keeps one every 5 s): a year of demo history stays a few
# hundred thousand points, and the demo loads in under a minute on two cores.
FIX_EVERY_S = 45
NOISE_SIGMA_M = 4.0
JUMP_SHARE = 0.004
POOR_SHARE = 0.015
GAP_SHARE = 0.2  # patrols with one silence of 8–20 minutes
NAMESPACE = uuid.UUID("c0a4f1e2-6b7d-5e89-a1b2-3c4d5e6f7a80")


@dataclass
class History:
    """Generated rows, ready to write."""

    patrols: list[dict[str, Any]] = field(default_factory=list)
    # Point columns, one array per patrol (lon/lat hold metric x/y until generate() ends).
    patrol_index: list[np.ndarray] = field(default_factory=list)
    times: list[np.ndarray] = field(default_factory=list)  # POSIX seconds
    lon: list[np.ndarray] = field(default_factory=list)
    lat: list[np.ndarray] = field(default_factory=list)
    accuracy: list[np.ndarray] = field(default_factory=list)
    status: list[np.ndarray] = field(default_factory=list)

    @property
    def point_count(self) -> int:
        return int(sum(len(t) for t in self.times))


def street_graph(polygons_metric: Sequence[Any]) -> tuple[np.ndarray, list[list[int]]]:
    """The nodes (metric x, y) and adjacency of the grids' edges: shared edges once."""
    index: dict[tuple[float, float], int] = {}
    nodes: list[tuple[float, float]] = []
    edges: set[tuple[int, int]] = set()
    for polygon in polygons_metric:
        for part in getattr(polygon, "geoms", [polygon]):
            ring = np.round(np.asarray(part.exterior.coords), 1)
            ids = []
            for x, y in ring:
                key = (float(x), float(y))
                if key not in index:
                    index[key] = len(nodes)
                    nodes.append(key)
                ids.append(index[key])
            for a, b in zip(ids, ids[1:], strict=False):
                if a != b:
                    edges.add((min(a, b), max(a, b)))
    adjacency: list[list[int]] = [[] for _ in nodes]
    for a, b in sorted(edges):
        adjacency[a].append(b)
        adjacency[b].append(a)
    return np.asarray(nodes), adjacency


def walk(
    nodes: np.ndarray, adjacency: list[list[int]], rng: random.Random, length_m: float
) -> np.ndarray:
    """A walk along the edges, preferring streets not walked yet today, `length_m` long."""
    current = rng.randrange(len(nodes))
    path = [current]
    walked: dict[tuple[int, int], int] = {}
    travelled = 0.0
    while travelled < length_m and adjacency[current]:
        options = adjacency[current]
        weights = [
            1.0 / (1 + 4 * walked.get((min(current, o), max(current, o)), 0)) for o in options
        ]
        following = rng.choices(options, weights)[0]
        key = (min(current, following), max(current, following))
        walked[key] = walked.get(key, 0) + 1
        travelled += math.dist(nodes[current], nodes[following])
        current = following
        path.append(current)
    return nodes[path]


def generate(
    scopes: Sequence[tuple[int, Sequence[Any]]],
    days: Sequence[date],
    *,
    now: datetime,
    seed: int = SEED,
) -> History:
    """Patrols of each (inspector id, unit grid polygons in storage lon/lat) on each day."""
    rng = random.Random(seed)
    noise = np.random.default_rng(seed)
    zone = timezone.get_current_timezone()
    history = History()
    for inspector_id, polygons in scopes:
        nodes, adjacency = street_graph(list(to_metric(np.asarray(polygons, dtype=object))))
        if not len(nodes):
            continue
        for day in days:
            if rng.random() < 0.05:
                continue  # leave, training, a meeting: no patrol that day
            morning = rng.random() < 0.6
            start_clock = time(8, 30) if morning else time(14, 0)
            started = datetime.combine(day, start_clock, tzinfo=zone) + timedelta(
                minutes=rng.randint(0, 80)
            )
            speed = rng.uniform(1.0, 1.4)
            seconds = rng.uniform(1.5, 2.5) * 3600
            if started + timedelta(seconds=seconds) > now:
                continue  # not over yet
            path = walk(nodes, adjacency, rng, speed * seconds)
            if len(path) < 2:
                continue
            line = shapely.linestrings(path)
            steps = np.arange(0, min(line.length, speed * seconds), speed * FIX_EVERY_S)
            where = shapely.get_coordinates(shapely.line_interpolate_point(line, steps))
            count = len(where)
            t = started.timestamp() + np.arange(count) * FIX_EVERY_S
            keep = np.ones(count, dtype=bool)
            if rng.random() < GAP_SHARE and count > 80:
                first = rng.randrange(10, count - 50)
                keep[first : first + rng.randint(16, 40)] = False
            xy = where + noise.normal(0, NOISE_SIGMA_M, size=(count, 2))
            accuracy = np.round(3 + noise.exponential(6, size=count), 1).clip(3, 45)
            status = np.full(count, PointStatus.ACCEPTED.value, dtype=object)
            poor = noise.random(count) < POOR_SHARE
            accuracy[poor] = np.round(noise.uniform(60, 150, size=int(poor.sum())), 1)
            status[poor] = PointStatus.INACCURATE.value
            # A jump: far off, never first and never right after another jump or a gap.
            jump = (noise.random(count) < JUMP_SHARE) & ~poor
            jump[0] = False
            jump[1:] &= ~jump[:-1] & keep[:-1]
            angle = noise.uniform(0, 2 * np.pi, size=int(jump.sum()))
            reach = noise.uniform(600, 1500, size=int(jump.sum()))
            xy[jump] += np.column_stack([np.cos(angle), np.sin(angle)]) * reach[:, None]
            status[jump] = PointStatus.JUMP.value
            t, xy, accuracy, status = t[keep], xy[keep], accuracy[keep], status[keep]
            good = status == PointStatus.ACCEPTED.value
            pieces = _pieces(t[good], xy[good])
            metric_line = (
                shapely.MultiLineString([shapely.linestrings(p) for p in pieces])
                if pieces
                else None
            )
            index = len(history.patrols)
            history.patrols.append(
                {
                    "inspector": inspector_id,
                    "client_id": uuid.uuid5(NAMESPACE, f"{inspector_id}:{day.isoformat()}"),
                    "started_at": datetime.fromtimestamp(float(t[0]), tz=zone),
                    "ended_at": datetime.fromtimestamp(float(t[-1]), tz=zone),
                    "accepted": int(good.sum()),
                    "jump": int((status == PointStatus.JUMP.value).sum()),
                    "inaccurate": int((status == PointStatus.INACCURATE.value).sum()),
                    "distance_m": float(metric_line.length) if metric_line is not None else 0.0,
                    "geom": metric_line,  # to lon/lat below, all at once
                }
            )
            history.patrol_index.append(np.full(len(t), index, dtype=np.int64))
            history.times.append(t)
            history.lon.append(xy[:, 0])  # metric until the end of the loop
            history.lat.append(xy[:, 1])
            history.accuracy.append(accuracy)
            history.status.append(status)
    # One transformation for every point and one for every line, not one per patrol.
    if history.patrols:
        xy = np.column_stack([np.concatenate(history.lon), np.concatenate(history.lat)])
        lon_lat = shapely.get_coordinates(from_metric(shapely.points(xy)))
        bounds = np.cumsum([len(t) for t in history.times])[:-1]
        history.lon = np.split(lon_lat[:, 0], bounds)
        history.lat = np.split(lon_lat[:, 1], bounds)
        lines = np.array([p["geom"] for p in history.patrols], dtype=object)
        drawn = lines != None  # noqa: E711 - elementwise over an object array
        lines[drawn] = from_metric(lines[drawn])
        for patrol, line in zip(history.patrols, lines, strict=True):
            patrol["geom"] = line
    return history


def _pieces(t: np.ndarray, xy: np.ndarray) -> list[np.ndarray]:
    """The accepted fixes as lines, split where the phone was quiet longer than the gap."""
    if len(t) < 2:
        return []
    breaks = np.flatnonzero(np.diff(t) > float(settings.GEOGRID_PATROL_GAP_S)) + 1
    return [part for part in np.split(xy, breaks) if len(part) >= 2]


_INSERT_PATROLS = """
INSERT INTO patrols_patrol (district_code, client_id, inspector_id, source, status, started_at,
    ended_at, points_accepted, points_jump, points_inaccurate, distance_m, geom)
SELECT %(district)s, p.client_id, p.inspector, 'demo', 'ended', p.started_at, p.ended_at,
       p.accepted, p.jump, p.inaccurate, p.distance_m, ST_GeomFromEWKB(p.geom)
FROM unnest(%(client_ids)s::uuid[], %(inspectors)s::bigint[], %(started)s::timestamptz[],
            %(ended)s::timestamptz[], %(accepted)s::int[], %(jump)s::int[],
            %(inaccurate)s::int[], %(distance)s::float8[], %(geoms)s::bytea[])
     WITH ORDINALITY AS p(client_id, inspector, started_at, ended_at, accepted, jump,
                          inaccurate, distance_m, geom, n)
ORDER BY p.n
RETURNING id
"""

_COPY_POINTS = (
    "COPY patrols_trackpoint (district_code, patrol_id, client_id, recorded_at, received_at, "
    "geom, accuracy_m, status, grid_id) FROM STDIN (FORMAT binary)"
)


@transaction.atomic
def write(history: History, *, district: str, progress: Callable[..., Iterable[Any]]) -> int:
    """Insert the patrols and COPY their points; returns the number of points."""
    if not history.patrols:
        return 0
    rows = history.patrols
    with raw_cursor(for_write=True) as cursor:
        ids = [
            r[0]
            for r in cursor.execute(
                _INSERT_PATROLS,
                {
                    "district": district,
                    "client_ids": [r["client_id"] for r in rows],
                    "inspectors": [r["inspector"] for r in rows],
                    "started": [r["started_at"] for r in rows],
                    "ended": [r["ended_at"] for r in rows],
                    "accepted": [r["accepted"] for r in rows],
                    "jump": [r["jump"] for r in rows],
                    "inaccurate": [r["inaccurate"] for r in rows],
                    "distance": [r["distance_m"] for r in rows],
                    "geoms": [
                        None
                        if r["geom"] is None
                        else shapely.to_wkb(shapely.set_srid(r["geom"], 4490), include_srid=True)
                        for r in rows
                    ],
                },
            ).fetchall()
        ]
    patrol_ids = np.asarray(ids, dtype=np.int64)[np.concatenate(history.patrol_index)]
    times = np.concatenate(history.times)
    lon, lat = np.concatenate(history.lon), np.concatenate(history.lat)
    grid = GridIndex.load(district_code=district).assign(lon, lat).grid_id
    # Version-4 UUIDs from the seeded generator: deterministic, and no Python call per point.
    client_ids = np.random.default_rng(SEED).integers(0, 256, size=(len(times), 16), dtype=np.uint8)
    client_ids[:, 6] = (client_ids[:, 6] & 0x0F) | 0x40
    client_ids[:, 8] = (client_ids[:, 8] & 0x3F) | 0x80
    micros = ((times - _EPOCH_2000) * 1_000_000).astype(np.int64)
    received = micros + 5_000_000  # the demo's phones were online: five seconds later
    count = len(times)
    chunk = 200_000
    with raw_cursor(for_write=True) as cursor, cursor.copy(_COPY_POINTS) as copy:
        copy.write(COPY_HEADER)
        for first in progress(range(0, count, chunk), desc="Demo patrol points", unit="chunk"):
            part = slice(first, first + chunk)
            copy.write(
                binary_copy_rows(
                    [
                        ("text", np.full(len(times[part]), district, dtype=object), None),
                        ("int8", patrol_ids[part], None),
                        ("char", client_ids[part], None),
                        ("int8", micros[part], None),
                        ("int8", received[part], None),
                        ("char", point_ewkb(lon[part], lat[part]), None),
                        ("float8", np.concatenate(history.accuracy)[part], None),
                        ("text", np.concatenate(history.status)[part], None),
                        ("int8", np.maximum(grid[part], 0), grid[part] < 0),
                    ]
                )
            )
        copy.write(COPY_TRAILER)
    # The ground each covered, as ending a patrol draws it: for coverage.
    draw_walked_areas(ids)
    PatrolEvent.objects.create(
        patrol=None,
        action=PatrolAction.IMPORTED,
        actor=None,
        details={"demo": True, "patrols": len(rows), "points": count, "seed": SEED},
    )
    return count


_EPOCH_2000 = datetime(2000, 1, 1, tzinfo=UTC).timestamp()  # PostgreSQL's timestamp epoch


def working_days(until: date, count: int) -> list[date]:
    """The working days of the `count` days up to `until`, by the calendar."""
    cal = current_calendar()
    days = [until - timedelta(days=n) for n in range(count)]
    return sorted(d for d in days if cal.is_working_day(d))


def demo_step(context: dict[str, Any], progress: Callable[..., Iterable[Any]]) -> list[str]:
    existing = Patrol.objects.filter(source=PatrolSource.DEMO).count()
    if existing:
        return [f"Patrols: {existing:,} generated demo patrols already there."]
    days = int(settings.GEOGRID_DEMO_PATROL_DAYS)
    names = [u.pk for u in context.get("users", {}).values()]
    inspectors = list(User.objects.filter(pk__in=names, role=Role.INSPECTOR).order_by("username"))
    if days <= 0 or not inspectors:
        return []
    scopes = []
    district = ""
    for inspector in inspectors:
        codes = list(inspector.grid_scopes.values_list("grid__code", flat=True))
        within = Q()
        for code in codes:
            within |= Q(code__startswith=code)
        units = (
            list(
                Grid.objects.active()
                .filter(within, level__slug=leaf_level_slug() or "unit")
                .values_list("geom", flat=True)
            )
            if codes
            else []
        )
        if units:
            district = district or codes[0][:6]
            scopes.append((inspector.pk, [shapely.from_wkb(bytes(g.ewkb)) for g in units]))
    now = timezone.now()
    history = generate(scopes, working_days(timezone.localdate(now), days), now=now)
    points = write(history, district=district, progress=progress)
    jumps = sum(p["jump"] for p in history.patrols)
    poor = sum(p["inaccurate"] for p in history.patrols)
    return [
        f"Patrols: {len(history.patrols):,} GENERATED patrols of {len(scopes)} inspectors over "
        f"the working days of the last {days} days, {points:,} GPS fixes ({jumps:,} GPS jumps "
        f"and {poor:,} poor fixes marked, as cleaning would), labelled 演示数据（生成）."
    ]


def foreign_patrols() -> list[str]:
    others = Patrol.objects.exclude(source=PatrolSource.DEMO).count()
    if others:
        return [f"{others:,} patrol(s) not generated by the demo"]
    return []


PATROLS_STEP = DemoStep(name="patrols", order=25, run=demo_step, foreign=foreign_patrols)
