"""Read-only aggregations for the command center (docs/architecture.md §2.2: nothing here writes).

`cases_per_grid` counts reports per grid for a period — the choropleth and the hot-grid
ranking. It needs no spatial join: every case stores its grid path at intake, so the count is
one GROUP BY over the cases of the period, rolled up to a coarser level by code prefix (codes
carry their ancestry).

Long periods read whole calendar months from `cases_gridmonthcount` (one row per grid and
month, kept exact by triggers in the writers' transactions: cases/migrations/0003) and only the
partial months at the two edges from the cases themselves, through the index-only
`cases_period_grid` scan: a year over 1,000,000 reports then aggregates ~180,000 month rows and
one month of cases instead of a million case rows. The month table has no category, so a
category filter counts the cases of the whole period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from geogrid.command_center.summaries import case_class_id
from geogrid.core.db import raw_cursor
from geogrid.grids.models import GridLevel

# Only columns of the cases_period_grid index, so the period is an index-only scan.
_FILTERS = """
    WHERE c.reported_at >= %(start)s AND c.reported_at < %(end)s
      AND (%(class_id)s::bigint IS NULL OR c.case_class_id = %(class_id)s::bigint)
      AND (%(within)s::text IS NULL OR c.grid_code LIKE %(within)s::text || '%%')
"""
# Every counted report of the period as (grid_id, grid_code, n, overdue): the cases themselves
# (a category filter, or a period without a whole month in it).
_CASES = f"""
    SELECT c.grid_id, c.grid_code, 1 AS n, c.overdue::int AS overdue
    FROM cases_case c
    {_FILTERS}
"""
# Or: the whole months [m0, m1) from the month counts, the edges [start, m0) and [m1, end)
# from the cases.
_EDGE = """
    SELECT c.grid_id, c.grid_code, 1, c.overdue::int
    FROM cases_case c
    WHERE c.reported_at >= %({0})s AND c.reported_at < %({1})s
      AND (%(within)s::text IS NULL OR c.grid_code LIKE %(within)s::text || '%%')
"""
_MONTHS_AND_EDGES = f"""
    SELECT s.grid_id, s.grid_code, s.reports AS n, s.overdue
    FROM cases_gridmonthcount s
    WHERE s.month >= %(m0)s AND s.month < %(m1)s
      AND (%(within)s::text IS NULL OR s.grid_code LIKE %(within)s::text || '%%')
    UNION ALL {_EDGE.format("start", "m0")}
    UNION ALL {_EDGE.format("m1", "end")}
"""
# The finest level: the stored grid itself (unit codes may be longer than the level says).
_PER_UNIT = """
WITH counts AS (
    SELECT q.grid_id, sum(q.n) AS n, sum(q.overdue) AS overdue
    FROM ({reports}) q
    GROUP BY 1
    HAVING sum(q.n) > 0
)
SELECT g.id, g.code, g.name, counts.n, counts.overdue
FROM counts JOIN grids_grid g ON g.id = counts.grid_id
ORDER BY counts.n DESC, g.code COLLATE "C"
"""
# A coarser level: roll the stored codes up by prefix.
_PER_LEVEL = """
WITH counts AS (
    SELECT left(q.grid_code, %(length)s) AS code, sum(q.n) AS n, sum(q.overdue) AS overdue
    FROM ({reports}) q
    GROUP BY 1
    HAVING sum(q.n) > 0
)
SELECT g.id, counts.code, g.name, counts.n, counts.overdue
FROM counts
JOIN grids_grid g ON g.code = counts.code AND g.level_id = %(level_id)s
ORDER BY counts.n DESC, counts.code COLLATE "C"
"""
PER_UNIT_SQL = _PER_UNIT.format(reports=_CASES)
PER_LEVEL_SQL = _PER_LEVEL.format(reports=_CASES)
PER_UNIT_BY_MONTH_SQL = _PER_UNIT.format(reports=_MONTHS_AND_EDGES)
PER_LEVEL_BY_MONTH_SQL = _PER_LEVEL.format(reports=_MONTHS_AND_EDGES)
# The whole months inside [start, end), by the function the month counts were built with:
# [m0, m1), empty when m0 >= m1.
WHOLE_MONTHS_SQL = """
SELECT CASE WHEN cases_count_month(%(start)s) = %(start)s THEN %(start)s
            ELSE cases_count_month(cases_count_month(%(start)s) + interval '32 days') END,
       cases_count_month(%(end)s)
"""


@dataclass(frozen=True)
class GridCount:
    grid_id: int
    code: str
    name: str
    reports: int
    overdue: int


def cases_per_grid(
    *,
    start: datetime,
    end: datetime,
    level: str = "unit",
    class_code: str | None = None,
    within: str | None = None,
) -> list[GridCount]:
    """Reports per grid of `level` in [start, end), most first; optionally of one category
    (service code) and inside one grid's subtree."""
    sql, values = _counting(start=start, end=end, level=level, class_code=class_code, within=within)
    with raw_cursor() as cursor:
        rows = cursor.execute(sql, values, prepare=False).fetchall()
    return [GridCount(*row) for row in rows]


def grid_counts_json(
    *,
    start: datetime,
    end: datetime,
    level: str = "unit",
    class_code: str | None = None,
    within: str | None = None,
    limit: int | None = None,
) -> tuple[int, str]:
    """The counts of `cases_per_grid` (the first `limit` of them) as the API sends them: one
    JSON array of [id, code, name, reports, overdue] rows, most first, written by PostgreSQL,
    and their total. A city has 16,000 unit grids; fetching them as Python objects and encoding
    them again with `json` cost ~30–40 ms of ~110 ms for 30 days."""
    sql, values = _counting(start=start, end=end, level=level, class_code=class_code, within=within)
    if limit is None:
        # All rows: the aggregate orders them, the sub-select need not sort them first.
        sql = sql[: sql.rindex("ORDER BY")]
    else:
        sql += " LIMIT %(limit)s"
        values["limit"] = limit
    with raw_cursor() as cursor:
        row = cursor.execute(AS_JSON_SQL.format(counts=sql), values, prepare=False).fetchone()
    assert row is not None  # an aggregate without GROUP BY returns one row
    total, rows = row
    return total, rows


# The count rows as one JSON text, in their order (the ORDER BY of the aggregate: the order of
# a sub-select is not promised to survive it).
AS_JSON_SQL = """
SELECT coalesce(sum(r.n), 0)::bigint,
       coalesce(json_agg(json_build_array(r.id, r.code, r.name, r.n, r.overdue)
                         ORDER BY r.n DESC, r.code COLLATE "C"), '[]')::text
FROM ({counts}) r (id, code, name, n, overdue)
"""


def _counting(
    *, start: datetime, end: datetime, level: str, class_code: str | None, within: str | None
) -> tuple[str, dict[str, object]]:
    """The checked request as (SQL, parameters): whole months from the month counts when the
    period holds any and no category is asked for, else the cases alone."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must carry a time zone.")
    if end <= start:
        raise ValueError("The period must end after it starts.")
    levels = list(GridLevel.objects.order_by("depth"))
    grid_level = next((lv for lv in levels if lv.slug == level), None)
    if grid_level is None:
        raise ValueError(
            f"Unknown level {level!r}; use one of: {', '.join(lv.slug for lv in levels)}."
        )
    finest = grid_level.pk == levels[-1].pk
    class_id = case_class_id(class_code)
    values = {
        "length": grid_level.code_length,
        "start": start,
        "end": end,
        "class_id": class_id,
        "within": within,
        "level_id": grid_level.pk,
    }
    if class_id is None:
        with raw_cursor() as cursor:
            row = cursor.execute(WHOLE_MONTHS_SQL, values).fetchone()
        assert row is not None  # a SELECT without FROM returns one row
        m0, m1 = row
        if m0 < m1:
            values.update(m0=m0, m1=m1)
            return (PER_UNIT_BY_MONTH_SQL if finest else PER_LEVEL_BY_MONTH_SQL), values
    # Callers run these unprepared: a generic plan cannot see how long the period is, guesses
    # one row and sorts a year of cases on disk (measured 630 ms against 200 ms planned per
    # call); planning costs ~0.5 ms.
    return (PER_UNIT_SQL if finest else PER_LEVEL_SQL), values
