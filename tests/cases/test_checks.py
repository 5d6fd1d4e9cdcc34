"""The holiday calendar's expiry check: a warning 60 days before the last loaded year ends (or
when none is loaded), from migrate, `check --database` and /readyz; never from a plain `check`,
and never an error when the database is unreachable or unmigrated."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from django.core import checks
from django.db import connection

from geogrid.cases.checks import calendar_expiry, check_calendar_expiry
from geogrid.cases.models import CalendarDay, CalendarDayKind
from tests import gunicorn as served

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, database_url: str) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_SETTINGS_MODULE")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="geogrid.settings", GEOGRID_DEBUG="1", DATABASE_URL=database_url
    )
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def _loaded_through(year: int) -> None:
    CalendarDay.objects.create(
        date=date(year, 10, 10), kind=CalendarDayKind.WORKDAY, name="国庆节调休上班"
    )


@pytest.mark.parametrize(
    ("today", "warns"),
    [
        (date(2026, 10, 31), False),  # 61 days before 31 December
        (date(2026, 11, 1), True),  # 60 days
        (date(2026, 12, 3), True),
        (date(2027, 1, 5), True),  # ended
    ],
)
def test_calendar_expiry_warns_from_60_days_before_the_last_year_ends(today, warns):
    # The last row of 2026 is in October; the calendar still covers 2026 to its end.
    found = calendar_expiry(date(2026, 10, 10), today)
    assert bool(found) is warns
    if warns:
        [warning] = found
        assert warning.level == checks.WARNING and warning.id == "geogrid.W011"
        assert "2026-12-31" in warning.msg and "2027" in warning.msg
        assert "load_calendar" in warning.hint and "部分节假日安排的通知" in warning.hint


def test_calendar_expiry_says_how_many_days_are_left():
    [warning] = calendar_expiry(date(2026, 10, 10), date(2026, 12, 3))
    assert "ends on 2026-12-31, in 28 days" in warning.msg
    [warning] = calendar_expiry(date(2026, 10, 10), date(2027, 1, 5))
    assert "ended on 2026-12-31, 5 days ago" in warning.msg


def test_calendar_check_warns_when_no_calendar_is_loaded(empty_calendar):
    [warning] = check_calendar_expiry(databases=["default"])
    assert warning.id == "geogrid.W010"


def test_calendar_check_reads_the_loaded_calendar(empty_calendar):
    _loaded_through(date.today().year + 1)
    assert check_calendar_expiry(databases=["default"]) == []
    _loaded_through(date.today().year - 1)
    CalendarDay.objects.filter(date__year=date.today().year + 1).delete()
    assert [w.id for w in check_calendar_expiry(databases=["default"])] == ["geogrid.W011"]


def test_calendar_check_does_not_run_without_a_database(db):
    # Plain `manage.py check` and `check --deploy` pass no databases.
    assert check_calendar_expiry(databases=None) == []
    assert "geogrid.W010" not in [m.id for m in checks.run_checks()]


def test_calendar_check_survives_an_unmigrated_database_inside_a_transaction(db):
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE cases_calendarday CASCADE")  # rolled back with the test
    assert check_calendar_expiry(databases=["default"]) == []
    # The surrounding transaction is still usable.
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


def test_calendar_check_survives_an_unreachable_database():
    down = f"postgis://geogrid@127.0.0.1:{served.free_port()}/geogrid"
    result = _manage(
        "shell",
        "-c",
        "from geogrid.cases.checks import check_calendar_expiry; "
        "print(check_calendar_expiry(databases=['default']))",
        database_url=down,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.django_db(transaction=True)
def test_check_with_the_database_reports_the_calendar_warning_without_failing(empty_calendar):
    result = _manage("check", "--database", "default", database_url=served.test_database_url())
    assert result.returncode == 0, result.stderr
    assert "geogrid.W010" in result.stderr + result.stdout
    assert "load_calendar" in result.stderr + result.stdout
