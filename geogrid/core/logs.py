"""Structured logs: one JSON object per line on stderr, with the id of the request being served.

Used by settings.LOGGING (Django's own loggers and ours) and, through
``gunicorn_logconfig_dict()``, by gunicorn's error and access logs, so that a log collector reads
one format from the whole process tree. ``GEOGRID_LOG_FORMAT=text`` gives plain lines for people
reading a terminal.

What may be logged (README, "Security and privacy"): numeric ids of accounts and objects, codes,
counts, durations, statuses. Never passwords, tokens, api keys, phone numbers, reporter names or
contacts, usernames or free text people typed. Two things here enforce part of that whatever a
caller does: the ``request`` object Django attaches to its records (its repr carries the query
string) is dropped, and gunicorn's access lines are rebuilt from safe fields only.

This module must import without Django settings: gunicorn.conf.py imports it in the master.
"""

from __future__ import annotations

import contextvars
import logging
import os
import re
import secrets
from typing import Any

from django.db import transaction
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

# The request being served by this thread (sync workers) or task; None outside requests.
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "geogrid_request_id", default=None
)

# An incoming X-Request-ID (from nginx's $request_id, a load balancer or a client) is kept when it
# is short and plain, so one id follows a request through every tier; anything else is replaced,
# so a client cannot write arbitrary text or control characters into the logs.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")


def new_request_id() -> str:
    return secrets.token_hex(16)


def accept_request_id(value: str | None) -> str:
    """The incoming id if it is sane (8–64 of A–Z a–z 0–9 . _ : -), else a fresh one."""
    if value and _REQUEST_ID.fullmatch(value):
        return value
    return new_request_id()


class RequestIdFilter(logging.Filter):
    """Puts ``request_id`` on every record (None outside a request). A handler filter, because a
    logger's filters do not see records propagated from its children."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get()
        return True


# Attributes of records that must never be written out: Django's django.request and
# django.server records carry the request object (its repr holds the query string).
_DROPPED = {"request", "server_time"}


def _gunicorn_access_fields(record: logging.LogRecord) -> dict[str, Any] | None:
    """The safe part of a gunicorn access record: method, path without the query string, status,
    duration and the request id the application answered with. Not the client address, the user
    agent, the referer, the basic-auth user or the query string, whatever access_log_format says."""
    atoms = record.args
    if record.name != "gunicorn.access" or not isinstance(atoms, dict):
        return None
    fields: dict[str, Any] = {
        "method": atoms.get("m"),
        "path": atoms.get("U"),
        "status": _int_or_none(atoms.get("s")),
        "duration_ms": _int_or_none(atoms.get("M")),
    }
    request_id = atoms.get("{x-request-id}o")
    fields["request_id"] = request_id if request_id not in (None, "-") else None
    return fields


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _prepare(record: logging.LogRecord) -> None:
    """Rewrite a gunicorn access record to its safe fields (once; a record can reach several
    handlers)."""
    fields = _gunicorn_access_fields(record)
    if fields is not None:
        record.msg, record.args = "request", ()
        for key, value in fields.items():
            setattr(record, key, value)


class GeoGridJsonFormatter(JsonFormatter):
    """time, level, logger, message, request_id, then the record's ``extra`` fields; a traceback
    as ``exc_info`` (one string)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("timestamp", "time")
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("reserved_attrs", [*RESERVED_ATTRS, *_DROPPED])
        kwargs.setdefault("json_ensure_ascii", False)
        super().__init__(*args, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        _prepare(record)
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return super().format(record)


class GeoGridTextFormatter(logging.Formatter):
    """One plain line: time level logger [request id] message key=value… (GEOGRID_LOG_FORMAT=text)."""

    _standard = set(RESERVED_ATTRS) | _DROPPED | {"request_id", "message", "asctime"}

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        _prepare(record)
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        line = super().format(record)
        extras = [
            f"{key}={value}"
            for key, value in record.__dict__.items()
            if key not in self._standard and not key.startswith("_")
        ]
        if extras:
            head, sep, tail = line.partition("\n")
            line = f"{head} {' '.join(extras)}{sep}{tail}"
        return line


JSON_FIELDS = ["levelname", "name", "message"]


def log_format() -> str:
    value = os.environ.get("GEOGRID_LOG_FORMAT", "json").strip().lower() or "json"
    if value not in ("json", "text"):
        # Raised at settings import: a typo must not silently switch formats.
        raise ValueError(f"GEOGRID_LOG_FORMAT must be json or text, not {value!r}")
    return value


def formatter_config(fmt: str | None = None) -> dict[str, Any]:
    """The dictConfig entry of the formatter for GEOGRID_LOG_FORMAT (or ``fmt``)."""
    if (fmt or log_format()) == "text":
        return {"()": "geogrid.core.logs.GeoGridTextFormatter"}
    return {"()": "geogrid.core.logs.GeoGridJsonFormatter", "fmt": JSON_FIELDS}


def handler_config(stream: str = "ext://sys.stderr") -> dict[str, Any]:
    return {
        "class": "logging.StreamHandler",
        "stream": stream,
        "formatter": "geogrid",
        "filters": ["request_id"],
    }


def django_logging_config(level: str | None = None) -> dict[str, Any]:
    """settings.LOGGING: everything to one handler on stderr. Other libraries log at
    GEOGRID_LOG_LEVEL (WARNING); our loggers (``geogrid.*``: request lines, service events) at
    INFO, or DEBUG with it, or — GEOGRID_LOG_LEVEL=ERROR or CRITICAL — at that level too (a
    quiet batch run)."""
    level = (level or os.environ.get("GEOGRID_LOG_LEVEL", "") or "WARNING").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ValueError(
            f"GEOGRID_LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {level!r}"
        )
    own = level if level in ("DEBUG", "ERROR", "CRITICAL") else "INFO"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "geogrid.core.logs.RequestIdFilter"}},
        "formatters": {"geogrid": formatter_config()},
        "handlers": {"console": handler_config()},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Replaces Django's default (a plain console handler with debug on, mails to ADMINS
            # with it off): errors with tracebacks go through the same JSON handler via root.
            "django": {"handlers": [], "level": "INFO", "propagate": True},
            "geogrid": {"handlers": [], "level": own, "propagate": True},
        },
    }


def gunicorn_logconfig_dict(*, access_log: bool = False) -> dict[str, Any]:
    """gunicorn's ``logconfig_dict``: its error log (start-up, worker timeouts and crashes) in the
    same format as the application's lines, on stderr.

    The access log is off by default because the application already writes one richer line per
    request (logger ``geogrid.request``: route name and user id, which gunicorn cannot know);
    ``access_log=True`` adds gunicorn's own line, reduced to method, path without the query
    string, status, duration and request id."""
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "geogrid.core.logs.RequestIdFilter"}},
        "formatters": {"geogrid": formatter_config()},
        "handlers": {"console": handler_config()},
        # The root handler prints for the master; in a worker Django's LOGGING replaces it with
        # the same handler, and gunicorn's loggers propagate to it (one line each, never two).
        "root": {"handlers": ["console"], "level": "INFO"},
        "loggers": {
            "gunicorn.error": {"handlers": [], "level": "INFO", "propagate": True},
            "gunicorn.access": {
                "handlers": [],
                "level": "INFO" if access_log else "WARNING",
                "propagate": True,
            },
        },
    }
    return config


def log_on_commit(logger: logging.Logger, message: str, **fields: Any) -> None:
    """An INFO line about a state change, written when the change commits: a rolled-back edit
    (the grid editor's dry runs, a failed import) never logs as done. Outside a transaction it
    is written at once. The line carries the id of the request that made the change, whenever
    the commit happens."""
    extra = {**fields, "request_id": request_id_var.get()}
    transaction.on_commit(lambda: logger.info(message, extra=extra))
