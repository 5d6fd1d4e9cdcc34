"""Bulk assignment of many points to unit grids: `assign_points()` against two raw baselines.

- raw shapely: an STRtree over the points queried with the (unprepared) grids, predicate
  "covers", on the same arrays: the in-process floor, without loading the grids from the
  database, the tie-break or the result arrays that assign_points() includes in its time;
- PostGIS: the set-based join with the grids as the outer side (docs/architecture.md §4.4:
  the planner's default puts the points outer, 10× slower), `CREATE TEMP TABLE … AS` with the
  same tie-break (DISTINCT ON … ORDER BY p.id, g.code). Temporary tables are never scanned in
  parallel, so this is the serial figure. Loading the points into the table is not timed.

The PostGIS answer is also the check: every point must get the same grid both ways.
"""

from __future__ import annotations

import numpy as np
import shapely
from django.db import connection
from tqdm import tqdm

from bench.common import Result, median_ns, timed_ns
from geogrid.grids.assignment import GridIndex, assign_points

TARGET_POINTS_PER_S = 300_000

JOIN_SQL = """
CREATE TEMP TABLE bench_assigned AS
SELECT DISTINCT ON (p.id) p.id AS point_id, g.id AS grid_id
FROM grids_grid g
JOIN grids_gridlevel l ON l.id = g.level_id
CROSS JOIN LATERAL (
    SELECT p.id FROM bench_points p WHERE ST_Covers(g.geom, p.geom) OFFSET 0
) p
WHERE l.slug = 'unit' AND g.valid_to IS NULL AND g.district_code = %s
ORDER BY p.id, g.code
"""


def _load_points(lon: np.ndarray, lat: np.ndarray) -> None:
    """COPY the points into a temporary, indexed table (untimed set-up of the SQL baseline)."""
    ewkb = shapely.to_wkb(
        shapely.set_srid(shapely.points(lon, lat), 4490), hex=True, include_srid=True
    )
    raw = connection.connection
    with raw.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_points")
        cursor.execute(
            "CREATE TEMP TABLE bench_points (id integer PRIMARY KEY, "
            "geom geometry(Point, 4490) NOT NULL)"
        )
        step = 100_000
        with cursor.copy("COPY bench_points (id, geom) FROM STDIN") as copy:
            for start in tqdm(
                range(0, len(ewkb), step),
                desc="  COPY points to PostGIS",
                unit="×100k",
                leave=False,
            ):
                for i, value in enumerate(ewkb[start : start + step], start):
                    copy.write_row((i, value))
        cursor.execute("CREATE INDEX ON bench_points USING gist (geom)")
        cursor.execute("ANALYZE bench_points")


def _postgis(lon: np.ndarray, lat: np.ndarray, district_code: str) -> tuple[int, np.ndarray]:
    _load_points(lon, lat)
    raw = connection.connection
    with raw.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_assigned")
        elapsed, _ = timed_ns(lambda: cursor.execute(JOIN_SQL, (district_code,)))
        cursor.execute("SELECT point_id, grid_id FROM bench_assigned")
        pairs = np.array(cursor.fetchall(), dtype=np.int64).reshape(-1, 2)
        cursor.execute("DROP TABLE bench_assigned")
        cursor.execute("DROP TABLE bench_points")
    grid_id = np.full(len(lon), -1, dtype=np.int64)
    grid_id[pairs[:, 0]] = pairs[:, 1]
    return elapsed, grid_id


def run(
    label: str, lon: np.ndarray, lat: np.ndarray, *, district_code: str, repeat: int, postgis: bool
) -> list[Result]:
    n = len(lon)
    index = GridIndex.load(level="unit", district_code=district_code)
    name = f"assign_points {n / 1e6:g}M pts → {len(index):,} {label} grids"
    target = f"≥ {TARGET_POINTS_PER_S // 1000}k points/s"
    print(f"  {name}: assign_points ×{repeat}…", flush=True)
    ours_ns, ours_all, result = median_ns(
        lambda: assign_points(lon, lat, level="unit", district_code=district_code), repeat
    )
    load_ns, _ = timed_ns(lambda: GridIndex.load(level="unit", district_code=district_code))
    rate = n / (ours_ns / 1e9)

    print(f"  {name}: raw shapely STRtree ×{repeat}…", flush=True)
    plain = shapely.from_wkb(shapely.to_wkb(index.geoms))  # fresh copies, not prepared

    def raw_shapely() -> np.ndarray:
        return shapely.STRtree(shapely.points(lon, lat)).query(plain, predicate="covers")

    raw_ns, raw_all, _ = median_ns(raw_shapely, repeat)
    raw_rate = n / (raw_ns / 1e9)
    details = {
        "points": n,
        "grids": len(index),
        "repeat": repeat,
        "assign_points_runs_s": [t / 1e9 for t in ours_all],
        "raw_shapely_runs_s": [t / 1e9 for t in raw_all],
        "grid_index_load_s": load_ns / 1e9,
        "points_in_a_grid": int(result.found.sum()),
    }
    results = [
        Result(
            name,
            rate,
            "points/s",
            "raw shapely STRtree",
            raw_rate,
            target=target,
            passed=rate >= TARGET_POINTS_PER_S,
            higher_is_better=True,
            details=details,
        )
    ]
    if postgis:
        print(f"  {name}: PostGIS grids-outer join…", flush=True)
        sql_ns, sql_grid_id = _postgis(lon, lat, district_code)
        mismatches = int((sql_grid_id != result.grid_id).sum())
        details = dict(details, postgis_s=sql_ns / 1e9, mismatches_vs_postgis=mismatches)
        results[0].details = details
        results.append(
            Result(
                name + " (vs SQL)",
                rate,
                "points/s",
                "PostGIS grids-outer join",
                n / (sql_ns / 1e9),
                target=f"{target}, 0 mismatches",
                passed=rate >= TARGET_POINTS_PER_S and mismatches == 0,
                higher_is_better=True,
                details=details,
            )
        )
        if mismatches:
            print(f"  WARNING: {mismatches} points got another grid from PostGIS", flush=True)
    return results
