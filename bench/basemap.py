"""The offline basemap's tiles (`reference`, docs/operations.md "The offline basemap") at zooms
12, 14 and 16 over a real OpenStreetMap extract.

- data: gis_data/osm/helsinki-test.osm.pbf (central Helsinki, © OpenStreetMap contributors,
  ODbL; 2,569 features in five layers) imported once with `import_layer --no-clip` (metric CRS
  EPSG:3067, as tests/grids/test_divide_real_osm.py does) and kept in the bench database;
- measured: GET /tiles/reference/<z>/<x>/<y>.pbf from gunicorn (1 sync worker, DEBUG off) on
  loopback, one keep-alive connection, every tile covering the extract at that zoom, in rounds
  until at least MIN_REQUESTS per zoom (no 304s: each request renders its tile);
- baselines, same run, alternating tile by tile with the HTTP request (bench/tiles.py's
  `_measure`): the layer's own SQL on a plain psycopg connection, prepared (what PostGIS needs
  before Python and HTTP); and the plain ST_AsMVT a first version would write (NAIVE_SQL: every
  reference feature in the tile, projected through PROJ per request, no minimum zoom, no
  simplification, one MVT layer) — the ratio against it is what the 3857 copy, the minimum
  zooms and the simplification buy, and the tile sizes say what they save on the wire.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import psycopg
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

from bench.common import Result
from bench.server import gunicorn
from bench.tiles import _measure
from geogrid.reference.models import ReferenceLayer

EXTRACT = Path(__file__).resolve().parents[1] / "gis_data" / "osm" / "helsinki-test.osm.pbf"
LAYER_PREFIX = "helsinki-test "  # import_layer names an OSM file's layers "<file> <kind>"
ZOOMS = (12, 14, 16)
MIN_REQUESTS = 30

NAIVE_SQL = """
SELECT ST_AsMVT(t, 'reference', 4096, 'geom'), count(*)
FROM (
    SELECT f.kind, f.feature_class AS class, f.name,
           ST_AsMVTGeom(ST_Transform(f.geom, 3857), ST_TileEnvelope(%(z)s, %(x)s, %(y)s),
                        4096, 64, true) AS geom
    FROM reference_referencefeature f
    WHERE f.geom && ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s), 4490)
) t
WHERE t.geom IS NOT NULL
"""


def ensure_extract(progress=print) -> bool:
    """Import the Helsinki extract once (True when imported now)."""
    if ReferenceLayer.objects.filter(name__startswith=LAYER_PREFIX).exists():
        return False
    progress(f"  importing {EXTRACT.name} (once)…")
    with override_settings(GEOGRID_METRIC_SRID=3067):
        call_command("import_layer", str(EXTRACT), "--no-clip", verbosity=0)
    return True


def _covering(z: int) -> list[tuple[int, int, int]]:
    with psycopg.connect(_dsn(), autocommit=True) as connection:
        west, south, east, north = connection.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT ST_Extent(geom) AS e FROM reference_referencefeature f "
            "JOIN reference_referencelayer l ON l.id = f.layer_id WHERE l.name LIKE %s) b",
            (LAYER_PREFIX + "%",),
        ).fetchone()
    n = 2**z

    def column(lon: float) -> int:
        return int((lon + 180) / 360 * n)

    def row(lat: float) -> int:
        return int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)

    return [
        (z, x, y)
        for x in range(column(west), column(east) + 1)
        for y in range(row(north), row(south) + 1)
    ]


def _dsn() -> str:
    db = settings.DATABASES["default"]
    return psycopg.conninfo.make_conninfo(
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        dbname=db["NAME"],
        user=db["USER"] or None,
        password=db["PASSWORD"] or None,
    )


def _naive(tiles: list[tuple[int, int, int]]) -> tuple[list[float], list[int]]:
    timings, sizes = [], []
    with psycopg.connect(_dsn(), autocommit=True) as connection, connection.cursor() as cursor:
        for z, x, y in tiles:
            start = time.perf_counter()
            body, _ = cursor.execute(NAIVE_SQL, {"z": z, "x": x, "y": y}, prepare=True).fetchone()
            timings.append((time.perf_counter() - start) * 1000)
            sizes.append(len(body or b""))
    return timings, sizes


def run(*, repeat: int = 3) -> list[Result]:
    imported = ensure_extract()
    results: list[Result] = []
    with gunicorn(1) as port:
        for z in ZOOMS:
            covering = _covering(z)
            rounds = max(repeat, math.ceil(MIN_REQUESTS / len(covering)))
            tiles = covering * rounds
            _measure(port, "reference", covering[:3])  # warm the worker
            _naive(covering[:3])
            measured, sizes, own_sql = _measure(port, "reference", tiles)
            naive_ms, naive_sizes = _naive(tiles)
            median, p95 = float(np.median(measured)), float(np.percentile(measured, 95))
            own = float(np.median(own_sql))
            naive = float(np.median(naive_ms))
            details = {
                "tiles": len(covering),
                "requests": len(tiles),
                "p95_ms": round(p95, 2),
                "max_kb": round(max(sizes) / 1024, 1),
                "mean_kb": round(float(np.mean(sizes)) / 1024, 1),
                "naive_max_kb": round(max(naive_sizes) / 1024, 1),
                "naive_mean_kb": round(float(np.mean(naive_sizes)) / 1024, 1),
                "imported_now": imported,
            }
            results.append(
                Result(
                    f"basemap tile z{z} median over HTTP (p95 {p95:,.1f} ms, max "
                    f"{max(sizes) / 1024:,.0f} KB, {len(covering)} tiles)",
                    round(median, 2),
                    "ms",
                    "its own SQL, prepared",
                    round(own, 2),
                    details=details,
                )
            )
            results.append(
                Result(
                    f"basemap tile z{z} SQL (mean {np.mean(sizes) / 1024:,.1f} KB; plain "
                    f"ST_AsMVT {np.mean(naive_sizes) / 1024:,.1f} KB)",
                    round(own, 2),
                    "ms",
                    "plain ST_AsMVT of every feature, ST_Transform per request",
                    round(naive, 2),
                    details=details,
                )
            )
    return results
