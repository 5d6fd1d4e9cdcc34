"""Query parameters, parsed in one place for every API, tile view, command-center endpoint and
Open311 GET view: a bad value is a ParamError naming the parameter (a 400 in each caller's own
error shape), never a 500 from the database or a date library.

Rules shared by every parser:

* A NUL byte (or another control character) is refused: PostgreSQL cannot store or compare it,
  and no legitimate value carries one.
* Values are at most MAX_LENGTH characters; numbers and dates have bounds, so nothing reaches
  PostgreSQL that it would reject (bigint overflow, year 1 shifted out of range by a time zone).
* Date-times are ISO 8601. An offset is required unless the parameter says a local time is
  fine (then a time without an offset is the server's time zone, GEOGRID_TIME_ZONE). "+08:00"
  sent unencoded in a query string arrives as " 08:00" and is read as "+08:00". Years run
  from MIN_YEAR to MAX_YEAR.
* Booleans are 1/true/yes/on or 0/false/no/off (any case); anything else is an error.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

MAX_LENGTH = 1000
MIN_YEAR, MAX_YEAR = 1900, 2999
# The largest value a PostgreSQL integer column (and a page number) can hold.
MAX_INT = 2**31 - 1
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UNENCODED_OFFSET = re.compile(r"(T[\d:.,]+) (\d{2}(?::?\d{2})?)$")
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


class ParamError(ValueError):
    """A query parameter that cannot be used; `field` names it, the message says what to send."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


def check_text(value: str, name: str, *, max_length: int = MAX_LENGTH) -> str:
    """`value` if it is printable text of at most max_length characters."""
    if _CONTROL.search(value):
        raise ParamError(
            f"'{name}' contains a control character (such as a NUL byte); send plain text.",
            field=name,
        )
    if len(value) > max_length:
        raise ParamError(
            f"'{name}' is {len(value)} characters long; at most {max_length} are accepted.",
            field=name,
        )
    return value


def text(
    params: Mapping[str, Any],
    name: str,
    *,
    default: str | None = None,
    max_length: int = MAX_LENGTH,
    required: bool = False,
) -> str | None:
    """The parameter's text, stripped; `default` when it is absent or empty."""
    raw = params.get(name)
    if raw is None or not str(raw).strip():
        if required:
            raise ParamError(f"The parameter '{name}' is required.", field=name)
        return default
    return check_text(str(raw).strip(), name, max_length=max_length)


def texts(params: Any, name: str, *, max_length: int = MAX_LENGTH) -> list[str]:
    """A comma-separated list (also when the parameter is repeated), empty parts dropped."""
    values = params.getlist(name) if hasattr(params, "getlist") else [params.get(name) or ""]
    parts: list[str] = []
    for value in values:
        check_text(str(value), name, max_length=max_length)
        parts.extend(part.strip() for part in str(value).split(",") if part.strip())
    return parts


def choice(
    params: Mapping[str, Any], name: str, choices: Iterable[str], *, default: str | None = None
) -> str | None:
    allowed = [str(c) for c in choices]
    value = text(params, name, default=None)
    if value is None:
        return default
    if value not in allowed:
        raise ParamError(f"Unknown {name} {value!r}; use one of: {', '.join(allowed)}.", field=name)
    return value


def integer(
    params: Mapping[str, Any],
    name: str,
    *,
    default: int | None = None,
    minimum: int = 1,
    maximum: int = MAX_INT,
) -> int | None:
    value = text(params, name, max_length=20)
    if value is None:
        return default
    if (
        not (value.isascii() and value.lstrip("-").isdigit())
        or not minimum <= int(value) <= maximum
    ):
        raise ParamError(
            f"'{name}' must be a whole number from {minimum} to {maximum}, not {value!r}.",
            field=name,
        )
    return int(value)


def number(
    params: Mapping[str, Any],
    name: str,
    *,
    required: bool = False,
    minimum: float = -1e15,
    maximum: float = 1e15,
) -> float | None:
    value = text(params, name, max_length=40, required=required)
    if value is None:
        return None
    try:
        result = float(value)
    except ValueError:
        raise ParamError(f"'{name}' must be a number, not {value!r}.", field=name) from None
    if not math.isfinite(result):
        raise ParamError(f"'{name}' must be a finite number, not {value!r}.", field=name)
    if not minimum <= result <= maximum:
        raise ParamError(
            f"'{name}' must be between {minimum:g} and {maximum:g}, not {value!r}.", field=name
        )
    return result


def boolean(params: Mapping[str, Any], name: str, *, default: bool = False) -> bool:
    value = text(params, name, max_length=10)
    if value is None:
        return default
    if value.lower() in TRUE:
        return True
    if value.lower() in FALSE:
        return False
    raise ParamError(f"'{name}' must be true or false (1/0, yes/no), not {value!r}.", field=name)


def _in_range(value: date, name: str, raw: str) -> None:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ParamError(
            f"'{name}' {raw!r} is out of range: years {MIN_YEAR}…{MAX_YEAR} are accepted.",
            field=name,
        )


def parse_moment(
    raw: str, name: str, *, local_ok: bool = False, date_ok: bool = False
) -> tuple[datetime, bool]:
    """`raw` as an aware datetime, and whether it was a bare date (its midnight, server time;
    only when date_ok). The one date-time rule of the module docstring."""
    raw = check_text(raw.strip(), name, max_length=64)
    if date_ok and _DATE_ONLY.match(raw):
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise ParamError(f"'{name}' {raw!r} is not a valid date.", field=name) from None
        _in_range(day, name, raw)
        return timezone.make_aware(datetime.combine(day, time.min)), True
    normalised = _UNENCODED_OFFSET.sub(r"\1+\2", raw)
    try:
        value = parse_datetime(normalised)
    except ValueError:  # well-formed but impossible: 2026-02-30, hour 25
        value = None
    example = "2026-11-01T00:00:00+08:00"
    if value is None:
        raise ParamError(
            f"'{name}' must be an ISO 8601 date-time such as {example}, not {raw!r}.", field=name
        )
    _in_range(value, name, raw)
    if timezone.is_naive(value):
        if not local_ok:
            raise ParamError(
                f"'{name}' {raw!r} has no time zone: add an offset such as "
                f"+08:00 or Z, e.g. {example}.",
                field=name,
            )
        value = timezone.make_aware(value)
    return value, False


def moment(params: Mapping[str, Any], name: str, *, local_ok: bool = False) -> datetime | None:
    raw = text(params, name, max_length=64)
    return None if raw is None else parse_moment(raw, name, local_ok=local_ok)[0]


def period(
    params: Mapping[str, Any], *, default_days: int | None = None
) -> tuple[datetime | None, datetime | None]:
    """`since` and `until` as a half-open period of at most GEOGRID_MAX_PERIOD_DAYS days.

    With `default_days`, a missing `until` is now and a missing `since` that many days before
    `until`. Without it both may be missing (no time filter: the caller's whole data, as the
    tile layers are); a period that is given must have a start, because an open start would be
    an unbounded scan, and an open end runs to now.
    """
    since, until = moment(params, "since"), moment(params, "until")
    if default_days is not None:
        until = until or timezone.now()
        since = since or until - timedelta(days=default_days)
    if since is None and until is None:
        return None, None
    if since is None:
        raise ParamError("'until' needs a 'since': a period has a start and an end.", field="since")
    if until is not None and until <= since:
        raise ParamError("'until' must be after 'since'.", field="until")
    maximum = int(settings.GEOGRID_MAX_PERIOD_DAYS)
    length = (until or timezone.now()) - since
    if length > timedelta(days=maximum):
        raise ParamError(
            f"The period from 'since' to 'until' is {length.days} days long; at most "
            f"{maximum} days are served at once. Ask for a shorter period, or for "
            "several in turn.",
            field="since",
        )
    return since, until


def day(params: Mapping[str, Any], name: str) -> date | None:
    raw = text(params, name, max_length=10)
    if raw is None:
        return None
    try:
        value = date.fromisoformat(raw) if _DATE_ONLY.match(raw) else None
    except ValueError:
        value = None
    if value is None:
        raise ParamError(f"'{name}' must be a date such as 2026-11-01, not {raw!r}.", field=name)
    _in_range(value, name, raw)
    return value


def bbox(params: Mapping[str, Any], name: str = "bbox") -> tuple[float, float, float, float] | None:
    """min_lon,min_lat,max_lon,max_lat in degrees."""
    raw = text(params, name, max_length=200)
    if raw is None:
        return None
    message = (
        f"{name} must be 'min_lon,min_lat,max_lon,max_lat' in degrees, "
        f"e.g. 116.39,39.90,116.42,39.93; got {raw!r}."
    )
    parts = raw.split(",")
    if len(parts) != 4:
        raise ParamError(message, field=name)
    try:
        west, south, east, north = (float(p) for p in parts)
    except ValueError:
        raise ParamError(message, field=name) from None
    if not all(math.isfinite(v) for v in (west, south, east, north)):
        raise ParamError(message, field=name)
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise ParamError(
            message + " (min must not exceed max; lon −180…180, lat −90…90)", field=name
        )
    return west, south, east, north
