"""Nearest-20 components around a point: `nearest_components()` against the raw KNN query.

- measured: `geogrid.components.nearest.nearest_components(lon, lat, limit=20)` on Django's
  connection (prepared; KNN over-fetch re-ranked by distance on the spheroid);
- baseline: the bare KNN scan `ORDER BY geom <-> point LIMIT 20`, prepared, on a separate plain
  psycopg connection: the floor of an index-ordered lookup from Python.
The two alternate call by call over the same points (inside the demo city).
"""

from __future__ import annotations

from time import perf_counter_ns

import numpy as np
import psycopg
from django.conf import settings
from tqdm import tqdm

from bench.common import Result, percentile_us
from geogrid.components.nearest import nearest_components

RAW_SQL = """
SELECT id FROM components_component
WHERE currency = 'in_use'
ORDER BY geom <-> ST_SetSRID(ST_MakePoint(%s, %s), 4490)
LIMIT 20
"""
WARM_UP = 200
TARGET_P99_US = 5_000


def run(lon: np.ndarray, lat: np.ndarray, *, calls: int, components: int) -> list[Result]:
    db = settings.DATABASES["default"]
    points = list(
        zip(lon[: calls + WARM_UP].tolist(), lat[: calls + WARM_UP].tolist(), strict=True)
    )
    timings: dict[str, list[int]] = {"nearest": [], "raw": []}
    with (
        psycopg.connect(
            host=db["HOST"] or None,
            port=db["PORT"] or None,
            dbname=db["NAME"],
            user=db["USER"] or None,
            password=db["PASSWORD"] or None,
            autocommit=True,
        ) as raw,
        raw.cursor() as cursor,
    ):

        def call(which: str, x: float, y: float) -> None:
            if which == "raw":
                cursor.execute(RAW_SQL, (x, y), prepare=True)
                cursor.fetchall()
            else:
                nearest_components(x, y, limit=20)

        for x, y in points[:WARM_UP]:
            call("nearest", x, y)
            call("raw", x, y)
        kinds = list(timings)
        for i, (x, y) in enumerate(
            tqdm(points[WARM_UP:], desc="  nearest-20 vs raw KNN", unit="point", leave=False)
        ):
            for which in kinds[i % 2 :] + kinds[: i % 2]:
                start = perf_counter_ns()
                call(which, x, y)
                timings[which].append(perf_counter_ns() - start)
    figures = {
        f"{kind}_p{q}_us": percentile_us(samples, q)
        for kind, samples in timings.items()
        for q in (50, 99)
    }
    details = dict(figures, calls=calls, components=components)
    return [
        Result(
            f"nearest-20 p50, {components:,} components",
            figures["nearest_p50_us"],
            "µs",
            "raw KNN p50",
            figures["raw_p50_us"],
            details=details,
        ),
        Result(
            f"nearest-20 p99, {components:,} components",
            figures["nearest_p99_us"],
            "µs",
            "raw KNN p99",
            figures["raw_p99_us"],
            target="p99 ≤ 5 ms",
            passed=figures["nearest_p99_us"] <= TARGET_P99_US,
            details=details,
        ),
    ]
