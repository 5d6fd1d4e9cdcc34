"""Views shared by every app."""

from __future__ import annotations

import mimetypes
import posixpath
import sys
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.views import defaults
from django.views.static import serve

from geogrid.core.db import database_failure, log_failure, unavailable_response
from geogrid.core.privacy import may_read_media


def media(request: HttpRequest, path: str) -> HttpResponseBase:
    """An uploaded file, to those who may read the object it belongs to (core/privacy.py asks
    the app that owns the folder); 404 otherwise, the same answer as for a file that does not
    exist. Only files whose type was decided by decoding them are stored (core.photos), so the
    extension, and with it the Content-Type, is that of an image.

    After the check the bytes come from Django (GEOGRID_MEDIA_ACCEL=none) or from the web
    server in front: nginx through X-Accel-Redirect to an `internal` location, apache through
    X-Sendfile — MEDIA_ROOT itself is never a public folder."""
    clean = posixpath.normpath(path).lstrip("/")
    if clean != path or clean.startswith("..") or not may_read_media(clean, request.user):
        raise Http404("This file does not exist, or you may not see it.")
    accel = settings.GEOGRID_MEDIA_ACCEL
    if accel == "none":
        response = serve(request, clean, document_root=str(settings.MEDIA_ROOT))
    else:
        response = HttpResponse(
            content_type=mimetypes.guess_type(clean)[0] or "application/octet-stream"
        )
        if accel == "nginx":
            response["X-Accel-Redirect"] = settings.GEOGRID_MEDIA_ACCEL_PREFIX + quote(clean)
        else:
            response["X-Sendfile"] = str(Path(settings.MEDIA_ROOT) / clean)
    response["X-Content-Type-Options"] = "nosniff"
    # Per user: a shared cache must not hand one reader's photo to the next.
    response["Cache-Control"] = "private, max-age=3600"
    response["Vary"] = "Cookie, Authorization"
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a database failure outside a view (a middleware saving the session, loading
    the user) is a 503 like one inside it (DatabaseFailureMiddleware); anything else is
    Django's plain 500 page."""
    exc = sys.exc_info()[1]
    kind = database_failure(exc) if exc is not None else None
    if kind is None or exc is None:
        return defaults.server_error(request)
    log_failure(request, kind, exc)
    return unavailable_response(request, kind)
