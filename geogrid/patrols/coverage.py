"""Coverage (巡查覆盖, docs/domain.md §8.3): for each unit grid and a period, how much of it the
patrols passed, how long they spent in it, how many visits, and the last one.

Read-only queries, all in PostGIS (docs/architecture.md §4.4):

- **time, visits, last visit** come from the points, which carry their unit grid since they
  arrived: window functions over the accepted points of the patrols of the period, found
  through the (patrol, time) index;
- **share walked**: without a road layer, the share of the grid's area within
  GEOGRID_COVERAGE_DISTANCE_M of a track. The lines are simplified to a metre (the buffer is
  tens of metres), cut into short pieces that are buffered one by one and unioned per patrol,
  and each grid intersects only the part of those unions inside its own box (see _SHARE_SQL).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from geogrid.core.db import raw_cursor
from geogrid.core.srid import metric_srid


@dataclass(frozen=True)
class GridCoverage:
    grid_id: int
    code: str
    name: str
    share: float  # 0…1 of the grid's area within the distance of a track
    seconds: float  # time spent in the grid
    visits: int
    last_visit: datetime | None


# The patrols of the period (overlapping it), optionally of some inspectors.
_PATROLS_SQL = """
SELECT id, started_at >= %(since)s AND ended_at IS NOT NULL AND ended_at < %(until)s
FROM patrols_patrol
WHERE started_at < %(until)s AND (ended_at IS NULL OR ended_at >= %(since)s)
  AND (%(inspectors)s::bigint[] IS NULL OR inspector_id = ANY(%(inspectors)s::bigint[]))
"""

_TIME_SQL = """
WITH pts AS (
    SELECT p.grid_id, p.recorded_at,
           lead(p.recorded_at) OVER w AS next_at,
           lag(p.recorded_at) OVER w AS prev_at,
           lag(p.grid_id) OVER w AS prev_grid
    FROM patrols_trackpoint p
    WHERE p.patrol_id = ANY(%(patrols)s) AND p.status = 'ok'
      AND p.recorded_at >= %(since)s AND p.recorded_at < %(until)s
    WINDOW w AS (PARTITION BY p.patrol_id ORDER BY p.recorded_at)
)
SELECT grid_id,
       sum(CASE WHEN next_at - recorded_at <= %(gap)s
                THEN extract(epoch FROM next_at - recorded_at) ELSE 0 END)::float8,
       count(*) FILTER (WHERE prev_at IS NULL OR recorded_at - prev_at > %(gap)s
                              OR prev_grid IS DISTINCT FROM grid_id),
       max(recorded_at)
FROM pts WHERE grid_id IS NOT NULL
GROUP BY grid_id
"""

# Drawing the ground a set of lines covered (`lines`: patrol_id, piece, geom in lon/lat), as
# `walked` (patrol_id, geom: a MultiPolygon in lon/lat), shared by the coverage query and by
# services.draw_walked_areas. Buffering a whole day's line at once was what made coverage slow
# (bench/README.md, "Patrols"): an inspector walks the same streets several times with a few
# metres of GPS noise, so the offset curves of one long line cross each other thousands of
# times and GEOS spends ~40 ms noding each 1,000-vertex line. The buffer of a line is the union
# of the buffers of its pieces, so each line is cut into pieces of CHUNK segments (consecutive
# pieces share a vertex), each piece buffered on its own (few crossings), and the pieces of one
# patrol unioned (a cascaded union, which merges the overlapping passes cheaply). The lines are
# simplified to a metre first: the buffer is tens of metres.
WALKED_CTES = """
vertices AS (
    SELECT l.patrol_id, l.piece, d.path[1] AS part, d.path[2] AS i, d.geom
    FROM lines l,
         ST_DumpPoints(ST_Simplify(ST_Transform(ST_Multi(l.geom), %(metric)s), 1.0)) d
), chunked AS (
    SELECT patrol_id, piece, part, (i - 1) / %(chunk)s AS chunk, i, geom FROM vertices
    UNION ALL
    SELECT patrol_id, piece, part, (i - 1) / %(chunk)s - 1, i, geom FROM vertices
    WHERE i > 1 AND (i - 1) %% %(chunk)s = 0
), chunks AS (
    SELECT patrol_id, ST_MakeLine(geom ORDER BY i) AS geom
    FROM chunked GROUP BY patrol_id, piece, part, chunk HAVING count(*) >= 2
), walked AS (
    SELECT patrol_id,
           ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Transform(
               ST_Union(ST_Buffer(geom, %(distance)s, 'quad_segs=4')), 4490)), 3)) AS geom
    FROM chunks GROUP BY patrol_id
)"""

# The ground the period's patrols covered, then its share of each grid. A patrol wholly inside
# the period that has its area drawn (patrols_walkedarea, drawn when it ended, with today's
# distance) brings that area; any other patrol (still walking, crossing the period's bounds,
# or drawn with another distance) is drawn here from its line or its points within the period,
# the same way (WALKED_SQL below).
#
# Each grid takes only the part of an area inside its own box (ST_ClipByBox2D, linear) before
# the exact intersection, and unions what the patrols left in it. The share is a ratio of
# areas in lon/lat: over one grid (~100 m) the step from lon/lat to metres is affine to well
# under a millionth, and an affine map keeps ratios of areas, so nothing is transformed here.
_SHARE_SQL = (
    """
WITH stored AS (
    SELECT w.patrol_id, w.geom FROM patrols_walkedarea w
    WHERE w.patrol_id = ANY(%(whole)s) AND w.distance_m = %(distance)s
), whole AS (
    SELECT id AS patrol_id, 0::bigint AS piece, geom
    FROM patrols_patrol
    WHERE id = ANY(%(whole)s) AND geom IS NOT NULL AND id NOT IN (SELECT patrol_id FROM stored)
), pts AS (
    SELECT p.patrol_id, p.geom, p.recorded_at,
           CASE WHEN p.recorded_at - lag(p.recorded_at) OVER w > %(gap)s
                THEN 1 ELSE 0 END AS brk
    FROM patrols_trackpoint p
    WHERE p.patrol_id = ANY(%(partial)s) AND p.status = 'ok'
      AND p.recorded_at >= %(since)s AND p.recorded_at < %(until)s
    WINDOW w AS (PARTITION BY p.patrol_id ORDER BY p.recorded_at)
), pieces AS (
    SELECT patrol_id, geom, recorded_at,
           sum(brk) OVER (PARTITION BY patrol_id ORDER BY recorded_at) AS piece
    FROM pts
), partial_lines AS (
    SELECT patrol_id, piece, ST_MakeLine(geom ORDER BY recorded_at) AS geom
    FROM pieces GROUP BY patrol_id, piece HAVING count(*) >= 2
), lines AS (
    SELECT * FROM whole UNION ALL SELECT * FROM partial_lines
), """
    + WALKED_CTES
    + """, areas AS (
    SELECT geom FROM stored UNION ALL SELECT geom FROM walked
)
SELECT g.id,
       ST_Area(ST_Union(ST_Intersection(g.geom, ST_ClipByBox2D(a.geom, g.geom::box2d))))
         / NULLIF(ST_Area(g.geom), 0)
FROM grids_grid g
JOIN areas a ON g.geom && a.geom
WHERE g.valid_to IS NULL AND g.level_id = %(level)s
  AND (%(prefixes)s::text[] IS NULL OR left(g.code, 6) = ANY(%(districts)s::text[]))
GROUP BY g.id, g.geom
"""
)
# Segments per buffered piece of a line (see above): measured on the benchmark's day.
CHUNK = 16

_GRIDS_SQL = """
SELECT g.id, g.code, g.name FROM grids_grid g
WHERE g.valid_to IS NULL AND g.level_id = %(level)s
  AND (%(prefixes)s::text[] IS NULL OR EXISTS (
        SELECT 1 FROM unnest(%(prefixes)s::text[]) AS s(prefix)
        WHERE g.code LIKE s.prefix || '%%'))
ORDER BY g.code
"""


def leaf_level_id() -> int | None:
    with raw_cursor() as cursor:
        row = cursor.execute(
            "SELECT id FROM grids_gridlevel ORDER BY depth DESC LIMIT 1"
        ).fetchone()
    return None if row is None else int(row[0])


def patrols_of(
    since: datetime, until: datetime, inspectors: Sequence[int] | None = None
) -> tuple[list[int], list[int]]:
    """(patrols wholly inside the period, patrols crossing its bounds or still walking)."""
    with raw_cursor() as cursor:
        rows = cursor.execute(
            _PATROLS_SQL,
            {
                "since": since,
                "until": until,
                "inspectors": list(inspectors) if inspectors else None,
            },
        ).fetchall()
    return [r[0] for r in rows if r[1]], [r[0] for r in rows if not r[1]]


def coverage(
    *,
    since: datetime,
    until: datetime,
    prefixes: Sequence[str] | None = None,
    inspectors: Sequence[int] | None = None,
) -> list[GridCoverage]:
    """The coverage of every active unit grid under `prefixes` (all when None) by the
    patrols of the period (of `inspectors` when given), in code order."""
    level = leaf_level_id()
    if level is None:
        return []
    whole, partial = patrols_of(since, until, inspectors)
    gap = timedelta(seconds=int(settings.GEOGRID_PATROL_GAP_S))
    prefix_list = sorted(set(prefixes)) if prefixes is not None else None
    districts = sorted({p[:6] for p in prefix_list}) if prefix_list is not None else None
    times: dict[int, tuple[float, int, datetime]] = {}
    shares: dict[int, float] = {}
    with raw_cursor() as cursor:
        grids = cursor.execute(_GRIDS_SQL, {"level": level, "prefixes": prefix_list}).fetchall()
        if whole or partial:
            for grid_id, seconds, visits, last in cursor.execute(
                _TIME_SQL,
                {"patrols": whole + partial, "since": since, "until": until, "gap": gap},
            ):
                times[grid_id] = (seconds, visits, last)
            for grid_id, share in cursor.execute(
                _SHARE_SQL,
                {
                    "whole": whole,
                    "partial": partial,
                    "since": since,
                    "until": until,
                    "gap": gap,
                    "metric": metric_srid(),
                    "distance": float(settings.GEOGRID_COVERAGE_DISTANCE_M),
                    "chunk": CHUNK,
                    "level": level,
                    "prefixes": prefix_list,
                    "districts": districts,
                },
            ):
                shares[grid_id] = min(1.0, float(share or 0.0))
    return [
        GridCoverage(
            grid_id=grid_id,
            code=code,
            name=name,
            share=shares.get(grid_id, 0.0),
            seconds=times.get(grid_id, (0.0, 0, None))[0],
            visits=times.get(grid_id, (0.0, 0, None))[1],
            last_visit=times.get(grid_id, (0.0, 0, None))[2],
        )
        for grid_id, code, name in grids
    ]
