"""Who acts, as `core` sees them (docs/architecture.md §3.1).

Core cannot import the user model (docs/architecture.md §2.2), so its helpers take anything
with the little they read of a user: a primary key for the audit rows and logs, and whether it
is logged in (the role and superuser flag are read with getattr, because an anonymous user has
no role). `accounts.User` and Django's `AnonymousUser` both are one. The apps after accounts
use `accounts.actors.Actor`, the user model itself.
"""

from __future__ import annotations

from typing import Any, Protocol


class Actor(Protocol):
    @property
    def pk(self) -> Any: ...

    @property
    def is_authenticated(self) -> bool: ...
