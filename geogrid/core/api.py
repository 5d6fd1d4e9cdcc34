"""API plumbing shared by every app: one error shape, and never a 500 for bad input."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class BadRequest(exceptions.APIException):
    """A 400 with a message a person can act on (bad parameter, bad geometry, bad code)."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, extra: dict | None = None):
        self.field = field
        self.extra = extra or {}
        super().__init__(detail=message)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Turn domain errors into JSON errors: {"error": code, "detail": message, ...}."""
    if isinstance(exc, DjangoValidationError):
        exc = BadRequest("; ".join(exc.messages))
    elif isinstance(exc, ValueError) and not isinstance(exc, exceptions.APIException):
        # Domain ValueErrors (CRSError, CoordinateError, CodeError, GeometryError...) carry
        # messages written for people; they are the client's mistake, not ours.
        exc = BadRequest(str(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data.get("detail") if isinstance(response.data, dict) else response.data
    body: dict[str, Any] = {
        "error": getattr(exc, "default_code", "error"),
        "detail": detail if detail is not None else response.data,
    }
    if isinstance(exc, BadRequest):
        if exc.field:
            body["field"] = exc.field
        body.update(exc.extra)
    response.data = body
    return response
