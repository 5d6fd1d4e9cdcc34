"""Two-factor log-in with real TOTP codes (django_otp.oath, RFC 6238): enrolment, the code
step after the password, the admin behind the same steps, GEOGRID_REQUIRE_2FA."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken
from rest_framework.test import APIClient

from geogrid.accounts.models import Role
from tests import factories


def code_for(device: TOTPDevice, *, steps_ago: int = 0) -> str:
    """The code an authenticator app shows now (or `steps_ago` 30-second steps before)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() - steps_ago * device.step
    return f"{totp.token():0{device.digits}d}"


def forget_failures(device: TOTPDevice) -> None:
    """Skip django-otp's own back-off after a wrong code (1 s, doubling), which the test would
    otherwise have to sleep through."""
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_count=0, throttling_failure_timestamp=None
    )


@pytest.fixture
def planner_2fa(db):
    user = factories.user("planner-z", Role.PLANNER)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return user, device


def _password(client: Client, username: str, next_url: str = "/"):
    return client.post(
        f"/login/?next={next_url}",
        {"username": username, "password": "pw-" + username, "next": next_url},
    )


def _user_id(client: Client) -> str | None:
    return client.session.get("_auth_user_id")


def test_login_with_a_device_asks_for_the_code_before_logging_in(client, planner_2fa):
    user, device = planner_2fa
    response = _password(client, "planner-z", "/grids/editor/")
    assert response.status_code == 302 and response["Location"] == "/login/code/"
    assert _user_id(client) is None  # the password alone logs no one in
    page = client.get("/login/code/")
    assert page.status_code == 200 and 'name="code"' in page.content.decode()
    done = client.post("/login/code/", {"code": code_for(device)})
    assert done.status_code == 302 and done["Location"] == "/grids/editor/"
    assert _user_id(client) == str(user.pk)
    assert client.session["otp_device_id"] == device.persistent_id


def test_login_code_step_refuses_wrong_and_reused_codes(client, planner_2fa):
    _, device = planner_2fa
    _password(client, "planner-z")
    code = code_for(device)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    refused = client.post("/login/code/", {"code": wrong})
    assert refused.status_code == 400 and _user_id(client) is None
    assert "验证码不正确" in refused.content.decode()
    forget_failures(device)
    assert client.post("/login/code/", {"code": code}).status_code == 302
    # The same code a second time (someone who saw it) is refused.
    other = Client()
    _password(other, "planner-z")
    assert other.post("/login/code/", {"code": code}).status_code == 400
    assert _user_id(other) is None


def test_wrong_codes_count_as_failed_logins(client, planner_2fa):
    _, device = planner_2fa
    _password(client, "planner-z")
    for _ in range(5):
        forget_failures(device)
        client.post("/login/code/", {"code": "000000"})
    forget_failures(device)
    locked = client.post("/login/code/", {"code": code_for(device)})
    assert locked.status_code == 429 and int(locked["Retry-After"]) > 0


def test_code_step_without_the_password_step_goes_back_to_login(client, planner_2fa):
    _, device = planner_2fa
    response = client.post("/login/code/", {"code": code_for(device)})
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert _user_id(client) is None


def test_admin_asks_for_the_code_too(client, db):
    admin = factories.user("root-z", Role.ADMIN)
    admin.is_staff = admin.is_superuser = True
    admin.save()
    device = TOTPDevice.objects.create(user=admin, name="phone", confirmed=True)
    entry = client.get("/admin/")
    assert entry.status_code == 302
    login = client.get(entry["Location"])
    assert login.status_code == 302 and login["Location"] == "/login/?next=%2Fadmin%2F"
    assert _password(client, "root-z", "/admin/")["Location"] == "/login/code/"
    assert client.get("/admin/").status_code == 302
    assert client.post("/login/code/", {"code": code_for(device)})["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_enrolment_confirms_a_device_with_a_real_code(client, db):
    user = factories.user("planner-e", Role.PLANNER)
    client.force_login(user)
    page = client.get("/account/2fa/")
    assert page.status_code == 200
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    from geogrid.accounts.services import base32_key

    assert base32_key(device) in page.content.decode()
    assert "<script" not in page.content.decode().split("<main>")[1].split("</main>")[0]
    qr = client.get("/account/2fa/qr.svg")
    assert qr.status_code == 200 and qr["Content-Type"] == "image/svg+xml"
    assert qr.content.startswith(b"<svg")
    # The same page again shows the same key: one pending device.
    client.get("/account/2fa/")
    assert TOTPDevice.objects.filter(user=user).count() == 1
    wrong = client.post("/account/2fa/", {"code": "000000"})
    assert wrong.status_code == 400
    forget_failures(device)
    done = client.post("/account/2fa/", {"code": code_for(device, steps_ago=1), "next": "/"})
    assert done.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/account/2fa/qr.svg").status_code == 404
    assert "已启用两步验证" in client.get("/account/2fa/").content.decode()
    # From now on the password alone is not enough.
    client.logout()
    assert _password(client, "planner-e")["Location"] == "/login/code/"


def test_enrolment_needs_a_logged_in_user(client, db):
    assert client.get("/account/2fa/").status_code == 302
    assert client.get("/account/2fa/qr.svg").status_code == 302


def test_api_token_with_a_device_needs_the_code(planner_2fa):
    _, device = planner_2fa
    api = APIClient()
    refused = api.post("/api/v1/auth/token/", {"username": "planner-z", "password": "pw-planner-z"})
    assert refused.status_code == 401 and "otp" in refused.json()["detail"]
    issued = api.post(
        "/api/v1/auth/token/",
        {"username": "planner-z", "password": "pw-planner-z", "otp": code_for(device)},
    )
    assert issued.status_code == 200 and AuthToken.objects.count() == 1


# --- GEOGRID_REQUIRE_2FA ------------------------------------------------------------------------
def test_required_2fa_sends_planners_without_a_device_to_enrolment(client, settings, city):
    settings.GEOGRID_REQUIRE_2FA = True
    planner = factories.user("planner-r", Role.PLANNER, scope=[city["district"]])
    assert _password(client, "planner-r", "/grids/editor/")["Location"] == "/grids/editor/"
    blocked = client.get("/grids/editor/")
    assert blocked.status_code == 302
    assert blocked["Location"] == "/account/2fa/?next=%2Fgrids%2Feditor%2F"
    api = client.get("/api/v1/grids/110101/topology/")
    assert api.status_code == 403 and api.json()["error"] == "two_factor_required"
    assert client.get("/admin/").status_code == 302
    assert client.get("/account/2fa/").status_code == 200  # enrolment stays reachable
    device = TOTPDevice.objects.get(user=planner)
    assert (
        client.post("/account/2fa/", {"code": code_for(device), "next": "/grids/editor/"})[
            "Location"
        ]
        == "/grids/editor/"
    )
    assert client.get("/grids/editor/").status_code == 200
    assert client.get("/api/v1/grids/110101/topology/").status_code == 200


def test_required_2fa_leaves_other_roles_alone(client, settings, city):
    settings.GEOGRID_REQUIRE_2FA = True
    factories.user("operator-r", Role.OPERATOR)
    assert _password(client, "operator-r", "/cases/desk/")["Location"] == "/cases/desk/"
    assert client.get("/cases/desk/").status_code == 200


def test_required_2fa_refuses_api_tokens_to_admins_without_a_device(settings, db):
    settings.GEOGRID_REQUIRE_2FA = True
    factories.user("root-r", Role.ADMIN)
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "root-r", "password": "pw-root-r"}
    )
    assert response.status_code == 403 and "/account/2fa/" in response.json()["detail"]
    assert not AuthToken.objects.exists()


def test_the_password_alone_does_not_reset_the_count_of_a_two_factor_account(client, planner_2fa):
    _, device = planner_2fa
    for _ in range(4):
        client.post("/login/", {"username": "planner-z", "password": "wrong-password"})
    assert _password(client, "planner-z")["Location"] == "/login/code/"
    # That was the fifth attempt of the account: the code step is the sixth, and locked.
    locked = client.post("/login/code/", {"code": code_for(device)})
    assert locked.status_code == 429 and _user_id(client) is None
