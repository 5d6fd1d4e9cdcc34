"""Middleware shared by every app.

- Limits before work: a request body larger than GEOGRID_MAX_UPLOAD_MB is refused with a 413
  before anything reads or parses it (Django would otherwise spool a multipart body to disk and
  build every part first).
- Request ids and one log line per request (RequestLogMiddleware).
- gzip for the data answers (JSON, vector tiles), never for pages (CompressDataMiddleware).
- Health probes are answered by geogrid/core/health.py's ProbeMiddleware."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable
from typing import BinaryIO, cast

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.middleware.gzip import GZipMiddleware
from django.utils.cache import patch_vary_headers
from django.utils.functional import SimpleLazyObject, empty
from django.utils.translation import gettext as _

from geogrid.core.db import database_failure, log_failure, unavailable_response
from geogrid.core.logs import accept_request_id, request_id_var


def max_body_bytes() -> int:
    return int(settings.GEOGRID_MAX_UPLOAD_MB) * 1024 * 1024


def _too_large() -> JsonResponse:
    return JsonResponse(
        {
            "error": "request_too_large",
            "detail": _(
                "The request is larger than the %(mb)s MB this server accepts. Send fewer or smaller "
                "photos or files."
            )
            % {"mb": settings.GEOGRID_MAX_UPLOAD_MB},
        },
        status=413,
        json_dumps_params={"ensure_ascii": False},
    )


class BodySizeLimitMiddleware:
    """413 when Content-Length says the body is too large, or when a body streamed without it
    (Transfer-Encoding: chunked) grows past the limit; such a body is read here, at most one
    byte past the limit, and handed on as an ordinary body of known length."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = max_body_bytes()
        declared = request.META.get("CONTENT_LENGTH")
        if declared:
            try:
                size = int(declared)
            except ValueError:
                return JsonResponse(
                    {"error": "bad_request", "detail": _("Content-Length is not a number.")},
                    status=400,
                )
            if size > limit:
                return _too_large()
        elif "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            source = request.META.get("wsgi.input")
            if source is not None:
                body = source.read(limit + 1)
                if len(body) > limit:
                    return _too_large()
                request.META["CONTENT_LENGTH"] = str(len(body))
                # LimitedStream is the file-like object Django itself puts there.
                request._stream = cast(BinaryIO, LimitedStream(io.BytesIO(body), len(body)))
        return self.get_response(request)


# Answers worth compressing: JSON of every flavour (application/json and any …+json type:
# GeoJSON, the OpenAPI schema), the schema in YAML, and Mapbox vector tiles, which PostGIS
# writes uncompressed.
COMPRESSED_TYPES = (
    "application/json",
    "application/vnd.oai.openapi",
    "application/vnd.mapbox-vector-tile",
)


def _compressible(content_type: str) -> bool:
    media_type = content_type.split(";")[0].strip().lower()
    return media_type in COMPRESSED_TYPES or media_type.endswith("+json")


class CompressDataMiddleware(GZipMiddleware):
    """Django's GZipMiddleware, for GET/HEAD answers of the data types above only.

    Not for HTML: a page carries the CSRF token next to text a visitor can make the page repeat,
    and compression would leak the token's bytes through the response size (BREACH). Not for
    the answers to POSTs either: those can hold a secret made for the caller (a new API token)
    and are small. Static files never get here: whitenoise, earlier in MIDDLEWARE, sends them
    already compressed. GZipMiddleware makes a strong ETag weak on the compressed answer and
    adds `Vary: Accept-Encoding`; a 304 to a request that named that weak ETag is given the same
    ETag and Vary, so a cache keeps matching (the tile views compare the tag, weak or not).
    """

    # The random gzip header bytes of Django's BREACH mitigation are for secret-bearing pages;
    # these answers have no secret to hide, so they are left out (smaller tiles).
    max_random_bytes = 0

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if request.method not in ("GET", "HEAD"):
            return response
        if response.status_code == 304:
            etag = response.get("ETag", "")
            if etag.startswith('"') and f"W/{etag}" in request.headers.get("If-None-Match", ""):
                response.headers["ETag"] = f"W/{etag}"
                patch_vary_headers(response, ("Accept-Encoding",))
            return response
        if not _compressible(response.get("Content-Type", "")):
            return response
        return super().process_response(request, response)


# --- Request ids and the request line ------------------------------------------------------------
request_log = logging.getLogger("geogrid.request")


def _user_id(request: HttpRequest) -> int | None:
    """The numeric id of the account, if something during the request already resolved it
    (authentication middleware, DRF, a permission check). An unresolved lazy user is left alone:
    resolving it only to log it would cost a session query on requests that never needed it."""
    user = request.__dict__.get("user")
    if user is None:
        return None
    if isinstance(user, SimpleLazyObject) and user._wrapped is empty:
        return None
    return user.pk if getattr(user, "is_authenticated", False) else None


def _route(request: HttpRequest) -> tuple[str | None, str | None]:
    """(route pattern, view name): `api/v1/cases/<int:pk>/`, not `/api/v1/cases/42/` — lines
    group by endpoint, and no path segment or query string a person typed reaches the log."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return None, None
    return match.route or None, match.view_name or None


class RequestLogMiddleware:
    """First in MIDDLEWARE: gives each request an id (a sane incoming X-Request-ID, else a new
    one) that every log line written while serving it carries (geogrid.core.logs), answers it in
    X-Request-ID, and writes one line per request: method, route, view, status, duration_ms,
    user_id, request_id."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = accept_request_id(request.META.get("HTTP_X_REQUEST_ID"))
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            # This line replaces Django's "Not Found: /path" warnings for 4xx/5xx answers (which
            # Django writes after the middleware, without the request id, with the raw path).
            # Exceptions are still logged by django.request, with their traceback, inside the
            # request (so with its id).
            response._has_been_logged = True  # type: ignore[attr-defined]
            route, view = _route(request)
            status = response.status_code
            request_log.log(
                logging.WARNING if status >= 500 else logging.INFO,
                "request",
                extra={
                    "method": request.method,
                    "route": route,
                    "view": view,
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "user_id": _user_id(request),
                },
            )
            return response
        finally:
            request_id_var.reset(token)


class DatabaseFailureMiddleware:
    """A view that fails because the database is down, restarting or too slow answers 503 with
    Retry-After (JSON for API clients, a plain page for people) instead of a 500 with a
    traceback in the log; the broken connection is already marked and is replaced before the
    next request (geogrid/core/db.py). Failures outside views are handled by handler500
    (geogrid/core/views.py)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        kind = database_failure(exception)
        if kind is None:
            return None
        log_failure(request, kind, exception)
        return unavailable_response(request, kind)
