"""Performance indicators over a fixed week of nine cases built through the real services:
every figure for the whole city, a department, a grid subtree, an inspector, parts of the
week and an empty month; the grouped rows; the vectorised working time against the calendar."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.utils import timezone

from geogrid.accounts.models import Role
from geogrid.cases.calendar import work_calendar
from geogrid.cases.indicators import (
    Indicators,
    case_indicators,
    indicator_rows,
    working_micros,
)
from geogrid.cases.models import Case
from geogrid.cases.transitions import transition_case
from geogrid.components.models import Department, DepartmentMember
from tests import factories

BEIJING = ZoneInfo("Asia/Shanghai")
NW = (50, 150)  # the inspector's unit grid 110101001001001 (west street 110101001)
EAST = (300, 100)  # the east community 110101002001, not divided (east street 110101002)
WEST_STREET, EAST_STREET = "110101001", "110101002"


def nov(day: int, clock_time: str) -> datetime:
    hour, minute = map(int, clock_time.split(":"))
    return datetime(2026, 11, day, hour, minute, tzinfo=BEIJING)


NOVEMBER = (nov(1, "00:00"), datetime(2026, 12, 1, tzinfo=BEIJING))
MON_TUE = (nov(23, "00:00"), nov(25, "00:00"))
WED_FRI = (nov(25, "00:00"), nov(28, "00:00"))
OCTOBER = (datetime(2026, 10, 1, tzinfo=BEIJING), nov(1, "00:00"))
NOW = nov(30, "09:00")  # when the indicators are read: the Monday after


@pytest.fixture
def clock(monkeypatch):
    """clock.set(datetime): what timezone.now() answers from then on."""

    class Clock:
        def set(self, moment: datetime) -> None:
            monkeypatch.setattr(timezone, "now", lambda: moment)

    return Clock()


@pytest.fixture
def greening(case_taxonomy):
    return Department.objects.get(key="园林")


@pytest.fixture
def greening_handler(greening):
    # Handler of the greening department (园林), the second department of the week.
    account = factories.user("handler-g", Role.DEPARTMENT)
    DepartmentMember.objects.create(user=account, department=greening)
    return account


@pytest.fixture
def history(report, operator, handler, greening_handler, greening, clock):
    """The week of Monday 2026-11-23 (no holidays). Every case is 暴露垃圾 in area class B: 8
    working hours, office hours 08:30–12:00 and 13:30–18:00. Letters as in the tests' tables.

      A NW   环卫  dispatched Mon 09:30, due Tue 09:30; handled Mon 15:30, closed — on time
      B EAST 园林  dispatched Mon 10:30, due Tue 10:30; handled Wed 10:30, closed — late
      C NW   环卫  dispatched Tue 09:00, due Wed 09:00; handled, rework, handled Tue 16:00, closed
      D EAST 环卫  dispatched Tue 10:00, due Wed 10:00, extended 1 day to Thu 10:00; handled
                   Thu 09:00, closed — on time
      E NW   环卫 → returned Wed 10:00 → 园林 redispatched Wed 11:00, due Thu 11:00; handled
                   Thu 10:00, checked, not yet closed
      F EAST 园林  dispatched Thu 09:00, due Fri 09:00; still being handled — overdue
      G NW   reported Fri 09:00, rejected (不予受理)
      H NW   filed Fri 10:30, not yet dispatched
      I EAST 环卫  dispatched Thu 14:30, due Fri 14:30; cancelled (作废) Thu 15:00

    B, F and I are citizens' reports; the inspector reported the other six.
    """

    def run(case: Case, *steps: tuple) -> Case:
        for day, clock_time, to, actor, *extra in steps:
            clock.set(nov(day, clock_time))
            case = transition_case(case=case, to=to, actor=actor, **(extra[0] if extra else {}))
        return case

    def reported(day: int, clock_time: str, where: tuple[int, int], **kwargs) -> Case:
        clock.set(nov(day, clock_time))
        return report(*where, **kwargs).case

    citizen = {"actor": None, "channel": "citizen"}
    to_greening = {"department": greening}

    def filed(day: int, accepted: str, filed: str) -> list[tuple]:
        return [(day, accepted, "accepted", operator), (day, filed, "filed", operator)]

    cases = {}
    cases["A"] = run(
        reported(23, "09:00", NW),
        *filed(23, "09:10", "09:20"),
        (23, "09:30", "dispatched", operator),
        (23, "15:30", "handled", handler, {"reason": "已清运"}),
        (23, "16:00", "checked", operator),
        (23, "16:30", "closed", operator),
    )
    cases["B"] = run(
        reported(23, "10:00", EAST, **citizen),
        *filed(23, "10:10", "10:20"),
        (23, "10:30", "dispatched", operator, to_greening),
        (25, "10:30", "handled", greening_handler, {"reason": "已清理"}),
        (25, "10:45", "checked", operator),
        (25, "11:00", "closed", operator),
    )
    cases["C"] = run(
        reported(24, "08:40", NW),
        *filed(24, "08:45", "08:50"),
        (24, "09:00", "dispatched", operator),
        (24, "11:00", "handled", handler, {"reason": "已清理"}),
        (24, "14:00", "rework", operator, {"reason": "仍有残留"}),
        (24, "16:00", "handled", handler, {"reason": "已彻底清理"}),
        (24, "16:30", "checked", operator),
        (24, "17:00", "closed", operator),
    )
    cases["D"] = run(
        reported(24, "09:40", EAST),
        *filed(24, "09:45", "09:50"),
        (24, "10:00", "dispatched", operator),
        (
            24,
            "15:00",
            "extension_requested",
            handler,
            {"reason": "需要车辆", "extend_by": (1, "days")},
        ),
        (24, "16:00", "dispatched", operator, {"extend_by": (1, "days")}),
        (26, "09:00", "handled", handler, {"reason": "已清运"}),
        (26, "09:15", "checked", operator),
        (26, "09:30", "closed", operator),
    )
    cases["E"] = run(
        reported(25, "08:30", NW),
        *filed(25, "08:40", "08:50"),
        (25, "09:00", "dispatched", operator),
        (25, "10:00", "returned", handler, {"reason": "绿地内，不属于本部门"}),
        (25, "11:00", "dispatched", operator, to_greening),
        (26, "10:00", "handled", greening_handler, {"reason": "已清理"}),
        (26, "10:30", "checked", operator),
    )
    cases["F"] = run(
        reported(26, "08:30", EAST, **citizen),
        *filed(26, "08:40", "08:50"),
        (26, "09:00", "dispatched", operator, to_greening),
    )
    cases["G"] = run(
        reported(27, "09:00", NW),
        (27, "09:10", "rejected", operator, {"reason": "不属于城市管理范围"}),
    )
    cases["H"] = run(reported(27, "10:00", NW), *filed(27, "10:10", "10:30"))
    cases["I"] = run(
        reported(26, "14:00", EAST, **citizen),
        *filed(26, "14:10", "14:20"),
        (26, "14:30", "dispatched", operator),
        (26, "15:00", "cancelled", operator, {"reason": "重复上报"}),
    )
    clock.set(NOW)

    # The history is what the tables below assume.
    assert {k: (c.status, c.department.key, c.deadline) for k, c in cases.items()} == {
        "A": ("closed", "环卫", nov(24, "09:30")),
        "B": ("closed", "园林", nov(24, "10:30")),
        "C": ("closed", "环卫", nov(25, "09:00")),
        "D": ("closed", "环卫", nov(26, "10:00")),
        "E": ("checked", "园林", nov(26, "11:00")),
        "F": ("dispatched", "园林", nov(27, "09:00")),
        "G": ("rejected", "环卫", None),
        "H": ("filed", "环卫", None),
        "I": ("cancelled", "环卫", nov(27, "14:30")),
    }
    assert {c.grid_code[:9] for k, c in cases.items() if k in "ACEGH"} == {WEST_STREET}
    assert {c.street_code for k, c in cases.items() if k in "BDFI"} == {EAST_STREET}
    return cases


# Working hours from the (last) dispatch to the (last) feedback, by hand:
#   A Mon 09:30→15:30   2.5 + 2              =  4.5
#   B Mon 10:30→Wed 10:30   6 + 8 + 2        = 16
#   C Tue 09:00→16:00   3 + 2.5              =  5.5
#   D Tue 10:00→Thu 09:00   6.5 + 8 + 0.5    = 15
#   E Wed 11:00→Thu 10:00   5.5 + 1.5        =  7   (from the redispatch to 园林)
#
# Columns of Indicators, in order:
#   reported filed closed due closing_rate | closed_on_time on_time_rate | handled reworked
#   rework_rate | extended extension_rate | returned overdue_open | mean median hours | self


def test_the_whole_city_in_november(history):
    result = case_indicators(start=NOVEMBER[0], end=NOVEMBER[1])
    # reported A–I; filed all but G; closed A B C D; due = deadlines in November except I
    # (cancelled) = A–F; on time A C D (B late); handled A–E, C reworked; D extended of 8
    # filed; E returned; F overdue now. Hours 4.5 5.5 7 15 16: mean 48/5, median 7.
    assert result == Indicators(
        reported=9,
        filed=8,
        closed=4,
        due=6,
        closing_rate=0.6667,
        closed_on_time=3,
        on_time_rate=0.75,
        handled=5,
        reworked=1,
        rework_rate=0.2,
        extended=1,
        extension_rate=0.125,
        returned=1,
        overdue_open=1,
        mean_handling_hours=9.6,
        median_handling_hours=7.0,
        self_reported=None,
    )
    assert json.loads(json.dumps(result.as_dict()))["closing_rate"] == 0.6667


def test_a_department_counts_the_cases_dispatched_to_it(history, sanitation, greening):
    # 环卫: A C D I (E went to 园林; G and H were routed to it but never dispatched).
    # Hours 4.5 5.5 15: mean 25/3, median 5.5.
    assert case_indicators(start=NOVEMBER[0], end=NOVEMBER[1], department=sanitation) == Indicators(
        4, 4, 3, 3, 1.0, 3, 1.0, 3, 1, 0.3333, 1, 0.25, 0, 0, 8.33, 5.5
    )
    # 园林: B E F, with E's return counted where E is now. Hours 16 7: mean = median 11.5.
    assert case_indicators(start=NOVEMBER[0], end=NOVEMBER[1], department=greening) == Indicators(
        3, 3, 1, 3, 0.3333, 0, 0.0, 2, 0, 0.0, 0, 0.0, 1, 1, 11.5, 11.5
    )


def test_a_grid_counts_its_whole_subtree(history):
    # East street: B D F I. Due B D F; on time D of B D; hours 16 15.
    assert case_indicators(start=NOVEMBER[0], end=NOVEMBER[1], grid_code=EAST_STREET) == Indicators(
        4, 4, 2, 3, 0.6667, 1, 0.5, 2, 0, 0.0, 1, 0.25, 0, 1, 15.5, 15.5
    )
    # West street, and its unit grid NW where all its cases lie: A C E G H. Hours 4.5 5.5 7.
    west = Indicators(5, 4, 2, 3, 0.6667, 2, 1.0, 3, 1, 0.3333, 0, 0.0, 1, 0, 5.67, 5.5)
    assert case_indicators(start=NOVEMBER[0], end=NOVEMBER[1], grid_code=WEST_STREET) == west
    assert (
        case_indicators(start=NOVEMBER[0], end=NOVEMBER[1], grid_code=history["A"].grid_code)
        == west
    )
    assert (
        case_indicators(
            start=NOVEMBER[0], end=NOVEMBER[1], grid_code=WEST_STREET + "001004"
        ).reported
        == 0
    )  # SE: nothing


def test_an_inspector_sees_the_cases_in_their_grids_and_what_they_reported(history, inspector):
    # Scope NW: A C E G H, as the west street above; they reported A C D E G H themselves
    # (D lies outside their grid; B F I came from citizens).
    assert case_indicators(start=NOVEMBER[0], end=NOVEMBER[1], inspector=inspector) == Indicators(
        5, 4, 2, 3, 0.6667, 2, 1.0, 3, 1, 0.3333, 0, 0.0, 1, 0, 5.67, 5.5, 6
    )
    newcomer = factories.user("inspector-new", Role.INSPECTOR)  # no grid yet
    assert case_indicators(start=NOVEMBER[0], end=NOVEMBER[1], inspector=newcomer) == Indicators(
        0, 0, 0, 0, None, 0, None, 0, 0, None, 0, None, 0, 0, None, None, 0
    )


def test_a_period_counts_only_what_happened_in_it(history):
    # Monday–Tuesday: reported and filed A B C D; closed A C; due = deadlines A B (Tue) ∪
    # closed A C; handled A C (C reworked); D extended; F not overdue before Wednesday.
    assert case_indicators(start=MON_TUE[0], end=MON_TUE[1]) == Indicators(
        4, 4, 2, 3, 0.6667, 2, 1.0, 2, 1, 0.5, 1, 0.25, 0, 0, 5.0, 5.0
    )
    # Wednesday–Friday: reported E–I, filed E F H I; closed B (late) D; due = deadlines D E F
    # (C's Wednesday deadline no longer counts, C was closed on Tuesday; I is cancelled) ∪
    # closed B D; handled B D E: hours 16 15 7, mean 38/3, median 15; E returned; F overdue.
    assert case_indicators(start=WED_FRI[0], end=WED_FRI[1]) == Indicators(
        5, 4, 2, 4, 0.5, 1, 0.5, 3, 0, 0.0, 0, 0.0, 1, 1, 12.67, 15.0
    )


def test_overdue_cases_count_only_once_their_deadline_has_passed(history, clock):
    clock.set(nov(27, "08:59"))  # a minute before F's deadline
    assert case_indicators(start=NOVEMBER[0], end=NOVEMBER[1]).overdue_open == 0
    clock.set(nov(27, "09:01"))
    assert case_indicators(start=NOVEMBER[0], end=NOVEMBER[1]).overdue_open == 1


def test_an_empty_period_has_zero_counts_and_no_rates(history):
    assert case_indicators(start=OCTOBER[0], end=OCTOBER[1]) == Indicators(
        0, 0, 0, 0, None, 0, None, 0, 0, None, 0, None, 0, 0, None, None
    )
    assert indicator_rows(start=OCTOBER[0], end=OCTOBER[1], by="street") == []


def test_rows_by_department(history, sanitation, greening):
    rows = indicator_rows(start=NOVEMBER[0], end=NOVEMBER[1], by="department")
    assert [(row["key"], row["name"]) for row in rows] == sorted(
        [(sanitation.pk, "东城区环境卫生服务中心"), (greening.pk, "东城区园林绿化局")]
    )
    for row in rows:
        department = sanitation if row["key"] == sanitation.pk else greening
        expected = case_indicators(start=NOVEMBER[0], end=NOVEMBER[1], department=department)
        assert row == {
            "key": department.pk,
            "name": department.name,
            **{k: v for k, v in expected.as_dict().items() if k != "self_reported"},
        }
    assert {row["name"]: row["closing_rate"] for row in rows} == {
        "东城区环境卫生服务中心": 1.0,
        "东城区园林绿化局": 0.3333,
    }


def test_rows_by_street(history):
    rows = indicator_rows(start=NOVEMBER[0], end=NOVEMBER[1], by="street")
    assert [(row["key"], row["name"]) for row in rows] == [
        (WEST_STREET, "西街道"),
        (EAST_STREET, "东街道"),
    ]
    west, east = rows
    assert (
        west["reported"],
        west["due"],
        west["closed"],
        west["mean_handling_hours"],
        west["median_handling_hours"],
    ) == (5, 3, 2, 5.67, 5.5)
    assert (
        east["reported"],
        east["due"],
        east["closed"],
        east["mean_handling_hours"],
        east["median_handling_hours"],
    ) == (4, 3, 2, 15.5, 15.5)
    for row in rows:
        expected = case_indicators(start=NOVEMBER[0], end=NOVEMBER[1], grid_code=row["key"])
        assert {k: v for k, v in row.items() if k not in ("key", "name")} == {
            k: v for k, v in expected.as_dict().items() if k != "self_reported"
        }
    # Part of the week: Wednesday–Friday as above, split by street.
    rows = indicator_rows(start=WED_FRI[0], end=WED_FRI[1], by="street")
    assert [(row["key"], row["due"], row["closed"], row["overdue_open"]) for row in rows] == [
        (WEST_STREET, 1, 0, 0),
        (EAST_STREET, 3, 2, 1),
    ]  # west: E; east: B D F


def test_counting_takes_a_fixed_handful_of_queries(
    history, inspector, django_assert_max_num_queries
):
    # The calendar stamp, the aggregate, the handled cases' times (+ scope codes and
    # self-reported count for an inspector): the same for nine cases or a million.
    with django_assert_max_num_queries(3):
        case_indicators(start=NOVEMBER[0], end=NOVEMBER[1])
    with django_assert_max_num_queries(5):
        case_indicators(start=NOVEMBER[0], end=NOVEMBER[1], inspector=inspector)
    with django_assert_max_num_queries(4):
        indicator_rows(start=NOVEMBER[0], end=NOVEMBER[1], by="street")


def test_bad_periods_and_groupings_are_refused(db):
    with pytest.raises(ValueError, match="aware"):
        case_indicators(start=datetime(2026, 11, 1), end=NOVEMBER[1])
    with pytest.raises(ValueError, match="must end after it starts"):
        case_indicators(start=NOVEMBER[1], end=NOVEMBER[0])
    with pytest.raises(ValueError, match="by must be one of department, street"):
        indicator_rows(start=NOVEMBER[0], end=NOVEMBER[1], by="grid")


def _local_micros(moment: datetime) -> int:
    naive = moment.astimezone(BEIJING).replace(tzinfo=None)
    return (naive - datetime(1970, 1, 1)) // timedelta(microseconds=1)


def test_vectorised_working_time_equals_the_calendar_everywhere(case_taxonomy):
    # Starts every 97 minutes and spans of 0 to 9 days plus odd minutes, across the
    # Mid-Autumn holiday (Fri 2026-09-25 – Sun 27), the 调休 Sunday 2026-09-20, the National
    # Day week and plain weekends; nights, lunch breaks and period edges all occur.
    calendar = work_calendar()
    first = datetime(2026, 9, 18, 7, 13, tzinfo=BEIJING)
    pairs = [
        (first + timedelta(minutes=97 * i), first + timedelta(minutes=97 * i + span))
        for i in range(300)
        for span in (-30, 0, 45, 210, 1_337, 4_321, 13_000)
    ]
    pairs.append((nov(24, "12:00"), nov(24, "13:30")))  # all lunch
    pairs.append((nov(24, "08:30"), nov(24, "18:00")))  # a whole day
    starts = np.array([_local_micros(s) for s, _ in pairs], dtype=np.int64)
    ends = np.array([_local_micros(e) for _, e in pairs], dtype=np.int64)
    expected = [calendar.working_seconds(s, e) for s, e in pairs]
    assert (working_micros(calendar, starts, ends) / 1_000_000).tolist() == expected
    assert expected[-2:] == [0.0, 8 * 3600.0]
