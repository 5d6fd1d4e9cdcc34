"""Read-only summaries for the command-center dashboard: the hot-grid ranking, the overdue list,
reports per day, indicator tables with display names, and the summary of one grid (officer,
components by class, open cases, indicators).

Kept apart from `queries.py` (the per-grid counts behind the choropleth) so that each can be
tuned on its own. Nothing here writes (docs/architecture.md §2.2). Every period is half-open,
[start, end), with aware datetimes, like the indicator service's.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Q
from django.db.models.functions import TruncDate, TruncMonth
from django.utils import timezone

from geogrid.accounts.models import Role
from geogrid.cases.calendar import work_calendar
from geogrid.cases.indicators import case_indicators, indicator_rows
from geogrid.cases.models import Case, CaseClass, CaseStatus
from geogrid.cases.workflow import CLOCK_RUNNING, OPEN_STATUSES
from geogrid.components.models import Component, ComponentStatus, Currency, Department
from geogrid.components.schemes import active_scheme
from geogrid.core.db import read_connection
from geogrid.grids.models import Grid, GridLevel, GridScope

# A longer period is charted by month: 400 daily bars are unreadable, and a year fits in days.
MAX_DAILY_BUCKETS = 400
OPEN_CASES_SHOWN = 20


def check_period(start: datetime, end: datetime) -> None:
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise ValueError("start and end must carry a time zone.")
    if end <= start:
        raise ValueError("The period must end after it starts.")


def case_class_id(service_code: str | None) -> int | None:
    """The id of a category of the active scheme by its service code; None for no filter.
    Resolved once so the counting queries compare an integer column."""
    if not service_code:
        return None
    found = (
        CaseClass.objects.filter(scheme=active_scheme(), service_code=service_code)
        .values_list("id", flat=True)
        .first()
    )
    if found is None:
        raise ValueError(f"There is no category {service_code!r}.")
    return found


def generated_reports(*, start: datetime, end: datetime) -> int:
    """How many of the reports of [start, end) were generated for the demo (cases/history.py),
    for the dashboard's notice that its figures include them."""
    check_period(start, end)
    return Case.objects.filter(reported_at__gte=start, reported_at__lt=end, generated=True).count()


# --- Hot grids -----------------------------------------------------------------------------------
# The top unit grids of the period, then for those few only the count of the period before
# (same length), so the trend costs N index probes on (grid_code, reported_at), not a second
# scan of the city. Ties go to the lower code, as in the choropleth's counts.
HOT_GRIDS_SQL = """
WITH top AS (
    SELECT c.grid_id, c.grid_code, count(*) AS n, count(*) FILTER (WHERE c.overdue) AS overdue
    FROM cases_case c
    WHERE c.reported_at >= %(start)s AND c.reported_at < %(end)s
      AND (%(class_id)s::bigint IS NULL OR c.case_class_id = %(class_id)s::bigint)
      AND (%(within)s::text IS NULL OR c.grid_code LIKE %(within)s::text || '%%')
    GROUP BY c.grid_id, c.grid_code
    ORDER BY n DESC, c.grid_code COLLATE "C"
    LIMIT %(limit)s
)
SELECT g.code, g.name, coalesce(p.name, ''), coalesce(pp.name, ''), g.officer_name,
       top.n, top.overdue,
       (SELECT count(*) FROM cases_case b
        WHERE b.grid_code = top.grid_code
          AND b.reported_at >= %(previous)s AND b.reported_at < %(start)s
          AND (%(class_id)s::bigint IS NULL OR b.case_class_id = %(class_id)s::bigint))
FROM top
JOIN grids_grid g ON g.id = top.grid_id
LEFT JOIN grids_grid p ON p.id = g.parent_id
LEFT JOIN grids_grid pp ON pp.id = p.parent_id
ORDER BY top.n DESC, g.code COLLATE "C"
"""


@dataclass(frozen=True)
class HotGrid:
    rank: int
    code: str
    name: str
    community: str
    street: str
    officer_name: str
    reports: int
    overdue: int
    previous: int  # reports in the period of the same length just before


def hot_grids(
    *,
    start: datetime,
    end: datetime,
    class_code: str | None = None,
    within: str | None = None,
    limit: int = 10,
) -> list[HotGrid]:
    """The `limit` grids (as stored on the cases: the unit grids) with the most reports in
    [start, end), most first; optionally of one category and inside one grid's subtree."""
    check_period(start, end)
    params = {
        "start": start,
        "end": end,
        "previous": start - (end - start),
        "class_id": case_class_id(class_code),
        "within": within or None,
        "limit": limit,
    }
    with read_connection().cursor() as cursor:
        cursor.execute(HOT_GRIDS_SQL, params)
        rows = cursor.fetchall()
    return [HotGrid(rank, *row) for rank, row in enumerate(rows, start=1)]


# --- Overdue cases -------------------------------------------------------------------------------
@dataclass(frozen=True)
class OverdueCase:
    id: int
    service_code: str
    class_name: str
    class_name_en: str
    grid_code: str
    grid_name: str
    department: str
    department_en: str
    status: str
    status_label: str
    reported_at: datetime
    deadline: datetime
    overdue_hours: float  # working hours past the deadline
    lon: float
    lat: float


def overdue_cases(
    *,
    now: datetime | None = None,
    class_code: str | None = None,
    within: str | None = None,
    limit: int = 50,
) -> tuple[int, list[OverdueCase]]:
    """The open cases past their deadline now, most overdue first (earliest deadline), with
    their total count. "Overdue" is the indicator service's 超期数: the department's clock runs
    (workflow.CLOCK_RUNNING) and the deadline has passed, so the list and the card agree even
    before the periodic `flag_overdue` scan has set the stored flag."""
    now = now or timezone.now()
    cases = Case.objects.filter(status__in=CLOCK_RUNNING, deadline__lt=now)
    class_id = case_class_id(class_code)
    if class_id is not None:
        cases = cases.filter(case_class_id=class_id)
    if within:
        cases = cases.filter(grid_code__startswith=within)
    total = cases.count()
    rows = list(
        cases.select_related("case_class", "department", "grid").order_by("deadline", "id")[:limit]
    )
    calendar = work_calendar()
    labels = dict(CaseStatus.choices)
    return total, [
        OverdueCase(
            id=case.pk,
            service_code=case.case_class.service_code,
            class_name=case.case_class.name,
            class_name_en=case.case_class.name_en,
            grid_code=case.grid_code,
            grid_name=case.grid.name,
            department=case.department.name if case.department else "",
            department_en=case.department.name_en if case.department else "",
            status=case.status,
            status_label=str(labels.get(case.status, case.status)),
            reported_at=case.reported_at,
            deadline=case.deadline,
            overdue_hours=round(calendar.working_seconds(case.deadline, now) / 3600, 1),
            lon=round(case.geom.x, 6),
            lat=round(case.geom.y, 6),
        )
        for case in rows
    ]


# --- Reports per day -----------------------------------------------------------------------------
def activity_by_day(*, start: datetime, end: datetime) -> dict[str, Any]:
    """Cases reported, filed and closed per local day (the city's time zone) of [start, end),
    every day present (zeros included) so a chart's axis has no gaps; by month when the period
    is longer than MAX_DAILY_BUCKETS days. Three grouped counts, each on an indexed column's
    range; like the indicator cards, over every category."""
    check_period(start, end)
    tz = ZoneInfo(settings.TIME_ZONE)
    first, last = (
        start.astimezone(tz).date(),
        (end - timedelta(microseconds=1)).astimezone(tz).date(),
    )
    monthly = (last - first).days + 1 > MAX_DAILY_BUCKETS
    trunc = TruncMonth if monthly else TruncDate
    counts: dict[str, dict[date, int]] = {}
    for name, field in (
        ("reported", "reported_at"),
        ("filed", "filed_at"),
        ("closed", "closed_at"),
    ):
        rows = (
            Case.objects.filter(**{f"{field}__gte": start, f"{field}__lt": end})
            .annotate(bucket=trunc(field, tzinfo=tz))
            .order_by()
            .values("bucket")
            .annotate(n=Count("id"))
            .values_list("bucket", "n")
        )
        counts[name] = {_as_date(bucket): n for bucket, n in rows}
    buckets = (
        _months(first, last)
        if monthly
        else [first + timedelta(days=i) for i in range((last - first).days + 1)]
    )
    return {
        "bucket": "month" if monthly else "day",
        "rows": [
            {"date": day.isoformat(), **{name: counts[name].get(day, 0) for name in counts}}
            for day in buckets
        ],
    }


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _months(first: date, last: date) -> list[date]:
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return months


# --- Indicator tables ----------------------------------------------------------------------------
def indicator_table(*, start: datetime, end: datetime, by: str) -> list[dict[str, Any]]:
    """`indicator_rows` with the English department names the page shows in English, ranked
    by reports (most first, then key) — the order the charts and tables use."""
    rows = indicator_rows(start=start, end=end, by=by)
    english: dict[Any, str] = {}
    if by == "department":
        english = dict(
            Department.objects.filter(pk__in=[r["key"] for r in rows]).values_list("pk", "name_en")
        )
    for row in rows:
        row["name_en"] = english.get(row["key"], "")
        row["name"] = row["name"] or ""
    return sorted(rows, key=lambda r: (-r["reported"], str(r["key"])))


# --- One grid's summary --------------------------------------------------------------------------
@dataclass(frozen=True)
class GridSummary:
    grid: dict[str, Any]
    path: list[dict[str, str]]
    officer: dict[str, str]
    inspectors: list[dict[str, str]]
    components: dict[str, Any]
    open_cases: dict[str, Any]
    indicators: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def grid_summary(*, code: str, start: datetime, end: datetime) -> GridSummary:
    """What the command center shows for one active grid (any level; its subtree counts):
    the grid and its path, the responsible officer and the inspectors scoped to it, in-use
    components by class, open cases (the newest OPEN_CASES_SHOWN and the count) and the
    indicators of [start, end). Raises Grid.DoesNotExist for an unknown or retired code."""
    check_period(start, end)
    grid = Grid.objects.active().select_related("level").get(code=code)
    now = timezone.now()
    lengths = GridLevel.objects.filter(code_length__lte=len(code)).values_list(
        "code_length", flat=True
    )
    ancestors = {
        g.code: g
        for g in Grid.objects.active()
        .select_related("level")
        .filter(code__in={code[:n] for n in lengths})
    }
    path = [
        {
            "code": g.code,
            "name": g.name,
            "level": g.level.slug,
            "level_name": g.level.name,
            "level_name_en": g.level.name_en,
        }
        for g in sorted(ancestors.values(), key=lambda g: g.level.depth)
    ]
    # The officer is recorded on the unit grids; a coarser grid without one names none.
    officer = {
        "name": grid.officer_name,
        "phone": grid.officer_phone,
        "department": grid.responsible_department,
    }
    inspectors = [
        {
            "name": u.get_full_name() or u.first_name or u.username,
            "phone": u.phone,
            "username": u.username,
        }
        for u in _inspectors_of(list(ancestors))
    ]

    components = _components_in(grid)
    by_class = list(
        components.values(
            "component_class__code",
            "component_class__name",
            "component_class__name_en",
            "component_class__major_name",
            "component_class__major_name_en",
        )
        .annotate(total=Count("id"), faulty=Count("id", filter=~Q(status=ComponentStatus.INTACT)))
        .order_by("-total", "component_class__code")
    )
    open_cases = Case.objects.filter(
        grid_code__startswith=code, status__in=OPEN_STATUSES
    ).select_related("case_class")
    labels = dict(CaseStatus.choices)
    shown = list(open_cases.order_by("-reported_at", "-id")[:OPEN_CASES_SHOWN])
    indicators = case_indicators(start=start, end=end, grid_code=code).as_dict()
    del indicators["self_reported"]
    extent = grid.geom.extent
    return GridSummary(
        grid={
            "code": grid.code,
            "name": grid.name,
            "level": grid.level.slug,
            "level_name": grid.level.name,
            "level_name_en": grid.level.name_en,
            "grid_type": grid.grid_type,
            "grid_type_label": grid.get_grid_type_display(),
            "area_class": grid.area_class,
            "area_m2": round(grid.area_m2, 1),
            "households": grid.households,
            "population": grid.population,
            "bbox": [round(v, 6) for v in extent],
            # Lon/lat for the highlight on the map (CGCS2000 ≈ WGS84 to well under a metre).
            "geometry": _geojson(grid),
        },
        path=path,
        officer=officer,
        inspectors=inspectors,
        components={
            "total": sum(row["total"] for row in by_class),
            "faulty": sum(row["faulty"] for row in by_class),
            "by_class": [
                {
                    "code": row["component_class__code"],
                    "name": row["component_class__name"],
                    "name_en": row["component_class__name_en"],
                    "major_name": row["component_class__major_name"],
                    "major_name_en": row["component_class__major_name_en"],
                    "total": row["total"],
                    "faulty": row["faulty"],
                }
                for row in by_class
            ],
        },
        open_cases={
            "count": open_cases.count(),
            "overdue": open_cases.filter(status__in=CLOCK_RUNNING, deadline__lt=now).count(),
            "items": [
                {
                    "id": case.pk,
                    "service_code": case.case_class.service_code,
                    "class_name": case.case_class.name,
                    "class_name_en": case.case_class.name_en,
                    "grid_code": case.grid_code,
                    "status": case.status,
                    "status_label": str(labels.get(case.status, case.status)),
                    "reported_at": case.reported_at,
                    "deadline": case.deadline,
                    "overdue": bool(
                        case.status in CLOCK_RUNNING and case.deadline and case.deadline < now
                    ),
                }
                for case in shown
            ],
        },
        indicators=indicators,
    )


def _components_in(grid: Grid) -> Any:
    components = Component.objects.filter(currency=Currency.IN_USE)
    if grid.level.slug == _finest_level_slug():
        # A unit grid: the (grid, class) index answers directly.
        return components.filter(grid=grid)
    return components.filter(grid__code__startswith=grid.code)


def _finest_level_slug() -> str | None:
    return GridLevel.objects.order_by("-depth").values_list("slug", flat=True).first()


def _inspectors_of(codes: list[str]) -> list[Any]:
    """Inspectors whose scope covers the grid: a scope on it or on any of its ancestors."""
    scopes = (
        GridScope.objects.filter(
            grid__code__in=codes, user__role=Role.INSPECTOR, user__is_active=True
        )
        .select_related("user")
        .order_by("user__username")
    )
    seen: dict[int, Any] = {}
    for scope in scopes:
        seen.setdefault(scope.user_id, scope.user)
    return list(seen.values())


def _geojson(grid: Grid) -> dict[str, Any]:
    return json.loads(grid.geom.json)
