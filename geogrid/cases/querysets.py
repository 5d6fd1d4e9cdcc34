"""Which cases a user may see and act on (the REST API and the pages use the same rule)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from geogrid.core.permissions import user_role

CITY_WIDE = ("admin", "operator", "viewer")


def grid_prefix_condition(prefix: str, field: str = "grid_code") -> Q:
    """Codes starting with `prefix`, as a range the (varchar_pattern_ops) index can serve."""
    return Q(**{f"{field}__startswith": prefix})


class CaseQuerySet(QuerySet):
    def visible_to(self, user: Any) -> CaseQuerySet:
        """City-wide roles: all; department handlers: their departments' cases; inspectors and
        planners: cases in their grids, and the ones they reported; anyone else: none."""
        role = user_role(user)
        if role is None:
            return self.none()
        if role in CITY_WIDE:
            return self
        condition = Q(reporter=user)
        if role == "department":
            departments = list(user.department_memberships.values_list("department_id",
                                                                        flat=True))
            condition |= Q(department_id__in=departments)
        else:
            for prefix in user.grid_scopes.values_list("grid__code", flat=True):
                condition |= grid_prefix_condition(prefix)
        return self.filter(condition)

    def in_grid_subtree(self, code: str) -> CaseQuerySet:
        return self.filter(grid_prefix_condition(code))

    def open(self) -> CaseQuerySet:
        from geogrid.cases.workflow import FINAL_STATUSES

        return self.exclude(status__in=FINAL_STATUSES)
