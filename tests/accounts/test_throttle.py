"""Throttling of log-in (page, admin, API token) by account and by address: 429 with
Retry-After, counts kept in the database (shared by every worker), success resets the account."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from geogrid.accounts.models import AttemptCounter, Role
from tests import factories

HERE, THERE = "127.0.0.2", "127.0.0.3"


@pytest.fixture
def people(db):
    return {
        "planner": factories.user("planner-a", Role.PLANNER),
        "viewer": factories.user("viewer-a", Role.VIEWER),
    }


def _login(client: Client, username: str, password: str, address: str = HERE):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_login_page_locks_an_account_after_five_failures(client, people):
    for _ in range(5):
        response = _login(client, "planner-a", "wrong-password")
        assert response.status_code == 200 and "用户名或密码不正确" in response.content.decode()
    # The sixth attempt is refused even with the right password, from any address.
    for address in (HERE, THERE):
        locked = _login(client, "planner-a", "pw-planner-a", address)
        assert locked.status_code == 429
        assert 0 < int(locked["Retry-After"]) <= 15 * 60
        assert "登录失败次数过多" in locked.content.decode()
        assert "15 分钟后再试" in locked.content.decode()
        assert not _logged_in(client)
    # Another account from the same address is not affected.
    assert _login(client, "viewer-a", "pw-viewer-a").status_code == 302
    assert _logged_in(client)


def test_login_page_locks_an_address_after_twenty_failures(client, people):
    for attempt in range(20):
        assert _login(client, f"nobody-{attempt}", "wrong-password").status_code == 200
    locked = _login(client, "viewer-a", "pw-viewer-a")
    assert locked.status_code == 429 and int(locked["Retry-After"]) > 0
    assert not _logged_in(client)
    # Another address logs in as usual.
    assert _login(client, "viewer-a", "pw-viewer-a", THERE).status_code == 302


def test_login_success_resets_the_accounts_failures(client, people):
    for _ in range(4):
        _login(client, "planner-a", "wrong-password")
    assert _login(client, "planner-a", "pw-planner-a").status_code == 302
    client.logout()
    for _ in range(4):
        assert _login(client, "planner-a", "wrong-password").status_code == 200
    assert _login(client, "planner-a", "pw-planner-a").status_code == 302


def test_login_lockout_message_follows_the_page_language(people):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    for _ in range(5):
        _login(client, "planner-a", "wrong-password")
    locked = _login(client, "planner-a", "pw-planner-a")
    assert locked.status_code == 429
    assert "Too many failed log-ins" in locked.content.decode()


def test_login_limits_come_from_the_settings(client, people, settings):
    settings.GEOGRID_LOGIN_FAILURES_PER_ACCOUNT = 2
    settings.GEOGRID_LOGIN_LOCKOUT_MINUTES = 1
    for _ in range(2):
        _login(client, "planner-a", "wrong-password")
    locked = _login(client, "planner-a", "pw-planner-a")
    assert locked.status_code == 429 and 0 < int(locked["Retry-After"]) <= 60


def test_login_failures_are_counted_in_the_database_without_names(client, people):
    _login(client, "planner-a", "wrong-password")
    rows = list(AttemptCounter.objects.all())
    assert len(rows) == 2 and all(row.count == 1 for row in rows)  # the account, the address
    assert not any("planner" in row.key or HERE in row.key for row in rows)


def test_admin_login_form_does_not_take_passwords(client, people):
    # The admin's own form would be an unthrottled way in: it sends people to /login/.
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "planner-a", "password": "pw-planner-a"}
    )
    assert response.status_code == 302 and response["Location"] == "/login/?next=%2Fadmin%2F"
    assert not _logged_in(client)
    assert client.get("/admin/").status_code == 302


def test_api_token_is_throttled_by_account(people):
    client = APIClient()
    for _ in range(5):
        response = client.post(
            "/api/v1/auth/token/",
            {"username": "planner-a", "password": "wrong-password"},
            REMOTE_ADDR=HERE,
        )
        assert response.status_code == 401
    locked = client.post(
        "/api/v1/auth/token/",
        {"username": "planner-a", "password": "pw-planner-a"},
        REMOTE_ADDR=THERE,
    )
    assert locked.status_code == 429 and 0 < int(locked["Retry-After"]) <= 900
    assert locked.json()["error"] == "throttled" and "登录失败次数过多" in locked.json()["detail"]
    other = client.post(
        "/api/v1/auth/token/", {"username": "viewer-a", "password": "pw-viewer-a"}, REMOTE_ADDR=HERE
    )
    assert other.status_code == 200 and other.json()["token"]


def test_api_token_is_throttled_by_address(people):
    client = APIClient()
    for attempt in range(20):
        client.post(
            "/api/v1/auth/token/",
            {"username": f"nobody-{attempt}", "password": "x"},
            REMOTE_ADDR=HERE,
        )
    locked = client.post(
        "/api/v1/auth/token/", {"username": "viewer-a", "password": "pw-viewer-a"}, REMOTE_ADDR=HERE
    )
    assert locked.status_code == 429 and int(locked["Retry-After"]) > 0
    assert (
        client.post(
            "/api/v1/auth/token/",
            {"username": "viewer-a", "password": "pw-viewer-a"},
            REMOTE_ADDR=THERE,
        ).status_code
        == 200
    )


def test_failed_api_tokens_and_page_logins_share_the_accounts_count(client, people):
    api = APIClient()
    for _ in range(3):
        api.post(
            "/api/v1/auth/token/", {"username": "planner-a", "password": "x"}, REMOTE_ADDR=HERE
        )
    for _ in range(2):
        _login(client, "planner-a", "wrong-password", THERE)
    assert _login(client, "planner-a", "pw-planner-a", THERE).status_code == 429


def test_client_address_comes_from_the_trusted_proxy_header_when_set(client, people, settings):
    # Behind a proxy every request has the proxy's REMOTE_ADDR; the header names the client.
    settings.GEOGRID_CLIENT_IP_HEADER = "HTTP_X_REAL_IP"
    for attempt in range(20):
        client.post(
            "/login/",
            {"username": f"nobody-{attempt}", "password": "x"},
            HTTP_X_REAL_IP="192.0.2.1",
        )
    assert (
        client.post(
            "/login/",
            {"username": "viewer-a", "password": "pw-viewer-a"},
            HTTP_X_REAL_IP="192.0.2.1",
        ).status_code
        == 429
    )
    assert (
        client.post(
            "/login/",
            {"username": "viewer-a", "password": "pw-viewer-a"},
            HTTP_X_REAL_IP="192.0.2.2",
        ).status_code
        == 302
    )


def test_lockout_ends_with_its_window_and_expired_counters_are_purged(client, people):
    from datetime import timedelta

    from django.utils import timezone

    from geogrid.accounts.throttle import purge_expired

    for _ in range(5):
        _login(client, "planner-a", "wrong-password")
    assert _login(client, "planner-a", "pw-planner-a").status_code == 429
    # Fifteen minutes later (the window moved into the past): the account logs in again.
    AttemptCounter.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert _login(client, "planner-a", "pw-planner-a").status_code == 302
    assert purge_expired() == 1  # the address's expired counter; the account's was cleared
    assert not AttemptCounter.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_throttle_counts_are_exact_across_database_connections():
    # Two threads = two database connections, as two gunicorn workers would be: every attempt
    # is counted once (one upsert each), so exactly the attempts past the limit are refused.
    from datetime import timedelta
    from threading import Barrier, Thread

    from django.db import connection

    from geogrid.accounts.throttle import Counter, hit

    counter = Counter("test", "shared", limit=30, window=timedelta(minutes=1))
    refused: list[int] = []
    start = Barrier(2)

    def attempts() -> None:
        try:
            start.wait()
            refused.extend(wait for wait in (hit(counter) for _ in range(20)) if wait)
        finally:
            connection.close()

    threads = [Thread(target=attempts) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert AttemptCounter.objects.get(key=counter.key).count == 40
    assert len(refused) == 10 and all(0 < wait <= 60 for wait in refused)
