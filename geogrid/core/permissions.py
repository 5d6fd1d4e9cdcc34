"""The one access helper used by every page and API (docs/architecture.md §9.3).

Two rules, everywhere:
- an action outside the user's role answers 403 (`require_role`);
- an object outside the user's scope answers 404 (`get_in_scope_or_404`), so that the existence
  of objects in other districts is not disclosed.

`core` knows no domain: roles are plain strings (accounts.Role values) and scope is whatever
queryset the owning app's `visible_to(user)` returns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404
from rest_framework.permissions import SAFE_METHODS, BasePermission

if TYPE_CHECKING:  # rest_framework.views imports this module (DEFAULT_PERMISSION_CLASSES)
    from rest_framework.request import Request
    from rest_framework.views import APIView

M = TypeVar("M", bound=Model)

ADMIN_ROLE = "admin"


def user_role(user: Any) -> str | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if getattr(user, "is_superuser", False):
        return ADMIN_ROLE
    return getattr(user, "role", None)


def has_role(user: Any, *roles: str) -> bool:
    role = user_role(user)
    return role is not None and (role == ADMIN_ROLE or role in roles)


def require_role(user: Any, *roles: str, action: str = "do this") -> None:
    """Raise PermissionDenied (403) unless the user holds one of `roles` (admins always may)."""
    if user_role(user) is None:
        raise PermissionDenied(f"Log in to {action}.")
    if not has_role(user, *roles):
        raise PermissionDenied(f"Your role does not allow you to {action}.")


def get_in_scope_or_404(queryset: QuerySet[M], **lookup: Any) -> M:
    """Fetch one object from a queryset already limited to the user's scope; 404 otherwise."""
    try:
        return queryset.get(**lookup)
    except ObjectDoesNotExist as exc:
        # The same answer whether it does not exist or is outside the user's scope.
        key = lookup.get("code") or next(iter(lookup.values()), "")
        raise Http404(
            f"Not found: {key} does not exist, or it is outside the area you are responsible for."
        ) from exc


class PublicReadOrAuthenticated(BasePermission):
    """Reads are anonymous when GEOGRID_PUBLIC_READ_API is on; everything else needs a login."""

    message = "Log in (session) or send 'Authorization: Token <key>' to use this API."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.method in SAFE_METHODS and settings.GEOGRID_PUBLIC_READ_API:
            return True
        return bool(request.user and request.user.is_authenticated)
