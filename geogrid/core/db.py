"""Raw psycopg cursors on Django's connections, and what a request answers when the database
fails under it (docs/operations.md, "Database faults").

The hot paths (locate, tiles, intake, command-center aggregates) run psycopg cursors on
Django's own connection, for server-side prepared statements and binary results. Django only
notices a broken connection through its own cursors (DatabaseErrorWrapper sets
`errors_occurred`, and the connection is closed when the request ends) or through its health
check before its own cursor's first query (CONN_HEALTH_CHECKS). `raw_cursor` gives the raw
paths both: it runs the health check before handing out the cursor, and its errors go through
the same wrapper (Django's exception classes, the connection marked for closing). psycopg keeps
prepared statements per connection object, so a new connection simply prepares them again.
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

import psycopg
from django.db import InterfaceError, OperationalError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from geogrid.core.replica import PRIMARY, note_write, read_alias

logger = logging.getLogger("geogrid.db")

# Seconds a client is asked to wait before trying again: a restart of PostgreSQL takes a few.
RETRY_AFTER_SECONDS = 5
AnyResponse = TypeVar("AnyResponse", bound=HttpResponseBase)
# The mounts whose clients read JSON (the REST API, the vector tiles, Open311); everything else
# is a page for people.
JSON_PATH_PREFIXES = ("/api/", "/tiles/", "/open311/")


class RawCursor(psycopg.Cursor):
    """A psycopg cursor whose errors are Django's (and mark the connection, as Django's own
    cursors do, so a broken connection is closed and replaced at the end of the request)."""

    def __init__(self, wrapper: BaseDatabaseWrapper) -> None:
        super().__init__(wrapper.connection)
        self._django_wrapper = wrapper

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> RawCursor:
        with self._django_wrapper.wrap_database_errors:
            return super().execute(query, params, **kwargs)

    def executemany(self, query: Any, params_seq: Any, **kwargs: Any) -> None:
        with self._django_wrapper.wrap_database_errors:
            super().executemany(query, params_seq, **kwargs)


def raw_cursor(*, for_write: bool = False) -> RawCursor:
    """A raw cursor on the connection this read (or write) should use: the primary, or the read
    replica inside a `read_from_replica` view (geogrid/core/replica.py). Inside a transaction it
    is the transaction's connection, as with any Django cursor."""
    if for_write:
        note_write()
    alias = PRIMARY if for_write else read_alias()
    wrapper = connections[alias]
    # Django's own cursor() does these two steps; the raw path must too, or a connection the
    # server dropped while the process was idle fails the first request after it.
    wrapper.close_if_health_check_failed()
    wrapper.ensure_connection()
    return RawCursor(wrapper)


def read_connection() -> BaseDatabaseWrapper:
    """The Django connection for a read (the replica inside a `read_from_replica` view)."""
    return connections[read_alias()]


def database_failure(exc: BaseException) -> str | None:
    """'statement_timeout' when a query ran past statement_timeout, 'database_unavailable' when
    the server cannot be reached or dropped the connection (or any other transient server-side
    failure: a restart, a deadlock, too many connections); None for every other error."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, psycopg.errors.QueryCanceled):
            return "statement_timeout"
        seen = seen.__cause__
    if isinstance(
        exc, OperationalError | InterfaceError | psycopg.OperationalError | psycopg.InterfaceError
    ):
        return "database_unavailable"
    return None


def failure_message(kind: str) -> str:
    if kind == "statement_timeout":
        return _("请求用时超过了服务器的上限。请缩小范围（更短的时段、更小的区域）或稍后再试。")
    return _("数据库暂时不可用，请几秒钟后再试。")


def log_failure(request: HttpRequest, kind: str, exc: BaseException) -> None:
    # The class and SQLSTATE say what happened; the message may quote a query's parameters.
    # The route pattern, not the path, as in the request line (geogrid/core/logs.py): no path
    # segment a person typed reaches the log.
    cause = exc.__cause__ or exc
    match = getattr(request, "resolver_match", None)
    logger.warning(
        "database failure",
        extra={
            "failure": kind,
            "method": request.method,
            "route": match.route if match else None,
            "error": type(cause).__name__,
            "sqlstate": getattr(cause, "sqlstate", None),
        },
    )


def mark_unavailable(response: AnyResponse) -> AnyResponse:
    """Retry-After and no caching on a 503, and a marker `read_from_replica` looks for."""
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    response.database_unavailable = True  # type: ignore[attr-defined]
    return response


def unavailable_response(request: HttpRequest, kind: str) -> HttpResponse:
    """The 503 for a failed database: JSON under the API mounts, a plain page elsewhere (no
    base template: it would read the session and the user, from the database that failed)."""
    message = failure_message(kind)
    if request.path.startswith(JSON_PATH_PREFIXES) or "json" in request.headers.get("Accept", ""):
        response: HttpResponse = JsonResponse(
            {"error": kind, "detail": message},
            status=503,
            json_dumps_params={"ensure_ascii": False},
        )
    else:
        response = HttpResponse(render_to_string("503.html", {"message": message}), status=503)
    return mark_unavailable(response)
