"""The case workflow (docs/domain.md §5) as one table: which moves exist, who may make them, and
whether they need a reason. `transitions.transition_case` is the only code that applies it.

    上报 reported ─受理 accept─► 待立案 accepted ─立案 file─► 待派遣 filed ─派遣 dispatch─► 处置中 dispatched
        │ 不予受理 reject          │ 作废 cancel                                  │ 回退 return → 已回退 returned → 派遣
        ▼                          ▼                                              │ 延期 ask → 延期申请中 → 批准/驳回 → 处置中
     rejected                  cancelled                                         │ 反馈 feedback
                                                                                  ▼
      已结案 closed ◄─结案 close─ 待结案 checked ◄─核查通过 check─ 待核查 handled ─核查不通过─► 返工中 rework ─反馈─► handled
    挂账 park: filed / dispatched / returned → parked → 恢复 resume → filed or dispatched
    作废 cancel: from any open status (operator, with a reason)
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from geogrid.accounts.models import Role
from geogrid.cases.models import CaseAction as A
from geogrid.cases.models import CaseStatus as S

OPERATOR = (Role.OPERATOR, Role.ADMIN)
DEPARTMENT = (Role.DEPARTMENT, Role.ADMIN)
CHECKER = (Role.INSPECTOR, Role.OPERATOR, Role.ADMIN)


@dataclass(frozen=True)
class Move:
    action: A  # the event's action
    label: str | Promise  # in plain words (translated lazily)
    roles: tuple[str, ...]
    needs_reason: bool = False


OPEN_STATUSES = (
    S.REPORTED,
    S.ACCEPTED,
    S.FILED,
    S.DISPATCHED,
    S.RETURNED,
    S.EXTENSION_REQUESTED,
    S.PARKED,
    S.HANDLED,
    S.REWORK,
    S.CHECKED,
)
FINAL_STATUSES = (S.REJECTED, S.CLOSED, S.CANCELLED)

# (from, to) → the move. Everything not listed is forbidden.
TRANSITIONS: dict[tuple[str, str], Move] = {
    (S.REPORTED, S.ACCEPTED): Move(A.ACCEPTED, pgettext_lazy("case action", "受理"), OPERATOR),
    (S.REPORTED, S.REJECTED): Move(
        A.REJECTED, pgettext_lazy("case action", "不予受理"), OPERATOR, needs_reason=True
    ),
    (S.ACCEPTED, S.FILED): Move(A.FILED, pgettext_lazy("case action", "立案"), OPERATOR),
    (S.FILED, S.DISPATCHED): Move(A.DISPATCHED, pgettext_lazy("case action", "派遣"), OPERATOR),
    (S.RETURNED, S.DISPATCHED): Move(
        A.REDISPATCHED, pgettext_lazy("case action", "重新派遣"), OPERATOR
    ),
    (S.DISPATCHED, S.RETURNED): Move(
        A.RETURNED, pgettext_lazy("case action", "回退"), DEPARTMENT, needs_reason=True
    ),
    (S.DISPATCHED, S.EXTENSION_REQUESTED): Move(
        A.EXTENSION_REQUESTED,
        pgettext_lazy("case action", "申请延期"),
        DEPARTMENT,
        needs_reason=True,
    ),
    (S.EXTENSION_REQUESTED, S.DISPATCHED): Move(
        A.EXTENSION_DECIDED, pgettext_lazy("case action", "审批延期"), OPERATOR
    ),
    **{
        (status, S.HANDLED): Move(
            A.HANDLED, pgettext_lazy("case action", "处置反馈"), DEPARTMENT, needs_reason=True
        )
        for status in (S.DISPATCHED, S.EXTENSION_REQUESTED, S.REWORK)
    },
    (S.HANDLED, S.CHECKED): Move(A.CHECKED, pgettext_lazy("case action", "核查通过"), CHECKER),
    (S.HANDLED, S.REWORK): Move(
        A.REWORK, pgettext_lazy("case action", "核查不通过，返工"), CHECKER, needs_reason=True
    ),
    (S.CHECKED, S.CLOSED): Move(A.CLOSED, pgettext_lazy("case action", "结案"), OPERATOR),
    **{
        (status, S.PARKED): Move(
            A.PARKED, pgettext_lazy("case action", "挂账"), OPERATOR, needs_reason=True
        )
        for status in (S.FILED, S.DISPATCHED, S.RETURNED)
    },
    **{
        (S.PARKED, status): Move(A.RESUMED, pgettext_lazy("case action", "挂账恢复"), OPERATOR)
        for status in (S.FILED, S.DISPATCHED)
    },
    **{
        (status, S.CANCELLED): Move(
            A.CANCELLED, pgettext_lazy("case action", "作废"), OPERATOR, needs_reason=True
        )
        for status in OPEN_STATUSES
    },
}

# Labels of every event action (the moves' and the others').
ACTION_LABELS: dict[str, str | Promise] = {
    A.REPORTED: _("上报"),
    A.ESCALATED: _("上报上级处置"),
    A.OVERDUE: _("超期"),
    A.REGRIDDED: _("网格调整"),
    **{m.action: m.label for m in TRANSITIONS.values()},
}

# Statuses in which the department's clock runs (a deadline is set and can be overdue).
CLOCK_RUNNING = (S.DISPATCHED, S.EXTENSION_REQUESTED, S.REWORK)


def move(from_status: str, to_status: str) -> Move | None:
    return TRANSITIONS.get((from_status, to_status))


def moves_from(status: str) -> dict[str, Move]:
    """The statuses reachable from `status`, with their moves (for buttons)."""
    return {to: m for (frm, to), m in TRANSITIONS.items() if frm == status}
