"""Structured logs: every line is one JSON object with the request id; one line per request;
service events; nothing personal in any line; tracebacks of errors; gunicorn's own lines."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import urllib.request
from collections.abc import Callable, Iterator

import pytest
from django.conf import settings as django_settings
from django.test import Client, RequestFactory
from django.urls import path
from gunicorn.glogging import SafeAtoms

from geogrid.core.logs import (
    JSON_FIELDS,
    GeoGridJsonFormatter,
    GeoGridTextFormatter,
    RequestIdFilter,
    formatter_config,
    gunicorn_logconfig_dict,
    request_id_var,
)
from geogrid.grids.models import Grid
from tests.gunicorn import gunicorn

Lines = Callable[[], list[dict]]


def _boom(request):
    raise RuntimeError("the view broke")


# A URL conf with a failing view, for the 500 test (settings.ROOT_URLCONF = this module).
urlpatterns = [path("boom/", _boom, name="boom")]


@pytest.fixture
def log_text() -> Iterator[io.StringIO]:
    """What the project's JSON handler writes, in memory: the settings' formatter and filter on
    a handler of the root logger (GeoGrid's loggers propagate to it at INFO)."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(GeoGridJsonFormatter(fmt=JSON_FIELDS))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield buffer
    root.removeHandler(handler)


@pytest.fixture
def log_lines(log_text: io.StringIO) -> Lines:
    # json.loads of each line: a line that is not one JSON object fails here.
    return lambda: [json.loads(line) for line in log_text.getvalue().splitlines()]


def _request_lines(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["logger"] == "geogrid.request"]


def test_settings_logging_uses_the_json_formatter_on_stderr():
    config = django_settings.LOGGING
    assert config["formatters"]["geogrid"]["()"] == "geogrid.core.logs.GeoGridJsonFormatter"
    assert config["handlers"]["console"]["stream"] == "ext://sys.stderr"
    assert config["handlers"]["console"]["filters"] == ["request_id"]
    assert config["loggers"]["geogrid"]["level"] == "INFO"


def test_each_request_writes_one_line_with_route_status_duration_and_user_id(
    client, city, planner, log_lines
):
    client.force_login(planner)
    unit = Grid.objects.filter(level__slug="unit").order_by("code").first()
    response = client.get(f"/api/v1/grids/{unit.code}/?secret-query=swordfish")
    assert response.status_code == 200
    [line] = _request_lines(log_lines())
    assert line["request_id"] == response["X-Request-ID"]
    assert (line["method"], line["route"], line["status"], line["user_id"]) == (
        "GET",
        "api/v1/grids/<str:code>/",
        200,
        planner.pk,
    )
    assert line["view"] and isinstance(line["duration_ms"], float)
    assert line["level"] == "INFO" and line["message"] == "request" and line["time"]
    # The route, not the path: no code from the URL and never the query string.
    text = json.dumps(log_lines())
    assert unit.code not in text and "swordfish" not in text


def test_an_anonymous_request_and_a_404_are_logged_without_a_route(client, db, log_lines):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    [line] = _request_lines(log_lines())
    assert (line["route"], line["status"], line["user_id"]) == (None, 404, None)
    # Django's own "Not Found: /no/such/page/" warning is replaced by the request line.
    assert [entry["logger"] for entry in log_lines()] == ["geogrid.request"]


def test_a_sane_incoming_request_id_is_kept_and_any_other_replaced(client, db, log_lines):
    kept = client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a9c21.0001")
    assert kept["X-Request-ID"] == "lb-7f3a9c21.0001"
    for bad in ("short", "x" * 65, 'evil id\n{"level": "ERROR"}', "ид-запроса-123"):
        replaced = client.get("/healthz", HTTP_X_REQUEST_ID=bad)
        assert replaced["X-Request-ID"] != bad and len(replaced["X-Request-ID"]) == 32
    ids = [line["request_id"] for line in _request_lines(log_lines())]
    assert ids[0] == "lb-7f3a9c21.0001" and len(set(ids)) == 5


def test_no_password_token_key_or_reporter_data_reaches_any_log_line(
    city, planner, log_text, log_lines, django_capture_on_commit_callbacks
):
    from urllib.parse import urlencode

    from geogrid.cases.open311_keys import create_open311_key
    from tests import factories
    from tests.cases.conftest import GARBAGE
    from tests.geometry import point

    factories.reference_data()
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        key = create_open311_key(name="市民通")[1]
    at = point(50, 150)
    private = {
        "first_name": "小明",
        "last_name": "欧阳",
        "phone": "13912345678",
        "email": "ouyang.private@example.com",
        "description": "楼下张阿姨家门口有垃圾",
        "address_string": "东华门大街 7 号 3 单元",
    }
    with django_capture_on_commit_callbacks(execute=True):
        posted = client.post(
            "/open311/v2/requests.json",
            urlencode(
                {"api_key": key, "service_code": GARBAGE, "lat": at.y, "long": at.x, **private}
            ),
            content_type="application/x-www-form-urlencoded; charset=utf-8",
        )
    assert posted.status_code == 200, posted.content
    refused = client.post(
        "/open311/v2/requests.json", {"api_key": "not-a-key-" + key[:6], "service_code": GARBAGE}
    )
    assert refused.status_code == 403
    wrong = client.post("/login/", {"username": "planner-a", "password": "Wr0ng-passw0rd-42"})
    assert wrong.status_code == 200
    token_refused = client.post(
        "/api/v1/auth/token/", {"username": "planner-a", "password": "Wr0ng-passw0rd-42"}
    )
    assert token_refused.status_code == 401
    issued = client.post(
        "/api/v1/auth/token/", {"username": "planner-a", "password": "pw-planner-a"}
    )
    assert issued.status_code == 200, issued.content
    token = issued.json()["token"]
    assert (
        client.post("/api/v1/auth/logout/", HTTP_AUTHORIZATION=f"Token {token}").status_code == 204
    )

    lines = log_lines()
    messages = [line["message"] for line in lines]
    for event in (
        "open311 key created",
        "open311 key used",
        "case reported",
        "open311 key refused",
        "log-in failed",
        "api token issued",
        "api tokens revoked",
    ):
        assert event in messages, f"no {event!r} line in {messages}"
    # Set-up (the calendar, the key) ran outside any request; everything else inside one.
    outside = {"calendar loaded", "open311 key created"}
    assert all(line["request_id"] for line in lines if line["message"] not in outside)
    reported = next(line for line in lines if line["message"] == "case reported")
    assert (
        reported["channel"] == "open311"
        and reported["case_id"] == posted.json()[0]["service_request_id"]
    )
    text = log_text.getvalue()
    secrets = [
        key,
        key[:6],
        token,
        token[:8],
        "Wr0ng-passw0rd-42",
        "pw-planner-a",
        "planner-a",
        *private.values(),
        "欧阳小明",
    ]
    assert [value for value in secrets if value in text] == []


def test_throttled_log_ins_are_logged_without_the_username(client, people_for_throttle, log_lines):
    for _ in range(6):
        client.post("/login/", {"username": "viewer-t", "password": "wrong-Password-1"})
    throttled = [line for line in log_lines() if line["message"] == "log-in throttled"]
    assert throttled and throttled[0]["scope"] == "account" and throttled[0]["retry_after"] > 0
    assert [line["status"] for line in _request_lines(log_lines())][-1] == 429
    assert "viewer-t" not in json.dumps(log_lines())


@pytest.fixture
def people_for_throttle(db):
    from geogrid.accounts.models import Role
    from tests import factories

    return factories.user("viewer-t", Role.VIEWER)


def test_an_unhandled_exception_logs_its_traceback_with_the_request_id(db, settings, log_lines):
    settings.ROOT_URLCONF = __name__
    response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500
    [error] = [line for line in log_lines() if line["logger"] == "django.request"]
    assert error["level"] == "ERROR" and error["request_id"] == response["X-Request-ID"]
    assert "Traceback" in error["exc_info"] and "RuntimeError: the view broke" in error["exc_info"]
    [request_line] = _request_lines(log_lines())
    assert request_line["status"] == 500 and request_line["request_id"] == error["request_id"]


def test_the_formatter_drops_the_request_object_djangos_records_carry(log_text, log_lines):
    request = RequestFactory().get("/open311/v2/requests.json?api_key=SECRET-KEY-1")
    logging.getLogger("django.request").error(
        "Bad Request: %s", request.path, extra={"status_code": 400, "request": request}
    )
    [line] = log_lines()
    assert line["status_code"] == 400 and "request" not in line
    assert "SECRET-KEY-1" not in log_text.getvalue()


def test_the_request_id_filter_adds_the_current_id_or_none():
    record = logging.LogRecord("geogrid.x", logging.INFO, __file__, 1, "m", (), None)
    RequestIdFilter().filter(record)
    assert record.request_id is None
    token = request_id_var.set("abc12345")
    try:
        record = logging.LogRecord("geogrid.x", logging.INFO, __file__, 1, "m", (), None)
        RequestIdFilter().filter(record)
        assert record.request_id == "abc12345"
    finally:
        request_id_var.reset(token)


def test_text_format_is_one_plain_line_with_the_extra_fields(monkeypatch):
    monkeypatch.setenv("GEOGRID_LOG_FORMAT", "text")
    assert formatter_config() == {"()": "geogrid.core.logs.GeoGridTextFormatter"}
    record = logging.LogRecord("geogrid.grids", logging.INFO, __file__, 1, "grid edit", (), None)
    record.op, record.request_id = "retired", "abc12345"
    line = GeoGridTextFormatter().format(record)
    assert line.endswith("INFO geogrid.grids [abc12345] grid edit op=retired")
    monkeypatch.setenv("GEOGRID_LOG_FORMAT", "yaml")
    with pytest.raises(ValueError, match="json or text"):
        formatter_config()


# --- gunicorn ------------------------------------------------------------------------------------
ACCESS_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'  # gunicorn's default
PRIVATE_ACCESS = {
    "h": "203.0.113.77",
    "u": "basic-user",
    "f": "https://ref.example/?phone=139",
    "a": "Mozilla/5.0 PrivateAgent",
    "q": "api_key=SECRET-KEY-2",
    "r": "GET /open311/v2/requests.json?api_key=SECRET-KEY-2 HTTP/1.1",
}


def _access_atoms() -> SafeAtoms:
    return SafeAtoms(
        {
            **PRIVATE_ACCESS,
            "l": "-",
            "t": "[03/Dec/2026:12:00:00 +0000]",
            "s": "200",
            "m": "GET",
            "U": "/open311/v2/requests.json",
            "b": "15",
            "M": 12,
            "{x-request-id}o": "rid-0123456789",
        }
    )


@pytest.fixture
def gunicorn_logging(capsys):
    """Configure logging as gunicorn does with our dict (stderr is captured), and put the
    project's configuration back afterwards."""

    def configure(**options):
        logging.config.dictConfig(gunicorn_logconfig_dict(**options))
        capsys.readouterr()

    yield configure
    logging.config.dictConfig(django_settings.LOGGING)


def test_gunicorn_error_lines_are_json_and_access_lines_keep_only_safe_fields(
    gunicorn_logging, capsys
):
    gunicorn_logging(access_log=True)
    logging.getLogger("gunicorn.error").info("Booting worker with pid: %s", 4242)
    logging.getLogger("gunicorn.access").info(ACCESS_FORMAT, _access_atoms())
    err = capsys.readouterr().err
    boot, access = (json.loads(line) for line in err.splitlines())
    assert (boot["logger"], boot["message"], boot["request_id"]) == (
        "gunicorn.error",
        "Booting worker with pid: 4242",
        None,
    )
    assert {
        k: access[k]
        for k in ("logger", "message", "method", "path", "status", "duration_ms", "request_id")
    } == {
        "logger": "gunicorn.access",
        "message": "request",
        "method": "GET",
        "path": "/open311/v2/requests.json",
        "status": 200,
        "duration_ms": 12,
        "request_id": "rid-0123456789",
    }
    assert [value for value in PRIVATE_ACCESS.values() if value in err] == []
    assert "SECRET-KEY-2" not in err


def test_gunicorn_access_lines_are_off_by_default(gunicorn_logging, capsys):
    gunicorn_logging()
    logging.getLogger("gunicorn.access").info(ACCESS_FORMAT, _access_atoms())
    logging.getLogger("gunicorn.error").warning("Worker timeout (pid:%s)", 4243)
    [line] = capsys.readouterr().err.splitlines()
    assert json.loads(line)["message"] == "Worker timeout (pid:4243)"


@pytest.mark.django_db(transaction=True)
def test_a_real_gunicorn_writes_only_json_lines_with_request_ids(tmp_path):
    config = tmp_path / "logging.json"
    config.write_text(json.dumps(gunicorn_logconfig_dict()), encoding="utf-8")
    with gunicorn(tmp_path, env={"GUNICORN_CMD_ARGS": f"--log-config-json {config}"}) as server:
        answered = {}
        # An empty database: answers that need no data.
        for url in ("/healthz", "/readyz", "/api/v1/case-classes/?q=private-query"):
            with urllib.request.urlopen(server.url + url, timeout=10) as response:
                answered[response.headers["X-Request-ID"]] = response.status
        lines = [json.loads(line) for line in server.log_lines()]
    assert lines and all("request_id" in line for line in lines)
    requests = {line["request_id"]: line for line in lines if line["logger"] == "geogrid.request"}
    assert {rid: line["status"] for rid, line in requests.items() if rid in answered} == answered
    assert {line["route"] for line in requests.values()} >= {
        "healthz",
        "readyz",
        "api/v1/case-classes/",
    }
    assert "private-query" not in json.dumps(lines)
    assert any(line["logger"] == "gunicorn.error" for line in lines)


@pytest.mark.parametrize(
    ("level", "own"), [("", "INFO"), ("warning", "INFO"), ("DEBUG", "DEBUG"), ("ERROR", "ERROR")]
)
def test_log_level_sets_other_loggers_and_quiets_ours_only_from_error(monkeypatch, level, own):
    from geogrid.core.logs import django_logging_config

    monkeypatch.setenv("GEOGRID_LOG_LEVEL", level)
    config = django_logging_config()
    assert config["root"]["level"] == (level.upper() or "WARNING")
    assert config["loggers"]["geogrid"]["level"] == own
    monkeypatch.setenv("GEOGRID_LOG_LEVEL", "loud")
    with pytest.raises(ValueError, match="GEOGRID_LOG_LEVEL must be"):
        django_logging_config()
