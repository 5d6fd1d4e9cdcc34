"""Visit schedules across a weekend, the 2026 National Day holiday and its make-up working
Saturday (2026-10-10), with the shipped holiday calendar."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from geogrid.accounts.models import Role
from geogrid.core.worktime import WorkCalendar, parse_work_hours
from geogrid.patrols.schedule import visit_states, window_start
from geogrid.patrols.services import import_track, set_visit_schedule
from geogrid.patrols.tracks import RawPoint, TrackFile
from tests import factories
from tests.geometry import point

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
NW, NE = "110101001001001", "110101001001002"


def at(day: str, clock: str = "10:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}:00").replace(tzinfo=SHANGHAI)


def visit(inspector, moment: datetime, x: float = 50, y: float = 150) -> None:
    """A one-point visit, imported (a phone refuses points older than a week)."""
    where = point(x, y)
    track = TrackFile(
        kind="gpx",
        digest=uuid.uuid4().hex,
        points=[RawPoint(uuid.uuid4(), moment, where.x, where.y, 5.0)],
    )
    import_track(actor=None, inspector=inspector, track=track)


def state(code: str, now: datetime):
    return {s.code: s for s in visit_states(now=now)}[code]


def test_window_start_counts_working_days_back_over_weekends_and_holidays():
    cal = WorkCalendar(
        parse_work_hours("08:30-12:00,13:30-18:00"),
        holidays=[date(2026, 10, d) for d in range(1, 8)],
        workdays=[date(2026, 10, 10)],
    )
    assert window_start(date(2026, 10, 19), 1, True, cal) == date(2026, 10, 16)  # Mon → Fri
    assert window_start(date(2026, 10, 8), 1, True, cal) == date(2026, 9, 30)  # after the holiday
    assert window_start(date(2026, 10, 11), 1, True, cal) == date(2026, 10, 10)  # 调休 Saturday
    assert window_start(date(2026, 10, 21), 3, True, cal) == date(2026, 10, 16)
    assert window_start(date(2026, 10, 21), 3, False, cal) == date(2026, 10, 18)


def test_a_friday_visit_keeps_a_grid_in_time_over_the_weekend(inspector):
    visit(inspector, at("2026-10-16"))  # a Friday
    assert not state(NW, at("2026-10-18", "20:00")).overdue  # Sunday
    monday = state(NW, at("2026-10-19", "15:00"))
    assert not monday.overdue and monday.to_visit_today
    assert state(NW, at("2026-10-20", "09:00")).overdue  # nobody went on Monday


def test_the_national_day_holiday_asks_for_no_visits(inspector):
    visit(inspector, at("2026-09-30"))  # the last working day before the holiday
    assert not state(NW, at("2026-10-05")).overdue
    assert not state(NW, at("2026-10-05")).to_visit_today
    assert not state(NW, at("2026-10-08", "15:00")).overdue  # the first working day after it
    assert state(NW, at("2026-10-09", "09:00")).overdue


def test_the_make_up_saturday_is_a_working_day(inspector):
    visit(inspector, at("2026-10-09"))  # Friday
    assert state(NW, at("2026-10-10", "15:00")).to_visit_today  # 调休 Saturday
    assert state(NW, at("2026-10-11", "10:00")).overdue  # nobody went on the Saturday


def test_a_grid_never_visited_is_overdue_and_one_nobody_answers_for_is_not_due(inspector):
    assert state(NW, at("2026-10-19")).overdue
    assert NE not in {s.code for s in visit_states(now=at("2026-10-19"))}  # no inspector


def test_per_grid_overrides_and_grids_needing_no_visits(inspector, city, admin_user):
    visit(inspector, at("2026-10-12"))  # Monday
    set_visit_schedule(actor=admin_user, grid=city[NW], every_days=5)
    assert not state(NW, at("2026-10-16", "17:00")).overdue
    assert state(NW, at("2026-10-20", "09:00")).overdue  # Tue 13 … Mon 19: 5 working days
    factories.user("inspector-ne", Role.INSPECTOR, scope=[city[NE]])
    assert NE in {s.code for s in visit_states(now=at("2026-10-20"))}
    set_visit_schedule(actor=admin_user, grid=city[NE], every_days=1, required=False)
    assert NE not in {s.code for s in visit_states(now=at("2026-10-20"))}


def test_the_default_schedule_applies_to_every_grid(inspector, city, admin_user):
    visit(inspector, at("2026-10-12"))
    set_visit_schedule(actor=admin_user, grid=None, every_days=2, working_days_only=False)
    assert not state(NW, at("2026-10-14", "09:00")).overdue  # the 12th and 13th count
    assert state(NW, at("2026-10-14", "09:00")).to_visit_today
    assert state(NW, at("2026-10-15", "09:00")).overdue  # the 13th and 14th: no visit
