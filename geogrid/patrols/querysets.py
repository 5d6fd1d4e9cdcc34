"""Which patrols a user may see: an inspector their own, the city-wide roles (operators, the
command center, admins) all, anyone else none (docs/architecture.md §9.3)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet

from geogrid.accounts.models import CITY_WIDE_ROLES, Role
from geogrid.core.permissions import user_role

if TYPE_CHECKING:
    from geogrid.patrols.models import Patrol  # noqa: F401 (the QuerySet base's type argument)


class PatrolQuerySet(QuerySet["Patrol"]):
    def visible_to(self, user: Any) -> PatrolQuerySet:
        role = user_role(user)
        if role in CITY_WIDE_ROLES:
            return self
        if role == Role.INSPECTOR:
            return self.filter(inspector=user)
        return self.none()
