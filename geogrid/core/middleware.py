"""Limits before work: a request body larger than GEOGRID_MAX_UPLOAD_MB is refused with a 413
before anything reads or parses it (Django would otherwise spool a multipart body to disk and
build every part first)."""

from __future__ import annotations

import io
from collections.abc import Callable

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from geogrid.core.db import database_failure, log_failure, unavailable_response


def max_body_bytes() -> int:
    return int(settings.GEOGRID_MAX_UPLOAD_MB) * 1024 * 1024


def _too_large() -> JsonResponse:
    return JsonResponse({"error": "request_too_large", "detail": _(
        "The request is larger than the %(mb)s MB this server accepts. Send fewer or smaller "
        "photos or files.") % {"mb": settings.GEOGRID_MAX_UPLOAD_MB}},
        status=413, json_dumps_params={"ensure_ascii": False})


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
                return JsonResponse({"error": "bad_request",
                                     "detail": _("Content-Length is not a number.")},
                                    status=400)
            if size > limit:
                return _too_large()
        elif "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            source = request.META.get("wsgi.input")
            if source is not None:
                body = source.read(limit + 1)
                if len(body) > limit:
                    return _too_large()
                request.META["CONTENT_LENGTH"] = str(len(body))
                request._stream = LimitedStream(io.BytesIO(body), len(body))
        return self.get_response(request)


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

    def process_exception(self, request: HttpRequest, exception: Exception
                          ) -> HttpResponse | None:
        kind = database_failure(exception)
        if kind is None:
            return None
        log_failure(request, kind, exception)
        return unavailable_response(request, kind)
