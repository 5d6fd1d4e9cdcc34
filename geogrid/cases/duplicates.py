"""Possible duplicates of a report: open cases of the same category reported nearby within the
window (GEOGRID_DUPLICATE_RADIUS_M, GEOGRID_DUPLICATE_WINDOW_HOURS; docs/domain.md §5.4),
nearest first. Intake's one statement finds them itself; this is the query for every other
caller (the step-by-step intake of a point no finest-level grid covers)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from geogrid.cases import workflow
from geogrid.cases.models import CaseClass
from geogrid.core.db import raw_cursor


@dataclass
class Duplicate:
    id: int
    distance_m: float
    status: str
    reported_at: str


# Open cases of the same class near the point, reported within the window, nearest first. The
# box (in degrees) lets the GiST index answer; exact metres on the spheroid for what is in it.
_DUPLICATES_SQL = """
SELECT c.id, ST_Distance(c.geom::geography, p.pt::geography) AS metres, c.status,
       c.reported_at
FROM (SELECT ST_SetSRID(ST_MakePoint(%s, %s), 4490) AS pt) p
JOIN cases_case c
  ON c.geom && ST_Expand(p.pt, %s)
WHERE c.case_class_id = %s AND c.reported_at >= %s
  AND c.status <> ALL(%s)
ORDER BY metres, c.id
LIMIT 10
"""


def find_duplicates(
    *, lon: float, lat: float, case_class: CaseClass, now: datetime, exclude: int | None = None
) -> list[Duplicate]:
    radius = float(settings.GEOGRID_DUPLICATE_RADIUS_M)
    since = now - timedelta(hours=float(settings.GEOGRID_DUPLICATE_WINDOW_HOURS))
    # Degrees that cover `radius` metres in both directions at this latitude.
    degrees = radius / (111_000.0 * max(math.cos(math.radians(lat)), 0.01))
    # Read on the primary: intake reads and writes in one transaction (geogrid/core/db.py).
    with raw_cursor(for_write=True) as cursor:
        rows = cursor.execute(
            _DUPLICATES_SQL,
            (lon, lat, degrees, case_class.pk, since, list(workflow.FINAL_STATUSES)),
            prepare=True,
        ).fetchall()
    return [
        Duplicate(
            id=row[0],
            distance_m=round(float(row[1]), 1),
            status=row[2],
            reported_at=row[3].isoformat(),
        )
        for row in rows
        if float(row[1]) <= radius and row[0] != exclude
    ]
