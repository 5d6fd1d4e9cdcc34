"""Reports as workload for dividing grids (grids/workload.py): every case reported in the last
GEOGRID_DIVISION_REPORT_MONTHS months, where it was reported, weight 1."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import shapely
from django.conf import settings
from django.utils import timezone
from shapely.geometry.base import BaseGeometry

from geogrid.core.db import raw_cursor
from geogrid.grids.feature_division import WorkloadSource
from geogrid.grids.workload import WorkloadProvider

_SQL = """
WITH parent AS (SELECT ST_GeomFromWKB(%(parent)s, 4490) AS geom)
SELECT ST_X(c.geom), ST_Y(c.geom)
FROM cases_case c, parent
WHERE c.geom && parent.geom AND ST_Intersects(c.geom, parent.geom)
  AND c.reported_at >= %(since)s
"""


def read_reports(parent: BaseGeometry) -> WorkloadSource:
    since = timezone.now() - timedelta(days=30.44 * settings.GEOGRID_DIVISION_REPORT_MONTHS)
    with raw_cursor() as cursor:
        rows = cursor.execute(
            _SQL, {"parent": shapely.to_wkb(parent), "since": since}, binary=True
        ).fetchall()
    points = np.array(rows, dtype=float).reshape(-1, 2)
    return WorkloadSource(name="reports", points=points, weights=np.ones(len(points)))


REPORTS_WORKLOAD = WorkloadProvider(name="reports", label="案件", read=read_reports)
