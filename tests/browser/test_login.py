"""Log-in in real Chromium: the password step, then the TOTP code of a real authenticator
computation, into the admin; two-factor enrolment with its QR code; the lock-out message."""

from __future__ import annotations

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from geogrid.accounts.models import Role
from tests import factories
from tests.accounts.test_views import code_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _collect_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return errors


def test_login_with_password_and_totp_code_reaches_the_admin(
    live_server, page, screenshot, transactional_db
):
    admin = factories.user("root-admin", Role.ADMIN)
    admin.is_staff = admin.is_superuser = True
    admin.save()
    device = TOTPDevice.objects.create(user=admin, name="phone", confirmed=True)
    errors = _collect_errors(page)
    page.goto(live_server.url + "/admin/")
    page.wait_for_url(f"{live_server.url}/login/?next=%2Fadmin%2F")
    screenshot("login-page")
    page.fill("input[name=username]", "root-admin")
    page.fill("input[name=password]", "pw-root-admin")
    page.click("form:has(input[name=password]) button[type=submit]")
    page.wait_for_url(live_server.url + "/login/code/")
    assert "两步验证" in page.text_content("main h1")
    screenshot("login-code-page")
    page.fill("input[name=code]", code_for(device))
    page.click("form:has(input[name=code]) button[type=submit]")
    page.wait_for_url(live_server.url + "/admin/")
    assert page.locator("#site-name").count() == 1
    assert errors == []


def test_two_factor_enrolment_shows_a_qr_code_and_confirms_a_code(
    live_server, page, screenshot, transactional_db
):
    planner = factories.user("planner-a", Role.PLANNER)
    errors = _collect_errors(page)
    page.goto(live_server.url + "/login/?next=/account/2fa/")
    page.fill("input[name=username]", "planner-a")
    page.fill("input[name=password]", "pw-planner-a")
    page.click("form:has(input[name=password]) button[type=submit]")
    page.wait_for_url(live_server.url + "/account/2fa/")
    page.wait_for_function("() => document.querySelector('figure.qr img').naturalWidth > 0")
    screenshot("two-factor-enrolment")
    assert errors == []
    device = TOTPDevice.objects.get(user=planner, confirmed=False)
    assert page.text_content("code.secret").strip()
    page.fill("input[name=code]", code_for(device))
    page.click("form:has(input[name=code]) button[type=submit]")
    page.wait_for_url(live_server.url + "/")
    device.refresh_from_db()
    assert device.confirmed


def test_login_lockout_is_explained_on_the_page(live_server, page, screenshot, transactional_db):
    factories.user("viewer-a", Role.VIEWER)
    page.goto(live_server.url + "/login/")
    for _ in range(6):
        page.fill("input[name=username]", "viewer-a")
        page.fill("input[name=password]", "not-the-password")
        page.click("form:has(input[name=password]) button[type=submit]")
        page.wait_for_load_state()
    assert "登录失败次数过多" in page.text_content("p.error")
    screenshot("login-locked")
