"""Database faults (geogrid/core/db.py): a statement past statement_timeout and a database
that goes away answer 503 with Retry-After — JSON for the API, the tiles and Open311, a plain
page for people — never a 500 or a hang; a connection the server dropped is replaced, prepared
statements included; and no report accepted during a restart is lost."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from django.db import connection, transaction
from django.test import Client

from geogrid.accounts.models import Role
from geogrid.core.devdb import Cluster
from tests import factories
from tests.cases.conftest import GARBAGE
from tests.clusters import run_django, seeded_cluster
from tests.geometry import point
from tests.gunicorn import Server, gunicorn

pytestmark = pytest.mark.slow


@contextmanager
def locked(*tables: str) -> Iterator[None]:
    """Another connection holds ACCESS EXCLUSIVE locks on `tables` until the block ends."""
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {', '.join(tables)} IN ACCESS EXCLUSIVE MODE")
                holding.set()
                release.wait(30)
        finally:
            connection.close()

    locker = threading.Thread(target=hold)
    locker.start()
    assert holding.wait(10)
    try:
        yield
    finally:
        release.set()
        locker.join()


@contextmanager
def statement_timeout(ms: int) -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute(f"SET statement_timeout = {ms}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET statement_timeout")


@pytest.mark.parametrize(
    ("url", "tables"),
    [
        # DRF on a raw, prepared cursor.
        ("/api/v1/locate?lon=116.4&lat=39.9", ["grids_grid"]),
        # A plain Django view on a raw cursor.
        ("/tiles/grids/14/13487/6203.pbf", ["tiles_layer_version"]),
    ],
)
def test_statement_timeout_answers_503_json_with_retry_after(
    client, city, transactional_db, url, tables
):
    with locked(*tables), statement_timeout(300):
        started = time.monotonic()
        response = client.get(url)
        elapsed = time.monotonic() - started
    assert response.status_code == 503, response.content
    assert response.json()["error"] == "statement_timeout"
    assert response["Retry-After"] == "5" and response["Cache-Control"] == "no-store"
    assert elapsed < 5


def test_statement_timeout_in_open311_answers_its_error_list(client, city, transactional_db):
    with locked("cases_case"), statement_timeout(300):
        response = client.get("/open311/v2/requests.json")
    assert response.status_code == 503
    [error] = response.json()
    assert error["code"] == 503 and error["description"]
    assert response["Retry-After"] == "5"


def test_statement_timeout_on_a_page_is_a_plain_503_page(client, city, transactional_db):
    client.force_login(factories.user("operator-x", Role.OPERATOR))
    with locked("django_session"), statement_timeout(300):
        response = client.get("/command-center/")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert b"Traceback" not in response.content and b"<h1>" in response.content
    assert response["Retry-After"] == "5"


def test_database_failure_in_a_middleware_is_a_503_too(city, transactional_db, settings):
    # With two-factor log-in required, a middleware loads the session before any view runs.
    settings.DEBUG = False
    settings.GEOGRID_REQUIRE_2FA = True
    client = Client(raise_request_exception=False)
    client.force_login(factories.user("planner-x", Role.PLANNER))
    with locked("django_session"), statement_timeout(300):
        api = client.get("/api/v1/locate?lon=116.4&lat=39.9")
        page = client.get("/command-center/")
    assert api.status_code == 503 and api.json()["error"] == "statement_timeout"
    assert page.status_code == 503 and page["Content-Type"].startswith("text/html")
    assert api["Retry-After"] == page["Retry-After"] == "5"


# --- The database restarts under load, against gunicorn -----------------------------------------
@dataclass
class Outcome:
    kind: str
    started: float
    finished: float
    status: int
    body: bytes
    retry_after: str | None

    @property
    def seconds(self) -> float:
        return self.finished - self.started


def _request(url: str, data: bytes | None = None) -> tuple[int, bytes, str | None]:
    request = urllib.request.Request(url, data=data)
    if data is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.read(), response.headers.get("Retry-After")
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers.get("Retry-After")


@pytest.fixture(scope="module")
def served_cluster(tmp_path_factory) -> Iterator[tuple[Cluster, str, Server]]:
    # A seeded throwaway cluster (tests/clusters.py) served by two gunicorn workers.
    with (
        seeded_cluster() as (cluster, key),
        gunicorn(
            tmp_path_factory.mktemp("gunicorn"),
            workers=2,
            database_url=cluster.url,
            env={"GEOGRID_OPEN311_POSTS_PER_MINUTE": "100000"},
        ) as server,
    ):
        yield cluster, key, server


def _post_body(key: str, n: int) -> bytes:
    at = point(50, 150)
    # Distinct text and place: a repeat would be answered with the first one's id.
    return urlencode(
        {
            "api_key": key,
            "service_code": GARBAGE,
            "lat": at.y,
            "long": at.x + n * 1e-7,
            "description": f"负载测试 {n}",
        }
    ).encode()


LOCATE = "/api/v1/locate?" + urlencode({"lon": point(50, 150).x, "lat": point(50, 150).y})


def test_connections_dropped_while_idle_are_replaced_before_the_next_request(served_cluster):
    cluster, key, server = served_cluster
    # Each worker opens its connection and prepares its statements (several rounds: the
    # requests spread over both workers).
    for n in range(6):
        assert _request(server.url + LOCATE)[0] == 200
        assert _request(server.url + "/tiles/grids/0/0/0.pbf")[0] == 200
        assert _request(server.url + "/open311/v2/requests.json", _post_body(key, n))[0] == 200
    # The server restarts while nobody asks anything: every kept connection is now dead.
    cluster.stop()
    cluster.start()
    for n in range(6):
        assert _request(server.url + LOCATE)[0] == 200
        assert _request(server.url + "/tiles/grids/0/0/0.pbf")[0] == 200
        assert (
            _request(server.url + "/open311/v2/requests.json", _post_body(key, 100 + n))[0] == 200
        )


def test_database_restart_under_load_fails_fast_with_503_and_loses_no_report(served_cluster):
    cluster, key, server = served_cluster
    outcomes: list[Outcome] = []
    stop = threading.Event()
    counter = iter(range(1000, 1_000_000))

    def post() -> None:
        while not stop.is_set():
            started = time.monotonic()
            status, content, retry = _request(
                server.url + "/open311/v2/requests.json", _post_body(key, next(counter))
            )
            outcomes.append(Outcome("post", started, time.monotonic(), status, content, retry))
            time.sleep(0.05)

    def read(path: str, kind: str) -> None:
        while not stop.is_set():
            started = time.monotonic()
            status, content, retry = _request(server.url + path)
            outcomes.append(Outcome(kind, started, time.monotonic(), status, content, retry))
            time.sleep(0.05)

    threads = [
        threading.Thread(target=post),
        threading.Thread(target=post),
        threading.Thread(target=read, args=(LOCATE, "locate")),
        threading.Thread(target=read, args=("/tiles/grids/0/0/0.pbf", "tile")),
    ]
    for thread in threads:
        thread.start()
    time.sleep(4)
    down_at = time.monotonic()
    cluster.stop()
    time.sleep(2)
    cluster.start()
    back_at = time.monotonic()
    time.sleep(6)
    stop.set()
    for thread in threads:
        thread.join(30)
    log = "\n".join(server.log_lines())

    posted = [
        json.loads(o.body)[0]["service_request_id"]
        for o in outcomes
        if o.kind == "post" and o.status == 200
    ]
    stored = json.loads(
        run_django(
            cluster.url,
            (
                "import json\nfrom geogrid.cases.models import Case\n"
                "print(json.dumps(list(Case.objects.values_list('pk', flat=True))))"
            ),
        )
    )

    failed = [o for o in outcomes if o.status != 200]
    before = [o for o in outcomes if o.finished < down_at]
    after = [o for o in outcomes if o.started > back_at]
    # The load ran on both sides of the outage, and the outage was seen.
    assert before and after and failed, (len(before), len(after), len(failed))
    assert all(o.status == 200 for o in before)
    # During it: 503 with a JSON body and Retry-After, fast (connect_timeout is 3 s).
    for outcome in failed:
        assert outcome.status == 503, (outcome.kind, outcome.status, outcome.body[:300])
        assert json.loads(outcome.body), outcome.body
        assert outcome.retry_after == "5"
        assert outcome.started < back_at
    assert max(o.seconds for o in outcomes) < 4
    # After it every request succeeds: no worker keeps a dead connection or a lost prepared
    # statement.
    assert all(o.status == 200 for o in after), [
        (o.kind, o.status, o.body[:200]) for o in after if o.status != 200
    ]
    assert {o.kind for o in after} == {"post", "locate", "tile"}
    # Every report answered as accepted is in the database.
    assert posted and set(posted) <= set(stored)
    assert "Traceback" not in log
