"""API token authentication: knox's, refusing malformed tokens before they reach the database."""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.settings import knox_settings
from rest_framework import exceptions

_TOKEN = re.compile(rb"[0-9a-f]+")


class TokenAuthentication(KnoxTokenAuthentication):
    """`Authorization: Token <64 hex digits>`; anything else is a 401 at once (a NUL byte or
    other junk would otherwise make the token lookup itself fail)."""

    def authenticate_credentials(self, token: bytes) -> tuple[Any, Any]:
        if len(token) != knox_settings.AUTH_TOKEN_CHARACTER_LENGTH or not _TOKEN.fullmatch(token):
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        return super().authenticate_credentials(token)


class TokenScheme(OpenApiAuthenticationExtension):
    """The OpenAPI security scheme of these tokens (`Authorization: Token <token>`)."""

    target_class = "geogrid.accounts.auth.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <token>` from POST /api/v1/auth/token/; expires.",
        }
