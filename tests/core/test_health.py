"""/healthz and /readyz: public, cheap, no personal data; answered to any Host over plain HTTP;
/readyz is 503 naming what failed, and lists warnings without failing on them."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import date

import pytest
from django.db import connection
from django.test import Client

from geogrid.cases.models import CalendarDay, CalendarDayKind
from geogrid.core import health
from tests.gunicorn import free_port, gunicorn


@pytest.fixture(autouse=True)
def _fresh_migration_cache(monkeypatch):
    # Each test sees the first probe of a fresh process.
    monkeypatch.setattr(health, "_migrations_applied", False)


def _calendar_through(year: int) -> None:
    CalendarDay.objects.create(date=date(year, 10, 1), kind=CalendarDayKind.HOLIDAY, name="国庆节")


def test_healthz_answers_without_the_database(client):
    # No db fixture: any database access would raise here.
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store" and "Set-Cookie" not in response


def test_readyz_is_ok_when_the_database_postgis_and_migrations_are(client, db):
    _calendar_through(date.today().year + 1)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "warnings": [],
        "checks": {"database": "ok", "postgis": "ok", "migrations": "ok"},
    }


def test_readyz_lists_an_expired_calendar_as_a_warning_and_stays_ready(client, empty_calendar):
    _calendar_through(date.today().year - 1)
    response = client.get("/readyz")
    assert response.status_code == 200
    [warning] = response.json()["warnings"]
    assert warning["id"] == "geogrid.W011" and "load_calendar" in warning["hint"]


def test_readyz_scans_the_migrations_once_all_are_applied(
    client, db, django_assert_max_num_queries
):
    assert client.get("/readyz").status_code == 200
    # Then: the PostGIS query and the calendar's (in a savepoint), no migration graph.
    with django_assert_max_num_queries(4) as queries:
        assert client.get("/readyz").status_code == 200
    assert not [q for q in queries.captured_queries if "django_migrations" in q["sql"]]


def test_readyz_is_503_naming_unapplied_migrations(client, db):
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM django_migrations WHERE id = "
            "(SELECT max(id) FROM django_migrations WHERE app = 'cases')"
        )
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "postgis": "ok", "migrations": "1 unapplied"},
    }


def test_readyz_is_503_when_postgis_is_missing(client, db):
    # In the test's transaction (rolled back): the function PostGIS answers with is gone.
    with connection.cursor() as cursor:
        cursor.execute("ALTER FUNCTION postgis_lib_version() RENAME TO postgis_lib_version_x")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "postgis": "missing"}


def test_readyz_is_503_and_healthz_200_when_the_database_is_down(tmp_path, transactional_db):
    down = f"postgis://geogrid@127.0.0.1:{free_port()}/geogrid"
    with gunicorn(tmp_path, database_url=down) as server:
        with urllib.request.urlopen(server.url + "/healthz", timeout=10) as response:
            assert response.status == 200
        with pytest.raises(urllib.error.HTTPError) as failed:
            urllib.request.urlopen(server.url + "/readyz", timeout=10)
        assert failed.value.code == 503
        body = json.loads(failed.value.read())
        log = "\n".join(server.log_lines())
    assert body == {
        "status": "unavailable",
        "checks": {"database": "unavailable", "postgis": "not checked"},
    }
    # The reason is in the log, with the probe's request id; not in the public answer.
    assert "readiness: database check failed" in log and "OperationalError" in log


def test_probes_answer_any_host_over_plain_http_with_production_settings(db, settings):
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["grid.example.gov.cn"]
    settings.SECURE_SSL_REDIRECT = True
    # A load balancer probes by the server's address, over HTTP.
    probe = Client(HTTP_HOST="10.0.0.7:8000")
    assert probe.get("/healthz").status_code == 200
    assert probe.get("/readyz").status_code == 200
    # Everything else still redirects to HTTPS, and an unknown host is still refused.
    assert probe.get("/", HTTP_HOST="grid.example.gov.cn").status_code == 301
    assert probe.get("/", HTTP_HOST="10.0.0.7:8000").status_code == 400


def test_probes_take_only_get_and_head(client, db):
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405
    assert client.post("/readyz").status_code == 405


def test_readyz_is_ready_again_at_once_after_the_database_dropped_its_connection(
    client, transactional_db
):
    import psycopg

    from tests.gunicorn import test_database_url

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        [pid] = cursor.fetchone()
    # As a database restart does: the server ends the connection Django keeps.
    with psycopg.connect(
        test_database_url().replace("postgis://", "postgresql://"), autocommit=True
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
