"""The demo's generated history (cases/history.py) over the small city: the same plan for the
same seed; every case's events are a path through the workflow table with the timestamps,
counters and details the services write; deadlines are the working calendar's; the overdue
flag is what the moves and the overdue scan would have left; the month counts follow; nobody's
personal data is made up. The shape over a real district (seasons, weekdays, hot spots) is
tested on the demo city (tests/core/test_demo.py)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.db import connection

from geogrid.cases import workflow
from geogrid.cases.calendar import work_calendar
from geogrid.cases.history import HistoryActors, WorkClock, generate_history, plan_history
from geogrid.cases.indicators import case_indicators
from geogrid.cases.models import Case, CaseEvent, CaseStatus, Channel

BEIJING = ZoneInfo("Asia/Shanghai")
# A Monday after the 2026 Spring Festival: the year before it holds every kind of day.
NOW = datetime(2026, 3, 2, 10, 17, 23, tzinfo=BEIJING)
COUNT = 500
SCAN = timedelta(seconds=300)  # flag_overdue's timer


@pytest.fixture
def actors(city, case_taxonomy, inspector, operator, handler, admin_user):
    return HistoryActors(inspector=inspector, operator=operator, admin=admin_user, handler=handler)


@pytest.fixture
def history(actors):
    return generate_history(count=COUNT, actors=actors, now=NOW)


def test_work_clock_adds_working_time_exactly_as_the_calendar_does(case_taxonomy):
    calendar = work_calendar()
    clock = WorkClock(calendar, NOW.date() - timedelta(days=400), NOW.date() + timedelta(days=400))
    # Every 47 minutes for a year and a bit (nights, weekends, the Spring Festival, make-up
    # Saturdays), with amounts from a minute to a fortnight of working days.
    starts = [NOW - timedelta(days=380) + timedelta(minutes=47 * i) for i in range(12_000)]
    amounts = [(60 + 3_607 * i) % (10 * 8 * 3600) + 1 for i in range(len(starts))]
    instants = np.array([int(s.timestamp()) for s in starts], dtype=np.int64)
    got = clock.add(instants, np.array(amounts, dtype=np.int64))
    expected = [
        int(calendar.add(s, a / 3600, "hours").timestamp())
        for s, a in zip(starts, amounts, strict=True)
    ]
    assert got.tolist() == expected
    worked = [calendar.working_seconds(a, b) for a, b in zip(starts[:-7], starts[7:], strict=True)]
    assert (clock.worked(instants[7:]) - clock.worked(instants[:-7])).tolist() == worked


@pytest.mark.django_db
def test_plan_history_is_the_same_for_the_same_seed_and_differs_for_another(actors):
    first = plan_history(count=COUNT, actors=actors, now=NOW, seed=7)
    again = plan_history(count=COUNT, actors=actors, now=NOW, seed=7)
    other = plan_history(count=COUNT, actors=actors, now=NOW, seed=8)
    assert first.count == again.count == COUNT
    for part in ("cases", "events"):
        mine, theirs = getattr(first, part), getattr(again, part)
        assert mine.keys() == theirs.keys()
        for name in mine:
            assert np.array_equal(mine[name], theirs[name]), (part, name)
    assert not np.array_equal(first.cases["reported_at"], other.cases["reported_at"])


@pytest.mark.django_db
def test_generated_reports_lie_in_the_year_before_now_in_the_city_and_say_they_are_generated(
    history, city, inspector, operator
):
    cases = Case.objects.filter(generated=True)
    assert cases.count() == COUNT == Case.objects.count()
    first, last = min(c.reported_at for c in cases), max(c.reported_at for c in cases)
    assert NOW - timedelta(days=365) <= first and last < NOW
    units = {g.code for g in city["west_c"].children.all()}
    for case in cases.select_related("case_class"):
        assert case.grid_code in units and case.district_code == "110101"
        assert case.street_code == city["west"].code and case.community_code == city["west_c"].code
        assert case.description == f"生成的演示历史数据：{case.case_class.name}"
        assert case.path_check == "" and case.observed_at is None and case.client_id is None
        assert case.area_class == "B" and case.handling_level == "unit"
        assert case.geom.srid == 4490
    # Channels mixed, inspectors first; only staff accounts are named, no contact data at all.
    channels = Counter(cases.values_list("channel", flat=True))
    assert channels.most_common(1)[0][0] == Channel.INSPECTOR
    assert {Channel.CITIZEN, Channel.HOTLINE, Channel.OPEN311} <= set(channels)
    reporters = {(c.channel, c.reporter_id) for c in cases}
    # An inspector's report names the inspector of its grid (一格一员); the small city has one
    # for its first unit grid only, and elsewhere the report names nobody.
    own = inspector.grid_scopes.values_list("grid__code", flat=True).get()
    by_grid = {(c.grid_code == own, c.reporter_id) for c in cases if c.channel == Channel.INSPECTOR}
    assert by_grid == {(True, inspector.pk), (False, None)}
    assert {r for ch, r in reporters if ch == Channel.HOTLINE} == {operator.pk}
    assert {r for ch, r in reporters if ch in (Channel.CITIZEN, Channel.OPEN311)} == {None}
    for field in ("reporter_name", "reporter_phone", "reporter_email", "device_id", "account_id"):
        assert not cases.exclude(**{field: ""}).exists(), field


def _replay(case: Case, events: list[CaseEvent]) -> dict:
    """Walk a case's events in id order as the services apply them; assert each is a legal
    move of the workflow table with the right action and details; return what the case
    should hold."""
    state = {"status": "", "overdue": False, "deadline": None, "moves": 0, "updated": None}
    times: dict[str, datetime] = {}
    counts = Counter()
    previous = None
    for event in events:
        assert previous is None or event.created_at > previous, (case.pk, event.action)
        previous = event.created_at
        if event.action == "reported":
            assert state["status"] == "" and event.to_status == "reported"
            assert event.created_at == case.reported_at
            assert event.details["grid"] == case.grid_code and event.details["duplicates"] == []
            state["status"], state["updated"] = "reported", event.created_at
            continue
        assert event.from_status == state["status"], (case.pk, event.action)
        if event.action == "overdue":
            assert (
                event.to_status == event.from_status and event.from_status in workflow.CLOCK_RUNNING
            )
            assert event.actor_id is None and not state["overdue"]
            deadline = datetime.fromisoformat(event.details["deadline"])
            assert deadline == state["deadline"] and deadline < event.created_at
            # The scan's next run once the deadline has passed with the clock running.
            running_since = max(deadline, state["updated"])
            assert event.created_at <= running_since + SCAN
            assert event.created_at.timestamp() % SCAN.total_seconds() == 0
            state["overdue"] = True
            continue
        move = workflow.move(event.from_status, event.to_status)
        assert move is not None and move.action == event.action, (case.pk, event.action)
        assert bool(event.reason) == move.needs_reason, (case.pk, event.action)
        at = event.created_at
        if event.to_status == "dispatched" and event.action in ("dispatched", "redispatched"):
            state["deadline"] = datetime.fromisoformat(event.details["deadline"])
            state["overdue"] = False
            times["dispatched_at"] = at
        elif event.action == "extension_decided":
            if event.details["approved"]:
                state["deadline"] = datetime.fromisoformat(event.details["deadline"])
                state["overdue"] = state["deadline"] < at
                counts["extension_count"] += 1
            else:
                assert event.details == {"approved": False}
        elif event.action == "handled":
            times["handled_at"] = at
            state["overdue"] |= at > state["deadline"]
        elif event.action in ("accepted", "filed", "closed"):
            times[f"{event.action}_at"] = at
        elif event.action == "returned":
            counts["return_count"] += 1
        elif event.action == "rework":
            counts["rework_count"] += 1
        state["status"], state["updated"] = event.to_status, at
        state["moves"] += 1
    return {"times": times, "counts": counts, **state}


@pytest.mark.django_db
def test_every_generated_case_is_its_events_replayed_through_the_workflow(history):
    events = defaultdict(list)
    for event in CaseEvent.objects.order_by("id"):
        events[event.case_id].append(event)
    statuses = Counter()
    for case in Case.objects.all():
        expected = _replay(case, events[case.pk])
        statuses[case.status] += 1
        assert case.status == expected["status"]
        assert case.version == 1 + expected["moves"]
        assert case.updated_at == expected["updated"]
        assert case.overdue == expected["overdue"], case.pk
        assert case.deadline == expected["deadline"]
        for name in ("accepted_at", "filed_at", "dispatched_at", "handled_at", "closed_at"):
            assert getattr(case, name) == expected["times"].get(name), (case.pk, name)
        for name in ("return_count", "extension_count", "rework_count"):
            assert getattr(case, name) == expected["counts"][name], (case.pk, name)
        # The scan flags a running clock within five minutes of its deadline.
        if case.status in workflow.CLOCK_RUNNING and case.deadline < NOW - SCAN:
            assert case.overdue, case.pk
    # Mostly closed, a few not accepted or cancelled, and the recent ones still open.
    assert statuses.most_common(1)[0][0] == CaseStatus.CLOSED
    assert statuses[CaseStatus.REJECTED] > 0
    assert sum(statuses[s] for s in workflow.OPEN_STATUSES) > 0
    actions = Counter(CaseEvent.objects.values_list("action", flat=True))
    for action in ("overdue", "rework", "returned", "redispatched", "extension_decided"):
        assert actions[action] > 0, action


@pytest.mark.django_db
def test_generated_deadlines_are_the_limit_for_the_area_class_in_working_time(history):
    calendar = work_calendar()
    checked = 0
    for event in CaseEvent.objects.filter(action__in=("dispatched", "redispatched")).select_related(
        "case__case_class"
    ):
        case_class = event.case.case_class
        limit = case_class.limit_for(event.case.area_class)
        expected = calendar.add(event.created_at, limit, case_class.limit_unit)
        assert event.details["deadline"] == expected.isoformat()
        checked += 1
    for event in CaseEvent.objects.filter(action="extension_decided", details__approved=True):
        before = (
            CaseEvent.objects.filter(case=event.case, id__lt=event.id, details__has_key="deadline")
            .exclude(action="overdue")
            .latest("id")
        )
        amount, unit = event.details["extend_by"]
        previous = datetime.fromisoformat(before.details["deadline"])
        assert event.details["deadline"] == calendar.add(previous, amount, unit).isoformat()
    assert checked > COUNT * 0.8


@pytest.mark.django_db
def test_generated_departments_are_the_category_defaults_or_the_re_dispatch(history):
    for case in Case.objects.select_related("case_class"):
        if case.return_count and case.status != "returned":
            assert case.routed_by == "operator" and case.department.key == "街道"
        else:
            assert case.routed_by == "class_default"
            assert case.department_id == case.case_class.department_id
        reported = case.events.get(action="reported")
        assert reported.details["department"] == case.case_class.department_id


@pytest.mark.django_db
def test_generated_history_keeps_the_month_counts_and_the_indicators_exact(history):
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT count(*) FROM (
                SELECT cases_count_month(reported_at) AS month, grid_id, grid_code,
                       count(*)::int AS reports, (count(*) FILTER (WHERE overdue))::int AS overdue
                FROM cases_case GROUP BY 1, 2, 3) c
            FULL JOIN cases_gridmonthcount s USING (month, grid_id, grid_code)
            WHERE c.reports IS DISTINCT FROM s.reports OR c.overdue IS DISTINCT FROM s.overdue""")
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT sum(reports) FROM cases_gridmonthcount")
        assert cursor.fetchone()[0] == COUNT
    year = case_indicators(start=NOW - timedelta(days=365), end=NOW)
    assert year.reported == COUNT
    assert year.closed == Case.objects.filter(status="closed").count()
    assert 0 < year.on_time_rate < 1 and year.mean_handling_hours > 0


@pytest.mark.django_db
def test_inspectors_report_on_working_days_and_the_public_also_at_weekends(actors):
    # Planned only, and more of them: a rate per kind of day needs a few thousand reports.
    plan = plan_history(count=5_000, actors=actors, now=NOW)
    calendar = work_calendar()
    working = np.array(
        [
            calendar.is_working_day(datetime.fromtimestamp(at, BEIJING).date())
            for at in plan.cases["reported_at"].tolist()
        ]
    )
    days = Counter(calendar.is_working_day((NOW - timedelta(days=d)).date()) for d in range(1, 366))

    def per_day(on_working_days: bool, channels: tuple[str, ...]) -> float:
        chosen = np.isin(plan.cases["channel"], channels) & (working == on_working_days)
        return chosen.sum() / days[on_working_days]

    inspector = (Channel.INSPECTOR,)
    public = (Channel.CITIZEN, Channel.OPEN311)
    assert per_day(True, inspector) > 2.5 * per_day(False, inspector)
    assert per_day(False, public) > 0.9 * per_day(True, public)
    # Inspectors in working hours, the public into the evening.
    hours = np.array(
        [datetime.fromtimestamp(at, BEIJING).hour for at in plan.cases["reported_at"].tolist()]
    )
    by_inspectors = plan.cases["channel"] == Channel.INSPECTOR
    assert np.mean((hours[by_inspectors] >= 8) & (hours[by_inspectors] < 18)) > 0.95
    by_public = np.isin(plan.cases["channel"], public)
    assert np.mean(hours[by_public] >= 18) > 0.25
