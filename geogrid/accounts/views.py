"""Log-in pages: the password step (throttled), the two-factor step, TOTP enrolment.

The admin's own log-in form is not used: /admin/login/ sends people here (geogrid/urls.py), so
the admin is throttled and asks for the second factor exactly like the pages.
"""

from __future__ import annotations

import io
import time
from typing import Any

import segno
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from geogrid.accounts import services, throttle

PENDING = "geogrid_2fa_pending"
# How long the password step stays good while the person types the code.
PENDING_SECONDS = 300


def throttled_message(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return _("登录失败次数过多，已暂时锁定。请在 %(minutes)d 分钟后再试。") % {"minutes": minutes}


def _throttled(
    request: HttpRequest, template: str, seconds: int, context: dict[str, Any] | None = None
) -> HttpResponse:
    response = render(
        request, template, {**(context or {}), "throttled": throttled_message(seconds)}, status=429
    )
    response["Retry-After"] = str(seconds)
    return response


class LoginView(auth_views.LoginView):
    """Django's log-in form, refused with 429 while the account or the address is locked, and
    followed by the code step for an account with a confirmed TOTP device."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        username = request.POST.get("username", "")
        wait = (
            throttle.login_attempt(request, username)
            if username and request.POST.get("password")
            else 0
        )
        if wait:
            # An unbound form: a bound one would check the password when the page asks
            # for its errors, which is what the lock-out must not do.
            return _throttled(
                request,
                self.template_name,
                wait,
                self.get_context_data(form=self.get_form_class()(request=request)),
            )
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: Any) -> HttpResponse:
        username = self.request.POST.get("username", "")
        if username and self.request.POST.get("password"):
            throttle.login_failed(self.request, username)
        return super().form_invalid(form)

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.get_user()
        if services.device_for(user) is not None:
            # The account's count is cleared after the code, not the password: knowing the
            # password must not buy fresh guesses at the code.
            self.request.session[PENDING] = {
                "user": user.pk,
                "backend": user.backend,
                "next": self.get_success_url(),
                "until": time.time() + PENDING_SECONDS,
            }
            return HttpResponseRedirect(reverse("login-code"))
        throttle.login_succeeded(self.request.POST.get("username", ""))
        return super().form_valid(form)


def _pending_user(request: HttpRequest) -> tuple[Any, dict[str, Any]] | None:
    pending = request.session.get(PENDING)
    if not pending or pending.get("until", 0) < time.time():
        request.session.pop(PENDING, None)
        return None
    user = get_user_model().objects.filter(pk=pending["user"], is_active=True).first()
    return (user, pending) if user is not None else None


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
def login_code(request: HttpRequest) -> HttpResponse:
    """The second step: the six-digit code of the authenticator app. Wrong codes count as
    failed log-ins of the account (and django-otp slows the device down as well)."""
    template = "registration/login_code.html"
    found = _pending_user(request)
    if found is None:
        return redirect("login")
    user, pending = found
    if request.method != "POST":
        return render(request, template, {})
    wait = throttle.login_attempt(request, user.get_username())
    if wait:
        return _throttled(request, template, wait)
    device = services.verify(user, request.POST.get("code", ""))
    if device is None:
        throttle.login_failed(request, user.get_username())
        return render(request, template, {"error": _("验证码不正确或已过期，请重试。")}, status=400)
    throttle.login_succeeded(user.get_username())
    del request.session[PENDING]
    user.backend = pending["backend"]
    user.otp_device = device  # django_otp marks the session verified on login
    auth_login(request, user)
    target = pending.get("next") or settings.LOGIN_REDIRECT_URL
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = settings.LOGIN_REDIRECT_URL
    return redirect(target)


def admin_login(request: HttpRequest) -> HttpResponse:
    """/admin/login/: the site's own (throttled, two-factor) log-in, then back to the admin."""
    target = request.GET.get("next") or reverse("admin:index")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("admin:index")
    return HttpResponseRedirect(f"{reverse('login')}?{urlencode({'next': target})}")


@login_required
@sensitive_post_parameters("code")
@csrf_protect
@never_cache
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Enrolment: scan the QR code (or type the key), confirm with one code. An enrolled
    account sees that it is enrolled; removing a device is the admin's job (a lost phone)."""
    template = "accounts/two_factor.html"
    user = request.user
    if services.device_for(user) is not None:
        return render(
            request, template, {"enrolled": True, "required": services.required_for(user)}
        )
    device = services.pending_device(user)
    context = {
        "secret": services.base32_key(device),
        "required": services.required_for(user),
        "next": request.GET.get("next", ""),
    }
    if request.method == "POST":
        if services.confirm(device, request.POST.get("code", "")):
            otp_login(request, device)
            target = request.POST.get("next") or settings.LOGIN_REDIRECT_URL
            if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
                target = settings.LOGIN_REDIRECT_URL
            return redirect(target)
        context["error"] = _("验证码不正确，请核对手机上的时间后重试。")
        return render(request, template, context, status=400)
    return render(request, template, context)


@login_required
@never_cache
def two_factor_qr(request: HttpRequest) -> HttpResponse:
    """The QR code of the enrolment page as SVG (a URL of this site, so the page needs no
    data: images under the Content-Security-Policy)."""
    if services.device_for(request.user) is not None:
        return HttpResponse(status=404)
    device: TOTPDevice = services.pending_device(request.user)
    buffer = io.BytesIO()
    segno.make(device.config_url, error="m").save(
        buffer, kind="svg", xmldecl=False, scale=5, border=2
    )
    return HttpResponse(buffer.getvalue(), content_type="image/svg+xml")
