"""Component inventory imports: 1,000,000 points from a CSV and from a GeoPackage.

- measured: `import_components(..., commit=True)` end to end — reading, validation, CRS, class
  checks, grid assignment, code allocation, the COPY into components_component with its
  indexes and audit events, and the deferred foreign-key checks a commit runs — inside a
  transaction that is rolled back afterwards, so the bench database keeps only the demo
  inventory (the rollback itself is not timed);
- baseline: the raw floor in the same run: geopandas/pyogrio reads the same file, and COPY
  writes (geometry, class) into a plain table with a GiST index, no checks at all.
"""

from __future__ import annotations

import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import shapely
from django.db import connection, transaction

from bench.common import OUT_DIR, Result
from geogrid.components.importing import import_components
from geogrid.components.models import ComponentClass
from geogrid.components.services import active_scheme
from geogrid.grids.assignment import GridIndex

TARGET_S = 30.0


def make_files(index: GridIndex, lon: np.ndarray, lat: np.ndarray, limit: int
               ) -> tuple[Path, Path, int]:
    """CSV and GeoPackage of (at most `limit`) points inside unit grids, each with a point
    class code."""
    inside = index.positions(lon, lat) >= 0
    lon, lat = lon[inside][:limit], lat[inside][:limit]
    classes = list(ComponentClass.objects.filter(scheme=active_scheme(), geometry="point",
                                                 default_department__isnull=False)
                   .values_list("code", flat=True))
    rng = np.random.default_rng(11)
    codes = np.array(classes, dtype=object)[rng.integers(0, len(classes), len(lon))]
    OUT_DIR.mkdir(exist_ok=True)
    csv_path, gpkg_path = OUT_DIR / "components-1m.csv", OUT_DIR / "components-1m.gpkg"
    pd.DataFrame({"lon": np.round(lon, 7), "lat": np.round(lat, 7), "LBDM": codes}).to_csv(
        csv_path, index=False)
    frame = gpd.GeoDataFrame({"LBDM": codes}, geometry=shapely.points(lon, lat), crs=4490)
    if gpkg_path.exists():
        gpkg_path.unlink()
    frame.to_file(gpkg_path, driver="GPKG", engine="pyogrio", layer="components")
    return csv_path, gpkg_path, len(lon)


def _timed_import(path: Path) -> tuple[float, int, dict[str, float]]:
    with transaction.atomic():
        start = time.perf_counter()
        report = import_components(path=path, actor=None, class_field="LBDM", commit=True)
        # The foreign keys are checked at commit (deferred), which this rolled-back transaction
        # never reaches: force the checks now, inside the timing, as a real commit would.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        elapsed = time.perf_counter() - start
        transaction.set_rollback(True)
    # The rolled-back rows leave dead index entries; without this every run inserts into
    # fuller, slower indexes than the last.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM components_component, components_componentevent")
    stages = dict(report.timings)
    stages["foreign-key checks at commit"] = round(elapsed - sum(report.timings.values()), 3)
    return elapsed, report.created, stages


def _raw_baseline(path: Path) -> float:
    """Read with geopandas (pyogrio) and COPY into an indexed plain table."""
    start = time.perf_counter()
    if path.suffix == ".csv":
        table = pd.read_csv(path, dtype={"LBDM": str})
        geoms = shapely.points(table["lon"].to_numpy(), table["lat"].to_numpy())
        classes = table["LBDM"].to_numpy()
    else:
        frame = gpd.read_file(path, engine="pyogrio")
        geoms, classes = np.asarray(frame.geometry.values), frame["LBDM"].to_numpy()
    wkb = shapely.to_wkb(geoms, include_srid=False)
    connection.ensure_connection()
    with transaction.atomic(), psycopg.Cursor(connection.connection) as cursor:
        cursor.execute("CREATE TEMP TABLE bench_raw (class_code text, geom geometry(Point, 4490))"
                       " ON COMMIT DROP")
        with cursor.copy("COPY bench_raw (class_code, geom) FROM STDIN") as copy:
            for code, blob in zip(classes, wkb, strict=True):
                copy.write_row((code, blob.hex()))
        cursor.execute("CREATE INDEX ON bench_raw USING gist (geom)")
        elapsed = time.perf_counter() - start
        transaction.set_rollback(True)
    return elapsed


def run(index: GridIndex, lon: np.ndarray, lat: np.ndarray, *, limit: int) -> list[Result]:
    print("  writing the CSV and GeoPackage…", flush=True)
    csv_path, gpkg_path, count = make_files(index, lon, lat, limit)
    results = []
    for label, path in (("CSV", csv_path), ("GeoPackage", gpkg_path)):
        print(f"  import_components {label} ({count:,} points)…", flush=True)
        elapsed, created, stages = _timed_import(path)
        print("    " + ", ".join(f"{k.lower()} {v:.1f} s" for k, v in stages.items()), flush=True)
        print(f"  raw {label} baseline…", flush=True)
        baseline = _raw_baseline(path)
        results.append(Result(
            f"import_components {count:,} pts, {label}", round(elapsed, 2), "s",
            "read + COPY + GiST, no checks", round(baseline, 2),
            target="≤ 30 s", passed=elapsed <= TARGET_S and created == count,
            details={"created": created, "rows": count, "stages_s": stages},
        ))
    return results
