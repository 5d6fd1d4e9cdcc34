"""Division along features on real data: a district-sized area into ~4,000 unit grids.

The data is OpenStreetMap's Liechtenstein (gis_data/osm/liechtenstein-2015.osm.pbf, ODbL),
imported once into the bench database with `import_layer --no-clip` and reused after. The area
is the Rhine valley from Triesen to Schaan (BOX, about 40 km²): town centres, villages, fields,
the river and the forest at the foot of the mountains — the mix a real district has.

Measured, in one transaction rolled back at the end (the bench database keeps no grids):

- the planner's path through the services: a district and a street over BOX, the street divided
  along features into COMMUNITIES communities, each community into unit grids of TARGET_M2,
  every grid written with its boundary and event, then the topology report of every community
  (target: ≤ 60 s on 2 cores, every report clean);
- the algorithm alone over the whole area in one call (no codes, no writes);
- the raw baselines of the same run: shapely's node + polygonize of the same feature lines (the
  blocks, nothing more) and PostGIS's ST_Polygonize(ST_Node(ST_Collect(...))) of them.

Quality (not timed): the share of the unit grids' boundary length on a road, water or wall, the
buildings cut, the area coefficient of variation — beside the square and Voronoi methods on the
same area at the same number of grids — and the workload CV with and without balancing, the
workload being one unit per building (a stand-in for components where the data has none).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.test import override_settings
from shapely.geometry import MultiPolygon, box

from bench.common import Result, median_ns
from geogrid.grids import city_features as city
from geogrid.grids.division import divide
from geogrid.grids.division_report import summarise
from geogrid.grids.feature_division import WorkloadSource, divide_along_features
from geogrid.grids.models import Grid, GridLevel
from geogrid.grids.services.dividing import divide_parent
from geogrid.grids.services.editing import create_grid
from geogrid.grids.topology import topology_report
from geogrid.reference.models import ReferenceLayer

PBF = Path(settings.BASE_DIR) / "gis_data" / "osm" / "liechtenstein-2015.osm.pbf"
LAYER_PREFIX = "liechtenstein-2015"
# Triesen to Schaan between the Rhine and the forest: 5.15 km × 7.8 km.
BOX = (9.487, 47.090, 9.555, 47.160)
# Liechtenstein's metric CRS for areas: UTM zone 32N.
METRIC_SRID = 32632
DISTRICT_CODE = "110109"  # benchmark data only: no real district is written (rolled back)
COMMUNITIES = 8
TARGET_M2 = 10_000.0
TARGET_S = 60.0


def ensure_layers() -> int:
    """Import the extract's roads, water, walls and buildings once; the number of layers."""
    existing = ReferenceLayer.objects.filter(name__startswith=LAYER_PREFIX).count()
    if existing:
        return existing
    print(f"  importing {PBF.name} (once)", flush=True)
    call_command("import_layer", str(PBF), "--no-clip", "--name", LAYER_PREFIX, verbosity=0)
    return ReferenceLayer.objects.filter(name__startswith=LAYER_PREFIX).count()


def _levels() -> dict[str, GridLevel]:
    return {level.slug: level for level in GridLevel.objects.all()}


def _service_path(area: MultiPolygon) -> tuple[float, list[Grid], list[dict[str, Any]]]:
    """District → street → communities → unit grids through the services; (seconds, the
    unit grids, the communities' topology reports)."""
    levels = _levels()
    district = create_grid(
        actor=None, level=levels["district"], code=DISTRICT_CODE, geom=area, name="bench OSM"
    )
    street = create_grid(actor=None, level=levels["street"], parent=district, geom=area)
    started = time.perf_counter()
    communities = divide_parent(
        parent=street, actor=None, method="features", count=COMMUNITIES, compare=False
    ).children
    units: list[Grid] = []
    for community in communities:
        units += divide_parent(
            parent=community,
            actor=None,
            method="features",
            target_area_m2=TARGET_M2,
            compare=False,
        ).children
    reports = [topology_report(parent=community) for community in communities]
    return time.perf_counter() - started, units, reports


def _building_workload(features: Any) -> list[WorkloadSource]:
    """One unit of work per building, at its centroid: where people live and work."""
    if not len(features.buildings):
        return []
    centroids = shapely.get_coordinates(shapely.centroid(features.buildings))
    return [WorkloadSource(name="buildings", points=centroids, weights=np.ones(len(centroids)))]


def _shapely_blocks(features: Any) -> int:
    return len(
        shapely.get_parts(
            shapely.polygonize(
                shapely.get_parts(
                    shapely.node(shapely.multilinestrings(shapely.get_parts(features.lines)))
                )
            )
        )
    )


POSTGIS_BLOCKS_SQL = """
SELECT ST_NumGeometries(ST_Polygonize(noded.geom)) FROM (
    SELECT ST_Node(ST_Collect(parts.geom)) AS geom FROM (
        -- ST_Node takes lines only: polygons give their outline, multi-lines their parts.
        SELECT (ST_Dump(CASE WHEN ST_Dimension(f.geom) = 2 THEN ST_Boundary(f.geom)
                             ELSE f.geom END)).geom AS geom
        FROM reference_referencefeature f
        JOIN reference_referencelayer l ON l.id = f.layer_id
        WHERE l.kind IN ('roads', 'water', 'walls')
          AND f.geom && ST_MakeEnvelope(%s, %s, %s, %s, 4490)
    ) parts
    WHERE ST_GeometryType(parts.geom) = 'ST_LineString'
) noded
"""


def _postgis_blocks() -> int:
    with connection.cursor() as cursor:
        cursor.execute(POSTGIS_BLOCKS_SQL, BOX)
        return int(cursor.fetchone()[0] or 0)


def run(*, repeat: int, postgis: bool) -> list[Result]:
    layers = ensure_layers()
    area = MultiPolygon([box(*BOX)])
    results: list[Result] = []
    with override_settings(GEOGRID_METRIC_SRID=METRIC_SRID):
        area_km2 = _area_km2(area)  # in the metric CRS of the data, overridden here
        features = city.city_features(area)
        lines = len(features.lines)
        print(
            f"  {layers} layers; over the area: {lines:,} feature lines, "
            f"{len(features.buildings):,} buildings",
            flush=True,
        )
        raw_ns, _, blocks = median_ns(lambda: _shapely_blocks(features), repeat)
        raw_s = raw_ns / 1e9
        sql_s = None
        if postgis:
            sql_ns, _, _ = median_ns(_postgis_blocks, repeat)
            sql_s = sql_ns / 1e9

        with transaction.atomic():
            seconds, units, reports = _service_path(area)
            clean = all(report["ok"] for report in reports)
            shapes = [shapely.from_wkb(bytes(unit.geom.wkb)) for unit in units]
            transaction.set_rollback(True)

        pure_started = time.perf_counter()
        pure = divide_along_features(area, features=features, target_area_m2=TARGET_M2)
        pure_s = time.perf_counter() - pure_started

        # Quality of the written unit grids beside the geometric methods at the same count.
        quality = {"features": summarise("features", shapes, area, features, [])[0]}
        for method in ("square", "voronoi"):
            pieces = divide(
                area,
                target_area_m2=TARGET_M2,
                method=method,
                seed=0,
                count=len(shapes) if method == "voronoi" else None,
            )
            quality[method] = summarise(method, pieces, area, features, [])[0]
        workload = _building_workload(features)
        balanced = None
        if workload:
            plain = summarise("features", pure.pieces, area, features, workload)[0]
            weighted = divide_along_features(
                area, features=features, target_area_m2=TARGET_M2, workload=workload
            )
            balanced = summarise("features", weighted.pieces, area, features, workload)[0]

    details = {
        "area_km2": round(area_km2, 2),
        "unit_grids": len(units),
        "communities": COMMUNITIES,
        "blocks": blocks,
        "topology_clean": clean,
        "quality": {name: summary.as_dict() for name, summary in quality.items()},
        "postgis_blocks_s": sql_s,
        "algorithm_alone_s": round(pure_s, 2),
    }
    if workload:
        details["workload_cv_area_only"] = plain.workload_cv
        details["workload_cv_balanced"] = balanced.workload_cv if balanced else None
    print(_quality_table(quality, len(units), clean, details), flush=True)
    results.append(
        Result(
            f"divide {details['area_km2']} km² along features → {len(units):,} unit grids "
            "(services, written, topology checked)",
            seconds,
            "s",
            baseline_name="shapely node + polygonize of the same lines",
            baseline=raw_s,
            target=f"≤ {TARGET_S:.0f} s, topology clean",
            passed=seconds <= TARGET_S and clean,
            details=details,
        )
    )
    results.append(
        Result(
            f"divide_along_features alone, whole area in one call → {len(pure.pieces):,} pieces",
            pure_s,
            "s",
            baseline_name="PostGIS ST_Polygonize(ST_Node(...))" if sql_s else "shapely blocks",
            baseline=sql_s if sql_s else raw_s,
        )
    )
    return results


def _area_km2(area: MultiPolygon) -> float:
    from geogrid.core.gis import area_m2

    return float(area_m2(area)) / 1e6


def _quality_table(quality: dict[str, Any], units: int, clean: bool, details: dict) -> str:
    rows = [
        f"  {units:,} unit grids in {details['communities']} communities from "
        f"{details['blocks']:,} blocks; topology {'clean' if clean else 'NOT CLEAN'}",
        f"  {'method':<10}{'grids':>7}{'on feature':>12}{'buildings cut':>15}{'area CV':>9}",
    ]
    for name, summary in quality.items():
        share = "—" if summary.on_feature_share is None else f"{summary.on_feature_share:.1%}"
        cut = "—" if summary.buildings_cut is None else f"{summary.buildings_cut:,}"
        rows.append(f"  {name:<10}{summary.grids:>7,}{share:>12}{cut:>15}{summary.area_cv:>9.3f}")
    if "workload_cv_area_only" in details:
        rows.append(
            f"  workload (one per building) CV: {details['workload_cv_area_only']:.3f} by area "
            f"alone, {details['workload_cv_balanced']:.3f} balanced"
        )
    return "\n".join(rows)
