"""API plumbing shared by every app: one error shape, and never a 500 for bad input."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import models
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from geogrid.core.codes import validate_grid_code
from geogrid.core.db import database_failure, failure_message, log_failure, mark_unavailable
from geogrid.core.params import ParamError, check_text, text


class BadRequest(exceptions.APIException):
    """A 400 with a message a person can act on (bad parameter, bad geometry, bad code)."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "bad_request"

    def __init__(
        self, message: str, *, field: str | None = None, extra: dict[str, Any] | None = None
    ) -> None:
        self.field = field
        self.extra = extra or {}
        super().__init__(detail=message)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Turn domain errors into JSON errors: {"error": code, "detail": message, ...}; a
    database that is down or too slow is a 503 with Retry-After (geogrid/core/db.py)."""
    failure = database_failure(exc)
    if failure is not None:
        request = context.get("request")
        if request is not None:
            log_failure(request, failure, exc)
        unavailable = Response(
            {"error": failure, "detail": failure_message(failure)},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
        return mark_unavailable(unavailable)
    if isinstance(exc, ParamError):
        exc = BadRequest(str(exc), field=exc.field)
    elif isinstance(exc, DjangoValidationError):
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


class ObjectJSONParser(JSONParser):
    """JSON bodies of every write endpoint are objects: an array, a string or a number is a 400
    here, not an AttributeError (`.get` on a list) in the view."""

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        data = super().parse(stream, media_type, parser_context)
        if not isinstance(data, dict):
            raise exceptions.ParseError(_('The body must be a JSON object, e.g. {"name": "…"}.'))
        return data


# The longest free text a body field may carry when its column sets no limit (a TextField).
MAX_TEXT_LENGTH = 4000


def body_string(data: Mapping[str, Any], name: str, *, max_length: int = MAX_TEXT_LENGTH) -> str:
    """One body field as text ("" when absent or null): a list, an object, a NUL byte or more
    than max_length characters is a 400 naming the field."""
    value = data.get(name, "")
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise BadRequest(
            _("'%(name)s' must be text, not %(type)s.")
            % {"name": name, "type": type(value).__name__},
            field=name,
        )
    try:
        return check_text(str(value), name, max_length=max_length)
    except ParamError as exc:
        raise BadRequest(str(exc), field=name) from exc


def body_text(
    data: Mapping[str, Any], model: type[models.Model], names: Iterable[str]
) -> dict[str, str]:
    """The text fields of a request body that are present, checked against the model's own
    fields: text (not a list, object or number), no NUL byte (PostgreSQL cannot store one), at
    most the column's max_length, one of its choices, a valid e-mail for an EmailField. A
    foreign key is sent as its target's code. A 400 names the field; null means empty."""
    checked: dict[str, str] = {}
    for name in names:
        if name not in data:
            continue
        field = model._meta.get_field(name)
        if isinstance(field, models.ForeignKey):  # sent as the related row's code
            field = field.related_model._meta.get_field("code")
        # Type, control characters and the column's length, as for any other body field.
        value = body_string(
            data, name, max_length=getattr(field, "max_length", None) or MAX_TEXT_LENGTH
        )
        choices = getattr(field, "choices", None)
        if choices and value and value not in [str(c[0]) for c in choices]:
            raise BadRequest(
                _("Unknown %(name)s %(value)r; use one of: %(choices)s.")
                % {
                    "name": name,
                    "value": value,
                    "choices": ", ".join(str(c[0]) for c in choices),
                },
                field=name,
            )
        if isinstance(field, models.EmailField) and value:
            try:
                validate_email(value)
            except DjangoValidationError:
                raise BadRequest(
                    _("'%(name)s' is not an e-mail address: %(value)r.")
                    % {"name": name, "value": value},
                    field=name,
                ) from None
        checked[name] = value
    return checked


def grid_code_param(params: Mapping[str, Any], name: str) -> str | None:
    """A grid code from the query string, None when absent; a 400 naming the parameter when
    it is not a grid code."""
    code = text(params, name, max_length=30)
    if code:
        try:
            validate_grid_code(code)
        except ValueError as exc:
            raise BadRequest(str(exc), field=name) from exc
    return code
