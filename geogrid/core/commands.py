"""Small pieces shared by the management commands."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError


def actor_from_option(username: str | None) -> Any:
    """The user named by --actor (recorded in audit events), None when not given."""
    if not username:
        return None
    actor = get_user_model().objects.filter(username=username).first()
    if actor is None:
        raise CommandError(f"--actor {username}: no such user.")
    return actor
