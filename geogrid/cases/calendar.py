"""The working calendar: holidays and make-up working days (CalendarDay rows, loaded from the
holiday file) with GEOGRID_WORK_HOURS, which every deadline and working-time figure is counted
in (docs/domain.md §5.5)."""

from __future__ import annotations

import logging
from datetime import date
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from geogrid.cases.models import CalendarDay, CalendarDayKind
from geogrid.core.worktime import WorkCalendar, parse_work_hours, read_holiday_file

logger = logging.getLogger(__name__)

# What the calendar is built from: the (date, kind) rows and GEOGRID_WORK_HOURS.
_Stamp = tuple[tuple[tuple[date, str], ...], str]


@lru_cache(maxsize=4)
def _calendar(stamp: _Stamp) -> WorkCalendar:
    days, _hours = stamp
    return WorkCalendar(
        parse_work_hours(settings.GEOGRID_WORK_HOURS),
        holidays=[d for d, kind in days if kind == CalendarDayKind.HOLIDAY],
        workdays=[d for d, kind in days if kind == CalendarDayKind.WORKDAY],
        tz=timezone.get_default_timezone(),
    )


def work_calendar() -> WorkCalendar:
    """The calendar from the CalendarDay rows and GEOGRID_WORK_HOURS; rebuilt when either
    changes (the rows are a few dozen a year: reading them decides)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT date, kind FROM cases_calendarday ORDER BY date")
        stamp: _Stamp = (tuple(cursor.fetchall()), settings.GEOGRID_WORK_HOURS)
    return _calendar(stamp)


@transaction.atomic
def load_calendar(*, path: str | Path) -> tuple[int, int]:
    """Load holidays and make-up working days from a holiday file (format:
    core.worktime.read_holiday_file). All or nothing: every row is checked first
    (CalendarFileError lists the bad ones) and the rows are written in one transaction. The file
    is the authority for each year it contains: that year's dates are inserted or updated, and
    dates of that year the file no longer lists are removed (a corrected notice replaces the
    old one); other years are left alone. Returns (holidays, workdays) in the file."""
    rows = read_holiday_file(path)
    years = sorted({row.day.year for row in rows})
    removed, _ = (
        CalendarDay.objects.filter(date__year__in=years)
        .exclude(date__in=[row.day for row in rows])
        .delete()
    )
    for row in rows:
        CalendarDay.objects.update_or_create(
            date=row.day, defaults={"kind": row.kind, "name": row.name}
        )
    holidays = sum(row.kind == CalendarDayKind.HOLIDAY for row in rows)
    logger.info(
        "calendar loaded",
        extra={
            "years": years,
            "holidays": holidays,
            "workdays": len(rows) - holidays,
            "removed": removed,
        },
    )
    return holidays, len(rows) - holidays
