"""The one access helper used by every page and API (docs/architecture.md §9.3).

Two rules, everywhere:
- an action outside the user's role answers 403 (`require_role`);
- an object outside the user's scope answers 404 (`get_in_scope_or_404`), so that the existence
  of objects in other districts is not disclosed.

`core` knows no domain: roles are plain strings (accounts.Role values) and scope is whatever
queryset the owning app's `visible_to(user)` returns.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest
from rest_framework.permissions import SAFE_METHODS, BasePermission

from geogrid.core.actors import Actor

if TYPE_CHECKING:  # rest_framework.views imports this module (DEFAULT_PERMISSION_CLASSES)
    from rest_framework.request import Request
    from rest_framework.views import APIView

M = TypeVar("M", bound=Model)
P = ParamSpec("P")
R = TypeVar("R")
PageView = Callable[Concatenate[HttpRequest, P], R]

ADMIN_ROLE = "admin"


def user_role(user: Actor | None) -> str | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if getattr(user, "is_superuser", False):
        return ADMIN_ROLE
    return getattr(user, "role", None)


def has_role(user: Actor | None, *roles: str) -> bool:
    role = user_role(user)
    return role is not None and (role == ADMIN_ROLE or role in roles)


def require_role(user: Actor | None, *roles: str, action: str = "do this") -> None:
    """Raise PermissionDenied (403) unless the user holds one of `roles` (admins always may)."""
    if user_role(user) is None:
        raise PermissionDenied(f"Log in to {action}.")
    if not has_role(user, *roles):
        raise PermissionDenied(f"Your role does not allow you to {action}.")


# The attribute of a page view that holds the roles `role_required` lets in.
REQUIRED_ROLES = "required_roles"


def role_required(*roles: str, action: str) -> Callable[[PageView[P, R]], PageView[P, R]]:
    """A page view that only `roles` may open (`require_role`, so admins always may).

    The roles are also left on the view (`REQUIRED_ROLES`), so that the navigation shows a
    page's link to exactly those who may open it (geogrid/accounts/navigation.py) without a
    second list of roles. Put it under `login_required`, which sends an anonymous visitor to
    the log-in page before this answers 403.
    """

    def decorate(view: PageView[P, R]) -> PageView[P, R]:
        @functools.wraps(view)
        def checked(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> R:
            require_role(request.user, *roles, action=action)
            return view(request, *args, **kwargs)

        setattr(checked, REQUIRED_ROLES, roles)
        return checked

    return decorate


def page_roles(view: Callable[..., Any]) -> tuple[str, ...] | None:
    """The roles a page view lets in (None: it has no `role_required` rule)."""
    roles = getattr(view, REQUIRED_ROLES, None)
    return tuple(roles) if roles is not None else None


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
