"""Components as workload for dividing grids (grids/workload.py): each active component counts
with the weight of its major class (GEOGRID_DIVISION_COMPONENT_WEIGHTS, "major:weight,…";
unnamed classes weigh 1), at a point on it (lines and areas too)."""

from __future__ import annotations

import numpy as np
import shapely
from django.conf import settings
from shapely.geometry.base import BaseGeometry

from geogrid.core.db import raw_cursor
from geogrid.grids.feature_division import WorkloadSource
from geogrid.grids.workload import WorkloadProvider

_SQL = """
WITH parent AS (SELECT ST_GeomFromWKB(%(parent)s, 4490) AS geom)
SELECT ST_X(p.pt), ST_Y(p.pt), k.major_code
FROM (
    SELECT ST_PointOnSurface(c.geom) AS pt, c.component_class_id
    FROM components_component c, parent
    WHERE c.geom && parent.geom AND ST_Intersects(c.geom, parent.geom)
      AND c.status <> 'abandoned'
) p JOIN components_componentclass k ON k.id = p.component_class_id
"""


def class_weights() -> dict[str, float]:
    return dict(settings.GEOGRID_DIVISION_COMPONENT_WEIGHTS)


def read_components(parent: BaseGeometry) -> WorkloadSource:
    with raw_cursor() as cursor:
        rows = cursor.execute(_SQL, {"parent": shapely.to_wkb(parent)}, binary=True).fetchall()
    weights = class_weights()
    points = np.array([(r[0], r[1]) for r in rows], dtype=float).reshape(-1, 2)
    return WorkloadSource(
        name="components",
        points=points,
        weights=np.array([weights.get(r[2], 1.0) for r in rows], dtype=float),
    )


COMPONENTS_WORKLOAD = WorkloadProvider(name="components", label="部件", read=read_components)
