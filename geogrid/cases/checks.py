"""System checks on case data that expires (docs/operations.md, "The holiday calendar").

Deadlines are counted in working time with the State Council's holidays and make-up working days
(cases.CalendarDay). The notice for a year is published once, usually in November of the year
before; past the last loaded year every deadline is computed with plain weekends and is wrong
around the holidays. This check warns 60 days ahead.

It reads the database, so it is tagged ``database``: ``manage.py migrate``, ``manage.py check
--database default`` and ``/readyz`` run it, plain ``manage.py check`` (and ``check --deploy``)
does not — those must work without a database. It never fails: an unreachable or unmigrated
database is someone else's error to report (migrate's, /readyz's).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from django.core import checks
from django.db import DatabaseError, transaction
from django.db.models import Max
from django.utils import timezone

from geogrid.cases.models import CalendarDay
from geogrid.core.health import READINESS

CALENDAR_WARNING_DAYS = 60

HINT = (
    "When the State Council publishes the notice for the next year "
    "(国务院办公厅关于<year>年部分节假日安排的通知, usually in November), add its rows to "
    "gis_data/calendar/cn-holidays.csv or a file of your own and run `manage.py load_calendar "
    "FILE` (the format: `manage.py load_calendar --help`)."
)


def calendar_expiry(last_day: date | None, today: date) -> list[checks.CheckMessage]:
    """A warning when no calendar is loaded or the last loaded year ends within
    CALENDAR_WARNING_DAYS of ``today``. The calendar covers whole years: a year whose notice
    was loaded is known to its 31 December, even when its last holiday is in October."""
    if last_day is None:
        return [
            checks.Warning(
                "No holiday calendar is loaded: deadlines in working time skip "
                "weekends only, not public holidays.",
                hint=HINT,
                id="geogrid.W010",
            )
        ]
    ends = date(last_day.year, 12, 31)
    if ends - today <= timedelta(days=CALENDAR_WARNING_DAYS):
        left = (ends - today).days
        when = (
            f"ends on {ends.isoformat()}, in {left} days"
            if left >= 0
            else f"ended on {ends.isoformat()}, {-left} days ago"
        )
        return [
            checks.Warning(
                f"The holiday calendar {when}: deadlines after it skip weekends "
                f"only, not the holidays of {ends.year + 1}.",
                hint=HINT,
                id="geogrid.W011",
            )
        ]
    return []


@checks.register(checks.Tags.database, READINESS)
def check_calendar_expiry(
    app_configs: Any = None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    if not databases:
        return []
    messages: list[checks.CheckMessage] = []
    for alias in databases:
        try:
            # A savepoint when called inside a transaction: a missing table must not break it.
            with transaction.atomic(using=alias):
                last = CalendarDay.objects.using(alias).aggregate(last=Max("date"))["last"]
        except DatabaseError:
            continue
        messages += calendar_expiry(last, timezone.localdate())
    return messages
