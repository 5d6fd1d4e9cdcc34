"""Reads that may be a moment stale go to a streaming read replica (DATABASE_REPLICA_URL).

Views opt in with `read_from_replica`; nothing else ever reads from the replica. Inside such a
view the ORM (through `ReplicaRouter`) and the raw cursors (`geogrid.core.db.raw_cursor`) read
from the replica, except:

- once the request has written anything (the router sees every ORM write, raw writes ask for
  the primary), every later read of that request goes to the primary, so a request reads its
  own writes;
- inside a transaction on the primary (a read there belongs to the transaction);
- credentials (sessions, users, API tokens, two-factor devices) are always read from the
  primary: a revoked token or a changed password must count at once, not after the replay;
- for GEOGRID_REPLICA_PIN_SECONDS after a successful POST/PUT/PATCH/DELETE the client carries
  the `geogrid_primary` cookie (set by `PinToPrimaryMiddleware`) and reads from the primary,
  so a person who has just saved something sees it on the next page (read-your-writes across
  requests, for browsers; API clients that need it read back with the id they were given).

When the replica cannot be reached the view reads from the primary and a warning is logged;
the replica is then left alone for GEOGRID_REPLICA_RETRY_SECONDS (per process), so an outage
costs one failed connection attempt per process and period, not one per request. A replica
failing in the middle of a read repeats that (safe, read-only) request on the primary.

docs/operations.md, "Read replica and the scale-out path", explains the set-up.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from functools import wraps
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.models import Model
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger("geogrid.db")

PRIMARY = DEFAULT_DB_ALIAS
REPLICA = "replica"
PIN_COOKIE = "geogrid_primary"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Read from the primary even inside a replica view: credentials must be current (see above).
CREDENTIAL_APPS = frozenset({"auth", "sessions", "knox", "django_otp", "otp_totp", "otp_static"})

# Per request (and per thread: each context has its own values).
_reading: ContextVar[bool] = ContextVar("geogrid_replica_reading", default=False)
_wrote: ContextVar[bool] = ContextVar("geogrid_replica_wrote", default=False)
# Per process: the monotonic time before which the replica is not tried again.
_down_until = 0.0


def configured() -> bool:
    return REPLICA in settings.DATABASES


def note_write() -> None:
    """The request has written to the primary: its later reads go there too."""
    _wrote.set(True)


def read_alias() -> str:
    """The alias a read should use now: the replica only inside a `read_from_replica` view
    that has not written and is not inside a transaction on the primary."""
    if not _reading.get() or _wrote.get() or connections[PRIMARY].in_atomic_block:
        return PRIMARY
    return REPLICA


def _credential_model(model: type[Model] | None) -> bool:
    if model is None:
        return False
    label = model._meta.app_label
    return label in CREDENTIAL_APPS or model._meta.label == settings.AUTH_USER_MODEL


class ReplicaRouter:
    """Django's database router for the replica (DATABASE_ROUTERS). Without a replica, or
    outside a `read_from_replica` view, every answer is the primary (None: Django's default)."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str | None:
        if not _reading.get() or _credential_model(model):
            return None
        return read_alias()

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        note_write()
        return PRIMARY

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool | None:
        # The replica holds the same rows as the primary.
        if {obj1._state.db, obj2._state.db} <= {PRIMARY, REPLICA}:
            return True
        return None

    def allow_migrate(
        self, db: str, app_label: str, model_name: str | None = None, **hints: Any
    ) -> bool | None:
        # A replica is read-only and replays the primary's migrations with everything else.
        return False if db == REPLICA else None


def _mark_down(reason: BaseException) -> None:
    global _down_until
    retry = settings.GEOGRID_REPLICA_RETRY_SECONDS
    _down_until = time.monotonic() + retry
    logger.warning(
        "read replica unavailable (%s); reading from the primary for %s s",
        type(reason).__name__,
        retry,
    )


def replica_usable() -> bool:
    """Connect to the replica (or check the open connection, CONN_HEALTH_CHECKS) unless it
    failed within the retry period."""
    if not configured() or time.monotonic() < _down_until:
        return False
    connection = connections[REPLICA]
    try:
        connection.close_if_health_check_failed()
        connection.ensure_connection()
    except DatabaseError as exc:
        _mark_down(exc)
        return False
    return True


def _replica_failed() -> bool:
    connection = connections[REPLICA]
    return connection.errors_occurred or connection.connection is None


def read_from_replica(
    view: Callable[..., HttpResponse] | None = None, *, when: Callable[..., bool] | None = None
) -> Any:
    """Decorate a view (or, with method_decorator, a class's dispatch) whose GET/HEAD answers
    may be a moment stale. `when(request, *args, **kwargs)` narrows it further (e.g. only
    anonymous readers, only public layers)."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if (
                request.method not in SAFE_METHODS
                or not configured()
                or PIN_COOKIE in request.COOKIES
                or (when is not None and not when(request, *args, **kwargs))
                or not replica_usable()
            ):
                return view(request, *args, **kwargs)
            reading, wrote = _reading.set(True), _wrote.set(False)
            try:
                try:
                    response = view(request, *args, **kwargs)
                except DatabaseError as exc:
                    if not _replica_failed():
                        raise
                    failure: BaseException = exc
                else:
                    if not (getattr(response, "database_unavailable", False) and _replica_failed()):
                        return response
                    failure = DatabaseError("replica failed during the request")
            finally:
                _reading.reset(reading)
                _wrote.reset(wrote)
            # The replica went away in the middle of a read: a read is safe to repeat.
            _mark_down(failure)
            connections[REPLICA].close()
            return view(request, *args, **kwargs)

        return wrapper

    return decorate(view) if view is not None else decorate


def anonymous(request: HttpRequest, *args: Any, **kwargs: Any) -> bool:
    """No session cookie and no Authorization header: a public reader (no database needed to
    tell). Signed-in staff read from the primary, so what they have just edited is there."""
    return (
        "HTTP_AUTHORIZATION" not in request.META
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
    )


class PinToPrimaryMiddleware:
    """After a successful write request, the client reads from the primary for
    GEOGRID_REPLICA_PIN_SECONDS (the cookie carries no data; it only has to be there)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if configured() and request.method not in SAFE_METHODS and response.status_code < 400:
            response.set_cookie(
                PIN_COOKIE,
                "1",
                max_age=settings.GEOGRID_REPLICA_PIN_SECONDS,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response
