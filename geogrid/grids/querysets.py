from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Q, QuerySet

from geogrid.accounts.models import CITY_WIDE_ROLES
from geogrid.core.permissions import user_role

if TYPE_CHECKING:
    from geogrid.grids.models import Grid  # noqa: F401 (the QuerySet base's type argument)


class GridQuerySet(QuerySet["Grid"]):
    def active(self) -> GridQuerySet:
        return self.filter(valid_to__isnull=True)

    def subtree(self, code: str) -> GridQuerySet:
        """A grid and all its descendants: codes carry their ancestry as a prefix."""
        return self.filter(code__startswith=code)

    def in_scope_of(self, user: Any) -> GridQuerySet:
        """Grids the user acts on: everything for city-wide roles, else their scoped subtrees."""
        role = user_role(user)
        if not role:  # anonymous, or an account not yet granted a role
            return self.none()
        if role in CITY_WIDE_ROLES:
            return self
        prefixes = list(user.grid_scopes.values_list("grid__code", flat=True))
        if not prefixes:
            return self.none()
        condition = Q()
        for prefix in prefixes:
            condition |= Q(code__startswith=prefix)
        return self.filter(condition)

    def visible_to(self, user: Any) -> GridQuerySet:
        """Grids the user may read: public data when GEOGRID_PUBLIC_READ_API is on."""
        if settings.GEOGRID_PUBLIC_READ_API:
            return self
        return self.in_scope_of(user)
