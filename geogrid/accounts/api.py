"""API tokens: obtain (username + password, and the code when the account has two-factor),
log out (this token), log out everywhere (every token of the account).

Tokens are django-rest-knox's: the client sends `Authorization: Token <token>`; the server keeps
only a digest, and a token stops working at its `expiry` or when revoked.
"""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, AuthenticationFailed, PermissionDenied
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from geogrid.accounts import services, throttle
from geogrid.accounts.actors import actor_of
from geogrid.accounts.auth import TokenAuthentication
from geogrid.accounts.views import throttled_message
from geogrid.core.api import BadRequest


class TooManyAttempts(APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "throttled"

    def __init__(self, wait: int) -> None:
        super().__init__(detail=throttled_message(wait))
        self.wait = wait


class TokenRequest(serializers.Serializer):
    """What a client sends; DRF's CharField refuses NUL bytes and non-text values (400)."""

    username = serializers.CharField(max_length=150)
    password = serializers.CharField(
        max_length=4096, trim_whitespace=False, style={"input_type": "password"}
    )
    otp = serializers.CharField(
        required=False,
        max_length=10,
        help_text=(
            "The 6-digit code of the authenticator app; required when the account has two-factor "
            "log-in."
        ),
    )


TokenResponse = inline_serializer(
    "TokenResponse",
    {
        "token": serializers.CharField(
            help_text="Send as `Authorization: Token <token>`. Shown "
            "once: the server stores only its digest."
        ),
        "expiry": serializers.DateTimeField(help_text="When the token stops working."),
    },
)
Error = inline_serializer(
    "AuthError", {"error": serializers.CharField(), "detail": serializers.CharField()}
)


class ObtainTokenView(APIView):
    """POST username and password (form or JSON) → a new API token and its expiry."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=TokenRequest,
        auth=[],
        responses={
            200: TokenResponse,
            400: OpenApiResponse(Error, description="username or password missing"),
            401: OpenApiResponse(Error, description="wrong credentials or code"),
            403: OpenApiResponse(Error, description="two-factor enrolment required"),
            429: OpenApiResponse(
                Error, description="too many failed attempts; see the Retry-After header"
            ),
        },
        summary="Obtain an API token",
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        given = TokenRequest(data=request.data)
        if not given.is_valid():
            field, problems = next(iter(given.errors.items()))
            raise BadRequest(
                _("请提供用户名 (username) 和密码 (password)。")
                + f" {field}: "
                + " ".join(str(problem) for problem in problems),
                field=None if field == "non_field_errors" else field,
            )
        data = given.validated_data
        username, password = data["username"], data["password"]
        wait = throttle.login_attempt(request, username)
        if wait:
            raise TooManyAttempts(wait)
        user = authenticate(request, username=username, password=password)
        if user is None:
            throttle.login_failed(request, username)
            raise AuthenticationFailed(_("用户名或密码不正确。"))
        if services.device_for(user) is not None:
            if not services.verify(user, data.get("otp", "")):
                throttle.login_failed(request, username)
                raise AuthenticationFailed(
                    _("此账户已启用两步验证：请在 otp 字段中提供验证器 App 的当前验证码。")
                )
        elif services.required_for(user):
            raise PermissionDenied(_("此账户须先在 /account/2fa/ 启用两步验证，之后才能获取令牌。"))
        throttle.login_succeeded(username)
        token, expiry = services.issue_token(user=user)
        return Response({"token": token, "expiry": expiry})

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        if isinstance(exc, TooManyAttempts):
            response["Retry-After"] = str(exc.wait)
        return response

    def get_authenticate_header(self, request: Request) -> str:
        # A 401 here means wrong credentials; the scheme to use afterwards is Token.
        return "Token"


class LogoutView(APIView):
    """Revoke the token this request is authenticated with."""

    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None, responses={204: None}, summary="Revoke this API token", tags=["auth"]
    )
    def post(self, request: Request) -> Response:
        services.revoke_tokens(
            actor=actor_of(request), tokens=type(request.auth).objects.filter(pk=request.auth.pk)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllView(APIView):
    """Revoke every API token of the account (e.g. after a laptop was lost)."""

    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        responses={204: None},
        summary="Revoke every API token of this account",
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        services.revoke_tokens(actor=actor_of(request), tokens=request.user.auth_token_set.all())
        return Response(status=status.HTTP_204_NO_CONTENT)
