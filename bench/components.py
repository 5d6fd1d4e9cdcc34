"""Component inventory imports: 1,000,000 points from a CSV and from a GeoPackage.

- measured: `import_components(..., commit=True)` end to end — reading, validation, CRS, class
  checks, grid assignment, code allocation, the COPY into components_component with its
  indexes and audit events, and the deferred foreign-key checks a commit runs — inside a
  transaction that is rolled back afterwards, so the bench database keeps only the demo
  inventory (the rollback itself is not timed);
- baseline: the raw floor in the same run: geopandas/pyogrio reads the same file, and COPY
  writes (geometry, class) into a plain table with a GiST index, no checks at all;
- baseline, the tool a data manager would otherwise use: `ogr2ogr` (GDAL, COPY mode) loading
  the same file into a new PostGIS table with a GiST index, geometry in SRID 4490 (the table
  is dropped afterwards). Target: import_components ≤ 2× ogr2ogr, every check kept.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import shapely
from django.conf import settings
from django.db import connection, transaction

from bench.common import OUT_DIR, Result
from geogrid.components.importing import import_components
from geogrid.components.models import ComponentClass
from geogrid.components.schemes import active_scheme
from geogrid.grids.assignment import GridIndex

TARGET_S = 30.0
TARGET_OGR2OGR_RATIO = 2.0
OGR_TABLE = "bench_ogr2ogr"


def make_files(
    index: GridIndex, lon: np.ndarray, lat: np.ndarray, limit: int
) -> tuple[Path, Path, int]:
    """CSV and GeoPackage of (at most `limit`) points inside unit grids, each with a point
    class code."""
    inside = index.positions(lon, lat) >= 0
    lon, lat = lon[inside][:limit], lat[inside][:limit]
    classes = list(
        ComponentClass.objects.filter(
            scheme=active_scheme(), geometry="point", default_department__isnull=False
        ).values_list("code", flat=True)
    )
    rng = np.random.default_rng(11)
    codes = np.array(classes, dtype=object)[rng.integers(0, len(classes), len(lon))]
    OUT_DIR.mkdir(exist_ok=True)
    csv_path, gpkg_path = OUT_DIR / "components-1m.csv", OUT_DIR / "components-1m.gpkg"
    pd.DataFrame({"lon": np.round(lon, 7), "lat": np.round(lat, 7), "LBDM": codes}).to_csv(
        csv_path, index=False
    )
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
        cursor.execute(
            "CREATE TEMP TABLE bench_raw (class_code text, geom geometry(Point, 4490))"
            " ON COMMIT DROP"
        )
        with cursor.copy("COPY bench_raw (class_code, geom) FROM STDIN") as copy:
            for code, blob in zip(classes, wkb, strict=True):
                copy.write_row((code, blob.hex()))
        cursor.execute("CREATE INDEX ON bench_raw USING gist (geom)")
        elapsed = time.perf_counter() - start
        transaction.set_rollback(True)
    return elapsed


def _ogr2ogr(path: Path) -> float:
    """`ogr2ogr` loading the file into a new PostGIS table (COPY, GiST index, SRID 4490), as
    GDAL's documentation suggests for bulk loads; seconds, the table dropped afterwards."""
    db = settings.DATABASES["default"]
    target = " ".join(
        f"{k}={v}"
        for k, v in (
            ("host", db["HOST"]),
            ("port", db["PORT"]),
            ("dbname", db["NAME"]),
            ("user", db["USER"]),
            ("password", db["PASSWORD"]),
        )
        if v
    )
    command = [
        "ogr2ogr",
        "-f",
        "PostgreSQL",
        f"PG:{target}",
        str(path),
        "-nln",
        OGR_TABLE,
        "-lco",
        "SPATIAL_INDEX=GIST",
        "-lco",
        "GEOMETRY_NAME=geom",
        "-nlt",
        "POINT",
        "-overwrite",
        "--config",
        "PG_USE_COPY",
        "YES",
    ]
    if path.suffix == ".csv":
        command += [
            "-oo",
            "X_POSSIBLE_NAMES=lon",
            "-oo",
            "Y_POSSIBLE_NAMES=lat",
            "-oo",
            "KEEP_GEOM_COLUMNS=NO",
            "-a_srs",
            "EPSG:4490",
        ]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    elapsed = time.perf_counter() - start
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), min(ST_SRID(geom)), max(ST_SRID(geom)), "
            "(SELECT count(*) FROM pg_indexes WHERE tablename = %s "
            " AND indexdef LIKE '%%gist%%') FROM " + OGR_TABLE,
            [OGR_TABLE],
        )
        rows, low, high, gist = cursor.fetchone()
        cursor.execute(f"DROP TABLE {OGR_TABLE}")
    if (low, high) != (4490, 4490) or not gist:
        raise RuntimeError(
            f"ogr2ogr loaded {rows} rows with SRID {low}–{high} and {gist} GiST "
            "index(es); expected SRID 4490 and one GiST index"
        )
    return elapsed


def run(
    index: GridIndex,
    lon: np.ndarray,
    lat: np.ndarray,
    *,
    limit: int,
    formats: tuple[str, ...] = ("CSV", "GeoPackage"),
) -> list[Result]:
    print("  writing the CSV and GeoPackage…", flush=True)
    csv_path, gpkg_path, count = make_files(index, lon, lat, limit)
    results = []
    for label, path in (("CSV", csv_path), ("GeoPackage", gpkg_path)):
        if label not in formats:
            continue
        print(f"  import_components {label} ({count:,} points)…", flush=True)
        elapsed, created, stages = _timed_import(path)
        print("    " + ", ".join(f"{k.lower()} {v:.1f} s" for k, v in stages.items()), flush=True)
        print(f"  raw {label} baseline…", flush=True)
        baseline = _raw_baseline(path)
        print(f"  ogr2ogr {label}…", flush=True)
        ogr = _ogr2ogr(path)
        results.append(
            Result(
                f"import_components {count:,} pts, {label}",
                round(elapsed, 2),
                "s",
                "read + COPY + GiST, no checks",
                round(baseline, 2),
                target="≤ 30 s",
                passed=elapsed <= TARGET_S and created == count,
                details={"created": created, "rows": count, "stages_s": stages},
            )
        )
        results.append(
            Result(
                f"import_components {count:,} pts, {label} (vs ogr2ogr)",
                round(elapsed, 2),
                "s",
                "ogr2ogr, COPY + GiST, no checks",
                round(ogr, 2),
                target=f"≤ {TARGET_OGR2OGR_RATIO:g}× ogr2ogr",
                passed=elapsed <= TARGET_OGR2OGR_RATIO * ogr and created == count,
                details={"created": created, "rows": count, "stages_s": stages, "ogr2ogr_s": ogr},
            )
        )
    return results
