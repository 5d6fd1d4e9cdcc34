"""Working-time arithmetic: deadlines in 工作时 (working hours) and 工作日 (working days).

Case deadlines in city management run on office time: they skip nights, lunch breaks,
weekends and public holidays, and they also run on 调休 days, the Saturdays or Sundays that a
State Council holiday notice turns into working days. ``WorkCalendar`` answers the two
questions the case workflow asks: "when does this much working time end?" (``add``) and "how
much working time has passed?" (``working_seconds``).

Design rules:

* Domain-free and Django-free: the calendar is built from plain values, so the SLA code, the
  management commands and the tests all construct it the same way, and it never reads settings.
* Wall-clock time in the calendar's zone. Periods like 08:30-12:00 are local office hours, so
  every instant is converted to ``tz`` first and the arithmetic runs on local dates and times.
* Exact: durations are counted in integer microseconds, so ``working_seconds(s, add(s, h))``
  gives back ``h * 3600`` exactly instead of within a float tolerance.
* Fast for long spans: working days between two dates are counted in O(log n) (whole weeks by
  arithmetic, holidays and 调休 days by bisection in sorted lists), never day by day.
* Periods are half-open, [start, end). A deadline that uses up a period ends at that period's
  end (12:00, not 13:30 or tomorrow 08:30), while a case that *starts* at 12:00 starts counting
  at 13:30.
"""

from __future__ import annotations

import csv
import math
import re
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

__all__ = [
    "CalendarFileError",
    "current_calendar",
    "register_calendar_source",
    "HolidayRow",
    "WorkCalendar",
    "load_holiday_file",
    "parse_work_hours",
    "read_holiday_file",
]

Period = tuple[time, time]

DEFAULT_TZ = ZoneInfo("Asia/Shanghai")
UNITS = ("hours", "days")
HOLIDAY_KINDS = ("holiday", "workday")

_MICROS_PER_SECOND = 1_000_000
_MICROS_PER_HOUR = 3600 * _MICROS_PER_SECOND
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
# Working weekdays among the seven residues of an ordinal modulo 7: date.fromordinal(1) is a
# Monday, so residue 0 is a Sunday, 1-5 are Monday-Friday and 6 is a Saturday.
# _WEEKDAYS_BEFORE[r] counts the Monday-Friday residues in [0, r).
_WEEKDAYS_BEFORE = (0, 0, 1, 2, 3, 4, 5)


def parse_work_hours(text: str) -> tuple[Period, ...]:
    """Parse office hours such as ``"08:30-12:00,13:30-17:30"`` into (start, end) pairs.

    Periods must be in order and must not overlap (touching is allowed); each must start before
    it ends. Raises ValueError with a message that names the offending part.
    """
    if not text.strip():
        raise ValueError("no working periods given, expected e.g. 08:30-12:00,13:30-17:30")
    periods: list[Period] = []
    for part in (part.strip() for part in text.split(",")):
        start_text, sep, end_text = part.partition("-")
        if not sep:
            raise ValueError(f"working period {part!r} is not of the form HH:MM-HH:MM")
        periods.append((_parse_clock(start_text, part), _parse_clock(end_text, part)))
    return _checked_periods(periods)


def _parse_clock(text: str, period: str) -> time:
    match = _CLOCK.match(text.strip())
    if not match:
        raise ValueError(f"working period {period!r} is not of the form HH:MM-HH:MM")
    hour, minute, second = (int(group or 0) for group in match.groups())
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"working period {period!r} has a time that does not exist")
    return time(hour, minute, second)


def _checked_periods(periods: Iterable[tuple[time, time]]) -> tuple[Period, ...]:
    checked = tuple((start, end) for start, end in periods)
    if not checked:
        raise ValueError("a work calendar needs at least one working period")
    previous_end: time | None = None
    for start, end in checked:
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError("working periods are local wall-clock times, without a time zone")
        if start >= end:
            raise ValueError(
                f"working period {_fmt(start)}-{_fmt(end)} does not end after it starts"
            )
        if previous_end is not None and start < previous_end:
            raise ValueError(
                f"working period {_fmt(start)}-{_fmt(end)} overlaps or precedes the one before it"
            )
        previous_end = end
    return checked


def _fmt(moment: time) -> str:
    return moment.strftime("%H:%M:%S" if moment.second else "%H:%M")


def _micros_of_day(moment: time) -> int:
    seconds = moment.hour * 3600 + moment.minute * 60 + moment.second
    return seconds * _MICROS_PER_SECOND + moment.microsecond


def _time_of_day(micros: int) -> time:
    seconds, micro = divmod(micros, _MICROS_PER_SECOND)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return time(hour, minute, second, micro)


def _weekdays_before(ordinal: int) -> int:
    """Monday-Friday days among the ordinals [0, ordinal)."""
    weeks, residue = divmod(ordinal, 7)
    return weeks * 5 + _WEEKDAYS_BEFORE[residue]


def _count_between(sorted_ordinals: list[int], first: int, stop: int) -> int:
    return bisect_left(sorted_ordinals, stop) - bisect_left(sorted_ordinals, first)


class WorkCalendar:
    """Office hours plus the days off and the make-up working days of a jurisdiction.

    ``holidays`` are days off even on a weekday; ``workdays`` are working days even on a
    weekend (调休). A date in both is a contradiction and is refused. Monday-Friday are working
    days otherwise. Nothing changes after construction, so one instance can be shared by threads.
    """

    def __init__(
        self,
        periods: Iterable[tuple[time, time]],
        holidays: Iterable[date] = (),
        workdays: Iterable[date] = (),
        tz: ZoneInfo = DEFAULT_TZ,
    ) -> None:
        self.periods: tuple[Period, ...] = _checked_periods(periods)
        self.holidays: frozenset[date] = frozenset(holidays)
        self.workdays: frozenset[date] = frozenset(workdays)
        self.tz = tz
        both = self.holidays & self.workdays
        if both:
            listed = ", ".join(sorted(d.isoformat() for d in both))
            raise ValueError(f"dates listed both as holiday and as working day: {listed}")

        self._starts = [_micros_of_day(start) for start, _ in self.periods]
        self._ends = [_micros_of_day(end) for _, end in self.periods]
        # _worked_before[i]: working time of a day that lies before period i starts.
        self._worked_before: list[int] = []
        total = 0
        for start, end in zip(self._starts, self._ends, strict=True):
            self._worked_before.append(total)
            total += end - start
        self._daily = total
        # Only the exceptions that change the Monday-Friday rule matter for counting: a
        # holiday on a Sunday or a 调休 on a Wednesday changes nothing.
        self._weekday_holidays = sorted(d.toordinal() for d in self.holidays if d.weekday() < 5)
        self._weekend_workdays = sorted(d.toordinal() for d in self.workdays if d.weekday() >= 5)

    def __repr__(self) -> str:
        hours = ",".join(f"{_fmt(s)}-{_fmt(e)}" for s, e in self.periods)
        return (
            f"WorkCalendar({hours!r}, {len(self.holidays)} holidays, "
            f"{len(self.workdays)} workdays, tz={self.tz.key!r})"
        )

    @property
    def daily_seconds(self) -> float:
        """Working seconds in one working day (the unit of ``add(..., "days")``)."""
        return self._daily / _MICROS_PER_SECOND

    def is_working_day(self, d: date) -> bool:
        if d in self.workdays:
            return True
        if d in self.holidays:
            return False
        return d.weekday() < 5

    def add(self, start: datetime, amount: float, unit: str) -> datetime:
        """The moment at which ``amount`` working hours or days, counted from ``start``, end.

        A working day is ``daily_seconds`` of working time, so one day from Tuesday 10:00 ends
        on Wednesday 10:00. A start outside working time counts from the next working moment.
        The result is an aware datetime in the calendar's zone; it may be the end of a period.
        """
        if unit not in UNITS:
            raise ValueError(f"unit must be one of {', '.join(UNITS)}, not {unit!r}")
        if not math.isfinite(amount) or amount < 0:
            raise ValueError(f"working time to add must be a finite number >= 0, not {amount!r}")
        scale = _MICROS_PER_HOUR if unit == "hours" else self._daily
        remaining = round(amount * scale)
        day, at = self._local(start, "start")
        if remaining == 0:
            return self.next_working_moment(start)

        ordinal = day.toordinal()
        if self.is_working_day(day):
            done = self._worked_until(at)
            if remaining <= self._daily - done:
                return self._moment(ordinal, done + remaining)
            remaining -= self._daily - done
        # From here on whole working days are consumed from the next working day's morning.
        # The remainder is kept in (0, daily] so that a deadline using up a day ends at that
        # day's closing time rather than at the next day's opening.
        full_days, left = divmod(remaining - 1, self._daily)
        target = self._nth_working_day(ordinal + 1, full_days)
        return self._moment(target, left + 1)

    def working_seconds(self, start: datetime, end: datetime) -> float:
        """Working time between two aware datetimes, in seconds; 0 if ``end <= start``."""
        start_day, start_at = self._local(start, "start")
        end_day, end_at = self._local(end, "end")
        if end <= start:
            return 0.0
        first, last = start_day.toordinal(), end_day.toordinal()
        if first == last:
            if not self.is_working_day(start_day):
                return 0.0
            micros = self._worked_until(end_at) - self._worked_until(start_at)
        else:
            micros = self._count_working_days(first + 1, last) * self._daily
            if self.is_working_day(start_day):
                micros += self._daily - self._worked_until(start_at)
            if self.is_working_day(end_day):
                micros += self._worked_until(end_at)
        return micros / _MICROS_PER_SECOND

    def next_working_moment(self, moment: datetime) -> datetime:
        """``moment`` itself (in the calendar's zone) if it is working time, else the next start."""
        day, at = self._local(moment, "moment")
        if self.is_working_day(day):
            for start, end in zip(self._starts, self._ends, strict=True):
                if at < end:
                    if at >= start:
                        return moment.astimezone(self.tz)
                    return self._at(day.toordinal(), start)
        return self._at(self._nth_working_day(day.toordinal() + 1, 0), self._starts[0])

    # --- internals -------------------------------------------------------------------------

    def _local(self, moment: datetime, name: str) -> tuple[date, int]:
        if not isinstance(moment, datetime):
            raise TypeError(f"{name} must be a datetime, not {type(moment).__name__}")
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"{name} must be an aware datetime; got naive {moment.isoformat()}")
        local = moment.astimezone(self.tz)
        return local.date(), _micros_of_day(local.time())

    def _worked_until(self, at: int) -> int:
        """Working time of a working day that lies before the time of day ``at``."""
        worked = 0
        for start, end in zip(self._starts, self._ends, strict=True):
            if at <= start:
                break
            worked += min(at, end) - start
        return worked

    def _moment(self, ordinal: int, worked: int) -> datetime:
        """The time on a working day at which ``worked`` (0 < worked <= daily) is reached."""
        # The first period whose end reaches the target: so a target equal to a period's
        # cumulative end resolves to that end, not to the start of the next period.
        for index, end in enumerate(self._ends):
            offset = worked - self._worked_before[index]
            if self._starts[index] + offset <= end:
                return self._at(ordinal, self._starts[index] + offset)
        raise AssertionError("worked time beyond the working day")  # callers keep it <= daily

    def _at(self, ordinal: int, micros: int) -> datetime:
        return datetime.combine(date.fromordinal(ordinal), _time_of_day(micros), tzinfo=self.tz)

    def _count_working_days(self, first: int, stop: int) -> int:
        """Working days among the date ordinals [first, stop)."""
        if stop <= first:
            return 0
        return (
            _weekdays_before(stop)
            - _weekdays_before(first)
            - _count_between(self._weekday_holidays, first, stop)
            + _count_between(self._weekend_workdays, first, stop)
        )

    def _nth_working_day(self, first: int, n: int) -> int:
        """The ordinal of the working day with exactly ``n`` working days in [first, it)."""
        # Find the smallest stop with n + 1 working days in [first, stop); its last day is the
        # answer. Holiday lists are finite, so an upper bound is found by doubling.
        span = (n + 1) * 7 // 5 + 7
        while self._count_working_days(first, first + span) <= n:
            span *= 2
        low, high = first + 1, first + span
        while low < high:
            middle = (low + high) // 2
            if self._count_working_days(first, middle) > n:
                high = middle
            else:
                low = middle + 1
        return low - 1


HOLIDAY_NAME_MAX = 50  # cases.CalendarDay.name


class CalendarFileError(ValueError):
    """A holiday file with bad rows; ``errors`` holds one message per problem, each naming its
    line, and str() all of them."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("\n".join(errors))


@dataclass(frozen=True)
class HolidayRow:
    day: date
    kind: str
    name: str


def read_holiday_file(path: str | Path) -> list[HolidayRow]:
    """Read a holiday file: UTF-8 CSV (a byte-order mark, as spreadsheet programs write, is
    fine), header ``date,kind,name,source``; ``date`` is YYYY-MM-DD, ``kind`` is ``holiday``
    (a day off, 放假) or ``workday`` (a make-up working day on a Saturday or Sunday, 调休上班),
    ``name`` at most 50 characters, ``source`` (the notice) is not stored.

    Every row is checked before anything is returned: CalendarFileError lists every bad row by
    line (a bad date, an unknown kind, a date listed twice, a make-up working day that is not a
    weekend day, a name too long), so one correction fixes the whole file."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CalendarFileError(
            [f"{path}: not UTF-8 text (byte {exc.start}); save the file as CSV UTF-8"]
        ) from None
    reader = csv.DictReader(text.splitlines())
    missing = {"date", "kind"} - {(name or "").strip() for name in reader.fieldnames or ()}
    if missing:
        raise CalendarFileError(
            [
                f"{path}: missing column(s) {', '.join(sorted(missing))}; "
                f"the header must be date,kind,name,source"
            ]
        )
    errors: list[str] = []
    rows: list[HolidayRow] = []
    seen: dict[date, int] = {}
    for row in reader:
        row = {(key or "").strip(): value for key, value in row.items()}
        line = reader.line_num
        raw_date = (row.get("date") or "").strip()
        kind = (row.get("kind") or "").strip()
        name = (row.get("name") or "").strip()
        try:
            day = date.fromisoformat(raw_date)
            if len(raw_date) != 10:
                raise ValueError
        except ValueError:
            errors.append(f"{path}:{line}: {raw_date!r} is not a YYYY-MM-DD date")
            continue
        if kind not in HOLIDAY_KINDS:
            errors.append(f"{path}:{line}: kind must be holiday or workday, not {kind!r}")
            continue
        if day in seen:
            errors.append(
                f"{path}:{line}: {day.isoformat()} is listed twice (also on line {seen[day]})"
            )
            continue
        seen[day] = line
        if kind == "workday" and day.weekday() < 5:
            errors.append(
                f"{path}:{line}: {day.isoformat()} is a weekday; a make-up working "
                f"day (workday) is a Saturday or Sunday"
            )
            continue
        if len(name) > HOLIDAY_NAME_MAX:
            errors.append(f"{path}:{line}: the name is longer than {HOLIDAY_NAME_MAX} characters")
            continue
        rows.append(HolidayRow(day, kind, name))
    if errors:
        raise CalendarFileError(errors)
    return rows


def load_holiday_file(path: str | Path) -> tuple[set[date], set[date]]:
    """(holidays, workdays) of a holiday file (read_holiday_file says the format); raises
    CalendarFileError (a ValueError) naming every bad line."""
    rows = read_holiday_file(path)
    return (
        {row.day for row in rows if row.kind == "holiday"},
        {row.day for row in rows if row.kind == "workday"},
    )


# Where the jurisdiction's calendar comes from. The rows of holidays belong to a domain app
# (cases keeps them, with the deadlines that use them most); an app to its left that counts
# working days (the patrol schedules) asks here, and cases registers its source in ready()
# (docs/architecture.md §2.3).
_calendar_source: list[Callable[[], WorkCalendar]] = []


def register_calendar_source(source: Callable[[], WorkCalendar]) -> None:
    _calendar_source[:] = [source]


def current_calendar() -> WorkCalendar:
    """The registered calendar; without one, Monday to Friday with the usual office hours."""
    if _calendar_source:
        return _calendar_source[0]()
    return WorkCalendar(parse_work_hours("08:30-12:00,13:30-18:00"))
