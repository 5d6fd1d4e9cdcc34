"""API tokens: obtained with username and password, stored only as a digest, expiring, revoked
by log-out; the response shape is in the OpenAPI schema."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from knox.models import AuthToken
from rest_framework.test import APIClient

from geogrid.accounts.models import Role
from tests import factories

TOPOLOGY = "/api/v1/grids/110101/topology/"


@pytest.fixture
def planner_user(city):
    return factories.user("planner-t", Role.PLANNER, scope=[city["district"]])


def _token(username: str = "planner-t", **extra) -> str:
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": username, "password": "pw-" + username, **extra}
    )
    assert response.status_code == 200, response.content
    return response.json()["token"]


def _with(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_api_token_is_issued_for_username_and_password_and_works(planner_user):
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "planner-t", "password": "pw-planner-t"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "expiry"}
    expiry = parse_datetime(body["expiry"])
    assert abs(expiry - (timezone.now() + timedelta(hours=12))) < timedelta(minutes=1)
    assert _with(body["token"]).get(TOPOLOGY).status_code == 200


def test_api_token_is_stored_only_as_a_digest(planner_user):
    token = _token()
    row = AuthToken.objects.get(user=planner_user)
    assert token not in (row.digest, row.token_key) and len(row.digest) == 128
    assert row.token_key == token[:15]  # the lookup prefix, not enough to use it


def test_api_token_expires_after_the_configured_hours(planner_user, settings):
    settings.GEOGRID_API_TOKEN_TTL_HOURS = 1
    token = _token()
    row = AuthToken.objects.get(user=planner_user)
    assert abs(row.expiry - (timezone.now() + timedelta(hours=1))) < timedelta(minutes=1)
    AuthToken.objects.filter(pk=row.pk).update(expiry=timezone.now() - timedelta(seconds=1))
    response = _with(token).get(TOPOLOGY)
    assert response.status_code == 401
    assert not AuthToken.objects.exists()  # an expired token is deleted when it is seen


def test_api_logout_revokes_only_this_token(planner_user):
    first, second = _token(), _token()
    assert _with(first).post("/api/v1/auth/logout/").status_code == 204
    assert _with(first).get(TOPOLOGY).status_code == 401
    assert _with(second).get(TOPOLOGY).status_code == 200


def test_api_logout_all_revokes_every_token_of_the_account(planner_user, viewer):
    first, second = _token(), _token()
    viewer_token = _token("viewer")
    assert _with(first).post("/api/v1/auth/logout-all/").status_code == 204
    assert _with(second).get(TOPOLOGY).status_code == 401
    assert _with(viewer_token).get(TOPOLOGY).status_code == 200


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"username": "planner-t", "password": "wrong"}, 401),
        ({"username": "planner-t"}, 400),
        ({}, 400),
        ({"username": "plan\x00ner-t", "password": "pw-planner-t"}, 400),
        (["planner-t", "pw-planner-t"], 400),
        ({"username": ["planner-t"], "password": "pw-planner-t"}, 400),
    ],
)
def test_api_token_refusals_say_why(planner_user, fields, status):
    response = APIClient().post("/api/v1/auth/token/", fields, format="json")
    assert response.status_code == status
    assert response.json()["detail"]
    assert not AuthToken.objects.exists()


def test_api_token_response_is_in_the_openapi_schema(db):
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/auth/token/"]["post"]
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    component = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(component["properties"]) == {"token", "expiry"}
    assert "429" in operation["responses"]
    assert "/api/v1/auth/logout/" in schema["paths"]
    assert "/api/v1/auth/logout-all/" in schema["paths"]


@pytest.mark.parametrize(
    "header",
    [
        "Token 1234",
        "Token " + "g" * 64,
        "Token " + "0" * 63 + "\x00",
        "Token a b",
    ],
)
def test_malformed_api_tokens_are_401(planner_user, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(TOPOLOGY)
    assert response.status_code == 401
