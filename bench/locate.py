"""Single point lookups: `locate()` against the raw prepared `ST_Covers` query it is built on.

Two variants run over the same points, interleaved call by call (alternating which goes first),
so drift in the shared VM's speed hits both alike:

- `locate()` as shipped, on Django's connection (its statement prepared: settings.py turns
  psycopg's preparation back on, which Django disables by default; the run checks
  pg_prepared_statements);
- the raw baseline: one prepared statement (checked in pg_prepared_statements) on a separate
  plain psycopg connection to the same server, the unit grid only, no path: the floor of a
  lookup from Python.
"""

from __future__ import annotations

from time import perf_counter_ns

import numpy as np
import psycopg
from django.conf import settings
from django.db import connection
from tqdm import tqdm

from bench.common import Result, percentile_us
from geogrid.grids.locate import locate

# The level id is written into the statement, not passed as a parameter: with `level_id = $1`
# the generic plan of the prepared statement ANDs the level_id btree index (every unit grid)
# with the GiST index and measured 3× slower.
RAW_SQL = """
SELECT g.id, g.code
FROM grids_grid g
WHERE g.level_id = {level_id:d} AND g.valid_to IS NULL
  AND ST_Covers(g.geom, ST_SetSRID(ST_MakePoint(%s, %s), 4490))
ORDER BY g.code
LIMIT 1
"""
WARM_UP = 200


def _raw_connection() -> psycopg.Connection:
    db = settings.DATABASES["default"]
    return psycopg.connect(
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        dbname=db["NAME"],
        user=db["USER"] or None,
        password=db["PASSWORD"] or None,
        autocommit=True,
    )


def run(label: str, lon: np.ndarray, lat: np.ndarray, *, calls: int) -> list[Result]:
    """`lon`/`lat`: points inside unit grids of the `label` city (`calls` + WARM_UP of them)."""
    from geogrid.grids.models import GridLevel

    raw_sql = RAW_SQL.format(level_id=GridLevel.objects.get(slug="unit").id)
    connection.ensure_connection()
    points = list(
        zip(lon[: calls + WARM_UP].tolist(), lat[: calls + WARM_UP].tolist(), strict=True)
    )
    timings: dict[str, list[int]] = {"shipped": [], "raw": []}
    not_unit = 0
    with _raw_connection() as raw_conn, raw_conn.cursor() as raw_cursor:

        def call(which: str, x: float, y: float) -> str:
            if which == "raw":
                raw_cursor.execute(raw_sql, (x, y), prepare=True)
                raw_cursor.fetchall()
                return "unit"
            return locate(x, y).grid.level

        kinds = list(timings)
        for x, y in points[:WARM_UP]:  # statements prepared, caches warm
            for which in kinds:
                call(which, x, y)
        raw_cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        raw_prepared = raw_cursor.fetchone()[0] > 0
        with connection.cursor() as django_cursor:  # is locate() itself prepared? (it should be)
            django_cursor.execute("SELECT count(*) FROM pg_prepared_statements")
            locate_prepared = django_cursor.fetchone()[0] > 0
        for i, (x, y) in enumerate(
            tqdm(points[WARM_UP:], desc=f"  locate() vs raw, {label}", unit="point", leave=False)
        ):
            for which in kinds[i % 2 :] + kinds[: i % 2]:
                start = perf_counter_ns()
                level = call(which, x, y)
                timings[which].append(perf_counter_ns() - start)
                not_unit += level != "unit"
    figures = {
        f"{kind}_p{q}_us": percentile_us(samples, q)
        for kind, samples in timings.items()
        for q in (50, 99)
    }
    details = dict(
        figures,
        calls=len(timings["raw"]),
        raw_statement_prepared=raw_prepared,
        locate_statement_prepared=locate_prepared,
        lookups_not_in_a_unit_grid=not_unit,
    )
    raw50, raw99 = figures["raw_p50_us"], figures["raw_p99_us"]
    target = "p99 ≤ 2× raw p99"
    return [
        Result(
            f"locate() p50, {label} city",
            figures["shipped_p50_us"],
            "µs",
            "raw prepared ST_Covers p50",
            raw50,
            details=details,
        ),
        Result(
            f"locate() p99, {label} city",
            figures["shipped_p99_us"],
            "µs",
            "raw prepared ST_Covers p99",
            raw99,
            target=target,
            passed=figures["shipped_p99_us"] <= 2 * raw99,
            details=details,
        ),
    ]
