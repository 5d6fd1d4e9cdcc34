"""Health probes for load balancers, systemd and monitoring (docs/operations.md, "Health checks
and logs").

- ``/healthz``: the process answers. No database access, so a database outage does not make a
  load balancer kill every worker.
- ``/readyz``: the database answers, PostGIS is installed and every migration is applied; 503
  otherwise, naming what failed. Data that needs attention soon but does not stop the service
  (the holiday calendar running out) is listed under ``warnings`` and does not fail the probe.

Both are public, without authentication: they name no person, no host, no version and no error
text (the details go to the log), and cost at most two small queries. They are answered by
ProbeMiddleware before host validation, sessions and locale: a load balancer probes by the
server's address, not by a name in ALLOWED_HOSTS, and over plain HTTP (SECURE_REDIRECT_EXEMPT).

Apps add readiness warnings as system checks tagged ``READINESS`` (and ``Tags.database``: they
read data, so ``manage.py check`` without ``--database`` does not run them); core knows no domain.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.core import checks
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import resolve
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

READINESS = "readiness"
PROBE_PATHS = frozenset({"/healthz", "/readyz"})

# Set once every migration was found applied: a ready server does not load the migration graph
# again on every probe. A deployment migrates before it restarts the workers, so an applied
# migration never becomes unapplied under a running process.
_migrations_applied = False


def _answer(body: dict[str, Any], status: int = 200) -> JsonResponse:
    response = JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "no-store"
    return response


@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    return _answer({"status": "ok"})


def unapplied_migrations() -> int:
    global _migrations_applied
    if _migrations_applied:
        return 0
    executor = MigrationExecutor(connection)
    count = len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
    _migrations_applied = count == 0
    return count


def readiness_warnings() -> list[dict[str, str]]:
    """The warnings of the checks tagged READINESS, for the probe's body."""
    found = checks.run_checks(tags=[READINESS], databases=["default"])
    return [
        {"id": w.id or "", "message": str(w.msg), "hint": str(w.hint or "")}
        for w in found
        if w.level >= checks.WARNING
    ]


def _ask_postgis() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT postgis_lib_version()")
            cursor.fetchone()
    except (OperationalError, InterfaceError):
        if connection.in_atomic_block:
            raise
        # A connection kept from before a database restart fails once; the probe is about the
        # database now, so it asks again on a new connection before answering 503.
        connection.close()
        with connection.cursor() as cursor:
            cursor.execute("SELECT postgis_lib_version()")
            cursor.fetchone()


@require_safe
def readyz(request: HttpRequest) -> HttpResponse:
    results: dict[str, str] = {}
    try:
        _ask_postgis()
        results["database"] = results["postgis"] = "ok"
    except DatabaseError as exc:
        # Connection refused or dropped (OperationalError/InterfaceError) vs. a database without
        # the PostGIS extension (the function does not exist).
        unreachable = isinstance(exc, (OperationalError, InterfaceError))
        results["database"] = "unavailable" if unreachable else "ok"
        results["postgis"] = "not checked" if unreachable else "missing"
        logger.warning(
            "readiness: database check failed",
            extra={"check": "database" if unreachable else "postgis", "error": type(exc).__name__},
            exc_info=True,
        )
        return _answer({"status": "unavailable", "checks": results}, status=503)
    try:
        pending = unapplied_migrations()
    except DatabaseError as exc:
        logger.warning(
            "readiness: migration check failed",
            extra={"check": "migrations", "error": type(exc).__name__},
            exc_info=True,
        )
        results["migrations"] = "unavailable"
        return _answer({"status": "unavailable", "checks": results}, status=503)
    if pending:
        results["migrations"] = f"{pending} unapplied"
        logger.warning(
            "readiness: unapplied migrations", extra={"check": "migrations", "unapplied": pending}
        )
        return _answer({"status": "unavailable", "checks": results}, status=503)
    results["migrations"] = "ok"
    return _answer({"status": "ok", "checks": results, "warnings": readiness_warnings()})


class ProbeMiddleware:
    """Serves /healthz and /readyz before CommonMiddleware (which validates the Host header),
    sessions and locale. Placed after SecurityMiddleware (whose HTTPS redirect exempts them,
    settings.SECURE_REDIRECT_EXEMPT) and RequestLogMiddleware (probes get a request line)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info not in PROBE_PATHS:
            return self.get_response(request)
        match = resolve(request.path_info)
        request.resolver_match = match
        response: HttpResponse = match.func(request, *match.args, **match.kwargs)
        return response
