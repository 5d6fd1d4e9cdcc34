"""The reference features a division follows, read for one parent (docs/domain.md §2.7).

How a feature class ranks as a boundary: a main road, a river or a railway is a barrier that
grids are not merged across when there is another way; a street ranks above a lane or a wall,
which are the first boundaries to give up when blocks are joined into a grid.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geogrid.core.db import raw_cursor
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
    ranks = np.array(
        [RANK_OF_CLASS.get(c, RANK_MINOR) for c in classes[~is_building]], dtype=np.int8
    )
    return CityFeatures(
        lines=shapes[~is_building],
        ranks=ranks,
        buildings=shapes[is_building],
    )


def has_features(parent: BaseGeometry) -> bool:
    with raw_cursor() as cursor:
        row = cursor.execute(
            """SELECT EXISTS (SELECT 1 FROM reference_referencefeature
                WHERE geom && ST_GeomFromWKB(%(parent)s, 4490) AND kind = ANY(%(kinds)s))""",
            {"parent": shapely.to_wkb(parent), "kinds": [str(k) for k in BOUNDARY_KINDS]},
            binary=True,
        ).fetchone()
    return bool(row and row[0])
