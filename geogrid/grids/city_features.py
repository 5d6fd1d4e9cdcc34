"""The reference features a division follows, read for one parent (docs/domain.md §2.7).

How a feature class ranks as a boundary: a main road, a river or a railway is a barrier that
grids are not merged across when there is another way; a street ranks above a lane or a wall,
which are the first boundaries to give up when blocks are joined into a grid.
"""

from __future__ import annotations

import numpy as np
import shapely
from django.conf import settings
from shapely.geometry.base import BaseGeometry

from geogrid.core.db import raw_cursor
from geogrid.core.gis import from_metric, to_metric
from geogrid.grids.feature_division import (
    RANK_BARRIER,
    RANK_MINOR,
    RANK_STREET,
    CityFeatures,
)
from geogrid.reference.models import FeatureClass, LayerKind

RANK_OF_CLASS = {
    FeatureClass.MAIN: RANK_BARRIER,
    FeatureClass.RIVER: RANK_BARRIER,
    FeatureClass.RAILWAY: RANK_BARRIER,
    FeatureClass.SECONDARY: RANK_STREET,
    FeatureClass.STREET: RANK_STREET,
    FeatureClass.LANE: RANK_MINOR,
    FeatureClass.WALL: RANK_MINOR,
    FeatureClass.STREAM: RANK_MINOR,
}
BOUNDARY_KINDS = (LayerKind.ROADS, LayerKind.WATER, LayerKind.WALLS)
# With GEOGRID_DIVISION_BOUNDARY=kerb, a road of these classes is replaced by its two kerb lines,
# this far (metres) either side of its centreline: half a typical carriageway of the class.
# Lanes (胡同) stay centrelines: a few metres wide, their kerbs would be slivers of no use.
KERB_OFFSET_M = {
    FeatureClass.MAIN: 12.0,
    FeatureClass.SECONDARY: 8.0,
    FeatureClass.STREET: 5.0,
}

# Lines and buildings: as stored; water areas: their outlines (the bank is the boundary). The parent is
# grown by ~100 m so that lines reach past its outline and are noded on it.
_FEATURES_SQL = """
WITH parent AS (SELECT ST_GeomFromWKB(%(parent)s, 4490) AS geom)
SELECT f.kind, f.feature_class,
       ST_AsBinary(CASE WHEN ST_Dimension(f.geom) = 2 AND f.kind <> 'buildings'
                        THEN ST_Boundary(f.geom) ELSE f.geom END)
FROM reference_referencefeature f, parent p
WHERE f.geom && ST_Expand(p.geom, 0.001)
  AND ST_Intersects(f.geom, ST_Expand(p.geom, 0.001))
  AND f.kind = ANY(%(kinds)s)
"""


def city_features(parent: BaseGeometry) -> CityFeatures:
    """Roads, water, walls and buildings over `parent` (storage CRS), as the division wants them."""
    wkb = shapely.to_wkb(parent)
    with raw_cursor() as cursor:
        rows = cursor.execute(
            _FEATURES_SQL,
            {"parent": wkb, "kinds": [str(k) for k in (*BOUNDARY_KINDS, LayerKind.BUILDINGS)]},
            binary=True,
        ).fetchall()
    if not rows:
        return CityFeatures.none()
    kinds = np.array([r[0] for r in rows])
    classes = np.array([r[1] for r in rows])
    shapes = shapely.from_wkb([bytes(r[2]) for r in rows])
    is_building = kinds == LayerKind.BUILDINGS
    lines, line_classes = shapes[~is_building], classes[~is_building]
    if settings.GEOGRID_DIVISION_BOUNDARY == "kerb":
        lines, line_classes = kerb_lines(
            lines, line_classes, is_road=kinds[~is_building] == LayerKind.ROADS
        )
    ranks = np.array([RANK_OF_CLASS.get(c, RANK_MINOR) for c in line_classes], dtype=np.int8)
    return CityFeatures(lines=lines, ranks=ranks, buildings=shapes[is_building])


def kerb_lines(
    lines: np.ndarray, classes: np.ndarray, *, is_road: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each road of a KERB_OFFSET_M class replaced by its two kerb lines (offset in metres,
    mitred corners), with its class; other lines as they are. The carriageway between the kerbs
    becomes a strip of its own, which the division joins whole to a neighbouring block, so a
    street belongs to one grid and the grids' boundaries run along its kerbs."""
    offsets = np.array([KERB_OFFSET_M.get(c, 0.0) for c in classes]) * is_road
    wide = offsets > 0
    if not wide.any():
        return lines, classes
    metric = to_metric(lines[wide])
    sides = [
        from_metric(shapely.offset_curve(metric, sign * offsets[wide], join_style="mitre"))
        for sign in (1.0, -1.0)
    ]
    kept = np.concatenate([lines[~wide], *sides])
    kept_classes = np.concatenate([classes[~wide], classes[wide], classes[wide]])
    usable = ~shapely.is_empty(kept)
    return kept[usable], kept_classes[usable]


def has_features(parent: BaseGeometry) -> bool:
    with raw_cursor() as cursor:
        row = cursor.execute(
            """SELECT EXISTS (SELECT 1 FROM reference_referencefeature
                WHERE geom && ST_GeomFromWKB(%(parent)s, 4490) AND kind = ANY(%(kinds)s))""",
            {"parent": shapely.to_wkb(parent), "kinds": [str(k) for k in BOUNDARY_KINDS]},
            binary=True,
        ).fetchone()
    return bool(row and row[0])
