"""The workflow: every allowed move and every forbidden one (table-driven), roles and scopes,
deadlines in working time across a weekend and a holiday, extensions, parking, overdue flags,
escalation, and one full loop."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from geogrid.accounts.models import Role
from geogrid.cases import workflow
from geogrid.cases.errors import TransitionError, TransitionForbidden
from geogrid.cases.models import Case, CaseAction, CaseEvent, CaseStatus
from geogrid.cases.transitions import escalate_case, flag_overdue, transition_case
from geogrid.components.models import Department, DepartmentMember
from tests import factories

BEIJING = ZoneInfo("Asia/Shanghai")
ALL = list(CaseStatus.values)


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=BEIJING)


@pytest.fixture
def clock(monkeypatch):
    """clock.set(datetime): what timezone.now() answers from then on."""

    class Clock:
        def set(self, moment: datetime) -> None:
            monkeypatch.setattr(timezone, "now", lambda: moment)

    return Clock()


def _in_status(case: Case, status: str) -> Case:
    Case.objects.filter(pk=case.pk).update(status=status)
    case.refresh_from_db()
    return case


def _actor_for(move: workflow.Move, operator, handler, inspector):
    return {"operator": operator, "department": handler, "inspector": inspector}[move.roles[0]]


def test_every_move_in_the_table_is_allowed_and_every_other_is_refused(
    report, operator, handler, inspector
):
    # All 13 × 13 pairs on one case (its status set directly before each try), so the table is
    # checked whole in one database set-up.
    case = report(50, 150).case
    for from_status in ALL:
        for to_status in ALL:
            case = _in_status(case, from_status)
            move = workflow.move(from_status, to_status)
            if move is None:
                with pytest.raises(TransitionError, match="cannot become"):
                    transition_case(case=case, to=to_status, actor=operator, reason="r")
                assert Case.objects.get(pk=case.pk).status == from_status
                continue
            actor = _actor_for(move, operator, handler, inspector)
            moved = transition_case(
                case=case, to=to_status, actor=actor, reason="because", extend_by=(1, "days")
            )
            assert moved.status == to_status, (from_status, to_status)
            assert moved.version == case.version + 1
            event = CaseEvent.objects.filter(case=case).latest("id")
            assert (event.action, event.from_status, event.to_status, event.actor) == (
                move.action,
                from_status,
                to_status,
                actor,
            )
            case = moved
    allowed = sum(workflow.move(a, b) is not None for a in ALL for b in ALL)
    assert allowed == len(workflow.TRANSITIONS) == 29


def test_moves_refuse_roles_outside_the_table(report, operator, handler, inspector, viewer):
    case = report(50, 150).case
    candidates = {
        "operator": operator,
        "department": handler,
        "inspector": inspector,
        "viewer": viewer,
    }
    for (from_status, to_status), move in sorted(workflow.TRANSITIONS.items()):
        case = _in_status(case, from_status)
        for role, actor in candidates.items():
            if role in move.roles:
                continue
            with pytest.raises(TransitionForbidden, match="Your role cannot"):
                transition_case(case=case, to=to_status, actor=actor, reason="r")
        assert Case.objects.get(pk=case.pk).status == from_status


def test_reasons_are_required_where_the_table_says(report, operator):
    case = report(50, 150).case
    with pytest.raises(TransitionError, match="不予受理 needs a reason"):
        transition_case(case=case, to="rejected", actor=operator, reason="  ")


def test_handlers_act_only_on_their_departments_cases_and_inspectors_in_their_grids(
    report, operator, inspector, case_taxonomy
):
    case = report(50, 150).case  # 环卫, in the inspector's grid
    other_handler = factories.user("handler-b", Role.DEPARTMENT)
    DepartmentMember.objects.create(
        user=other_handler, department=Department.objects.get(key="园林")
    )
    dispatched = _in_status(case, "dispatched")
    with pytest.raises(TransitionForbidden, match="not one you are responsible for"):
        transition_case(case=dispatched, to="handled", actor=other_handler, reason="done")
    elsewhere = _in_status(report(150, 50).case, "handled")  # SE grid: not the inspector's
    with pytest.raises(TransitionForbidden, match="not one you are responsible for"):
        transition_case(case=elsewhere, to="checked", actor=inspector)


def test_dispatch_needs_a_department_and_may_change_it(report, operator, case_taxonomy):
    case = report(50, 150).case
    Case.objects.filter(pk=case.pk).update(status="filed", department=None)
    with pytest.raises(TransitionError, match="Choose the department"):
        transition_case(case=case, to="dispatched", actor=operator)
    greening = Department.objects.get(key="园林")
    moved = transition_case(case=case, to="dispatched", actor=operator, department=greening)
    assert moved.department == greening and moved.routed_by == "operator"


def test_the_deadline_counts_working_hours_across_a_holiday_weekend(report, operator, clock):
    # 暴露垃圾 in area class B: 8 working hours. Dispatched Thursday 2026-09-24 16:00: 2 hours
    # that day (to 18:00); Friday 25th – Sunday 27th are the Mid-Autumn holiday; Monday 28th
    # from 08:30: 3.5 hours to 12:00, then 2.5 hours from 13:30 → 16:00.
    case = _in_status(report(50, 150).case, "filed")
    clock.set(at(2026, 9, 24, 16, 0))
    moved = transition_case(case=case, to="dispatched", actor=operator)
    assert moved.deadline == at(2026, 9, 28, 16, 0)


def test_the_deadline_skips_a_plain_weekend_and_uses_the_area_class(report, operator, clock, city):
    community = city["west_c"]
    community.area_class = "A"  # 4 working hours
    community.save(update_fields=["area_class"])
    case = _in_status(report(50, 150).case, "filed")
    clock.set(at(2026, 11, 27, 17, 0))  # a Friday
    moved = transition_case(case=case, to="dispatched", actor=operator)
    assert moved.deadline == at(2026, 11, 30, 11, 30)  # 1 h on Friday, 3 h on Monday


def test_an_approved_extension_moves_the_deadline_a_refused_one_does_not(
    report, operator, handler, clock
):
    case = _in_status(report(50, 150).case, "filed")
    clock.set(at(2026, 11, 24, 8, 30))  # Tuesday, the start of the working day
    case = transition_case(case=case, to="dispatched", actor=operator)
    assert case.deadline == at(2026, 11, 24, 18, 0)  # 8 working hours: the whole day
    case = transition_case(
        case=case,
        to="extension_requested",
        actor=handler,
        reason="需要封路施工",
        extend_by=(2, "days"),
    )
    approved = transition_case(case=case, to="dispatched", actor=operator, extend_by=(2, "days"))
    assert approved.deadline == at(2026, 11, 26, 18, 0) and approved.extension_count == 1
    case = transition_case(
        case=approved, to="extension_requested", actor=handler, reason="还要两天"
    )
    refused = transition_case(case=case, to="dispatched", actor=operator, reason="不予延期")
    assert refused.deadline == approved.deadline and refused.extension_count == 1
    assert CaseEvent.objects.filter(case=case, action="extension_decided").latest("id").details == {
        "approved": False
    }


def test_parking_stops_the_clock_and_resuming_gives_back_the_rest(report, operator, clock):
    case = _in_status(report(50, 150).case, "filed")
    clock.set(at(2026, 11, 24, 8, 30))
    case = transition_case(case=case, to="dispatched", actor=operator)  # due 18:00, 8 h
    clock.set(at(2026, 11, 24, 11, 0))  # 5.5 working hours left
    case = transition_case(case=case, to="parked", actor=operator, reason="等待产权认定")
    clock.set(at(2026, 12, 1, 14, 0))
    resumed = transition_case(case=case, to="dispatched", actor=operator)
    assert resumed.deadline == at(2026, 12, 2, 10, 0)  # 4 h on the 1st, 1.5 h on the 2nd


def test_overdue_cases_are_flagged_once_with_an_event(report, operator, clock):
    case = _in_status(report(50, 150).case, "filed")
    clock.set(at(2026, 11, 24, 8, 30))
    transition_case(case=case, to="dispatched", actor=operator)  # due 18:00
    assert flag_overdue(now=at(2026, 11, 24, 17, 59)) == 0
    assert flag_overdue(now=at(2026, 11, 24, 18, 1)) == 1
    assert flag_overdue(now=at(2026, 11, 25, 9, 0)) == 0  # already flagged
    assert Case.objects.get(pk=case.pk).overdue
    assert CaseEvent.objects.filter(case=case, action="overdue").count() == 1


def test_escalation_raises_the_handling_level_step_by_step(report, inspector):
    case = report(50, 150).case
    for level in ("community", "street", "district"):
        case = escalate_case(case=case, actor=inspector, reason="超出网格处置能力")
        assert case.handling_level == level
    with pytest.raises(TransitionError, match="already handled at district level"):
        escalate_case(case=case, actor=inspector, reason="x")
    assert [
        e.details["to"]
        for e in CaseEvent.objects.filter(case=case, action="escalated").order_by("id")
    ] == ["community", "street", "district"]


def test_one_full_loop_with_a_return_and_a_rework(report, operator, handler, inspector, clock):
    clock.set(at(2026, 11, 24, 9, 0))
    case = report(50, 150).case
    for to, actor, reason in [
        ("accepted", operator, ""),
        ("filed", operator, ""),
        ("dispatched", operator, ""),
        ("returned", handler, "不属于本部门"),
        ("dispatched", operator, ""),
        ("handled", handler, "已清理"),
        ("rework", inspector, "仍有残留"),
        ("handled", handler, "已彻底清理"),
        ("checked", inspector, ""),
        ("closed", operator, ""),
    ]:
        case = transition_case(case=case, to=to, actor=actor, reason=reason)
    assert case.status == "closed" and case.closed_at is not None
    assert (case.return_count, case.rework_count, case.overdue) == (1, 1, False)
    assert list(
        CaseEvent.objects.filter(case=case).order_by("id").values_list("action", flat=True)
    ) == [
        "reported",
        "accepted",
        "filed",
        "dispatched",
        "returned",
        "redispatched",
        "handled",
        "rework",
        "handled",
        "checked",
        "closed",
    ]


def test_a_stale_version_changes_nothing(report, operator):
    case = report(50, 150).case
    with pytest.raises(TransitionError, match="changed since you opened it"):
        transition_case(case=case, to="accepted", actor=operator, expected_version=7)


def test_every_case_action_has_words_and_every_move_is_a_case_action():
    # The timeline shows each event's action through ACTION_LABELS: one for every CaseAction.
    assert set(workflow.ACTION_LABELS) == set(CaseAction)
    assert all(isinstance(m.action, CaseAction) for m in workflow.TRANSITIONS.values())
