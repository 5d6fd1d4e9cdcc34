"""Performance indicators of cases (绩效指标, docs/domain.md §6) for any period and scope: the
figures of the monthly bulletins (上报数, 立案数, 应结案数, 结案数, 结案率, 按期结案率, 返工率,
延期率) plus 回退数, 超期数 and the working time from dispatch to feedback.

Read-only. The counts are one aggregate query of conditional counts (`COUNT(*) FILTER (...)`),
whatever the number of cases; the working time is the one figure computed in Python, from one
fetch of two columns, with numpy (`working_micros`), because the holiday calendar lives in
Python (`calendar.work_calendar()`), not in the database.

Periods are half-open, [start, end), like the working calendar's. Every case has all its
timestamps at or after `reported_at`, so only cases reported before `end` can count; that bound
and a grid prefix (`LIKE 'code%'`) are what the `cases_grid_code_reported` index answers.

Cases are attributed by their current row: the department is the one the case is dispatched to
now (a case returned by one department and redispatched to another counts for the second), the
grid is the one stored at intake, and the snapshot figure 超期数 reads the current status.
"""

from __future__ import annotations

import operator
from dataclasses import asdict, dataclass
from datetime import date, datetime
from functools import reduce
from typing import TYPE_CHECKING, Any

import numpy as np
from django.db.models import BigIntegerField, Count, F, Func, Q, QuerySet, Value
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from geogrid.cases import workflow
from geogrid.cases.calendar import work_calendar
from geogrid.cases.models import Case, CaseStatus
from geogrid.grids.models import Grid, GridScope

if TYPE_CHECKING:
    from geogrid.accounts.models import User
    from geogrid.components.models import Department
    from geogrid.core.worktime import WorkCalendar

__all__ = [
    "GROUPINGS",
    "LABELS",
    "Indicators",
    "case_indicators",
    "indicator_rows",
    "working_micros",
]

GROUPINGS = ("department", "street")

# Column headings for tables and exports, keyed like Indicators.as_dict().
LABELS = {
    "reported": _("上报数"),
    "filed": _("立案数"),
    "closed": _("结案数"),
    "due": _("应结案数"),
    "closing_rate": _("结案率"),
    "closed_on_time": _("按期结案数"),
    "on_time_rate": _("按期结案率"),
    "handled": _("处置数"),
    "reworked": _("返工数"),
    "rework_rate": _("返工率"),
    "extended": _("延期数"),
    "extension_rate": _("延期率"),
    "returned": _("回退数"),
    "overdue_open": _("超期数"),
    "mean_handling_hours": _("平均处置用时（工作时）"),
    "median_handling_hours": _("处置用时中位数（工作时）"),
    "self_reported": _("本人上报数"),
}


@dataclass(frozen=True)
class Indicators:
    """The indicators of one period and scope. Rates are fractions (0..1) rounded to 4 places,
    hours are working hours rounded to 2 places; both are None when there is nothing to divide
    by. `self_reported` is set only for an inspector's indicators."""

    reported: int
    filed: int
    closed: int
    due: int
    closing_rate: float | None
    closed_on_time: int
    on_time_rate: float | None
    handled: int
    reworked: int
    rework_rate: float | None
    extended: int
    extension_rate: float | None
    returned: int
    overdue_open: int
    mean_handling_hours: float | None
    median_handling_hours: float | None
    self_reported: int | None = None

    def as_dict(self) -> dict[str, int | float | None]:
        return asdict(self)


def case_indicators(
    *,
    start: datetime,
    end: datetime,
    department: Department | None = None,
    grid_code: str | None = None,
    inspector: User | None = None,
) -> Indicators:
    """The indicators of the cases in scope for the period [start, end) (aware datetimes).

    Scope (the filters combine with AND; none = the whole city):
      department  cases dispatched to it: `Case.department` is it and `dispatched_at` is set
                  (a case routed to it at intake but never dispatched is not its case);
      grid_code   cases whose grid code starts with it: the grid and its whole subtree;
      inspector   cases in the grids of the inspector's GridScope rows and their subtrees
                  (none when they have no scope); `self_reported` counts the cases they
                  reported in the period themselves, wherever they lie.

    Counts, each over the cases in scope:
      reported        上报数    reported_at in the period (every report, rejected ones too)
      filed           立案数    filed_at in the period (later cancellations included)
      closed          结案数    closed_at in the period
      due             应结案数  the union of (a) filed cases whose deadline falls in the period,
                                except cancelled (作废) cases and cases closed before the
                                period began, and (b) the cases closed in the period; so
                                closed <= due and a case closed early still counts in the
                                period it was closed in
      closing_rate    结案率    closed / due
      closed_on_time  按期结案数 closed in the period with handled_at at or before the deadline
                                (the deadline after approved extensions); no deadline = on time
      on_time_rate    按期结案率 closed_on_time / closed
      handled         处置数    handled_at (the last feedback) in the period
      reworked        返工数    of those, the cases with rework_count > 0
      rework_rate     返工率    reworked / handled
      extended        延期数    filed in the period with extension_count > 0 (approved ones)
      extension_rate  延期率    extended / filed
      returned        回退数    filed in the period with return_count > 0
      overdue_open    超期数    a snapshot: cases whose department clock runs now
                                (workflow.CLOCK_RUNNING) with deadline < min(end, now)
      mean/median_handling_hours  over the cases handled in the period, the working time
                                from dispatched_at (the last dispatch, so after a return the
                                time with the new department) to handled_at; parked time is
                                included, as the dispatch time is kept while parked

    Queries: the calendar's stamp (calendar.work_calendar), one aggregate, one fetch of two
    integer columns of the handled cases, and for an inspector one for their scope codes and
    one count for `self_reported`; never one per case. Writes nothing.
    """
    _check_period(start, end)
    cutoff = min(end, timezone.now())
    base = _scoped(Case.objects.all(), department=department, grid_code=grid_code)
    cases = _for_inspector(base, inspector) if inspector is not None else base
    counts = _touching(cases, start, end, cutoff).aggregate(**_counts(start, end, cutoff))
    calendar = work_calendar()
    rows = list(_handled(cases, start, end, calendar).values_list("started", "finished"))
    times = np.array(rows, dtype=np.int64).reshape(-1, 2)
    micros = working_micros(calendar, times[:, 0], times[:, 1])
    self_reported = None
    if inspector is not None:
        self_reported = base.filter(_during("reported_at", start, end), reporter=inspector).count()
    return _indicators(counts, micros, self_reported)


def indicator_rows(*, start: datetime, end: datetime, by: str) -> list[dict[str, Any]]:
    """The indicators of [start, end) per department or per street, for ranking tables: one
    dict per group that has any case, `key` (department id / street code) and `name`
    (department name / street grid name) first, ordered by key; the caller ranks.

    A department row equals `case_indicators(department=…)`; a street row equals
    `case_indicators(grid_code=street_code)` (the street code is stored on the case at intake;
    cases outside any street form the row with key ""). Queries: the calendar's stamp, one
    aggregate with GROUP BY, one fetch of the handled cases' two times with their group, and
    one for the street names."""
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {', '.join(GROUPINGS)}, not {by!r}")
    _check_period(start, end)
    cutoff = min(end, timezone.now())
    cases = Case.objects.all()
    if by == "department":
        key, named = "department_id", {"name": F("department__name")}
        cases = cases.filter(dispatched_at__isnull=False)
    else:
        key, named = "street_code", {}
    counted = list(
        _touching(cases, start, end, cutoff)
        .values(key, **named)
        .annotate(**_counts(start, end, cutoff))
        .order_by(key)
    )

    calendar = work_calendar()
    handled = list(_handled(cases, start, end, calendar).values_list(key, "started", "finished"))
    by_group: dict[Any, np.ndarray] = {}
    if handled:
        groups = np.array([row[0] for row in handled])
        times = np.array([row[1:] for row in handled], dtype=np.int64)
        micros = working_micros(calendar, times[:, 0], times[:, 1])
        # One sort puts each group's times together; the groups are few, the cases many.
        order = np.argsort(groups, kind="stable")
        labels, first = np.unique(groups[order], return_index=True)
        for label, chunk in zip(labels.tolist(), np.split(micros[order], first[1:]), strict=True):
            by_group[label] = chunk

    if by == "street":
        names = dict(
            Grid.objects.filter(code__in=[row[key] for row in counted if row[key]]).values_list(
                "code", "name"
            )
        )
        for row in counted:
            row["name"] = names.get(row[key])
    rows = []
    empty = np.empty(0, dtype=np.int64)
    for row in counted:
        group, name = row.pop(key), row.pop("name")
        values = _indicators(row, by_group.get(group, empty), None).as_dict()
        del values["self_reported"]
        rows.append({"key": group, "name": name, **values})
    return rows


# --- Working time, vectorised --------------------------------------------------------------------
_MICROS_PER_DAY = 86_400 * 1_000_000
_MICROS_PER_HOUR = 3_600 * 1_000_000
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
# Monday-Friday residues among [0, r) of an ordinal modulo 7 (ordinal 1 is a Monday), as in
# core.worktime.
_WEEKDAYS_BEFORE = np.array([0, 0, 1, 2, 3, 4, 5], dtype=np.int64)


def working_micros(calendar: WorkCalendar, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """`calendar.working_seconds(start, end)` for whole arrays, in integer microseconds.

    `starts` and `ends` are int64 microseconds since 1970-01-01 00:00 on the wall clock of
    `calendar.tz` (what `_LocalMicros` selects), so the local date and time of day are a
    division away. The arithmetic is the calendar's, element by element: working time left on
    the first day, whole working days between (weeks by arithmetic, holidays and 调休 days by
    binary search), working time used on the last day; 0 where end <= start. It reads only the
    calendar's public attributes."""
    starts = np.asarray(starts, dtype=np.int64)
    ends = np.asarray(ends, dtype=np.int64)
    bounds = [(_micros_of_day(a), _micros_of_day(b)) for a, b in calendar.periods]
    daily = sum(b - a for a, b in bounds)
    # Only exceptions that change the Monday-Friday rule matter, as in WorkCalendar.
    holidays = np.array(
        sorted(d.toordinal() for d in calendar.holidays if d.weekday() < 5), dtype=np.int64
    )
    workdays = np.array(
        sorted(d.toordinal() for d in calendar.workdays if d.weekday() >= 5), dtype=np.int64
    )

    def worked_until(at: np.ndarray) -> np.ndarray:
        return sum((np.clip(at - a, 0, b - a) for a, b in bounds), np.zeros_like(at))

    def is_working(ordinal: np.ndarray) -> np.ndarray:
        residue = ordinal % 7
        weekday = (residue >= 1) & (residue <= 5)
        return (weekday & ~np.isin(ordinal, holidays)) | np.isin(ordinal, workdays)

    def weekdays_before(ordinal: np.ndarray) -> np.ndarray:
        weeks, residue = np.divmod(ordinal, 7)
        return weeks * 5 + _WEEKDAYS_BEFORE[residue]

    def working_days(first: np.ndarray, stop: np.ndarray) -> np.ndarray:
        count = (
            weekdays_before(stop)
            - weekdays_before(first)
            - (np.searchsorted(holidays, stop) - np.searchsorted(holidays, first))
            + (np.searchsorted(workdays, stop) - np.searchsorted(workdays, first))
        )
        return np.where(stop > first, count, 0)

    first_day, start_at = np.divmod(starts, _MICROS_PER_DAY)
    last_day, end_at = np.divmod(ends, _MICROS_PER_DAY)
    first_day += _EPOCH_ORDINAL
    last_day += _EPOCH_ORDINAL
    done_start, done_end = worked_until(start_at), worked_until(end_at)
    start_works, end_works = is_working(first_day), is_working(last_day)
    same_day = np.where(start_works, done_end - done_start, 0)
    spanning = (
        working_days(first_day + 1, last_day) * daily
        + np.where(start_works, daily - done_start, 0)
        + np.where(end_works, done_end, 0)
    )
    micros = np.where(first_day == last_day, same_day, spanning)
    return np.where(ends <= starts, 0, micros)


def _micros_of_day(moment: Any) -> int:
    return (
        (moment.hour * 60 + moment.minute) * 60 + moment.second
    ) * 1_000_000 + moment.microsecond


class _LocalMicros(Func):
    """A timestamptz as int64 microseconds since 1970-01-01 on the wall clock of a time zone.
    Integers come out of psycopg and into numpy far faster than datetimes, and the database
    does the time-zone conversion (with its own zone rules) once per value."""

    template = "(extract(epoch FROM (%(expressions)s)) * 1000000)::bigint"
    arg_joiner = " AT TIME ZONE "
    output_field = BigIntegerField()

    def __init__(self, field: str, tz: str) -> None:
        super().__init__(F(field), Value(tz))


# --- Query parts ---------------------------------------------------------------------------------
def _check_period(start: datetime, end: datetime) -> None:
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise ValueError("start and end must be aware datetimes")
    if end <= start:
        raise ValueError(f"the period must end after it starts ({start} – {end})")


def _during(field: str, start: datetime, end: datetime) -> Q:
    return Q(**{f"{field}__gte": start, f"{field}__lt": end})


def _scoped(
    cases: QuerySet[Case], *, department: Department | None, grid_code: str | None
) -> QuerySet[Case]:
    if department is not None:
        cases = cases.filter(department=department, dispatched_at__isnull=False)
    if grid_code:
        # LIKE 'code%' (Django escapes % and _): the varchar_pattern_ops index can range-scan it.
        cases = cases.filter(grid_code__startswith=grid_code)
    return cases


def _for_inspector(cases: QuerySet[Case], inspector: User) -> QuerySet[Case]:
    codes = list(GridScope.objects.filter(user=inspector).values_list("grid__code", flat=True))
    if not codes:
        return cases.none()
    return cases.filter(reduce(operator.or_, (Q(grid_code__startswith=code) for code in codes)))


def _touching(
    cases: QuerySet[Case], start: datetime, end: datetime, cutoff: datetime
) -> QuerySet[Case]:
    """The cases any count below can see: the same answers as the whole scope, fewer rows to
    aggregate, and `reported_at < end` for the (grid_code, reported_at) index."""
    return cases.filter(
        Q(reported_at__lt=end),
        _during("reported_at", start, end)
        | _during("filed_at", start, end)
        | _during("closed_at", start, end)
        | _during("handled_at", start, end)
        | _during("deadline", start, end)
        | _overdue(cutoff),
    )


def _overdue(cutoff: datetime) -> Q:
    return Q(status__in=workflow.CLOCK_RUNNING, deadline__lt=cutoff)


def _counts(start: datetime, end: datetime, cutoff: datetime) -> dict[str, Count]:
    """The conditional counts, one FILTER clause each (definitions: case_indicators)."""
    filed = _during("filed_at", start, end)
    closed = _during("closed_at", start, end)
    handled = _during("handled_at", start, end)
    due_by_deadline = (
        Q(filed_at__isnull=False)
        & _during("deadline", start, end)
        & ~Q(status=CaseStatus.CANCELLED)
        & (Q(closed_at__isnull=True) | Q(closed_at__gte=start))
    )
    on_time = closed & (Q(deadline__isnull=True) | Q(handled_at__lte=F("deadline")))
    return {
        "reported": Count("pk", filter=_during("reported_at", start, end)),
        "filed": Count("pk", filter=filed),
        "closed": Count("pk", filter=closed),
        # One row per case, so the OR is the union without double counting.
        "due": Count("pk", filter=due_by_deadline | closed),
        "closed_on_time": Count("pk", filter=on_time),
        "handled": Count("pk", filter=handled),
        "reworked": Count("pk", filter=handled & Q(rework_count__gt=0)),
        "extended": Count("pk", filter=filed & Q(extension_count__gt=0)),
        "returned": Count("pk", filter=filed & Q(return_count__gt=0)),
        "overdue_open": Count("pk", filter=_overdue(cutoff)),
    }


def _handled(
    cases: QuerySet[Case], start: datetime, end: datetime, calendar: WorkCalendar
) -> QuerySet[Case]:
    """The handled cases of the period with their dispatch and feedback times as local
    microseconds (`started`, `finished`), for working_micros."""
    tz = calendar.tz.key
    return (
        cases.filter(
            _during("handled_at", start, end), reported_at__lt=end, dispatched_at__isnull=False
        )
        .order_by()
        .annotate(
            started=_LocalMicros("dispatched_at", tz), finished=_LocalMicros("handled_at", tz)
        )
    )


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _hours(micros: np.ndarray) -> tuple[float | None, float | None]:
    if not micros.size:
        return None, None
    return (
        round(float(micros.mean()) / _MICROS_PER_HOUR, 2),
        round(float(np.median(micros)) / _MICROS_PER_HOUR, 2),
    )


def _indicators(
    counts: dict[str, int], micros: np.ndarray, self_reported: int | None
) -> Indicators:
    mean, median = _hours(micros)
    return Indicators(
        reported=counts["reported"],
        filed=counts["filed"],
        closed=counts["closed"],
        due=counts["due"],
        closing_rate=_rate(counts["closed"], counts["due"]),
        closed_on_time=counts["closed_on_time"],
        on_time_rate=_rate(counts["closed_on_time"], counts["closed"]),
        handled=counts["handled"],
        reworked=counts["reworked"],
        rework_rate=_rate(counts["reworked"], counts["handled"]),
        extended=counts["extended"],
        extension_rate=_rate(counts["extended"], counts["filed"]),
        returned=counts["returned"],
        overdue_open=counts["overdue_open"],
        mean_handling_hours=mean,
        median_handling_hours=median,
        self_reported=self_reported,
    )
