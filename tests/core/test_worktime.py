"""Working-time deadlines: office hours, weekends, public holidays and 调休 days."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from geogrid.core.worktime import WorkCalendar, load_holiday_file, parse_work_hours

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOLIDAY_FILE = Path(__file__).resolve().parents[2] / "gis_data" / "calendar" / "cn-holidays.csv"
OFFICE_HOURS = "08:30-12:00,13:30-17:30"  # 7.5 working hours a day


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture(scope="module")
def plain() -> WorkCalendar:
    # Weekends only: March 2026 has no public holiday, so dates there read as a plain week.
    return WorkCalendar(parse_work_hours(OFFICE_HOURS))


@pytest.fixture(scope="module")
def china() -> WorkCalendar:
    holidays, workdays = load_holiday_file(HOLIDAY_FILE)
    return WorkCalendar(parse_work_hours(OFFICE_HOURS), holidays, workdays)


# --- parsing ---------------------------------------------------------------------------------


def test_parse_work_hours_reads_periods_and_tolerates_spaces():
    assert parse_work_hours(" 08:30-12:00 , 13:30-17:30:30 ") == (
        (time(8, 30), time(12, 0)),
        (time(13, 30), time(17, 30, 30)),
    )


def test_parse_work_hours_allows_touching_periods():
    assert parse_work_hours("08:00-12:00,12:00-13:00") == (
        (time(8), time(12)),
        (time(12), time(13)),
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "no working periods"),
        ("08:30", "not of the form"),
        ("08:30-12:00,", "not of the form"),
        ("8h30-12:00", "not of the form"),
        ("24:00-25:00", "does not exist"),
        ("08:60-12:00", "does not exist"),
        ("12:00-08:30", "does not end after it starts"),
        ("08:30-08:30", "does not end after it starts"),
        ("08:30-12:00,11:00-14:00", "overlaps or precedes"),
        ("13:30-17:30,08:30-12:00", "overlaps or precedes"),
    ],
)
def test_parse_work_hours_refuses_bad_text_with_the_reason(text, reason):
    with pytest.raises(ValueError, match=reason):
        parse_work_hours(text)


def test_calendar_refuses_a_date_that_is_both_holiday_and_workday():
    day = date(2026, 10, 10)
    with pytest.raises(ValueError, match="both as holiday and as working day: 2026-10-10"):
        WorkCalendar(parse_work_hours(OFFICE_HOURS), holidays=[day], workdays=[day])


def test_daily_seconds_is_the_sum_of_the_periods(plain):
    assert plain.daily_seconds == 7.5 * 3600


# --- adding working hours --------------------------------------------------------------------


def test_hours_within_a_morning_stay_on_the_same_morning(plain):
    assert plain.add(at(2026, 3, 10, 9), 2, "hours") == at(2026, 3, 10, 11)


def test_hours_across_lunch_skip_the_break(plain):
    # 11:00 + 2 h: one hour before lunch, one after it.
    assert plain.add(at(2026, 3, 10, 11), 2, "hours") == at(2026, 3, 10, 14, 30)


def test_a_deadline_at_the_end_of_a_period_stays_there(plain):
    assert plain.add(at(2026, 3, 10, 11), 1, "hours") == at(2026, 3, 10, 12)
    assert plain.add(at(2026, 3, 10, 16, 30), 1, "hours") == at(2026, 3, 10, 17, 30)


def test_hours_past_closing_time_continue_next_morning(plain):
    assert plain.add(at(2026, 3, 10, 17), 1, "hours") == at(2026, 3, 11, 9)


def test_hours_across_a_weekend_skip_saturday_and_sunday(plain):
    # Friday 2026-03-13 16:30: one hour left that day, three more on Monday.
    assert plain.add(at(2026, 3, 13, 16, 30), 4, "hours") == at(2026, 3, 16, 11, 30)


def test_hours_across_national_day_skip_the_whole_break(china):
    # 2026 National Day: Thursday 10-01 to Wednesday 10-07 off. Wednesday 09-30 16:00 has 1.5 h
    # left; the other 2.5 h run on Thursday 10-08.
    assert china.add(at(2026, 9, 30, 16), 4, "hours") == at(2026, 10, 8, 11)


def test_hours_across_mid_autumn_skip_the_friday_off(china):
    # 2026 Mid-Autumn: Friday 09-25 to Sunday 09-27 off, so Thursday continues on Monday.
    assert china.add(at(2026, 9, 24, 17), 1, "hours") == at(2026, 9, 28, 9)


def test_a_tiaoxiu_saturday_counts_as_working(china):
    # Saturday 2026-10-10 is a make-up working day: Friday's last half hour, then Saturday.
    assert china.is_working_day(date(2026, 10, 10))
    assert china.add(at(2026, 10, 9, 17), 1, "hours") == at(2026, 10, 10, 9)


def test_a_tiaoxiu_sunday_counts_as_working(china):
    # Sunday 2026-09-20 works for the National Day break; a case filed there is due the same day.
    assert china.add(at(2026, 9, 20, 9), 2, "hours") == at(2026, 9, 20, 11)


def test_is_working_day_follows_weekends_holidays_and_tiaoxiu(china):
    assert china.is_working_day(date(2026, 9, 30))  # Wednesday
    assert not china.is_working_day(date(2026, 10, 1))  # National Day, a Thursday
    assert not china.is_working_day(date(2026, 10, 3))  # Saturday inside the break
    assert not china.is_working_day(date(2026, 10, 11))  # ordinary Sunday
    assert china.is_working_day(date(2026, 10, 10))  # 调休 Saturday


# --- adding working days ---------------------------------------------------------------------


def test_one_working_day_from_tuesday_morning_ends_wednesday_at_the_same_time(plain):
    assert plain.add(at(2026, 3, 10, 10), 1, "days") == at(2026, 3, 11, 10)


def test_one_working_day_from_friday_afternoon_ends_monday_at_the_same_time(plain):
    assert plain.add(at(2026, 3, 13, 16), 1, "days") == at(2026, 3, 16, 16)


def test_a_whole_day_from_opening_ends_at_that_days_closing(plain):
    assert plain.add(at(2026, 3, 10, 8, 30), 1, "days") == at(2026, 3, 10, 17, 30)


def test_half_a_working_day_is_half_the_daily_time(plain):
    # 3 h 45 min from 08:30: 3.5 h in the morning and 15 min after lunch.
    assert plain.add(at(2026, 3, 10, 8, 30), 0.5, "days") == at(2026, 3, 10, 13, 45)


def test_working_days_across_national_day_skip_holidays_and_use_tiaoxiu(china):
    # From Tuesday 09-29 10:00: Wednesday 09-30 (1), Thursday 10-08 (2), Friday 10-09 (3),
    # Saturday 10-10 调休 (4).
    assert china.add(at(2026, 9, 29, 10), 4, "days") == at(2026, 10, 10, 10)


def test_sixty_working_days_span_the_spring_festival(china):
    # Counted by hand from the 2026 calendar, after Monday 01-05: January has 19 working days
    # left, February 2-13 has 10, the 调休 Saturday 02-14 and 02-24..28 add 1 + 5, March has
    # 22 (57 so far), and April 1-3 reach 60 on Friday 04-03, the eve of Qingming.
    assert china.add(at(2026, 1, 5, 9), 60, "days") == at(2026, 4, 3, 9)


# --- starting outside working time ------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "due"),
    [
        (at(2026, 3, 10, 7), at(2026, 3, 10, 9, 30)),  # before opening
        (at(2026, 3, 10, 12, 30), at(2026, 3, 10, 14, 30)),  # during lunch
        (at(2026, 3, 10, 12), at(2026, 3, 10, 14, 30)),  # at the end of the morning
        (at(2026, 3, 10, 19), at(2026, 3, 11, 9, 30)),  # after closing
        (at(2026, 3, 14, 10), at(2026, 3, 16, 9, 30)),  # on a Saturday
    ],
)
def test_a_start_outside_working_time_counts_from_the_next_working_moment(plain, start, due):
    assert plain.add(start, 1, "hours") == due


def test_next_working_moment_keeps_a_working_moment_and_moves_others(china):
    assert china.next_working_moment(at(2026, 9, 30, 10)) == at(2026, 9, 30, 10)
    assert china.next_working_moment(at(2026, 9, 30, 12)) == at(2026, 9, 30, 13, 30)
    assert china.next_working_moment(at(2026, 9, 30, 17, 30)) == at(2026, 10, 8, 8, 30)


def test_adding_nothing_returns_the_next_working_moment(plain):
    assert plain.add(at(2026, 3, 14, 10), 0, "hours") == at(2026, 3, 16, 8, 30)


# --- time zones and input checks ---------------------------------------------------------------


def test_results_are_aware_and_in_the_calendar_zone(plain):
    # 02:00 UTC is 10:00 in Shanghai.
    due = plain.add(datetime(2026, 3, 10, 2, tzinfo=UTC), 1, "hours")
    assert due.tzinfo is SHANGHAI
    assert (due.year, due.month, due.day, due.hour) == (2026, 3, 10, 11)


def test_naive_datetimes_are_refused(plain):
    naive = datetime(2026, 3, 10, 10)
    with pytest.raises(ValueError, match="aware"):
        plain.add(naive, 1, "hours")
    with pytest.raises(ValueError, match="aware"):
        plain.working_seconds(at(2026, 3, 10, 9), naive)
    with pytest.raises(ValueError, match="aware"):
        plain.next_working_moment(naive)


@pytest.mark.parametrize(
    ("amount", "unit", "reason"),
    [(1, "weeks", "unit must be"), (-1, "hours", ">= 0"), (float("nan"), "days", "finite")],
)
def test_add_refuses_bad_amounts_and_units(plain, amount, unit, reason):
    with pytest.raises(ValueError, match=reason):
        plain.add(at(2026, 3, 10, 10), amount, unit)


# --- elapsed working time ----------------------------------------------------------------------


def test_working_seconds_counts_only_office_hours(plain):
    # Friday 16:00 to Monday 10:00: 1.5 h on Friday and 1.5 h on Monday.
    assert plain.working_seconds(at(2026, 3, 13, 16), at(2026, 3, 16, 10)) == 3 * 3600


def test_working_seconds_is_zero_when_the_end_is_not_after_the_start(plain):
    assert plain.working_seconds(at(2026, 3, 10, 10), at(2026, 3, 10, 10)) == 0
    assert plain.working_seconds(at(2026, 3, 11, 10), at(2026, 3, 10, 10)) == 0


def test_working_seconds_over_2026_counts_248_working_days(china):
    # 261 weekdays, minus 19 that are public holidays, plus 6 调休 weekend days.
    seconds = china.working_seconds(at(2026, 1, 1, 0), at(2027, 1, 1, 0))
    assert seconds == 248 * china.daily_seconds


def test_working_seconds_matches_a_day_by_day_count(china):
    # A slow, obviously correct reference, compared on fixed pairs spread over 2025-2026.
    def reference(start: datetime, end: datetime) -> float:
        total = 0.0
        day = start.date()
        while day <= end.date():
            if china.is_working_day(day):
                for begin, finish in china.periods:
                    low = max(start, datetime.combine(day, begin, tzinfo=SHANGHAI))
                    high = min(end, datetime.combine(day, finish, tzinfo=SHANGHAI))
                    total += max((high - low).total_seconds(), 0.0)
            day += timedelta(days=1)
        return total

    start = at(2025, 1, 1, 7, 15)
    for step in range(40):
        begin = start + timedelta(days=step * 17, minutes=step * 53)
        end = begin + timedelta(days=step * 7 % 90, hours=step * 5 % 24)
        assert china.working_seconds(begin, end) == reference(begin, end), (begin, end)


@pytest.mark.parametrize(
    ("start", "amount", "unit"),
    [
        (at(2026, 3, 10, 9), 2.5, "hours"),
        (at(2026, 3, 10, 11, 45), 0.25, "hours"),
        (at(2026, 3, 13, 16, 30), 4, "hours"),
        (at(2026, 3, 14, 10), 7.5, "hours"),
        (at(2026, 9, 30, 16), 4, "hours"),
        (at(2026, 2, 13, 15), 24, "hours"),
        (at(2026, 9, 29, 10), 4, "days"),
        (at(2025, 12, 31, 12, 30), 60, "days"),
    ],
)
def test_working_seconds_gives_back_what_add_added(china, start, amount, unit):
    due = china.add(start, amount, unit)
    scale = 3600 if unit == "hours" else china.daily_seconds
    assert china.working_seconds(start, due) == amount * scale


# --- the shipped holiday file ------------------------------------------------------------------


def test_the_shipped_file_holds_2025_and_2026(china):
    holidays, workdays = load_holiday_file(HOLIDAY_FILE)
    assert (len(holidays), len(workdays)) == (28 + 33, 5 + 6)
    national_day = {date(2026, 10, day) for day in range(1, 8)}
    assert national_day <= holidays
    assert {date(2026, 9, 20), date(2026, 10, 10)} <= workdays
    assert date(2025, 1, 28) in holidays  # 除夕 became a public holiday in 2025
    # Every 调休 day is a weekend day; a weekday listed as workday would be a typo.
    assert all(day.weekday() >= 5 for day in workdays)


def test_the_loader_names_the_line_of_a_bad_row(tmp_path):
    path = tmp_path / "holidays.csv"
    path.write_text(
        "date,kind,name,source\n2026-10-01,holiday,国庆节,x\n2026-10-02,day off,国庆节,x\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r":3: kind must be holiday or workday"):
        load_holiday_file(path)


def test_the_loader_refuses_a_date_listed_twice(tmp_path):
    path = tmp_path / "holidays.csv"
    path.write_text(
        "date,kind,name,source\n2026-10-10,workday,调休,x\n2026-10-10,holiday,国庆节,x\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="listed twice"):
        load_holiday_file(path)


# --- Properties (Hypothesis, derandomised) ------------------------------------------------------
from hypothesis import given  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_SHANGHAI = ZoneInfo("Asia/Shanghai")
_CALENDAR = WorkCalendar(
    parse_work_hours("08:30-12:00,13:30-18:00"),
    holidays={date(2026, 10, d) for d in range(1, 8)} | {date(2026, 1, 1)},
    workdays={date(2026, 9, 27), date(2026, 10, 10)},
    tz=_SHANGHAI,
)
WORK_PROPERTIES = hypothesis_settings(
    max_examples=300, derandomize=True, deadline=None, database=None
)
STARTS = st.datetimes(
    min_value=datetime(2025, 12, 1), max_value=datetime(2026, 12, 31), timezones=st.just(_SHANGHAI)
)
HOURS = st.floats(min_value=0.0, max_value=2000.0, allow_nan=False)


@WORK_PROPERTIES
@given(start=STARTS, hours=HOURS)
def test_worktime_added_then_measured_back_is_the_same_amount(start, hours):
    end = _CALENDAR.add(start, hours, "hours")
    assert _CALENDAR.working_seconds(start, end) == pytest.approx(hours * 3600, abs=1e-5)


@WORK_PROPERTIES
@given(start=STARTS, first=HOURS, second=HOURS)
def test_worktime_deadlines_are_monotonic_in_the_amount(start, first, second):
    low, high = sorted((first, second))
    assert _CALENDAR.add(start, low, "hours") <= _CALENDAR.add(start, high, "hours")


@WORK_PROPERTIES
@given(
    start=STARTS,
    amount=st.floats(min_value=0.001, max_value=200.0),
    unit=st.sampled_from(["hours", "days"]),
)
def test_worktime_deadlines_never_land_in_non_working_time(start, amount, unit):
    deadline = _CALENDAR.add(start, amount, unit).astimezone(_SHANGHAI)
    assert _CALENDAR.is_working_day(deadline.date())
    at = deadline.time()
    # Inside a period, or exactly at its end (the last working moment it uses).
    assert any(begin < at <= end for begin, end in _CALENDAR.periods)
