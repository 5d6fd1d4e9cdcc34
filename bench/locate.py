"""Single point lookups: `locate()` against the raw prepared `ST_Covers` query it is built on.

Both run on the same connection over the same points, interleaved call by call (alternating
which goes first), so drift in the shared VM's speed hits both alike. The raw baseline is the
floor of a lookup from Python: one prepared statement on a psycopg cursor, the unit grid only,
no path. `locate()` adds CRS checks, the recursive path query and the result objects.
"""

from __future__ import annotations

from time import perf_counter_ns

import numpy as np
import psycopg
from django.db import connection
from tqdm import tqdm

from bench.common import Result, percentile_us
from geogrid.grids.locate import locate

RAW_SQL = """
SELECT g.id, g.code
FROM grids_grid g
WHERE g.level_id = %s AND g.valid_to IS NULL
  AND ST_Covers(g.geom, ST_SetSRID(ST_MakePoint(%s, %s), 4490))
ORDER BY g.code
LIMIT 1
"""
WARM_UP = 200


def run(label: str, lon: np.ndarray, lat: np.ndarray, *, calls: int) -> list[Result]:
    """`lon`/`lat`: points inside unit grids of the `label` city (`calls` + WARM_UP of them)."""
    from geogrid.grids.models import GridLevel

    unit_level = GridLevel.objects.get(slug="unit").id
    connection.ensure_connection()
    cursor = psycopg.Cursor(connection.connection)
    points = list(zip(lon[: calls + WARM_UP].tolist(), lat[: calls + WARM_UP].tolist(),
                      strict=True))

    def raw(x: float, y: float) -> None:
        cursor.execute(RAW_SQL, (unit_level, x, y), prepare=True)
        cursor.fetchall()

    for x, y in points[:WARM_UP]:  # plans prepared, caches warm
        locate(x, y)
        raw(x, y)
    ours: list[int] = []
    floor: list[int] = []
    mismatches = 0
    for i, (x, y) in enumerate(tqdm(points[WARM_UP:], desc=f"  locate() vs raw, {label}", unit="call",
                                    leave=False)):
        order = (0, 1) if i % 2 else (1, 0)
        for which in order:
            start = perf_counter_ns()
            if which == 0:
                found = locate(x, y)
                ours.append(perf_counter_ns() - start)
            else:
                raw(x, y)
                floor.append(perf_counter_ns() - start)
        if found.grid.level != "unit":
            mismatches += 1
    cursor.close()
    p50, p99 = percentile_us(ours, 50), percentile_us(ours, 99)
    raw50, raw99 = percentile_us(floor, 50), percentile_us(floor, 99)
    details = {"calls": len(ours), "locate_p50_us": p50, "locate_p99_us": p99,
               "raw_p50_us": raw50, "raw_p99_us": raw99,
               "points_not_in_a_unit_grid": mismatches}
    return [
        Result(f"locate() p50, {label} city", p50, "µs", "raw prepared ST_Covers p50", raw50,
               details=details),
        Result(f"locate() p99, {label} city", p99, "µs", "raw prepared ST_Covers p99", raw99,
               target="p99 ≤ 2× raw p99", passed=p99 <= 2 * raw99, details=details),
    ]
