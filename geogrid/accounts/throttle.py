"""Throttling of log-in, API-token and Open311 attempts, by account and by address.

Counts live in one table (accounts.AttemptCounter) so that every gunicorn worker sees the same
numbers, and each count is one atomic upsert, so parallel attempts cannot slip past the limit.
A counter is a fixed window: the first attempt opens it for GEOGRID_LOGIN_LOCKOUT_MINUTES (or
the Open311 window), later attempts add to it, and while it is at its limit every further
attempt is refused (429, Retry-After = the rest of the window) without checking the password.
A successful log-in clears the account's counter; the address's counter runs out by itself.

Keys are SHA-256 hashes of (kind, subject): neither usernames nor addresses are stored.
"""

from __future__ import annotations

import hashlib
import logging
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.http import HttpRequest
from django.utils import timezone

from geogrid.accounts.models import AttemptCounter

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Counter:
    """One thing being counted: `kind` (login-account, login-address, …), its subject, the
    number of attempts allowed in the window, and the window."""

    kind: str
    subject: str
    limit: int
    window: timedelta

    @property
    def key(self) -> str:
        return hashlib.sha256(f"{self.kind}\0{self.subject}".encode()).hexdigest()


def client_address(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or the header a trusted proxy in front sets
    (GEOGRID_CLIENT_IP_HEADER, e.g. HTTP_X_REAL_IP). Never X-Forwarded-For as sent by the
    client: anyone can write one, and each value would be a fresh address."""
    header = settings.GEOGRID_CLIENT_IP_HEADER
    value = request.META.get(header, "") if header else ""
    # A proxy chain appends; the proxy we trust wrote the last entry.
    value = value.split(",")[-1].strip() if value else ""
    return value or request.META.get("REMOTE_ADDR", "") or "unknown"


def retry_after(counters: Iterable[Counter]) -> int:
    """Seconds until every counter at its limit has run out; 0 when none is."""
    counters = list(counters)
    now = timezone.now()
    limits = {counter.key: counter.limit for counter in counters}
    waits = [
        math.ceil((row.expires_at - now).total_seconds())
        for row in AttemptCounter.objects.filter(key__in=limits, expires_at__gt=now)
        if row.count >= limits[row.key]
    ]
    return max([wait for wait in waits if wait > 0], default=0)


def _sweep() -> None:
    # Counters of addresses never seen again would stay for good; dropping the expired ones
    # now and then (one attempt in a hundred) keeps the table to the recent ones.
    if random.random() < 0.01:  # noqa: S311 - not security: only when to clean up
        purge_expired()


_TABLE = AttemptCounter._meta.db_table
_ADD_SQL = f"""INSERT INTO {_TABLE} (key, count, expires_at) VALUES (%s, 1, %s)
    ON CONFLICT (key) DO UPDATE SET
      count = CASE WHEN {_TABLE}.expires_at <= %s THEN 1 ELSE {_TABLE}.count + 1 END,
      expires_at = CASE WHEN {_TABLE}.expires_at <= %s THEN EXCLUDED.expires_at
                        ELSE {_TABLE}.expires_at END
    RETURNING count, expires_at"""


def _add(counter: Counter, now: datetime) -> tuple[int, datetime]:
    """One more attempt on `counter` in one atomic upsert (an expired window starts again at 1);
    returns the count and the end of the window."""
    with connection.cursor() as cursor:
        cursor.execute(_ADD_SQL, [counter.key, now + counter.window, now, now])
        return cursor.fetchone()


def count(counters: Iterable[Counter]) -> None:
    """Add one attempt to each counter; an expired window starts again at 1."""
    _sweep()
    now = timezone.now()
    for counter in counters:
        _add(counter, now)


def hit(counter: Counter) -> int:
    """Count one attempt and answer at once whether it went past the limit: the seconds left
    in the window if so, else 0. One statement, for hot paths (Open311 POST) where every
    attempt counts, refused ones included."""
    _sweep()
    now = timezone.now()
    counted, expires_at = _add(counter, now)
    if counted <= counter.limit:
        return 0
    return max(1, math.ceil((expires_at - now).total_seconds()))


def clear(counter: Counter) -> None:
    AttemptCounter.objects.filter(key=counter.key).delete()


def purge_expired() -> int:
    """Drop counters whose window has run out (they no longer count); returns how many."""
    return AttemptCounter.objects.filter(expires_at__lte=timezone.now()).delete()[0]


# --- Log-in (page, admin, API token, two-factor step) -------------------------------------------
def _login_window() -> timedelta:
    return timedelta(minutes=settings.GEOGRID_LOGIN_LOCKOUT_MINUTES)


def login_account(username: str) -> Counter:
    # Usernames are matched case-sensitively by Django, but an attacker trying Admin, ADMIN…
    # is trying the same person: count them together.
    return Counter(
        "login-account",
        username.strip().casefold(),
        settings.GEOGRID_LOGIN_FAILURES_PER_ACCOUNT,
        _login_window(),
    )


def login_address(request: HttpRequest) -> Counter:
    return Counter(
        "login-address",
        client_address(request),
        settings.GEOGRID_LOGIN_FAILURES_PER_ADDRESS,
        _login_window(),
    )


def login_attempt(request: HttpRequest, username: str) -> int:
    """Before the password (or code) is checked: the seconds to wait when the address or the
    account is locked, else 0. The account's attempt is counted here, atomically, so parallel
    guesses cannot all pass the check before any failure is written; the address's count
    grows with failures only (login_failed), so an office behind one address can log in all
    day."""
    wait = retry_after([login_address(request)])
    if wait:
        logger.warning("log-in throttled", extra={"scope": "address", "retry_after": wait})
        return wait
    wait = hit(login_account(username))
    if wait:
        # Neither the username nor the address: the request id ties this to its request line.
        logger.warning("log-in throttled", extra={"scope": "account", "retry_after": wait})
    return wait


def login_failed(request: HttpRequest, username: str) -> None:
    """The attempt failed: the address's count grows too (the account's already did)."""
    logger.info("log-in failed")
    count([login_address(request)])


def login_succeeded(username: str) -> None:
    """The account's attempts are forgotten (not the address's: a spray of guesses that hits
    one weak account should not reset itself)."""
    clear(login_account(username))


# --- Open311 POST -------------------------------------------------------------------------------
def _open311_window() -> timedelta:
    return timedelta(seconds=60)


def open311_address(request: HttpRequest) -> Counter:
    return Counter(
        "open311-address",
        client_address(request),
        settings.GEOGRID_OPEN311_POSTS_PER_MINUTE,
        _open311_window(),
    )


def open311_key(key_id: int) -> Counter:
    return Counter(
        "open311-key", str(key_id), settings.GEOGRID_OPEN311_POSTS_PER_MINUTE, _open311_window()
    )


__all__ = [
    "Counter",
    "clear",
    "client_address",
    "count",
    "hit",
    "login_attempt",
    "login_failed",
    "login_succeeded",
    "open311_address",
    "open311_key",
    "purge_expired",
    "retry_after",
]
