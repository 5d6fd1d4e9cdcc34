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
same area at the same number of grids, and beside the division with blocks kept whole — and the
workload CV with and without balancing, the workload being one unit per building (a stand-in for
components where the data has none).

Then the dense centre: central Helsinki (gis_data/osm/helsinki-test.osm.pbf, ODbL), divided
balanced and with blocks kept whole (timed), beside square and Voronoi at the same count, with
the share of boundary that runs along a building's wall where it leaves the feature lines
(target: ≥ 90 % on a feature with blocks whole, 0 buildings cut).
"""

from __future__ import annotations

import io
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
from geogrid.core.gis import area_m2
from geogrid.grids import city_features as city
from geogrid.grids.division import divide
from geogrid.grids.division_report import drawn_boundaries, stretches_following, summarise
from geogrid.grids.feature_division import WorkloadSource, divide_along_features
from geogrid.grids.models import Grid, GridLevel
from geogrid.grids.services.dividing import divide_parent
from geogrid.grids.services.editing import create_grid
from geogrid.grids.topology import topology_report
from geogrid.reference.models import ReferenceLayer

PBF = Path(settings.BASE_DIR) / "gis_data" / "osm" / "liechtenstein-2015.osm.pbf"
LAYER_PREFIX = "liechtenstein-2015"
# The dense centre: central Helsinki (Kluuvi, Kaartinkaupunki, Kruununhaka), the extract the
# real-data tests use, in ETRS-TM35FIN.
DENSE_PBF = Path(settings.BASE_DIR) / "gis_data" / "osm" / "helsinki-test.osm.pbf"
DENSE_PREFIX = "helsinki-test"
DENSE_BOX = (24.9365, 60.1652, 24.9520, 60.1780)
DENSE_SRID = 3067
# The unit level's area bounds (geogrid/grids/levels.py).
UNIT_MIN_M2, UNIT_MAX_M2 = 1_000.0, 50_000.0
TARGET_SHARE = 0.9
# Triesen to Schaan between the Rhine and the forest: 5.15 km × 7.8 km.
BOX = (9.487, 47.090, 9.555, 47.160)
# Liechtenstein's metric CRS for areas: UTM zone 32N.
METRIC_SRID = 32632
DISTRICT_CODE = "110109"  # benchmark data only: no real district is written (rolled back)
COMMUNITIES = 8
TARGET_M2 = 10_000.0
TARGET_S = 60.0


def ensure_layers(pbf: Path = PBF, prefix: str = LAYER_PREFIX) -> int:
    """Import an extract's roads, water, walls and buildings once; the number of layers."""
    existing = ReferenceLayer.objects.filter(name__startswith=prefix).count()
    if existing:
        return existing
    print(f"  importing {pbf.name} (once)", flush=True)
    call_command(
        "import_layer", str(pbf), "--no-clip", "--name", prefix, verbosity=0, stdout=io.StringIO()
    )
    return ReferenceLayer.objects.filter(name__startswith=prefix).count()


def along_building_walls(pieces: list[Any], area: MultiPolygon, features: Any) -> float | None:
    """The share of the drawn boundary that is off every feature line but within 1 m of a
    building's outline: a boundary along a wall of a house (a party wall, a facade)."""
    if not len(features.buildings) or len(pieces) < 2:
        return None
    stretches = drawn_boundaries(np.array(pieces, dtype=object), area)
    lengths = shapely.length(stretches)
    on_line = (
        stretches_following(stretches, features.lines)
        if len(features.lines)
        else np.zeros(len(stretches), dtype=bool)
    )
    on_wall = stretches_following(stretches, shapely.boundary(features.buildings))
    total = float(lengths.sum())
    return float(lengths[on_wall & ~on_line].sum() / total) if total else None


def _compare(
    area: MultiPolygon, features: Any, divisions: dict[str, list[Any]]
) -> dict[str, dict[str, Any]]:
    """Each division's summary (and share along building walls; the workload being one unit
    per building), with the square and Voronoi methods at the count of the first."""
    count = len(next(iter(divisions.values())))
    pieces = dict(divisions)
    pieces["square"] = divide(area, target_area_m2=area_m2(area) / count, method="square", seed=0)
    pieces["voronoi"] = divide(
        area, target_area_m2=area_m2(area) / count, method="voronoi", seed=0, count=count
    )
    table = {}
    workload = _building_workload(features)
    for name, shapes in pieces.items():
        row = summarise(name, shapes, area, features, workload)[0].as_dict()
        row["along_building_walls"] = along_building_walls(shapes, area, features)
        table[name] = row
    return table


def _dense_centre(repeat: int) -> Result:
    """Central Helsinki into unit grids of TARGET_M2, balanced and with blocks kept whole."""
    ensure_layers(DENSE_PBF, DENSE_PREFIX)
    area = MultiPolygon([box(*DENSE_BOX)])
    with override_settings(GEOGRID_METRIC_SRID=DENSE_SRID):
        features = city.city_features(area)
        bounds = {"min_area_m2": UNIT_MIN_M2, "max_area_m2": UNIT_MAX_M2}
        balanced = divide_along_features(
            area, features=features, target_area_m2=TARGET_M2, **bounds
        )
        whole_ns, _, whole = median_ns(
            lambda: divide_along_features(
                area, features=features, target_area_m2=TARGET_M2, keep_blocks=True, **bounds
            ),
            repeat,
        )
        table = {
            "features, balanced": _compare(area, features, {"features, balanced": balanced.pieces})[
                "features, balanced"
            ],
            **_compare(area, features, {"features, blocks whole": whole.pieces}),
        }
        km2 = float(area_m2(area)) / 1e6
    print(_summary_table(f"central Helsinki, {km2:.2f} km²", table), flush=True)
    share = table["features, blocks whole"]["on_feature_share"]
    return Result(
        f"central Helsinki {km2:.2f} km² along features, blocks whole → "
        f"{len(whole.pieces)} unit grids: share of boundary on a road, water or wall",
        round(share * 100, 1),
        "%",
        target=f"≥ {TARGET_SHARE:.0%} of the boundary on a feature, 0 buildings cut",
        passed=share >= TARGET_SHARE and table["features, blocks whole"]["buildings_cut"] == 0,
        higher_is_better=True,
        details={"seconds_blocks_whole": round(whole_ns / 1e9, 2), "methods": table},
    )


def _summary_table(title: str, table: dict[str, dict[str, Any]]) -> str:
    rows = [
        f"  {title}",
        f"  {'method':<24}{'grids':>7}{'on feature':>12}{'+ along walls':>15}"
        f"{'buildings cut':>15}{'area CV':>9}{'work CV':>9}{'max m²':>9}",
    ]
    for name, row in table.items():
        share, walls, cut = (
            row["on_feature_share"],
            row["along_building_walls"],
            row["buildings_cut"],
        )
        share_text = "—" if share is None else f"{share:.1%}"
        walls_text = "—" if walls is None else f"{walls:.1%}"
        cut_text = "—" if cut is None else f"{cut:,}"
        work_text = "—" if row["workload_cv"] is None else f"{row['workload_cv']:.3f}"
        rows.append(
            f"  {name:<24}{row['grids']:>7,}{share_text:>12}{walls_text:>15}{cut_text:>15}"
            f"{row['area_cv']:>9.3f}{work_text:>9}{row['area_max_m2']:>9,.0f}"
        )
    return "\n".join(rows)


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
        # The planner's other way: each block whole unless above the unit level's maximum.
        whole = divide_along_features(
            area,
            features=features,
            target_area_m2=TARGET_M2,
            min_area_m2=UNIT_MIN_M2,
            max_area_m2=UNIT_MAX_M2,
            keep_blocks=True,
        )
        quality["blocks whole"] = summarise("blocks whole", whole.pieces, area, features, [])[0]
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
    results.append(_dense_centre(repeat))
    return results


def _area_km2(area: MultiPolygon) -> float:
    return float(area_m2(area)) / 1e6


def _quality_table(quality: dict[str, Any], units: int, clean: bool, details: dict) -> str:
    rows = [
        f"  {units:,} unit grids in {details['communities']} communities from "
        f"{details['blocks']:,} blocks; topology {'clean' if clean else 'NOT CLEAN'}",
        f"  {'method':<14}{'grids':>7}{'on feature':>12}{'buildings cut':>15}{'area CV':>9}",
    ]
    for name, summary in quality.items():
        share = "—" if summary.on_feature_share is None else f"{summary.on_feature_share:.1%}"
        cut = "—" if summary.buildings_cut is None else f"{summary.buildings_cut:,}"
        rows.append(f"  {name:<14}{summary.grids:>7,}{share:>12}{cut:>15}{summary.area_cv:>9.3f}")
    if "workload_cv_area_only" in details:
        rows.append(
            f"  workload (one per building) CV: {details['workload_cv_area_only']:.3f} by area "
            f"alone, {details['workload_cv_balanced']:.3f} balanced"
        )
    return "\n".join(rows)
