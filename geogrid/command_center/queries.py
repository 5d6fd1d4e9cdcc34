"""Read-only aggregations for the command center (design.md §5: nothing here writes).

`cases_per_grid` counts reports per grid for a period — the choropleth and the hot-grid
ranking. It needs no spatial join: every case stores its grid path at intake, so the count is
one GROUP BY over the cases of the period (a BRIN index on `reported_at` keeps short periods
short), rolled up to a coarser level by code prefix (codes carry their ancestry).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from django.db import connection

from geogrid.grids.models import GridLevel

# Only columns of the cases_period_grid index, so the period is an index-only scan.
_FILTERS = """
    WHERE c.reported_at >= %(start)s AND c.reported_at < %(end)s
      AND (%(class_id)s::bigint IS NULL OR c.case_class_id = %(class_id)s::bigint)
      AND (%(within)s::text IS NULL OR c.grid_code LIKE %(within)s::text || '%%')
"""
# The finest level: the stored grid itself (unit codes may be longer than the level says).
PER_UNIT_SQL = f"""
WITH counts AS (
    SELECT c.grid_id, count(*) AS n, count(*) FILTER (WHERE c.overdue) AS overdue
    FROM cases_case c
    {_FILTERS}
    GROUP BY 1
)
SELECT g.id, g.code, g.name, counts.n, counts.overdue
FROM counts JOIN grids_grid g ON g.id = counts.grid_id
ORDER BY counts.n DESC, g.code COLLATE "C"
"""
# A coarser level: roll the stored codes up by prefix.
PER_LEVEL_SQL = f"""
WITH counts AS (
    SELECT left(c.grid_code, %(length)s) AS code, count(*) AS n,
           count(*) FILTER (WHERE c.overdue) AS overdue
    FROM cases_case c
    {_FILTERS}
    GROUP BY 1
)
SELECT g.id, counts.code, g.name, counts.n, counts.overdue
FROM counts
JOIN grids_grid g ON g.code = counts.code AND g.level_id = %(level_id)s
ORDER BY counts.n DESC, counts.code COLLATE "C"
"""


@dataclass(frozen=True)
class GridCount:
    grid_id: int
    code: str
    name: str
    reports: int
    overdue: int


def cases_per_grid(*, start: datetime, end: datetime, level: str = "unit",
                   class_code: str | None = None, within: str | None = None) -> list[GridCount]:
    """Reports per grid of `level` in [start, end), most first; optionally of one category
    (service code) and inside one grid's subtree."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must carry a time zone.")
    if end <= start:
        raise ValueError("The period must end after it starts.")
    levels = list(GridLevel.objects.order_by("depth"))
    grid_level = next((lv for lv in levels if lv.slug == level), None)
    if grid_level is None:
        raise ValueError(f"Unknown level {level!r}; use one of: "
                         f"{', '.join(lv.slug for lv in levels)}.")
    finest = grid_level.pk == levels[-1].pk
    class_id = None
    if class_code:
        from geogrid.cases.models import CaseClass
        from geogrid.components.services import active_scheme

        class_id = (CaseClass.objects.filter(scheme=active_scheme(), service_code=class_code)
                    .values_list("id", flat=True).first())
        if class_id is None:
            raise ValueError(f"There is no category {class_code!r}.")
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        rows = cursor.execute(PER_UNIT_SQL if finest else PER_LEVEL_SQL, {
            "length": grid_level.code_length, "start": start, "end": end,
            "class_id": class_id, "within": within, "level_id": grid_level.pk},
            prepare=True).fetchall()
    return [GridCount(*row) for row in rows]
