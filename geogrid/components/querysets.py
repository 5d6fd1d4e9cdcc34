from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Q, QuerySet

from geogrid.accounts.models import CITY_WIDE_ROLES
from geogrid.core.permissions import user_role

if TYPE_CHECKING:
    from geogrid.components.models import Component  # noqa: F401 (the QuerySet base's type argument)


class ComponentQuerySet(QuerySet["Component"]):
    def in_use(self) -> ComponentQuerySet:
        return self.filter(currency="in_use")

    def code_prefix(self, prefix: str) -> ComponentQuerySet:
        """Components whose code starts with these digits, as a range on the unique code
        index (a LIKE 'prefix%' could only use it with a pattern operator class)."""
        if not prefix.isdigit() or len(prefix) > 17:
            return self.none()
        return self.filter(code__gte=prefix, code__lte=prefix + "9" * (17 - len(prefix)))

    def in_grid_subtree(self, code: str) -> ComponentQuerySet:
        """Components of a grid and its descendants (codes carry their ancestry)."""
        return self.filter(grid__code__startswith=code)

    def in_scope_of(self, user: Any) -> ComponentQuerySet:
        """Components a user acts on: city-wide roles all; planners and inspectors those in
        their grids; department handlers those their department is responsible for."""
        role = user_role(user)
        if not role:  # anonymous, or an account not yet granted a role
            return self.none()
        if role in CITY_WIDE_ROLES:
            return self
        condition = Q()
        for prefix in user.grid_scopes.values_list("grid__code", flat=True):
            condition |= Q(grid__code__startswith=prefix)
        departments = list(user.department_memberships.values_list("department_id", flat=True))
        if departments:
            condition |= (
                Q(competent_department__in=departments)
                | Q(owner_department__in=departments)
                | Q(maintainer_department__in=departments)
            )
        return self.filter(condition) if condition else self.none()

    def visible_to(self, user: Any) -> ComponentQuerySet:
        if settings.GEOGRID_PUBLIC_READ_API:
            return self
        return self.in_scope_of(user)
