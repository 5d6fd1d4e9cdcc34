"""The OpenAPI schema true to every answer (drf-spectacular): every operation documents the
error answers it can give, in the one error shape of geogrid.core.api.exception_handler."""

from __future__ import annotations

from typing import Any, Literal

from drf_spectacular.openapi import AutoSchema

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error", "detail"],
    "properties": {
        "error": {"type": "string", "description": "A machine-readable code, e.g. bad_request."},
        # A message for people; DRF's own validation errors may give a list or an object.
        "detail": {"description": "What went wrong and what to send instead."},
        "field": {"type": "string", "description": "The parameter or body field at fault."},
    },
}
ERRORS = {
    "400": "Bad input: a parameter or body field (named in `field`) cannot be used.",
    "401": "Not logged in (the operation needs an account).",
    "403": "Your role or scope does not allow this.",
    "404": "No such object, or it is outside what you may see.",
    "405": "Method not allowed.",
    "413": "The request body is larger than GEOGRID_MAX_UPLOAD_MB.",
}
WRITE_ERRORS = {"409": "The object changed since you read it (send the current version)."}


class GeoGridAutoSchema(AutoSchema):
    def _get_response_bodies(
        self, direction: Literal["request", "response"] = "response"
    ) -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        errors = dict(ERRORS)
        if self.method in ("POST", "PATCH", "PUT"):
            errors.update(WRITE_ERRORS)
        for code, description in errors.items():
            responses.setdefault(
                code,
                {
                    "description": description,
                    "content": {"application/json": {"schema": ERROR_SCHEMA}},
                },
            )
        return responses
