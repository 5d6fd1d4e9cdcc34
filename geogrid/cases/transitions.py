"""The workflow's use cases: moving a case through the workflow table of cases/workflow.py
(transition_case), escalating it (escalate_case), flagging overdue cases (flag_overdue), and
whether an actor may act on a case at all (may_act_on). docs/domain.md §5.3, §5.5, §5.6."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.utils import timezone

from geogrid.accounts.actors import Actor
from geogrid.accounts.models import Role, User
from geogrid.cases import workflow
from geogrid.cases.calendar import work_calendar
from geogrid.cases.errors import TransitionError, TransitionForbidden
from geogrid.cases.models import Case, CaseAction, CaseEvent, CaseStatus, PhotoStage, RoutedBy
from geogrid.cases.photos import save_photos
from geogrid.components.models import Department
from geogrid.core.logs import log_on_commit
from geogrid.core.permissions import user_role
from geogrid.core.photos import CheckedPhoto

logger = logging.getLogger(__name__)

ESCALATION = ("unit", "community", "street", "district")


def _in_scope(actor: Actor, case: Case, role: str | None) -> bool:
    """Department handlers act on their department's cases, inspectors on cases in their
    grids; city-wide roles on all."""
    if role in (Role.ADMIN, Role.OPERATOR):
        return True
    if role == Role.DEPARTMENT:
        return (
            case.department_id is not None
            and actor.department_memberships.filter(department_id=case.department_id).exists()
        )
    if role == Role.INSPECTOR:
        prefixes = actor.grid_scopes.values_list("grid__code", flat=True)
        return any(case.grid_code.startswith(prefix) for prefix in prefixes)
    return False


def may_act_on(actor: Actor | AnonymousUser, case: Case) -> bool:
    """Whether the case is in the actor's scope for workflow moves (the role is checked per
    move): what transition_case enforces, for pages and APIs that offer moves. An anonymous
    reader (the public read API) has no role and no scope."""
    if not isinstance(actor, User):
        return False
    return _in_scope(actor, case, user_role(actor))


def _status_label(status: str) -> str:
    return str(CaseStatus(status).label)


@transaction.atomic
def transition_case(
    *,
    case: Case,
    to: str,
    actor: Actor,
    reason: str = "",
    department: Department | None = None,
    extend_by: tuple[float, str] | None = None,
    photos: Sequence[CheckedPhoto] = (),
    expected_version: int | None = None,
) -> Case:
    """Move a case to status `to`: lock the row, check the move against the workflow table and
    the actor's role and scope, apply it, append an event. Raises TransitionError (a move that
    does not exist, or lacks a reason or a department), TransitionForbidden (role or scope)."""
    case = Case.objects.select_for_update().select_related("case_class").get(pk=case.pk)
    if expected_version is not None and case.version != expected_version:
        raise TransitionError(
            f"Case {case.pk} changed since you opened it (now version "
            f"{case.version}, status {_status_label(case.status)}); reload it."
        )
    if to not in CaseStatus.values:
        raise TransitionError(f"Unknown status {to!r}.")
    move = workflow.move(case.status, to)
    if move is None:
        allowed = workflow.moves_from(case.status)
        options = ", ".join(f"{_status_label(t)} ({t})" for t in allowed) or "none (it is final)"
        raise TransitionError(
            f"A case that is {_status_label(case.status)} cannot become "
            f"{_status_label(to)}. From here it can go to: {options}."
        )
    role = user_role(actor)
    if role not in move.roles:
        raise TransitionForbidden(f"Your role cannot {move.label} ({move.action}) a case.")
    if not _in_scope(actor, case, role):
        raise TransitionForbidden(f"Case {case.pk} is not one you are responsible for.")
    reason = (reason or "").strip()
    if move.needs_reason and not reason:
        raise TransitionError(f"{move.label} needs a reason (reason).")
    now = timezone.now()
    from_status = case.status
    details: dict[str, Any] = {}
    calendar = work_calendar()
    if to == CaseStatus.ACCEPTED:
        case.accepted_at = now
    elif to == CaseStatus.FILED and from_status == CaseStatus.ACCEPTED:
        case.filed_at = now
    elif to == CaseStatus.DISPATCHED and from_status in (CaseStatus.FILED, CaseStatus.RETURNED):
        target = department or case.department
        if target is None:
            raise TransitionError("Choose the department to dispatch the case to (department).")
        if target.pk != case.department_id:
            details["department"] = {"from": case.department_id, "to": target.pk}
            case.department = target
            case.routed_by = RoutedBy.OPERATOR
        limit = case.case_class.limit_for(case.area_class)
        case.dispatched_at = now
        case.deadline = calendar.add(now, limit, case.case_class.limit_unit)
        case.overdue = False
        details["deadline"] = case.deadline.isoformat()
    elif to == CaseStatus.DISPATCHED and from_status == CaseStatus.EXTENSION_REQUESTED:
        if extend_by is not None:
            amount, unit = extend_by
            case.deadline = calendar.add(case.deadline or now, amount, unit)
            case.extension_count += 1
            case.overdue = case.deadline < now
            details.update(
                approved=True, extend_by=[amount, unit], deadline=case.deadline.isoformat()
            )
        else:
            details["approved"] = False
    elif to == CaseStatus.DISPATCHED and from_status == CaseStatus.PARKED:
        remaining = _parked_remaining(case)
        if remaining is not None:
            case.deadline = calendar.add(now, remaining / 3600, "hours")
            details["deadline"] = case.deadline.isoformat()
    elif to == CaseStatus.PARKED and case.deadline is not None:
        details["remaining_s"] = max(calendar.working_seconds(now, case.deadline), 0.0)
    elif to == CaseStatus.RETURNED:
        case.return_count += 1
    elif to == CaseStatus.EXTENSION_REQUESTED and extend_by is not None:
        details["asked"] = list(extend_by)
    elif to == CaseStatus.HANDLED:
        case.handled_at = now
        if case.deadline is not None and now > case.deadline:
            case.overdue = True
    elif to == CaseStatus.REWORK:
        case.rework_count += 1
    elif to == CaseStatus.CLOSED:
        case.closed_at = now
    case.status = to
    case.version += 1
    case.save()
    CaseEvent.objects.create(
        case=case,
        action=move.action,
        actor=actor,
        from_status=from_status,
        to_status=to,
        reason=reason,
        details=details,
    )
    if photos:
        stage = PhotoStage.CHECK if from_status == CaseStatus.HANDLED else PhotoStage.FEEDBACK
        save_photos(case, photos, stage=stage, actor=actor)
    log_on_commit(
        logger,
        "case transition",
        case_id=case.pk,
        action=move.action,
        from_status=from_status,
        to_status=to,
        actor_id=getattr(actor, "pk", None),
    )
    return case


def _parked_remaining(case: Case) -> float | None:
    event = case.events.filter(action=CaseAction.PARKED).order_by("-created_at", "-id").first()
    return event.details.get("remaining_s") if event else None


@transaction.atomic
def escalate_case(*, case: Case, actor: Actor, reason: str) -> Case:
    """Raise the level a case is handled at: unit grid → community → street → district
    (小事不出网格, 一般纠纷不出社区: each step is a recorded decision)."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    role = user_role(actor)
    if role not in (Role.OPERATOR, Role.INSPECTOR, Role.ADMIN) or not _in_scope(actor, case, role):
        raise TransitionForbidden(f"You cannot escalate case {case.pk}.")
    if case.status in workflow.FINAL_STATUSES:
        raise TransitionError(
            f"Case {case.pk} is {_status_label(case.status)}; it cannot be escalated."
        )
    if not (reason or "").strip():
        raise TransitionError("Escalation needs a reason (reason).")
    level = ESCALATION.index(case.handling_level) if case.handling_level in ESCALATION else 0
    if level + 1 >= len(ESCALATION):
        raise TransitionError(f"Case {case.pk} is already handled at district level.")
    old, case.handling_level = case.handling_level, ESCALATION[level + 1]
    case.version += 1
    case.save(update_fields=["handling_level", "version", "updated_at"])
    CaseEvent.objects.create(
        case=case,
        action=CaseAction.ESCALATED,
        actor=actor,
        from_status=case.status,
        to_status=case.status,
        reason=reason.strip(),
        details={"from": old, "to": case.handling_level},
    )
    log_on_commit(
        logger,
        "case escalated",
        case_id=case.pk,
        from_level=old,
        to_level=case.handling_level,
        actor_id=getattr(actor, "pk", None),
    )
    return case


@transaction.atomic
def flag_overdue(*, now: datetime | None = None, actor: Actor | None = None) -> int:
    """Mark the cases whose department clock has run past the deadline; one event each.
    Returns how many became overdue now."""
    now = now or timezone.now()
    # deadline__lt leaves out the cases without a deadline: each row has one.
    flagged = cast(
        "list[tuple[int, str, datetime]]",
        list(
            Case.objects.select_for_update(skip_locked=True)
            .filter(status__in=workflow.CLOCK_RUNNING, deadline__lt=now, overdue=False)
            .values_list("id", "status", "deadline")
        ),
    )
    if not flagged:
        return 0
    Case.objects.filter(id__in=[row[0] for row in flagged]).update(overdue=True)
    CaseEvent.objects.bulk_create(
        [
            CaseEvent(
                case_id=case_id,
                action=CaseAction.OVERDUE,
                actor=actor,
                from_status=status,
                to_status=status,
                details={"deadline": deadline.isoformat()},
            )
            for case_id, status, deadline in flagged
        ]
    )
    log_on_commit(logger, "overdue cases flagged", count=len(flagged))
    return len(flagged)
