"""Vector tiles at zooms 12, 14 and 16 through the HTTP endpoint, over the synthetic city's
16,000 unit grids and 2,000,000 components.

- data: the synthetic city (synthetic_city.py) gets enough generated components to bring the
  component table to TOTAL_COMPONENTS (uniform inside its unit grids, point classes, imported once
  with `import_components` and kept; `--drop-synthetic` removes them with the city);
- measured: GET /tiles/<layer>/<z>/<x>/<y>.pbf from gunicorn (1 sync worker, DEBUG off) on
  loopback, one keep-alive connection, tiles drawn at random over the synthetic city (fixed
  seed), each requested once (no 304s: a first visit);
- baseline, same run: the layer's own SQL (`ST_AsMVT` …) run directly on a plain psycopg
  connection, prepared, for the same tiles — what PostGIS needs before Python and HTTP. The
  two alternate tile by tile (in turns, which goes first), so a slow moment of the shared VM
  hits both.
"""

from __future__ import annotations

import http.client
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import shapely
from django.conf import settings
from tqdm import tqdm

from bench.common import OUT_DIR, Result
from bench.server import gunicorn
from bench.synthetic_city import DISTRICT_CODE
from geogrid.components.models import Component, ComponentClass
from geogrid.components.schemes import active_scheme
from geogrid.grids.assignment import GridIndex
from geogrid.tiles.layers import DEFAULT_FILTERS, LAYERS
from geogrid.tiles.models import SeededTile
from geogrid.tiles.seeding import seed_layer

TOTAL_COMPONENTS = 2_000_000
MARK = "bench synthetic"
ZOOMS = (12, 14, 16)
TARGETS = {  # (layer, zoom): (median ms, p95 ms, max KB)
    ("grids", 14): (5.0, 10.0, None),
    ("components", 14): (75.0, 200.0, 500),
}


def ensure_components(index: GridIndex, progress=print) -> int:
    """Top the component table up to TOTAL_COMPONENTS with points in the synthetic city."""
    from geogrid.components.importing import import_components

    need = TOTAL_COMPONENTS - Component.objects.count()
    if need <= 0:
        return 0
    progress(f"  generating {need:,} components in the synthetic city (once)…")
    west, south, east, north = (float(v) for v in shapely.total_bounds(index.geoms))
    rng = np.random.default_rng(2_000_000)
    lon_parts, lat_parts, have = [], [], 0
    while have < need:
        lon = rng.uniform(west, east, need)
        lat = rng.uniform(south, north, need)
        inside = index.positions(lon, lat) >= 0
        lon_parts.append(lon[inside])
        lat_parts.append(lat[inside])
        have += int(inside.sum())
    lon, lat = np.concatenate(lon_parts)[:need], np.concatenate(lat_parts)[:need]
    classes = list(
        ComponentClass.objects.filter(
            scheme=active_scheme(), geometry="point", default_department__isnull=False
        ).values_list("code", flat=True)
    )
    codes = np.array(classes, dtype=object)[rng.integers(0, len(classes), need)]
    OUT_DIR.mkdir(exist_ok=True)
    path = OUT_DIR / "synthetic-components.csv"
    pd.DataFrame(
        {"lon": np.round(lon, 7), "lat": np.round(lat, 7), "LBDM": codes, "notes": MARK}
    ).to_csv(path, index=False)
    report = import_components(path=Path(path), actor=None, class_field="LBDM", commit=True)
    path.unlink()
    return report.created


def _tiles(bounds: tuple[float, float, float, float], z: int, count: int) -> list[tuple]:
    west, south, east, north = bounds
    rng = np.random.default_rng(z)
    n = 2**z
    chosen: list[tuple[int, int, int]] = []
    for lon, lat in zip(
        rng.uniform(west, east, count * 4), rng.uniform(south, north, count * 4), strict=True
    ):
        x = int((lon + 180) / 360 * n)
        y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
        if (z, x, y) not in chosen:
            chosen.append((z, x, y))
        if len(chosen) == count:
            break
    return chosen


def _measure(port: int, layer: str, tiles: list[tuple]) -> tuple[list, list, list]:
    """HTTP timings, body sizes and raw SQL timings, alternating tile by tile."""
    spec = LAYERS[layer]
    db = settings.DATABASES["default"]
    http_ms, sizes, raw_ms = [], [], []
    web = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def over_http(z: int, x: int, y: int) -> None:
        start = time.perf_counter()
        web.request("GET", f"/tiles/{layer}/{z}/{x}/{y}.pbf")
        response = web.getresponse()
        body = response.read()
        http_ms.append((time.perf_counter() - start) * 1000)
        if response.status != 200:
            raise RuntimeError(f"{layer} {z}/{x}/{y}: HTTP {response.status} {body[:200]!r}")
        sizes.append(len(body))

    def raw(cursor: psycopg.Cursor, z: int, x: int, y: int) -> None:
        values = spec.values(z, x, y, DEFAULT_FILTERS, cap=settings.GEOGRID_TILE_MAX_FEATURES)
        start = time.perf_counter()
        cursor.execute(spec.sql(z), values, prepare=True).fetchone()
        raw_ms.append((time.perf_counter() - start) * 1000)

    with (
        psycopg.connect(
            host=db["HOST"] or None,
            port=db["PORT"] or None,
            dbname=db["NAME"],
            user=db["USER"] or None,
            password=db["PASSWORD"] or None,
            autocommit=True,
        ) as connection,
        connection.cursor() as cursor,
    ):
        for i, tile in enumerate(
            tqdm(tiles, desc=f"  {layer} z{tiles[0][0]}", unit="tile", leave=False)
        ):
            if i % 2:
                over_http(*tile)
                raw(cursor, *tile)
            else:
                raw(cursor, *tile)
                over_http(*tile)
    web.close()
    return http_ms, sizes, raw_ms


def run(
    *,
    count: int,
    zooms: tuple[int, ...] = ZOOMS,
    bounds: tuple[float, float, float, float] | None = None,
    ensure: bool = True,
    seeded: bool = True,
) -> list[Result]:
    """`bounds`: where the tiles are drawn (default: the whole synthetic city); `ensure`:
    top the components up first (the growth benchmark's city brings its own); `seeded`: also
    measure the grids read from seeded tiles (seeding the whole city first)."""
    index = GridIndex.load(level="unit", district_code=DISTRICT_CODE)
    created = ensure_components(index) if ensure else 0
    components = Component.objects.count()
    west, south, east, north = bounds or tuple(float(v) for v in shapely.total_bounds(index.geoms))
    results: list[Result] = []
    # The grids layer is measured as rendered on request (the targets are for that), then as
    # read from seeded tiles (seed_tiles, geogrid/tiles/seeding.py) over the same tiles.
    SeededTile.objects.filter(layer="grids").delete()
    with gunicorn(1) as port:
        for layer_label in ("grids", "components", *(("grids seeded",) if seeded else ())):
            layer = layer_label.split()[0]
            if layer_label == "grids seeded":
                seed_layer(max_zoom=max(zooms))
            for z in zooms:
                tiles = _tiles((west, south, east, north), z, count)
                _measure(port, layer, tiles[:3])  # warm the worker
                measured, sizes, baseline = _measure(port, layer, tiles)
                median, p95 = float(np.median(measured)), float(np.percentile(measured, 95))
                target = TARGETS.get((layer_label, z))
                details = {
                    "tiles": len(tiles),
                    "p95_ms": round(p95, 2),
                    "max_kb": round(max(sizes) / 1024, 1),
                    "raw_median_ms": round(float(np.median(baseline)), 2),
                    "raw_p95_ms": round(float(np.percentile(baseline, 95)), 2),
                    "components": components,
                    "components_added_now": created,
                }
                label = (
                    f"{layer_label} tile z{z} median (p95 {p95:,.1f} ms, max "
                    f"{max(sizes) / 1024:,.0f} KB)"
                )
                if target:
                    ok = (
                        median <= target[0]
                        and p95 <= target[1]
                        and (target[2] is None or max(sizes) <= target[2] * 1024)
                    )
                    goal = f"median ≤ {target[0]:g} ms, p95 ≤ {target[1]:g} ms" + (
                        f", ≤ {target[2]} KB" if target[2] else ""
                    )
                else:
                    ok, goal = None, ""
                results.append(
                    Result(
                        label,
                        round(median, 2),
                        "ms",
                        "raw ST_AsMVT SQL median",
                        round(float(np.median(baseline)), 2),
                        target=goal,
                        passed=ok,
                        details=details,
                    )
                )
    return results
