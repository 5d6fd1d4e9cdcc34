"""API token authentication: knox's, refusing malformed tokens before they reach the database."""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext_lazy as _
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.settings import knox_settings
from rest_framework import exceptions

_TOKEN = re.compile(rb"[0-9a-f]+")


class TokenAuthentication(KnoxTokenAuthentication):
    """`Authorization: Token <64 hex digits>`; anything else is a 401 at once (a NUL byte or
    other junk would otherwise make the token lookup itself fail)."""

    def authenticate_credentials(self, token: bytes) -> tuple[Any, Any]:
        if (len(token) != knox_settings.AUTH_TOKEN_CHARACTER_LENGTH
                or not _TOKEN.fullmatch(token)):
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        return super().authenticate_credentials(token)
