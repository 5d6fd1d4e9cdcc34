"""A year of generated history for the demo city: tens of thousands of reports over the 365 days
before now, each carried through the workflow as far as it would have got by now, so that the
command center's cards, charts and maps show trends (docs/domain.md §6).

Generated, never typed in: every case has `generated=True` and says so in its description, and
the pages label it (README, "Demo data"). Nobody's personal data is made up: inspector reports
name the demo inspector, hotline calls the demo operator, citizen and Open311 reports nobody.

The shape, each part a table below:

- **when**: per channel a weight for working days, days off and the Spring Festival holiday
  (inspectors patrol on working days; citizens report at weekends too) and an hour-of-day
  profile (inspectors in working hours, citizens also in the evening); per category a seasonal
  swing (litter and green spaces in summer, broken roads after the thaw, snow on a few winter
  days);
- **where**: every unit grid of the district, each with a lasting activity of its own, and hot
  spots around the district's stations and markets at several times the base rate;
- **how it went**: the routing intake would choose (a grid's routing rule, else the category's
  default department), the deadline from the category's limit for the grid's area class in
  working time (the working calendar of cases/calendar.py), handling times per department as a
  lognormal share of that limit (so some are late), and a few returns, extensions, reworks,
  parkings, rejections and cancellations. Every move is one CaseEvent with the action, statuses
  and details transition_case writes, and `overdue` events where flag_overdue's five-minute scan
  would have written them.

Bulk, not one service call per row (docs/architecture.md §4.4): the reports are sampled with
numpy, the workflow is run for all of them at once stage by stage, deadlines come from a
vectorised copy of the working calendar (`WorkClock`, checked against `WorkCalendar.add` by the
tests), and the cases and events are written by two binary COPYs (core/pgcopy.py). The
month counts and tile versions follow through their triggers (docs/architecture.md §6).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np
import pandas as pd
import shapely
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from psycopg.copy import QueuedLibpqWriter

from geogrid.accounts.models import Role, User
from geogrid.cases.calendar import work_calendar
from geogrid.cases.models import (
    CalendarDay,
    CalendarDayKind,
    CaseAction,
    CaseClass,
    CaseStatus,
    Channel,
    LimitUnit,
    Open311Key,
    RoutedBy,
    RoutingRule,
)
from geogrid.components.models import Department, DepartmentMember
from geogrid.components.schemes import active_scheme
from geogrid.core.db import raw_cursor
from geogrid.core.pgcopy import COPY_HEADER, COPY_TRAILER, binary_copy_rows, point_ewkb
from geogrid.core.worktime import WorkCalendar
from geogrid.grids.models import Grid, GridLevel, GridScope

__all__ = [
    "HistoryActors",
    "HistoryPlan",
    "WorkClock",
    "generate_history",
    "plan_history",
    "write_history",
]

SEED = 2026
DAYS = 365
DESCRIPTION = "生成的演示历史数据：{name}"  # data, like the demo's own descriptions

# --- When -----------------------------------------------------------------------------------------
# Share of the reports per channel: mostly the inspectors on patrol, then the public.
CHANNELS = {
    Channel.INSPECTOR: 0.62,
    Channel.HOTLINE: 0.16,
    Channel.CITIZEN: 0.14,
    Channel.OPEN311: 0.08,
}
# Reports per day relative to a working day: (day off, Spring Festival holiday). Inspectors
# patrol on working days (the make-up Saturdays included); the public reports every day, a
# little more at weekends when it is out, and everybody less when the city empties for the
# Spring Festival.
DAY_FACTORS = {
    Channel.INSPECTOR: (0.3, 0.12),
    Channel.HOTLINE: (0.8, 0.5),
    Channel.CITIZEN: (1.15, 0.45),
    Channel.OPEN311: (1.1, 0.5),
}
# Categories: (weight, seasonal amplitude, the day of the year it peaks). The weights are the
# demo cases' (cases/demo.py DEMO_CLASSES) plus four seasonal categories of the taxonomy; an
# amplitude of 1 means the category all but vanishes in the opposite season.
SNOW = "10001"  # 道路积雪、结冰: reported on a few snow days only
CLASSES: dict[str, tuple[float, float, int]] = {
    "06010": (8, 0.35, 200),  # 暴露垃圾: summer heat
    "06012": (6, 0.25, 110),  # 道路不洁: spring dust and willow catkins
    "06036": (5, 0.1, 200),  # 乱堆杂物
    "09009": (5, 0.05, 0),  # 机动车乱停放
    "09010": (4, 0.3, 170),  # 非机动车乱停放: the cycling season
    "07001": (4, 0.1, 250),  # 非法小广告
    "06017": (3, 0.6, 195),  # 绿地脏乱: the growing season
    "09005": (3, 0.45, 200),  # 店外经营: summer evenings
    "01001": (2, 0.0, 0),  # 供水井盖异常
    "03001": (2, 0.25, 215),  # 公共厕所异常
    "06013": (2, 0.35, 75),  # 道路破损: the thaw
    "08002": (1, 0.5, 200),  # 施工占道: the building season
    "06021": (1.5, 1.0, 190),  # 病虫害: summer only
    "06042": (2, 0.4, 205),  # 垃圾站(箱)满溢
    "06029": (1, 1.0, 200),  # 露天烧烤: summer nights
    SNOW: (2, 0.0, 0),
}
SNOW_DAYS = 5  # in December to February, each followed by a day of ice

# --- Where ----------------------------------------------------------------------------------------
# Places of the demo district that draw reports all year (WGS84 ≈ CGCS2000 lon, lat; weight of
# the grid holding the point; grids within HOT_RADIUS_M get half of it).
HOT_SPOTS = [
    ("北京站", 116.4270, 39.9030, 8.0),
    ("东直门交通枢纽", 116.4335, 39.9410, 6.0),
    ("王府井步行街", 116.4110, 39.9140, 6.0),
    ("簋街", 116.4230, 39.9405, 7.0),
    ("南锣鼓巷", 116.4030, 39.9370, 5.0),
    ("红桥市场", 116.4205, 39.8870, 6.0),
    ("前门大街", 116.3990, 39.8960, 5.0),
]
HOT_RADIUS_M = 150.0
GRID_SPREAD = 0.5  # σ of the log of each grid's own lasting activity

# --- How it went ----------------------------------------------------------------------------------
# The command centre is staffed 07:00–22:00 every day: acceptance, filing, dispatch and closing
# wait for it; departments and checkers work in working time (the calendar).
SHIFT = (7 * 3600, 22 * 3600)
# Not accepted, by channel (the public reports more that is not a city-management matter).
REJECT = {
    Channel.INSPECTOR: 0.02,
    Channel.HOTLINE: 0.06,
    Channel.CITIZEN: 0.1,
    Channel.OPEN311: 0.1,
}
CANCEL = 0.01  # of the accepted: a duplicate found when filing
RETURN = 0.04  # of the dispatched: the wrong department; re-dispatched to the locality
PARK = 0.005  # of the dispatched: parked (挂账), waiting for a works budget
EXTENSION = {LimitUnit.DAYS: 0.1, LimitUnit.HOURS: 0.02}  # asked, of the dispatched
APPROVED = 0.85
REWORK = 0.06  # failed the on-site check
# Handling time per department (Department.key) as a share of the category's time limit:
# (median, σ of its logarithm). A share above 1 is a late feedback.
HANDLING = {
    "环卫": (0.25, 0.55),
    "交管": (0.3, 0.65),
    "自来水": (0.35, 0.5),
    "城管": (0.38, 0.6),
    "园林": (0.4, 0.55),
    "市政": (0.45, 0.55),
    "街道": (0.5, 0.6),
}
DEFAULT_HANDLING = (0.45, 0.55)
LOCALITY = ("街道", "城管")  # where a returned case goes: the street office, or else 城管
REASONS = {
    CaseAction.REJECTED: ["经核实不属于城市管理问题", "重复上报", "现场未发现所述问题"],
    CaseAction.CANCELLED: ["重复案件，已合并处理"],
    CaseAction.RETURNED: ["不属于本部门职责，请改派属地"],
    CaseAction.EXTENSION_REQUESTED: ["需协调相关单位，申请延期", "材料采购中，申请延期"],
    CaseAction.PARKED: ["需纳入年度维修计划，暂予挂账"],
    CaseAction.HANDLED: ["已按要求处置完毕", "已清理完毕", "已现场整改"],
    CaseAction.REWORK: ["现场核查未整改到位，请返工"],
}
OVERDUE_SCAN_S = 300  # flag_overdue's timer (deploy/geogrid-flag-overdue.timer)

_DAY_S = 86_400
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_POSTGRES_EPOCH_S = 946_684_800  # 2000-01-01 in Unix seconds
NEVER = np.iinfo(np.int64).max // 4  # a move that does not happen
COPY_SLICE_ROWS = 50_000  # rows per encoded slice of a COPY


@dataclass(frozen=True)
class HistoryActors:
    """Who makes the moves of the generated history (the demo's personas)."""

    inspector: User  # reports on patrol; checks the cases in their grids
    operator: User  # accepts, files, dispatches, closes; takes hotline calls; checks elsewhere
    admin: User  # acts for the departments the handler does not work for, as the demo does
    handler: User | None = None  # department moves of the departments they work for


# --- The working calendar, vectorised -------------------------------------------------------------
class WorkClock:
    """`WorkCalendar.add` and `working_seconds` for whole arrays of instants (Unix seconds),
    over the days [first, last]. Working time is counted from the first day: a moment's count
    is the working seconds before it, so adding is counting forward and reading the moment
    back. Same results as the calendar's, second for second (tests/cases/test_history.py)."""

    def __init__(self, calendar: WorkCalendar, first: date, last: date) -> None:
        self.tz = calendar.tz
        self.starts = np.array([_seconds_of_day(a) for a, _ in calendar.periods], dtype=np.int64)
        self.ends = np.array([_seconds_of_day(b) for _, b in calendar.periods], dtype=np.int64)
        lengths = self.ends - self.starts
        self.before = np.concatenate([[0], np.cumsum(lengths)[:-1]])  # worked before period i
        self.cumulative_end = self.before + lengths
        self.daily = int(lengths.sum())
        self.first = first.toordinal()
        ordinals = np.arange(self.first, last.toordinal() + 1, dtype=np.int64)
        self.working = np.array(
            [calendar.is_working_day(date.fromordinal(int(o))) for o in ordinals], dtype=bool
        )
        self.working_days = ordinals[self.working]
        self.working_before = np.concatenate([[0], np.cumsum(self.working)[:-1]])

    def local(self, instants: np.ndarray) -> np.ndarray:
        """Unix seconds → seconds since 1970-01-01 on the calendar zone's wall clock."""
        moments = pd.DatetimeIndex(np.asarray(instants, dtype="datetime64[s]")).tz_localize("UTC")
        local: np.ndarray = moments.tz_convert(self.tz).tz_localize(None).as_unit("s").asi8
        return local

    def instant(self, local: np.ndarray) -> np.ndarray:
        """The inverse of `local` (an ambiguous wall-clock time is its first occurrence, as a
        datetime with fold=0 is)."""
        moments = pd.DatetimeIndex(np.asarray(local, dtype="datetime64[s]"))
        instants: np.ndarray = (
            moments.tz_localize(
                self.tz, ambiguous=np.ones(len(moments), dtype=bool), nonexistent="shift_forward"
            )
            .tz_convert("UTC")
            .as_unit("s")
            .asi8
        )
        return instants

    def _day_index(self, days: np.ndarray) -> np.ndarray:
        index = days + _EPOCH_ORDINAL - self.first
        if index.size and (index.min() < 0 or index.max() >= len(self.working)):
            raise ValueError("a moment outside the days this clock was made for")
        return index

    def worked(self, instants: np.ndarray) -> np.ndarray:
        """Working seconds from the first day's start to each instant."""
        days, at = np.divmod(self.local(instants), _DAY_S)
        index = self._day_index(days)
        today = np.clip(at[:, None] - self.starts, 0, self.ends - self.starts).sum(axis=1)
        worked: np.ndarray = self.working_before[index] * self.daily
        return worked + np.where(self.working[index], today, 0)

    def moment(self, worked: np.ndarray) -> np.ndarray:
        """The instant at which `worked` (> 0) working seconds are reached; a count that uses
        up a period ends at that period's end, as `WorkCalendar.add` does."""
        day, used = np.divmod(worked - 1, self.daily)
        used += 1  # in (0, daily]
        if day.size and day.max() >= len(self.working_days):
            raise ValueError("a moment beyond the days this clock was made for")
        period = np.searchsorted(self.cumulative_end, used, side="left")
        at = self.starts[period] + used - self.before[period]
        return self.instant((self.working_days[day] - _EPOCH_ORDINAL) * _DAY_S + at)

    def add(self, instants: np.ndarray, seconds: np.ndarray) -> np.ndarray:
        """`WorkCalendar.add(start, seconds / 3600, "hours")` for each pair (seconds > 0)."""
        return self.moment(self.worked(instants) + np.asarray(seconds, dtype=np.int64))

    def is_working(self, ordinals: np.ndarray) -> np.ndarray:
        working: np.ndarray = self.working[ordinals - self.first]
        return working


def _seconds_of_day(moment: time) -> int:
    return moment.hour * 3600 + moment.minute * 60 + moment.second


# --- The district ---------------------------------------------------------------------------------
@dataclass
class _District:
    """The finest-level grids of a district with the facts intake stores for a report in each
    (cases/intake_store.py): the grid path's street and community codes, the area class
    (the finest grid on the path that has one, else GEOGRID_DEFAULT_AREA_CLASS), and the routing
    rules on the path (the finest grid first, a class rule before an all-classes rule)."""

    ids: np.ndarray
    codes: np.ndarray
    geoms: np.ndarray
    streets: np.ndarray
    communities: np.ndarray
    areas: np.ndarray
    rules: dict[tuple[int, int | None], int]  # (grid index, class id or None) → department id


def _district(code: str) -> _District:
    levels = list(GridLevel.objects.order_by("depth").values_list("id", "slug", "code_length"))
    finest = levels[-1][0]
    grids = list(
        Grid.objects.active()
        .filter(code__startswith=code)
        .values_list("id", "code", "level_id", "area_class")
    )
    by_code = {(row[1], row[2]): row for row in grids}
    units = (
        Grid.objects.active()
        .filter(code__startswith=code, level_id=finest)
        .order_by("code")
        .values_list("id", "code", "geom")
    )
    rules_by_grid: dict[int, list[tuple[int | None, int]]] = {}  # grid id → (class, department)
    for grid_id, class_id, department_id in RoutingRule.objects.filter(
        grid__code__startswith=code
    ).values_list("grid_id", "case_class_id", "department_id"):
        rules_by_grid.setdefault(grid_id, []).append((class_id, department_id))
    ids, codes, wkb, streets, communities, areas = [], [], [], [], [], []
    rules: dict[tuple[int, int | None], int] = {}
    for index, (grid_id, unit_code, geom) in enumerate(units):
        path = [
            (slug, by_code[key])
            for level_id, slug, length in levels
            if length <= len(unit_code) and (key := (unit_code[:length], level_id)) in by_code
        ]
        facts = {slug: row for slug, row in path}
        ids.append(grid_id)
        codes.append(unit_code)
        wkb.append(bytes(geom.wkb))
        streets.append(facts["street"][1] if "street" in facts else "")
        communities.append(facts["community"][1] if "community" in facts else "")
        areas.append(
            next(
                (row[3] for _, row in reversed(path) if row[3] in ("A", "B", "C")),
                settings.GEOGRID_DEFAULT_AREA_CLASS,
            )
        )
        for _, row in reversed(path):  # the finest grid's rules first
            for rule_class, rule_department in rules_by_grid.get(row[0], []):
                rules.setdefault((index, rule_class), rule_department)
    return _District(
        ids=np.array(ids, dtype=np.int64),
        codes=np.array(codes, dtype=object),
        geoms=shapely.from_wkb(np.array(wkb, dtype=object)),
        streets=np.array(streets, dtype=object),
        communities=np.array(communities, dtype=object),
        areas=np.array(areas, dtype=object),
        rules=rules,
    )


@dataclass
class _Classes:
    """The categories of CLASSES in the active scheme, as arrays indexed like `codes`."""

    ids: np.ndarray
    codes: list[str]
    names: list[str]
    kinds: np.ndarray
    departments: np.ndarray  # the default department's id, -1 for none
    units: np.ndarray  # LimitUnit
    limits: dict[str, np.ndarray]  # area class → the limit in working seconds


def _classes(calendar: WorkCalendar) -> _Classes:
    # Only categories with a default department: a report without one waits for the operator
    # to choose at dispatch, a decision this generator does not make up.
    rows = list(
        CaseClass.objects.filter(
            scheme=active_scheme(),
            service_code__in=CLASSES,
            active=True,
            department__isnull=False,
        )
        .order_by("service_code")
        .values_list(
            "id",
            "service_code",
            "name",
            "kind",
            "department_id",
            "limit_a",
            "limit_b",
            "limit_c",
            "limit_unit",
        )
    )
    seconds: dict[str, int] = {LimitUnit.HOURS: 3600, LimitUnit.DAYS: int(calendar.daily_seconds)}
    return _Classes(
        ids=np.array([r[0] for r in rows], dtype=np.int64),
        codes=[r[1] for r in rows],
        names=[r[2] for r in rows],
        kinds=np.array([r[3] for r in rows], dtype=object),
        departments=np.array([-1 if r[4] is None else r[4] for r in rows], dtype=np.int64),
        units=np.array([r[8] for r in rows], dtype=object),
        limits={
            area: np.array([r[5 + i] * seconds[r[8]] for r in rows], dtype=np.int64)
            for i, area in enumerate("ABC")
        },
    )


# --- The plan -------------------------------------------------------------------------------------
@dataclass
class HistoryPlan:
    """What `write_history` writes: the cases' columns, in the order of their reports, and the
    events' columns, in the order of their moments (`case` is a case's index in this plan).
    Nothing is written yet."""

    now: datetime
    cases: dict[str, np.ndarray] = field(default_factory=dict)
    events: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.cases.get("reported_at", ()))


def plan_history(
    *,
    count: int,
    actors: HistoryActors,
    now: datetime | None = None,
    district_code: str = "110101",
    seed: int = SEED,
    open311_key: Open311Key | None = None,
) -> HistoryPlan:
    """Generate `count` reports over the DAYS days before `now` in the district's finest grids
    and run each through the workflow as far as it got by `now`. Reads the grids, categories,
    departments, routing rules and calendar; writes nothing. The same seed, `now` and database
    give the same plan. An empty plan when there is nothing to generate from (no grids, none of
    the CLASSES in the active scheme)."""
    now = (now or timezone.now()).replace(microsecond=0)
    plan = HistoryPlan(now=now)
    calendar = work_calendar()
    district = _district(district_code)
    classes = _classes(calendar)
    if count <= 0 or not len(district.ids) or not classes.codes:
        return plan
    now_s = int(now.timestamp())
    today = now.astimezone(calendar.tz).date()
    # Deadlines of the last reports fall weeks after now; a parked case's never does.
    clock = WorkClock(calendar, today - timedelta(days=DAYS + 7), today + timedelta(days=730))
    rng = np.random.default_rng(seed)
    reported, channel, klass = _when(rng, count, now_s, clock, classes)
    grid, x, y = _where(rng, np.random.default_rng([seed, 1]), count, district)
    flow = _Workflow(
        rng=rng,
        clock=clock,
        now=now_s,
        reported=reported,
        channel=np.array(list(CHANNELS), dtype=object)[channel],
        klass=klass,
        grid=grid,
        district=district,
        classes=classes,
        actors=actors,
    )
    flow.run()
    plan.events = flow.event_columns()
    plan.cases = flow.case_columns(plan.events, x=x, y=y, open311_key=open311_key)
    return plan


def _when(
    rng: np.random.Generator, count: int, now_s: int, clock: WorkClock, classes: _Classes
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(reported_at in Unix seconds, channel index, class index) of `count` reports in the DAYS
    days before now, sorted by time: a channel, then a day and a category together (the
    channel's day factors times the category's weight and season), then a minute of the day
    from the channel's profile."""
    today = int(clock.local(np.array([now_s]))[0] // _DAY_S) + _EPOCH_ORDINAL
    days = np.arange(today - DAYS, today + 1, dtype=np.int64)
    working = clock.is_working(days)
    festival = np.isin(days, _spring_festival())
    season = _seasons(rng, days, classes)
    weights = np.array([CLASSES[code][0] for code in classes.codes], dtype=float)
    channels = list(CHANNELS)
    shares = np.array([CHANNELS[ch] for ch in channels])
    minutes = {ch: _minute_profile(ch, clock) for ch in channels}
    times, picked_channels, picked_classes = [], [], []
    need, since = count, now_s - DAYS * _DAY_S
    while need > 0:  # the first and the last day are partial: draw again for what fell outside
        channel = rng.choice(len(channels), size=need, p=shares / shares.sum())
        local = np.empty(need, dtype=np.int64)
        klass = np.empty(need, dtype=np.int64)
        for index, ch in enumerate(channels):
            rows = np.flatnonzero(channel == index)
            off, festive = DAY_FACTORS[ch]
            per_day = np.where(festival, festive, np.where(working, 1.0, off))
            joint = (per_day[:, None] * weights[None, :] * season).ravel()
            day, klass[rows] = np.divmod(
                rng.choice(joint.size, size=len(rows), p=joint / joint.sum()), len(weights)
            )
            minute = rng.choice(1440, size=len(rows), p=minutes[ch])
            second = rng.integers(0, 60, size=len(rows))
            local[rows] = (days[day] - _EPOCH_ORDINAL) * _DAY_S + minute * 60 + second
        stamp = clock.instant(local)
        keep = (stamp >= since) & (stamp < now_s)
        times.append(stamp[keep])
        picked_channels.append(channel[keep])
        picked_classes.append(klass[keep])
        need -= int(keep.sum())
    reported = np.concatenate(times)
    order = np.argsort(reported, kind="stable")
    return (
        reported[order],
        np.concatenate(picked_channels)[order],
        np.concatenate(picked_classes)[order],
    )


def _spring_festival() -> list[int]:
    return [
        day.toordinal()
        for day in CalendarDay.objects.filter(
            kind=CalendarDayKind.HOLIDAY, name__contains="春节"
        ).values_list("date", flat=True)
    ]


def _seasons(rng: np.random.Generator, days: np.ndarray, classes: _Classes) -> np.ndarray:
    """(days × categories) seasonal factors, each averaging about 1 over a year."""
    dates = [date.fromordinal(int(day)) for day in days]
    year_day = np.array([d.timetuple().tm_yday for d in dates], dtype=float)
    winter = np.isin(np.array([d.month for d in dates]), (12, 1, 2))
    season = np.ones((len(days), len(classes.codes)))
    for k, code in enumerate(classes.codes):
        _, amplitude, peak = CLASSES[code]
        season[:, k] = 1 + amplitude * np.cos(2 * np.pi * (year_day - peak) / 365.25)
    if SNOW in classes.codes:
        k = classes.codes.index(SNOW)
        season[:, k] = np.where(winter, 0.1, 0.0)  # ice on cold days
        candidates = np.flatnonzero(winter)
        if len(candidates):
            snowy = rng.choice(candidates, size=min(SNOW_DAYS, len(candidates)), replace=False)
            season[np.minimum(snowy + 1, len(days) - 1), k] = 8.0
            season[snowy, k] = 25.0
    return season


def _minute_profile(channel: str, clock: WorkClock) -> np.ndarray:
    """Probabilities of the 1,440 minutes of a day for a report of this channel."""
    hour = np.arange(1440) / 60.0

    def bump(centre: float, width: float) -> np.ndarray:
        return np.exp(-(((hour - centre) / width) ** 2))

    if channel == Channel.INSPECTOR:
        # On patrol in working hours, a little before and after, hardly ever at night.
        second = np.arange(1440)[:, None] * 60
        inside = ((second >= clock.starts) & (second < clock.ends)).any(axis=1)
        near = ((second >= clock.starts - 3600) & (second < clock.ends + 3600)).any(axis=1)
        daytime = (hour >= 6) & (hour < 22)
        weights = np.where(inside, 1.0, np.where(near, 0.1, np.where(daytime, 0.005, 0.0)))
    elif channel == Channel.HOTLINE:
        weights = 0.02 + bump(10, 2) + 0.9 * bump(15, 2.5) + 0.5 * bump(20, 2)
    else:  # the public, in the evening most of all
        weights = 0.03 + 0.5 * bump(10, 2.5) + 0.6 * bump(15, 2.5) + bump(20, 1.8)
        weights = np.where(hour < 6, weights * 0.15, weights)
    profile: np.ndarray = weights / weights.sum()
    return profile


def _where(
    rng: np.random.Generator, places: np.random.Generator, count: int, district: _District
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(grid index, lon, lat) of each report: the grids weighted by a lasting activity of their
    own and by the hot spots, the point uniform inside its grid. The activities come from
    `places`, a generator of their own, so a district's busy grids stay the same whenever the
    history is made; a hot spot's grids are never less busy than their hot-spot factor."""
    activity = places.lognormal(0.0, GRID_SPREAD, size=len(district.ids))
    hot = _hot_factors(district)
    weights = np.where(hot > 1, np.maximum(activity, 1.0), activity) * hot
    grid = rng.choice(len(weights), size=count, p=weights / weights.sum())
    bounds = shapely.bounds(district.geoms)
    shapely.prepare(district.geoms)
    x, y = np.empty(count), np.empty(count)
    todo = np.arange(count)
    for _ in range(30):  # rejection sampling in each grid's bounding box
        if not len(todo):
            break
        box = bounds[grid[todo]]
        x[todo] = rng.uniform(box[:, 0], box[:, 2])
        y[todo] = rng.uniform(box[:, 1], box[:, 3])
        todo = todo[~shapely.contains_xy(district.geoms[grid[todo]], x[todo], y[todo])]
    if len(todo):  # slivers: a point on the surface
        inside = shapely.point_on_surface(district.geoms[grid[todo]])
        x[todo], y[todo] = shapely.get_x(inside), shapely.get_y(inside)
    # Seven decimals, as a phone sends them (about a centimetre).
    return grid, np.round(x, 7), np.round(y, 7)


def _hot_factors(district: _District) -> np.ndarray:
    factors = np.ones(len(district.ids))
    for _, lon, lat, factor in HOT_SPOTS:
        # Metres in a local equirectangular frame: exact enough over a few hundred metres.
        scale = np.array([111_320.0 * math.cos(math.radians(lat)), 110_574.0])
        origin = np.array([lon, lat])
        metric = shapely.transform(district.geoms, lambda xy, s=scale, o=origin: (xy - o) * s)
        distance = shapely.distance(metric, shapely.Point(0, 0))
        factors = np.maximum(factors, np.where(distance == 0, factor, 1.0))
        factors = np.maximum(factors, np.where(distance <= HOT_RADIUS_M, factor / 2, 1.0))
    return factors


# --- The workflow, all cases at once --------------------------------------------------------------
@dataclass
class _Workflow:
    """Every case through the workflow of cases/workflow.py, stage by stage: `t[move]` holds each
    case's moment of that move (Unix seconds), NEVER where it does not happen. Moves after `now`
    are planned like the others and dropped when the events are listed, so the recent cases
    stay open in whatever status they had reached."""

    rng: np.random.Generator
    clock: WorkClock
    now: int
    reported: np.ndarray
    channel: np.ndarray
    klass: np.ndarray
    grid: np.ndarray
    district: _District
    classes: _Classes
    actors: HistoryActors
    t: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.reported)

    def never(self) -> np.ndarray:
        return np.full(self.n, NEVER, dtype=np.int64)

    def lognormal(self, median_s: float, sigma: float, minimum: int = 30) -> np.ndarray:
        drawn = self.rng.lognormal(math.log(median_s), sigma, size=self.n)
        return np.maximum(np.round(drawn), minimum).astype(np.int64)

    def staffed(self, instants: np.ndarray) -> np.ndarray:
        """The first moment at or after each instant at which the command centre is staffed
        (SHIFT); NEVER stays NEVER."""
        out = instants.copy()
        rows = np.flatnonzero(instants < NEVER)
        local = self.clock.local(instants[rows])
        day, at = np.divmod(local, _DAY_S)
        opens, closes = SHIFT
        early, late = at < opens, at >= closes
        moved = np.where(early, day * _DAY_S + opens, (day + 1) * _DAY_S + opens)
        change = early | late
        out[rows[change]] = self.clock.instant(moved[change])
        return out

    def work(self, start: np.ndarray, seconds: np.ndarray | int, where: np.ndarray) -> np.ndarray:
        """`seconds` of working time after `start` where `where` (and start happens), else
        NEVER."""
        out = self.never()
        rows = np.flatnonzero(where & (start < NEVER))
        if len(rows):
            amounts = np.broadcast_to(np.asarray(seconds, dtype=np.int64), (self.n,))[rows]
            out[rows] = self.clock.add(start[rows], amounts)
        return out

    def after(self, start: np.ndarray, delay: np.ndarray, where: np.ndarray) -> np.ndarray:
        return np.where(where & (start < NEVER), start + delay, NEVER)

    def reason(self, action: str) -> np.ndarray:
        options = np.array(REASONS[CaseAction(action)], dtype=object)
        return options[self.rng.integers(0, len(options), size=self.n)]

    # The stages ----------------------------------------------------------------------------------
    def run(self) -> None:
        rng, n, t = self.rng, self.n, self.t
        areas = self.district.areas[self.grid]
        limits = self.classes.limits
        self.limit = np.where(
            areas == "A",
            limits["A"][self.klass],
            np.where(areas == "B", limits["B"][self.klass], limits["C"][self.klass]),
        )
        self.unit = self.classes.units[self.klass]
        self.department0, self.routed_by = self._routed()
        self.department2 = self._locality(self.department0)

        # 受理 or 不予受理 once the centre is staffed; a few accepted ones 作废 as duplicates.
        decided = self.staffed(self.reported + 60) + self.lognormal(12 * 60, 1.2)
        rejected = rng.random(n) < np.array([REJECT[ch] for ch in self.channel])
        t["rejected"] = np.where(rejected, decided, NEVER)
        t["accepted"] = np.where(rejected, NEVER, decided)
        cancelled = ~rejected & (rng.random(n) < CANCEL)
        t["cancelled"] = self.after(t["accepted"], self.lognormal(2 * 3600, 0.7), cancelled)
        going = ~rejected & ~cancelled
        # 立案 and 派遣; dispatching sets the deadline.
        t["filed"] = self.staffed(self.after(t["accepted"], self.lognormal(20 * 60, 1.2), going))
        t["dispatched"] = self.staffed(self.after(t["filed"], self.lognormal(15 * 60, 1.2), going))
        self.deadline0 = self.work(t["dispatched"], self.limit, going)
        # 回退 (the wrong department) and 重新派遣 to the locality: a fresh deadline.
        returned = going & (rng.random(n) < RETURN) & (self.department2 >= 0)
        t["returned"] = self.work(t["dispatched"], self.lognormal(1.2 * 3600, 0.8), returned)
        t["redispatched"] = self.staffed(
            self.after(t["returned"], self.lognormal(2 * 3600, 1.0), returned)
        )
        start = np.where(returned, t["redispatched"], t["dispatched"])  # the last dispatch
        self.deadline1 = np.where(returned, self.work(start, self.limit, returned), self.deadline0)
        # 挂账 (for good: it waits for a works budget), or 申请延期 and the centre's decision.
        parked = going & (rng.random(n) < PARK)
        parking = np.maximum(rng.random(n) * 0.6 * self.limit, 600).astype(np.int64)
        t["parked"] = self.work(start, parking, parked)
        asks = rng.random(n) < np.array([EXTENSION[u] for u in self.unit])
        extended = going & ~parked & asks
        asking = (self.limit * rng.uniform(0.3, 0.7, size=n)).astype(np.int64) + 60
        t["extension_requested"] = self.work(start, asking, extended)
        t["extension_decided"] = self.staffed(
            self.after(t["extension_requested"], self.lognormal(3 * 3600, 1.0), extended)
        )
        approved = extended & (rng.random(n) < APPROVED)
        # Hours are extended by the limit once more, days by two or three days.
        hours = self.unit == LimitUnit.HOURS
        self.asked = np.where(hours, self.limit // 3600, rng.integers(2, 4, size=n))
        extension = np.where(hours, self.asked * 3600, self.asked * self.clock.daily)
        self.deadline2 = np.where(
            approved, self.work(self.deadline1, extension, approved), self.deadline1
        )
        # 处置反馈: a share of the limit by department; who asked for more time takes it.
        self.department = np.where(returned, self.department2, self.department0)
        median, sigma = self._handling(self.department)
        share = np.exp(rng.normal(np.log(median), sigma)) + np.where(extended, 0.8, 0.0)
        handled = going & ~parked
        t["handled"] = self.work(
            start, np.maximum(share * self.limit, 600).astype(np.int64), handled
        )
        # Never before the decision on the extension it asked for.
        wait = extended & (t["handled"] <= t["extension_decided"])
        t["handled"] = np.where(wait, self.work(t["extension_decided"], 1800, wait), t["handled"])
        # 核查 on site in working time, on the inspector's next round: passed, or 返工 with a
        # second feedback and check.
        first_check = self.work(t["handled"], self.lognormal(4 * 3600, 0.9, 600), handled)
        rework = handled & (rng.random(n) < REWORK)
        t["rework"] = np.where(rework, first_check, NEVER)
        again = np.maximum(rng.lognormal(math.log(0.35), 0.6, n) * self.limit, 600)
        t["handled_again"] = self.work(t["rework"], again.astype(np.int64), rework)
        second_check = self.work(t["handled_again"], self.lognormal(4 * 3600, 0.9, 600), rework)
        t["checked"] = np.where(rework, second_check, first_check)
        t["closed"] = self.staffed(self.after(t["checked"], self.lognormal(3 * 3600, 1.0), handled))
        self.start = start
        self.going, self.returned, self.parked = going, returned, parked
        self.extended, self.approved, self.reworked = extended, approved, rework
        self._overdue()

    def _routed(self) -> tuple[np.ndarray, np.ndarray]:
        """The department intake would route to: a routing rule on the grid's path, else the
        category's default department, else none (no component is named in these reports)."""
        department = self.classes.departments[self.klass].copy()
        routed = np.where(department >= 0, RoutedBy.CLASS_DEFAULT, RoutedBy.UNROUTED).astype(object)
        rules = self.district.rules
        if rules:
            ruled = {grid for grid, _ in rules}
            for row in np.flatnonzero(np.isin(self.grid, list(ruled))):
                grid, class_id = int(self.grid[row]), int(self.classes.ids[self.klass[row]])
                rule = rules.get((grid, class_id), rules.get((grid, None)))
                if rule is not None:
                    department[row], routed[row] = rule, RoutedBy.GRID_RULE
        return department, routed

    def _locality(self, department: np.ndarray) -> np.ndarray:
        """Where a returned case is re-dispatched: the street office, or 城管 when the street
        office returned it; -1 when neither exists."""
        keys = dict(Department.objects.filter(key__in=LOCALITY).values_list("key", "id"))
        first, second = (keys.get(key, -1) for key in LOCALITY)
        return np.where(department == first, second, first).astype(np.int64)

    def _handling(self, department: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        keys = dict(Department.objects.values_list("id", "key"))
        pairs = [HANDLING.get(keys.get(int(d), ""), DEFAULT_HANDLING) for d in department]
        return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])

    def _overdue(self) -> None:
        """flag_overdue's events and the overdue flag, segment by segment of running clock
        (docs/domain.md §5.5): the scan runs every OVERDUE_SCAN_S seconds and flags a case whose
        clock runs past its deadline; a feedback after the deadline sets the flag itself;
        dispatching clears it; approving an extension sets it to whether the new deadline has
        passed."""
        t, now = self.t, self.now

        def scan(
            begin: np.ndarray, end: np.ndarray, deadline: np.ndarray, where: np.ndarray
        ) -> np.ndarray:
            tick = (np.maximum(deadline, begin) // OVERDUE_SCAN_S + 1) * OVERDUE_SCAN_S
            return np.where(where & (tick < end) & (tick <= now), tick, NEVER)

        # Before a return, against the first deadline (the flag is cleared by the re-dispatch).
        self.overdue_returned = scan(t["dispatched"], t["returned"], self.deadline0, self.returned)
        # From the last dispatch to the feedback, the parking or the extension's decision.
        until = np.minimum(np.minimum(t["handled"], t["parked"]), t["extension_decided"])
        self.overdue_running = scan(self.start, until, self.deadline1, self.going)
        # A return leaves the flag as it was until the re-dispatch clears it.
        flagged = (self.overdue_returned < NEVER) & (t["redispatched"] > now)
        flagged |= self.overdue_running < NEVER
        decided = self.approved & (t["extension_decided"] <= now)
        flagged = np.where(decided, self.deadline2 < t["extension_decided"], flagged)
        # After the decision, against the extended deadline.
        self.overdue_extended = scan(
            t["extension_decided"], t["handled"], self.deadline2, self.extended & ~flagged
        )
        flagged |= self.overdue_extended < NEVER
        flagged |= (t["handled"] <= now) & (t["handled"] > self.deadline2)
        # Rework runs the clock again against the same deadline.
        self.overdue_rework = scan(
            t["rework"], t["handled_again"], self.deadline2, self.reworked & ~flagged
        )
        flagged |= self.overdue_rework < NEVER
        flagged |= (t["handled_again"] <= now) & (t["handled_again"] > self.deadline2)
        self.overdue = flagged

    # What happened by now ------------------------------------------------------------------------
    def event_columns(self) -> dict[str, np.ndarray]:
        """One row per move made by now, with the action, statuses, actor, reason and details
        transition_case (or intake, or flag_overdue) writes; sorted by moment, so event ids
        follow time as they do when the moves are made one by one."""
        t, S, A = self.t, CaseStatus, CaseAction
        actors = self.actors
        operator = actors.operator.pk
        handler_of = self._department_actors()
        checker = self._checkers()
        reporter = self._reporters()
        extended_at_tick = self.extended & (self.overdue_running >= t["extension_requested"])
        running_status = np.where(extended_at_tick, S.EXTENSION_REQUESTED, S.DISPATCHED)
        # (stage, moments, action, from, to, actor ids (-1: none), reason, details): a table,
        # one move a line.
        # fmt: off
        moves: list[tuple[int, np.ndarray, str, Any, Any, Any, Any, Any]] = [
            (0, self.reported, A.REPORTED, "", S.REPORTED, reporter, "", self._reported_details),
            (1, t["rejected"], A.REJECTED, S.REPORTED, S.REJECTED, operator, A.REJECTED, "{}"),
            (1, t["accepted"], A.ACCEPTED, S.REPORTED, S.ACCEPTED, operator, "", "{}"),
            (2, t["cancelled"], A.CANCELLED, S.ACCEPTED, S.CANCELLED, operator, A.CANCELLED, "{}"),
            (2, t["filed"], A.FILED, S.ACCEPTED, S.FILED, operator, "", "{}"),
            (3, t["dispatched"], A.DISPATCHED, S.FILED, S.DISPATCHED, operator, "",
             lambda rows: self._deadline_details(self.deadline0[rows])),
            (4, self.overdue_returned, A.OVERDUE, S.DISPATCHED, S.DISPATCHED, -1, "",
             lambda rows: self._overdue_details(self.deadline0[rows])),
            (5, t["returned"], A.RETURNED, S.DISPATCHED, S.RETURNED,
             handler_of(self.department0), A.RETURNED, "{}"),
            (6, t["redispatched"], A.REDISPATCHED, S.RETURNED, S.DISPATCHED, operator, "",
             self._redispatch_details),
            (7, t["parked"], A.PARKED, S.DISPATCHED, S.PARKED, operator, A.PARKED,
             self._parked_details),
            (7, t["extension_requested"], A.EXTENSION_REQUESTED, S.DISPATCHED,
             S.EXTENSION_REQUESTED, handler_of(self.department), A.EXTENSION_REQUESTED,
             self._asked_details),
            (8, self.overdue_running, A.OVERDUE, running_status, running_status, -1, "",
             lambda rows: self._overdue_details(self.deadline1[rows])),
            (9, t["extension_decided"], A.EXTENSION_DECIDED, S.EXTENSION_REQUESTED, S.DISPATCHED,
             operator, "", self._decision_details),
            (10, self.overdue_extended, A.OVERDUE, S.DISPATCHED, S.DISPATCHED, -1, "",
             lambda rows: self._overdue_details(self.deadline2[rows])),
            (11, t["handled"], A.HANDLED, S.DISPATCHED, S.HANDLED, handler_of(self.department),
             A.HANDLED, "{}"),
            (12, np.where(self.reworked, NEVER, t["checked"]), A.CHECKED, S.HANDLED, S.CHECKED,
             checker, "", "{}"),
            (12, t["rework"], A.REWORK, S.HANDLED, S.REWORK, checker, A.REWORK, "{}"),
            (13, self.overdue_rework, A.OVERDUE, S.REWORK, S.REWORK, -1, "",
             lambda rows: self._overdue_details(self.deadline2[rows])),
            (14, t["handled_again"], A.HANDLED, S.REWORK, S.HANDLED, handler_of(self.department),
             A.HANDLED, "{}"),
            (15, np.where(self.reworked, t["checked"], NEVER), A.CHECKED, S.HANDLED, S.CHECKED,
             checker, "", "{}"),
            (16, t["closed"], A.CLOSED, S.CHECKED, S.CLOSED, operator, "", "{}"),
        ]
        # fmt: on
        parts: dict[str, list[np.ndarray]] = {}
        for stage, moments, action, from_status, to_status, actor, reason, details in moves:
            rows = np.flatnonzero(moments <= self.now)
            m = len(rows)
            columns = {
                "case": rows,
                "stage": np.full(m, stage, dtype=np.int64),
                "time": moments[rows],
                "action": np.full(m, str(action), dtype=object),
                "from_status": _pick(from_status, rows, m),
                "to_status": _pick(to_status, rows, m),
                "actor": np.asarray(_pick(actor, rows, m), dtype=np.int64),
                "reason": self.reason(reason)[rows] if reason else np.full(m, "", dtype=object),
                "details": (
                    details(rows) if callable(details) else np.full(m, details, dtype=object)
                ),
            }
            for name, values in columns.items():
                parts.setdefault(name, []).append(values)
        events = {name: np.concatenate(values) for name, values in parts.items()}
        order = np.lexsort((events["stage"], events["case"], events["time"]))
        return {name: values[order] for name, values in events.items()}

    def case_columns(
        self,
        events: dict[str, np.ndarray],
        *,
        x: np.ndarray,
        y: np.ndarray,
        open311_key: Open311Key | None,
    ) -> dict[str, np.ndarray]:
        """The cases as they stand at `now`, read off their events (status, version, last
        change) and the move times up to now."""
        t, now, n = self.t, self.now, self.n

        def by_now(moments: np.ndarray) -> np.ndarray:
            return np.where(moments <= now, moments, NEVER)

        moves = events["action"] != CaseAction.OVERDUE
        case, stage = events["case"][moves], events["stage"][moves]
        last = np.lexsort((stage, events["time"][moves], case))
        final = last[np.r_[case[last][1:] != case[last][:-1], True]]  # each case's last move
        status = np.empty(n, dtype=object)
        status[case[final]] = events["to_status"][moves][final]
        updated = np.empty(n, dtype=np.int64)
        updated[case[final]] = events["time"][moves][final]
        version = 1 + np.bincount(case, weights=stage > 0, minlength=n).astype(np.int64)
        redispatched = t["redispatched"] <= now
        approved = self.approved & (t["extension_decided"] <= now)
        deadline = np.where(
            approved, self.deadline2, np.where(redispatched, self.deadline1, self.deadline0)
        )
        deadline = np.where(t["dispatched"] <= now, deadline, NEVER)
        dispatched = np.where(redispatched, t["redispatched"], by_now(t["dispatched"]))
        handled = np.where(t["handled_again"] <= now, t["handled_again"], by_now(t["handled"]))
        department = np.where(redispatched, self.department2, self.department0)
        routed_by = np.where(redispatched, RoutedBy.OPERATOR, self.routed_by)
        class_id = self.classes.ids[self.klass]
        names = np.array(self.classes.names, dtype=object)[self.klass]
        grid_codes = self.district.codes[self.grid]
        return {
            "district_code": np.array([code[:6] for code in grid_codes], dtype=object),
            "channel": self.channel,
            "case_class_id": class_id,
            "kind": self.classes.kinds[self.klass],
            "description": np.array(
                [DESCRIPTION.format(name=name) for name in names], dtype=object
            ),
            "x": x,
            "y": y,
            "submitted_point": np.array(
                [
                    f'{{"x": {a!r}, "y": {b!r}, "crs": "EPSG:4490"}}'
                    for a, b in zip(x.tolist(), y.tolist(), strict=True)
                ],
                dtype=object,
            ),
            "grid_id": self.district.ids[self.grid],
            "grid_code": grid_codes,
            "street_code": self.district.streets[self.grid],
            "community_code": self.district.communities[self.grid],
            "area_class": self.district.areas[self.grid],
            "department_id": department,
            "routed_by": routed_by.astype(object),
            "reporter_id": self._reporters(),
            "open311_key_id": np.where(
                self.channel == Channel.OPEN311, open311_key.pk if open311_key else -1, -1
            ).astype(np.int64),
            "status": status,
            "reported_at": self.reported,
            "accepted_at": by_now(t["accepted"]),
            "filed_at": by_now(t["filed"]),
            "dispatched_at": dispatched,
            "deadline": deadline,
            "handled_at": handled,
            "closed_at": by_now(t["closed"]),
            "overdue": self.overdue,
            "return_count": (self.returned & (t["returned"] <= now)).astype(np.int64),
            "extension_count": approved.astype(np.int64),
            "rework_count": (self.reworked & (t["rework"] <= now)).astype(np.int64),
            "version": version,
            "updated_at": updated,
        }

    # Who acts ------------------------------------------------------------------------------------
    def _grid_inspectors(self) -> np.ndarray:
        """For each grid of the district, the inspector responsible for it (一格一员: the
        inspector whose grid scope holds it), -1 where the demo has none."""
        owner: np.ndarray = np.full(len(self.district.codes), -1, dtype=np.int64)
        scopes = GridScope.objects.filter(user__role=Role.INSPECTOR).values_list(
            "user_id", "grid__code"
        )
        for user_id, prefix in scopes:
            covered = np.array(
                [code.startswith(prefix) for code in self.district.codes], dtype=bool
            )
            owner[covered & (owner < 0)] = user_id
        return owner

    def _reporters(self) -> np.ndarray:
        """Intake's reporter: the inspector of the grid (the demo has inspectors for some
        grids only; elsewhere the report names nobody, as an inspector outside the demo's
        personas would), the operator who took the call, nobody for the public (no personal
        data is generated)."""
        operator = self.actors.operator.pk
        reporters: np.ndarray = np.select(
            [self.channel == Channel.INSPECTOR, self.channel == Channel.HOTLINE],
            [self._grid_inspectors()[self.grid], operator],
            -1,
        ).astype(np.int64)
        return reporters

    def _department_actors(self) -> Callable[[np.ndarray], np.ndarray]:
        """department id → who moves its cases: the demo handler for the departments they work
        for, the admin for the others (as the demo's own cases do)."""
        handler, admin = self.actors.handler, self.actors.admin.pk
        members = set()
        if handler is not None:
            members = set(
                DepartmentMember.objects.filter(user=handler).values_list(
                    "department_id", flat=True
                )
            )

        def actor(department: np.ndarray) -> np.ndarray:
            mine = np.isin(department, list(members))
            return np.where(mine, handler.pk if handler is not None else admin, admin)

        return actor

    def _checkers(self) -> np.ndarray:
        """Checks on site: the inspector in their own grids, the operator's staff elsewhere."""
        inspector = self._grid_inspectors()[self.grid]
        return np.where(inspector >= 0, inspector, self.actors.operator.pk)

    # Details, in the shapes the services write ---------------------------------------------------
    def _reported_details(self, rows: np.ndarray) -> np.ndarray:
        codes = self.district.codes[self.grid[rows]]
        return np.array(
            [
                json.dumps(
                    {
                        "channel": channel,
                        "grid": code,
                        "routed_by": routed_by,
                        "department": None if department < 0 else department,
                        "duplicates": [],
                    }
                )
                for channel, code, routed_by, department in zip(
                    self.channel[rows].tolist(),
                    codes.tolist(),
                    self.routed_by[rows].tolist(),
                    self.department0[rows].tolist(),
                    strict=True,
                )
            ],
            dtype=object,
        )

    def _deadline_details(self, deadlines: np.ndarray) -> np.ndarray:
        return np.array([f'{{"deadline": "{iso}"}}' for iso in self._iso(deadlines)], dtype=object)

    def _overdue_details(self, deadlines: np.ndarray) -> np.ndarray:
        # flag_overdue reads the deadline back from the database: in UTC.
        return np.array(
            [f'{{"deadline": "{iso}"}}' for iso in self._iso(deadlines, utc=True)], dtype=object
        )

    def _redispatch_details(self, rows: np.ndarray) -> np.ndarray:
        return np.array(
            [
                json.dumps({"department": {"from": None if a < 0 else a, "to": b}, "deadline": iso})
                for a, b, iso in zip(
                    self.department0[rows].tolist(),
                    self.department2[rows].tolist(),
                    self._iso(self.deadline1[rows]),
                    strict=True,
                )
            ],
            dtype=object,
        )

    def _parked_details(self, rows: np.ndarray) -> np.ndarray:
        left = self.clock.worked(self.deadline1[rows]) - self.clock.worked(self.t["parked"][rows])
        return np.array(
            [json.dumps({"remaining_s": float(s)}) for s in np.maximum(left, 0).tolist()],
            dtype=object,
        )

    def _asked_details(self, rows: np.ndarray) -> np.ndarray:
        return np.array(
            [
                json.dumps({"asked": [float(amount), unit]})
                for amount, unit in zip(
                    self.asked[rows].tolist(), self.unit[rows].tolist(), strict=True
                )
            ],
            dtype=object,
        )

    def _decision_details(self, rows: np.ndarray) -> np.ndarray:
        isos = self._iso(self.deadline2[rows])
        return np.array(
            [
                json.dumps({"approved": True, "extend_by": [float(amount), unit], "deadline": iso})
                if yes
                else '{"approved": false}'
                for yes, amount, unit, iso in zip(
                    self.approved[rows].tolist(),
                    self.asked[rows].tolist(),
                    self.unit[rows].tolist(),
                    isos,
                    strict=True,
                )
            ],
            dtype=object,
        )

    def _iso(self, instants: np.ndarray, *, utc: bool = False) -> list[str]:
        """datetime.isoformat() of each instant (whole seconds): in the calendar's zone, as
        WorkCalendar.add returns a deadline, or in UTC, as the database returns it."""
        local = instants if utc else self.clock.local(instants)
        text = np.datetime_as_string(local.astype("datetime64[s]"), unit="s").tolist()
        offsets = (local - instants).tolist()
        return [f"{when}{_offset(offset)}" for when, offset in zip(text, offsets, strict=True)]


def _offset(seconds: int) -> str:
    sign = "-" if seconds < 0 else "+"
    hours, minutes = divmod(abs(seconds) // 60, 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def _pick(value: Any, rows: np.ndarray, m: int) -> np.ndarray:
    """A column's values for these rows: a per-case array, or one value for all."""
    if isinstance(value, np.ndarray):
        picked: np.ndarray = value[rows]
        return picked
    return np.full(m, value, dtype=object if isinstance(value, str) else np.int64)


# --- Writing --------------------------------------------------------------------------------------
def _timestamps(instants: np.ndarray) -> tuple[str, np.ndarray, np.ndarray]:
    """A timestamptz column (µs since 2000-01-01) with NULL where NEVER."""
    missing = instants >= NEVER
    return "int8", np.where(missing, 0, (instants - _POSTGRES_EPOCH_S) * 1_000_000), missing


def _jsonb(texts: np.ndarray) -> np.ndarray:
    # jsonb's binary input: a version byte (1), then the JSON text.
    return np.array([b"\x01" + text.encode() for text in texts], dtype=object)


def _ids(values: np.ndarray) -> tuple[str, np.ndarray, np.ndarray]:
    return "int8", values, values < 0


@transaction.atomic
def write_history(plan: HistoryPlan) -> int:
    """Write a plan's cases and events: ids for the cases from their sequence, then one binary
    COPY into cases_case and one into cases_caseevent, in one transaction. The month counts
    and the tile versions follow by their triggers. Returns the number of cases written."""
    n = plan.count
    if not n:
        return 0
    c, e = plan.cases, plan.events
    with raw_cursor(for_write=True) as cursor:
        ids = np.array(
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence('cases_case', 'id')) "
                "FROM generate_series(1, %s)",
                (n,),
            ).fetchall(),
            dtype=np.int64,
        ).ravel()
        blank = np.full(n, "", dtype=object)
        no_id = np.full(n, -1, dtype=np.int64)
        case_columns = [
            ("id", ("int8", ids, None)),
            ("district_code", ("text", c["district_code"], None)),
            ("channel", ("text", c["channel"], None)),
            ("case_class_id", ("int8", c["case_class_id"], None)),
            ("kind", ("text", c["kind"], None)),
            ("component_id", _ids(no_id)),
            ("description", ("text", c["description"], None)),
            ("address", ("text", blank, None)),
            ("geom", ("char", point_ewkb(c["x"], c["y"]), None)),
            ("submitted_point", ("bytea", _jsonb(c["submitted_point"]), None)),
            ("grid_id", ("int8", c["grid_id"], None)),
            ("grid_code", ("text", c["grid_code"], None)),
            ("street_code", ("text", c["street_code"], None)),
            ("community_code", ("text", c["community_code"], None)),
            ("area_class", ("text", c["area_class"], None)),
            ("handling_level", ("text", np.full(n, "unit", dtype=object), None)),
            ("department_id", _ids(c["department_id"])),
            ("routed_by", ("text", c["routed_by"], None)),
            ("reporter_id", _ids(c["reporter_id"])),
            ("reporter_name", ("text", blank, None)),
            ("reporter_phone", ("text", blank, None)),
            ("reporter_email", ("text", blank, None)),
            ("open311_key_id", _ids(c["open311_key_id"])),
            ("device_id", ("text", blank, None)),
            ("account_id", ("text", blank, None)),
            ("status", ("text", c["status"], None)),
            ("possible_duplicates", ("bytea", _jsonb(np.full(n, "[]", dtype=object)), None)),
            ("reported_at", _timestamps(c["reported_at"])),
            ("path_check", ("text", blank, None)),
            ("generated", ("bool", np.ones(n, dtype=bool), None)),
            ("accepted_at", _timestamps(c["accepted_at"])),
            ("filed_at", _timestamps(c["filed_at"])),
            ("dispatched_at", _timestamps(c["dispatched_at"])),
            ("deadline", _timestamps(c["deadline"])),
            ("handled_at", _timestamps(c["handled_at"])),
            ("closed_at", _timestamps(c["closed_at"])),
            ("overdue", ("bool", c["overdue"], None)),
            ("return_count", ("int4", c["return_count"], None)),
            ("extension_count", ("int4", c["extension_count"], None)),
            ("rework_count", ("int4", c["rework_count"], None)),
            ("version", ("int4", c["version"], None)),
            ("updated_at", _timestamps(c["updated_at"])),
        ]
        event_columns = [
            ("case_id", ("int8", ids[e["case"]], None)),
            ("action", ("text", e["action"], None)),
            ("actor_id", _ids(e["actor"])),
            ("created_at", _timestamps(e["time"])),
            ("details", ("bytea", _jsonb(e["details"]), None)),
            ("from_status", ("text", e["from_status"], None)),
            ("to_status", ("text", e["to_status"], None)),
            ("reason", ("text", e["reason"], None)),
        ]
        # Every reference written here (category, grid, department, users, key) was read in
        # this transaction, and the events' cases are the rows just copied: the row-by-row
        # foreign-key checks would only repeat that (a third of the write). A superuser skips
        # them for these statements, as the component import does (components/importing/
        # writing.py); the month counts and tile versions are ENABLE ALWAYS triggers and
        # still fire (docs/architecture.md §6). Other roles keep the checks.
        role = cursor.execute(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        superuser = bool(role and role[0])
        if superuser:
            cursor.execute("SET LOCAL session_replication_role = replica")
        for table, columns in (("cases_case", case_columns), ("cases_caseevent", event_columns)):
            names = ", ".join(name for name, _ in columns)
            rows = len(columns[0][1][1])
            # Slices encoded while a writer thread sends the previous one: the server inserts
            # while numpy encodes.
            with cursor.copy(
                f"COPY {table} ({names}) FROM STDIN (FORMAT binary)",
                writer=QueuedLibpqWriter(cursor),
            ) as copy:
                copy.write(COPY_HEADER)
                for first in range(0, rows, COPY_SLICE_ROWS):
                    part = slice(first, first + COPY_SLICE_ROWS)
                    copy.write(
                        binary_copy_rows(
                            [
                                (kind, data[part], None if nulls is None else nulls[part])
                                for _, (kind, data, nulls) in columns
                            ]
                        )
                    )
                copy.write(COPY_TRAILER)
        if superuser:
            cursor.execute("SET LOCAL session_replication_role = origin")
    return n


def generate_history(
    *,
    count: int,
    actors: HistoryActors,
    now: datetime | None = None,
    district_code: str = "110101",
    seed: int = SEED,
    open311_key: Open311Key | None = None,
    progress: Callable[..., Iterable[Any]] | None = None,
) -> HistoryPlan:
    """Plan `count` reports (plan_history) and write them (write_history), with a progress bar
    over the two stages; then refresh the planner's statistics of the case tables, which the
    command center's first queries need. Returns the plan that was written."""
    plan = HistoryPlan(now=now or timezone.now())

    def make() -> None:
        nonlocal plan
        plan = plan_history(
            count=count,
            actors=actors,
            now=now,
            district_code=district_code,
            seed=seed,
            open311_key=open311_key,
        )

    def write() -> None:
        if write_history(plan):
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE cases_case, cases_caseevent, cases_gridmonthcount")

    stages = [("Generating history", make), ("Writing history", write)]
    bar: Iterable[Any] = progress(stages, desc="Demo history", unit="stage") if progress else stages
    for label, stage in bar:
        if hasattr(bar, "set_description"):
            bar.set_description(label)
        stage()
    return plan
