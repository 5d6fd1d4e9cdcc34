"""The account admin: API tokens listed without secrets and revoked; passwords chosen there
must pass Django's four validators."""

from __future__ import annotations

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from knox.models import AuthToken

from geogrid.accounts.demo import DEMO_PASSWORD, DEMO_USERS, FIELD_INSPECTORS
from geogrid.accounts.models import Role, User
from geogrid.accounts.services import issue_token


def test_token_admin_lists_tokens_without_their_secrets(admin_client, viewer):
    token, _ = issue_token(user=viewer)
    row = AuthToken.objects.get(user=viewer)
    listing = admin_client.get("/admin/knox/authtoken/")
    assert listing.status_code == 200
    text = listing.content.decode()
    assert "viewer" in text
    # Neither the token nor its first characters (the lookup key) are shown; rows are named
    # by their digest (knox's primary key), from which the token cannot be recovered.
    assert token not in text and row.token_key not in text
    detail = admin_client.get(f"/admin/knox/authtoken/{row.pk}/change/")
    assert detail.status_code == 200
    assert token not in detail.content.decode() and row.token_key not in detail.content.decode()


def test_token_admin_revokes_selected_tokens(admin_client, viewer, admin_user):
    revoked, _ = issue_token(user=viewer)
    kept, _ = issue_token(user=admin_user)
    row = AuthToken.objects.get(user=viewer)
    response = admin_client.post(
        "/admin/knox/authtoken/", {"action": "revoke", "_selected_action": [row.pk]}
    )
    assert response.status_code == 302
    assert list(AuthToken.objects.values_list("user__username", flat=True)) == [admin_user.username]
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {revoked}")
    assert client.get("/api/v1/cases/").status_code == 401


def test_token_admin_cannot_mint_tokens(admin_client):
    assert admin_client.get("/admin/knox/authtoken/add/").status_code == 403


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("Gx7-short", "password_too_short"),  # under 12 characters
        ("password1234", "password_too_common"),
        ("837261940582", "password_entirely_numeric"),
        ("zhangwei-planner", "password_too_similar"),  # the username
    ],
)
def test_password_validators_refuse_weak_passwords(db, password, code):
    user = User(username="zhangwei-planner", role=Role.PLANNER)
    with pytest.raises(ValidationError) as refused:
        validate_password(password, user)
    assert code in {error.code for error in refused.value.error_list}


def test_admin_refuses_a_weak_password_for_a_new_user(admin_client):
    response = admin_client.post(
        "/admin/accounts/user/add/",
        {
            "username": "liming",
            "password1": "12345678",
            "password2": "12345678",
            "usable_password": "true",
            "role": Role.INSPECTOR,
        },
    )
    assert response.status_code == 200
    assert (
        "This password is too short" in response.content.decode()
        or "密码长度太短" in response.content.decode()
    )
    assert not User.objects.filter(username="liming").exists()
    accepted = admin_client.post(
        "/admin/accounts/user/add/",
        {
            "username": "liming",
            "password1": "街道巡查-2026-qx",
            "password2": "街道巡查-2026-qx",
            "usable_password": "true",
            "role": Role.INSPECTOR,
        },
    )
    assert accepted.status_code == 302
    assert User.objects.get(username="liming").check_password("街道巡查-2026-qx")


def test_demo_password_passes_the_validators_for_every_demo_user(db):
    for username, role, label in DEMO_USERS + FIELD_INSPECTORS:
        validate_password(DEMO_PASSWORD, User(username=username, role=role, first_name=label))


def test_totp_device_admin_never_shows_the_secret(admin_client, viewer):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=viewer, name="phone", confirmed=True)
    listing = admin_client.get("/admin/otp_totp/totpdevice/")
    assert listing.status_code == 200 and "viewer" in listing.content.decode()
    detail = admin_client.get(f"/admin/otp_totp/totpdevice/{device.pk}/change/")
    assert detail.status_code == 200 and device.key not in detail.content.decode()
    assert admin_client.get(f"/admin/otp_totp/totpdevice/{device.pk}/config/").status_code == 403
    # Deleting a lost phone's device is what the admin is for.
    admin_client.post(f"/admin/otp_totp/totpdevice/{device.pk}/delete/", {"post": "yes"})
    assert not TOTPDevice.objects.filter(pk=device.pk).exists()
