"""The read replica (geogrid/core/replica.py) against a real streaming replica of a throwaway
primary: reads of opted-in views come from the replica once the write is replayed, a request
that writes reads its own write from the primary, credentials and signed-in staff stay on the
primary, and a replica that is down is skipped (logged), never a 503."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.cookies import SimpleCookie

import pytest

from geogrid.core.devdb import Cluster, scratch_data_dir
from tests.clusters import run_django, seeded_cluster
from tests.geometry import point
from tests.gunicorn import Server, free_port, gunicorn

pytestmark = pytest.mark.slow

LOCATE = f"/api/v1/locate?lon={point(50, 150).x}&lat={point(50, 150).y}"

# Inside one "request" to a read_from_replica view: read a row written (and replayed) before,
# then write, then read again. Prints what each read used.
PROBE = """
import json, time
from django.db import connections
from django.http import JsonResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from geogrid.cases.models import Open311Key
from geogrid.cases.open311_keys import create_open311_key
from geogrid.core.db import raw_cursor
from geogrid.core.replica import read_from_replica

create_open311_key(name="written-before")
with connections["default"].cursor() as cursor:
    # The insert position: with synchronous_commit off (the embedded cluster) the commit
    # record may not be written out yet, and pg_current_wal_lsn() would stop before it.
    cursor.execute("SELECT pg_current_wal_insert_lsn()::text")
    lsn = cursor.fetchone()[0]
with connections["replica"].cursor() as cursor:
    for _ in range(200):
        cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn])
        if cursor.fetchone()[0]:
            break
        time.sleep(0.05)
    else:
        raise SystemExit("the replica did not replay the write")

def in_recovery():
    with raw_cursor() as cursor:
        return cursor.execute("SELECT pg_is_in_recovery()").fetchone()[0]

@read_from_replica
def view(request):
    seen = {}
    with CaptureQueriesContext(connections["replica"]) as on_replica, \\
            CaptureQueriesContext(connections["default"]) as on_primary:
        seen["found"] = Open311Key.objects.filter(name="written-before").exists()
    seen["read_on_replica"] = any("written-before" in q["sql"] for q in on_replica)
    seen["read_on_primary"] = any("written-before" in q["sql"] for q in on_primary)
    seen["raw_in_recovery"] = in_recovery()
    create_open311_key(name="written-in-request")
    with CaptureQueriesContext(connections["replica"]) as on_replica:
        seen["own_write_found"] = Open311Key.objects.filter(name="written-in-request").exists()
    seen["own_write_read_on_replica"] = len(on_replica) > 0
    seen["raw_after_write_in_recovery"] = in_recovery()
    return JsonResponse(seen)

outside = Open311Key.objects.filter(name="written-before").db
print(json.dumps({**json.loads(view(RequestFactory().get("/")).content), "outside": outside}))
"""


# A read_from_replica view whose replica connection is cut by the server (as in a replica
# restart) in the middle of its first run. Prints the answer and where it was read.
FAILOVER_PROBE = """
import json, psycopg
from django.db import connections
from django.http import JsonResponse
from django.test import RequestFactory
from geogrid.core.db import raw_cursor
from geogrid.core.replica import read_from_replica

runs = []

@read_from_replica
def view(request):
    with raw_cursor() as cursor:
        pid = cursor.execute("SELECT pg_backend_pid()").fetchone()[0]
        runs.append(cursor.execute("SELECT pg_is_in_recovery()").fetchone()[0])
    if len(runs) == 1:
        params = connections["replica"].settings_dict
        with psycopg.connect(host=params["HOST"], port=params["PORT"], user=params["USER"],
                             dbname=params["NAME"], autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", [pid])
    with raw_cursor() as cursor:
        grids = cursor.execute("SELECT count(*) FROM grids_grid").fetchone()[0]
    return JsonResponse({"grids": grids})

response = view(RequestFactory().get("/"))
print(json.dumps({"status": response.status_code, "runs": runs,
                  **json.loads(response.content)}))
"""


@pytest.fixture(scope="module")
def replicated() -> Iterator[tuple[Cluster, Cluster]]:
    # A seeded primary (tests/clusters.py) and a streaming replica of it (pg_basebackup -R).
    with seeded_cluster() as (primary, _key):
        replica = primary.make_replica(scratch_data_dir(), free_port())
        try:
            replica.start()
            assert replica.psql("SELECT pg_is_in_recovery()").stdout.strip() == "t"
            yield primary, replica
        finally:
            replica.destroy()


def test_replica_serves_replayed_reads_and_a_request_reads_its_own_write_from_the_primary(
    replicated,
):
    primary, replica = replicated
    seen = json.loads(
        run_django(primary.url, PROBE, DATABASE_REPLICA_URL=replica.url).strip().splitlines()[-1]
    )
    assert seen == {
        # Before the request writes: the ORM and the raw cursors read on the replica.
        "found": True,
        "read_on_replica": True,
        "read_on_primary": False,
        "raw_in_recovery": True,
        # After it: the primary, which has the row the replica may not have yet.
        "own_write_found": True,
        "own_write_read_on_replica": False,
        "raw_after_write_in_recovery": False,
        # Outside a read_from_replica view nothing reads from the replica.
        "outside": "default",
    }


def test_a_replica_lost_during_a_read_repeats_the_read_on_the_primary(replicated):
    primary, replica = replicated
    seen = json.loads(
        run_django(primary.url, FAILOVER_PROBE, DATABASE_REPLICA_URL=replica.url)
        .strip()
        .splitlines()[-1]
    )
    # First run on the replica (in recovery), cut; the repeat on the primary answers.
    assert seen["status"] == 200 and seen["runs"] == [True, False]
    assert seen["grids"] > 0


def _get(server: Server, path: str, cookie: str = "") -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(server.url + path)
    if cookie:
        request.add_header("Cookie", cookie)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


@pytest.fixture(scope="module")
def served(replicated, tmp_path_factory) -> Iterator[tuple[Cluster, Cluster, Server]]:
    primary, replica = replicated
    with gunicorn(
        tmp_path_factory.mktemp("gunicorn"),
        workers=1,
        database_url=primary.url,
        env={"DATABASE_REPLICA_URL": replica.url, "GEOGRID_REPLICA_RETRY_SECONDS": "1"},
    ) as server:
        yield primary, replica, server


def test_public_reads_come_from_the_replica_while_the_primary_is_down(served):
    primary, replica, server = served
    assert _get(server, LOCATE)[0] == 200
    primary.stop()
    try:
        # Answered although the primary is gone: these reads are the replica's.
        assert _get(server, LOCATE)[0] == 200
        assert _get(server, "/tiles/grids/0/0/0.pbf")[0] == 200
        assert _get(server, "/open311/v2/services.json")[0] == 200
        # Signed-in readers and clients pinned after a write read the primary (down: 503).
        assert _get(server, LOCATE, cookie="sessionid=abc")[0] == 503
        assert _get(server, LOCATE, cookie="geogrid_primary=1")[0] == 503
    finally:
        primary.start()


def _post(server: Server, body: str) -> tuple[int, list[str]]:
    request = urllib.request.Request(server.url + "/open311/v2/requests.json", data=body.encode())
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.headers.get_all("Set-Cookie") or []
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get_all("Set-Cookie") or []


def test_a_write_pins_the_client_to_the_primary_for_a_while(served):
    primary, replica, server = served
    # A refused write pins nothing.
    status, cookies = _post(server, "service_code=06010&lat=1&long=1")
    assert status == 403 and not cookies
    key = (
        run_django(
            primary.url,
            (
                "from geogrid.cases.open311_keys import create_open311_key\n"
                "print(create_open311_key(name='pin-test')[1])"
            ),
        )
        .strip()
        .splitlines()[-1]
    )
    at = point(60, 160)
    status, cookies = _post(
        server, f"api_key={key}&service_code=06010&lat={at.y}&long={at.x}&description=pin"
    )
    assert status == 200
    [cookie] = [SimpleCookie(c)["geogrid_primary"] for c in cookies if "geogrid_primary" in c]
    assert cookie["max-age"] == "10" and cookie["httponly"] and cookie.value == "1"


def test_a_replica_that_is_down_is_skipped_for_the_primary_and_logged(served):
    primary, replica, server = served
    replica.stop()
    try:
        assert _get(server, LOCATE)[0] == 200
        assert _get(server, "/tiles/grids/0/0/0.pbf")[0] == 200
        assert _get(server, "/open311/v2/services.json")[0] == 200
        assert any("read replica unavailable" in line for line in server.log_lines())
    finally:
        replica.start()


def test_replica_setting_is_a_test_mirror_that_never_migrates(replicated):
    primary, replica = replicated
    answer = run_django(
        primary.url,
        (
            "from django.db import connections, router\n"
            "print(connections['replica'].settings_dict['TEST']['MIRROR'],"
            " router.allow_migrate('replica', 'grids'), router.allow_migrate('default', 'grids'))"
        ),
        DATABASE_REPLICA_URL=replica.url,
    )
    assert answer.split() == ["default", "False", "True"]
