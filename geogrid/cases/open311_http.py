"""Open311 GeoReport v2, what comes in: the view wrapper that turns refusals into the spec's
error list, the arguments, the api_key and the throttle of POSTs (the views are in
cases/open311.py)."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation
from django.views.decorators.csrf import csrf_exempt

from geogrid.accounts import throttle
from geogrid.cases.errors import ReportError
from geogrid.cases.models import CaseClass, Open311Key
from geogrid.cases.open311_keys import open311_key_for
from geogrid.cases.open311_rendering import CONTENT_TYPES, render_errors, serialise_attributes
from geogrid.core import params as qp
from geogrid.core.coordinates import CoordinateError, CRSError
from geogrid.core.db import database_failure, failure_message, log_failure, mark_unavailable
from geogrid.core.photos import PhotoError
from geogrid.core.replica import read_from_replica

# The views' logger, not this module's: docs/operations.md, "Logs", lists the key and throttle
# lines under geogrid.cases.open311.
logger = logging.getLogger("geogrid.cases.open311")

# Where a client sends its key besides the POST body (the only place for reads that need one).
API_KEY_HEADER = "HTTP_X_API_KEY"
KEY_IN_URL = (
    "api_key is not accepted in the URL (URLs are written to logs and proxies): send "
    "it in the POST body (api_key) or in the X-Api-Key header."
)
# The spec's default window: the last 90 days.
DEFAULT_SPAN = timedelta(days=90)
_ATTRIBUTE_FIELD = re.compile(r"^attribute\[(?P<code>[^\[\]]+)\](?:\[\])?$")
_CJK = re.compile(r"[\u3400-\u9fff]")


class Open311Error(Exception):
    """A refusal in the spec's terms: the HTTP status and one or more descriptions."""

    def __init__(self, status: int, *descriptions: str, retry_after: int = 0) -> None:
        super().__init__(*descriptions)
        self.status = status
        self.descriptions = descriptions
        self.retry_after = retry_after


def _language(request: HttpRequest) -> str:
    """English when `locale` (en, en_US, …) or, without it, Accept-Language asks for it."""
    asked = (request.GET.get("locale") or "").strip().lower()
    if not asked:
        asked = getattr(request, "LANGUAGE_CODE", "") or settings.LANGUAGE_CODE
    return "en" if asked.startswith("en") else settings.LANGUAGE_CODE


def open311_view(
    *methods: str,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Wrap a view taking `fmt`: 404 for an unknown format (in XML, the format every server
    must offer), 405 for other methods, Open311Error and the intake errors as the spec's error
    list, names in the asked language. CSRF-exempt: clients authenticate with api_key, never
    with a session cookie."""
    allowed = {*methods, "HEAD"} if "GET" in methods else set(methods)

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, fmt: str, **kwargs: Any) -> HttpResponse:
            if fmt not in CONTENT_TYPES:
                return render_errors(
                    "xml", 404, [f"Unknown format {fmt!r}: end the URL in .xml or .json."]
                )
            if request.method not in allowed:
                response = render_errors(
                    fmt,
                    405,
                    [
                        f"{request.method} is not supported here; use {' or '.join(sorted(methods))}."
                    ],
                )
                response["Allow"] = ", ".join(sorted(allowed))
                return response
            language = _language(request)
            with translation.override(language):
                try:
                    if "api_key" in request.GET:
                        raise Open311Error(400, KEY_IN_URL)
                    response = view(request, *args, fmt=fmt, **kwargs)
                except Open311Error as exc:
                    response = render_errors(fmt, exc.status, exc.descriptions)
                    if exc.retry_after:
                        response["Retry-After"] = str(exc.retry_after)
                except (ReportError, PhotoError, CRSError, CoordinateError, qp.ParamError) as exc:
                    response = render_errors(fmt, 400, [str(exc)])
                except RequestDataTooBig:
                    response = render_errors(
                        fmt, 413, ["The request is too large: send fewer or smaller photos."]
                    )
                except (TooManyFieldsSent, TooManyFilesSent) as exc:
                    response = render_errors(
                        fmt, 400, [f"The request has too many form fields or files: {exc}"]
                    )
                except DatabaseError as exc:
                    # Down, restarting or too slow: the spec's error list, 503, Retry-After.
                    kind = database_failure(exc)
                    if kind is None:
                        raise
                    log_failure(request, kind, exc)
                    response = mark_unavailable(render_errors(fmt, 503, [failure_message(kind)]))
            # Set before LocaleMiddleware, which would name the request's language instead.
            response["Content-Language"] = language
            return response

        # Reading requests may be a moment old (a read replica, geogrid/core/replica.py);
        # POSTs always go to the primary.
        return read_from_replica(wrapper)

    return decorate


def split_values(params: Any, name: str) -> list[str]:
    """A comma-delimited argument, also when declared several times."""
    return qp.texts(params, name)


def text_field(params: Any, name: str, max_length: int = 200) -> str:
    """A text argument, stripped: NUL bytes and over-long values are a 400 naming it."""
    return qp.text(params, name, default="", max_length=max_length) or ""


def is_id(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _number(text: str, name: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise Open311Error(400, f"{name} must be a number (WGS84 degrees), not {text!r}.") from None


def point_from(params: Any) -> tuple[float, float] | None:
    """(long, lat) from the spec's `lat` and `long`, None when neither is given."""
    lat, lon = text_field(params, "lat", 40), text_field(params, "long", 40)
    if not lat and not lon:
        return None
    if not (lat and lon):
        raise Open311Error(400, "Send both lat and long (WGS84 degrees), as two parameters.")
    return _number(lon, "long"), _number(lat, "lat")


def _datetime(text: str, name: str) -> tuple[datetime, bool]:
    """A W3C datetime with its offset, or a bare date (its midnight, server time); the flag
    says which (the one rule of geogrid.core.params)."""
    return qp.parse_moment(text, name, date_ok=True)


def date_range(start_text: str, end_text: str) -> tuple[datetime, datetime]:
    """The spec's window, both ends included: both given, at most 90 days apart; one given, 90
    days from it; none, the most recent 90 days. An end_date without a time includes that
    whole day."""
    start = _datetime(start_text, "start_date")[0] if start_text else None
    end, whole_day = _datetime(end_text, "end_date") if end_text else (None, False)
    if start is None and end is None:
        end = timezone.now()
    if start is None:
        start = end - DEFAULT_SPAN
    if end is None:
        end = start + DEFAULT_SPAN
    if end < start:
        raise Open311Error(400, "end_date is before start_date.")
    if end - start > DEFAULT_SPAN:
        raise Open311Error(
            400,
            "start_date and end_date may not span more than 90 days; ask "
            "for a longer period in several requests.",
        )
    if whole_day:
        end += timedelta(days=1, microseconds=-1)
    return start, end


def posted_attributes(data: Any) -> dict[str, list[str]]:
    """attribute[code]=value and attribute[code][]=value (multivaluelist), by code."""
    found: dict[str, list[str]] = {}
    for field in data:
        match = _ATTRIBUTE_FIELD.match(field)
        if match:
            values = [v.strip() for v in data.getlist(field) if v.strip()]
            found.setdefault(match["code"], []).extend(values)
    return found


def check_attributes(case_class: CaseClass, posted: dict[str, list[str]]) -> None:
    """Refuse a request that lacks a required attribute or names a list value the definition
    does not offer; anything else is accepted (and, for now, not stored)."""
    problems = []
    for attribute in serialise_attributes(case_class):
        if not attribute["variable"]:
            continue
        code, values = attribute["code"], posted.get(str(attribute["code"]), [])
        label = attribute["description"] or code
        if not values:
            if attribute["required"]:
                problems.append(
                    f"attribute[{code}] ({label}) is required for service_code "
                    f"{case_class.service_code}."
                )
            continue
        if attribute["datatype"] in ("singlevaluelist", "multivaluelist"):
            keys = {str(value["key"]) for value in attribute["values"]}
            unknown = [value for value in values if value not in keys]
            if unknown:
                problems.append(
                    f"attribute[{code}] ({label}) does not offer "
                    f"{', '.join(unknown)}; choose from {', '.join(sorted(keys))}."
                )
            elif attribute["datatype"] == "singlevaluelist" and len(values) > 1:
                problems.append(f"attribute[{code}] ({label}) takes one value.")
        elif attribute["datatype"] == "number":
            for value in values:
                try:
                    ok = math.isfinite(float(value))
                except ValueError:
                    ok = False
                if not ok:
                    problems.append(f"attribute[{code}] ({label}) must be a number, not {value!r}.")
    if problems:
        raise Open311Error(400, *problems)


def reporter_name_of(first: str, last: str) -> str:
    """Chinese names put the family name first, without a space (张 + 三 → 张三)."""
    first, last = first.strip(), last.strip()
    if _CJK.search(first + last):
        return f"{last}{first}"
    return " ".join(part for part in (first, last) if part)


def header_key(request: HttpRequest) -> str:
    return request.META.get(API_KEY_HEADER, "").strip()


def api_key_of(request: HttpRequest, data: Any = None) -> Open311Key:
    """The client's key from the X-Api-Key header or, for a POST, the body's api_key (the
    spec's place); never from the URL (refused before any view runs)."""
    given = header_key(request)
    if not given and data is not None:
        given = (data.get("api_key") or "").strip()
    key = open311_key_for(given)
    if key is None:
        # Never the key itself, nor a part of it.
        logger.warning(
            "open311 key refused", extra={"reason": "unknown or revoked" if given else "missing"}
        )
        where = (
            "the POST body (api_key) or the X-Api-Key header"
            if data is not None
            else "the X-Api-Key header"
        )
        raise Open311Error(
            403,
            "Invalid api_key: it is unknown or no longer active."
            if given
            else f"api_key is missing: send it in {where}; ask the "
            "operator of this server for one.",
        )
    return key


def throttle_post(counter: throttle.Counter) -> None:
    """One more post from this address or with this key: 429 with Retry-After past
    GEOGRID_OPEN311_POSTS_PER_MINUTE (every attempt counts for the address, a wrong key too)."""
    wait = throttle.hit(counter)
    if wait:
        logger.warning("open311 post throttled", extra={"scope": counter.kind, "retry_after": wait})
        raise Open311Error(
            429,
            f"Too many requests: at most "
            f"{settings.GEOGRID_OPEN311_POSTS_PER_MINUTE} posts a minute "
            f"are accepted. Try again in {wait} seconds.",
            retry_after=wait,
        )
