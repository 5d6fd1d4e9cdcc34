"""Who acts in a service (docs/architecture.md §3.1), for the apps after accounts.

Core cannot import the user model (docs/architecture.md §2.2); it has the protocol
core.actors.Actor with what it reads of a user.
"""

from __future__ import annotations

from typing import TypeAlias

from django.core.exceptions import PermissionDenied
from django.core.management.base import CommandError
from django.http import HttpRequest
from rest_framework.request import Request

from geogrid.accounts.models import User

# A service's `actor`: `Actor | None` where a system job (no user: the overdue scan, a
# command run without --actor) may act, `Actor` where the service reads the user's role or
# scope.
Actor: TypeAlias = User


def actor_of(request: HttpRequest | Request) -> Actor:
    """The logged-in user making a request, as a service's actor. Views call it after their
    role check, so an anonymous request reaching it is a mistake and answers 403 as well."""
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise PermissionDenied("Log in to do this.")
    return user


def actor_from_option(username: str | None) -> Actor | None:
    """The user named by a command's --actor (recorded in audit events), None when not given."""
    if not username:
        return None
    actor = User.objects.filter(username=username).first()
    if actor is None:
        raise CommandError(f"--actor {username}: no such user.")
    return actor
