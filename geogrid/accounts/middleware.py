"""GEOGRID_REQUIRE_2FA: admins and planners use nothing before their second factor.

Logged in by session without a verified device, they are sent to enrolment (no device yet) or
back to the log-in (a device, but this session never gave its code, e.g. it began before the
device was added); API calls get a 403 that says so. API tokens never pass here as a user (DRF
authenticates them later): a token is only issued after the code (geogrid/accounts/api.py).
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from geogrid.accounts import services

# Paths a person must still reach: enrolment and its QR code, log-in/out, the language switch,
# static files.
ALLOWED_PREFIXES = ("/account/2fa/", "/login/", "/logout/", "/i18n/", "/static/")


class RequireTwoFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            services.required_for(user)
            and not user.is_verified()
            and not request.path.startswith(ALLOWED_PREFIXES)
        ):
            return self._refuse(request)
        return self.get_response(request)

    def _refuse(self, request: HttpRequest) -> HttpResponse:
        has_device = services.device_for(request.user) is not None
        if request.path.startswith(("/api/", "/tiles/")):
            message = (
                _("此账户须先用验证码完成两步验证登录。")
                if has_device
                else _("此账户须先在 /account/2fa/ 启用两步验证。")
            )
            return JsonResponse({"error": "two_factor_required", "detail": message}, status=403)
        if has_device:
            logout(request)
            target = reverse("login")
        else:
            target = reverse("two-factor")
        return HttpResponseRedirect(f"{target}?{urlencode({'next': request.get_full_path()})}")
