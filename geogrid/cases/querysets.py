"""Which cases a user may see and act on (the REST API and the pages use the same rule)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet

from geogrid.accounts.models import CITY_WIDE_ROLES, Role
from geogrid.core.permissions import user_role

if TYPE_CHECKING:
    from geogrid.cases.models import Case  # noqa: F401 (the QuerySet base's type argument)


def grid_prefix_condition(prefix: str, field: str = "grid_code") -> Q:
    """Codes starting with `prefix`, as a range the (varchar_pattern_ops) index can serve."""
    return Q(**{f"{field}__startswith": prefix})


@dataclass(frozen=True)
class CaseScope:
    """`CaseQuerySet.visible_to`'s rule as values, for raw SQL (the heat tiles): every case, or
    those in these grid subtrees, of these departments, or reported by this user."""

    everything: bool = False
    prefixes: tuple[str, ...] = ()
    departments: tuple[int, ...] = ()
    reporter_id: int | None = None

    @property
    def key(self) -> str:
        """A stable text naming the scope (for ETags: one user's tile is not another's)."""
        if self.everything:
            return "all"
        return (
            f"g{','.join(self.prefixes)}|d{','.join(map(str, self.departments))}"
            f"|r{self.reporter_id}"
        )


def case_scope(user: Any) -> CaseScope:
    role = user_role(user)
    if not role:
        return CaseScope()
    if role in CITY_WIDE_ROLES:
        return CaseScope(everything=True)
    if role == Role.DEPARTMENT:
        return CaseScope(
            departments=tuple(
                sorted(user.department_memberships.values_list("department_id", flat=True))
            ),
            reporter_id=user.pk,
        )
    return CaseScope(
        prefixes=tuple(sorted(user.grid_scopes.values_list("grid__code", flat=True))),
        reporter_id=user.pk,
    )


class CaseQuerySet(QuerySet["Case"]):
    def visible_to(self, user: Any) -> CaseQuerySet:
        """City-wide roles: all; department handlers: their departments' cases; inspectors and
        planners: cases in their grids, and the ones they reported; anyone else (anonymous, an
        account without a role yet): none."""
        role = user_role(user)
        if not role:
            return self.none()
        if role in CITY_WIDE_ROLES:
            return self
        condition = Q(reporter=user)
        if role == Role.DEPARTMENT:
            departments = list(user.department_memberships.values_list("department_id", flat=True))
            condition |= Q(department_id__in=departments)
        else:
            for prefix in user.grid_scopes.values_list("grid__code", flat=True):
                condition |= grid_prefix_condition(prefix)
        return self.filter(condition)

    def in_grid_subtree(self, code: str) -> CaseQuerySet:
        return self.filter(grid_prefix_condition(code))

    def open(self) -> CaseQuerySet:
        # here, not at the top: geogrid.cases.models → querysets → workflow → models
        from geogrid.cases.workflow import FINAL_STATUSES

        return self.exclude(status__in=FINAL_STATUSES)
