"""The patrol API as a phone uses it: start, send batches (again after a lost answer), end;
and every bad input answered with a 4xx that says what to fix, with nothing stored."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from geogrid.accounts.models import Role
from geogrid.cases.models import Case
from geogrid.patrols.models import Patrol, TrackPoint
from tests import factories
from tests.cases.conftest import GARBAGE
from tests.geometry import point
from tests.patrols.factories import east_along, recent_start, walk

pytestmark = pytest.mark.django_db


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _json_points(points):
    return [
        {
            "id": str(p.client_id),
            "t": p.recorded_at.isoformat(),
            "x": p.x,
            "y": p.y,
            "accuracy": p.accuracy_m,
        }
        for p in points
    ]


@pytest.fixture
def phone(inspector):
    return _client(inspector)


@pytest.fixture
def started(phone):
    answer = phone.post(
        "/api/v1/patrols/",
        {"id": str(uuid.uuid4()), "started_at": recent_start().isoformat()},
        format="json",
    )
    assert answer.status_code == 201, answer.data
    return answer.data["id"]


def test_a_phone_walks_a_patrol_through_the_api(phone, started):
    points = _json_points(walk(east_along(150, 10, 190), start=recent_start()))
    url = f"/api/v1/patrols/{started}/points/"
    first = phone.post(url, {"crs": "EPSG:4490", "points": points[:10]}, format="json")
    assert first.status_code == 200
    assert first.data["accepted"] == 10
    # The answer was lost; the phone sends the same batch again, then the next one.
    again = phone.post(url, {"crs": "EPSG:4490", "points": points[:10]}, format="json")
    assert (again.data["accepted"], again.data["repeated"]) == (0, 10)
    phone.post(url, {"crs": "EPSG:4490", "points": points[10:]}, format="json")
    ended = phone.post(f"/api/v1/patrols/{started}/end/", {}, format="json")
    assert ended.status_code == 200
    assert ended.data["status"] == "ended"
    assert ended.data["points"] == {"accepted": 19, "jump": 0, "inaccurate": 0}
    assert ended.data["distance_m"] == pytest.approx(180, abs=0.5)
    assert ended.data["track"]["type"] == "MultiLineString"
    listed = phone.get("/api/v1/patrols/").data["results"][0]
    assert listed["id"] == started and listed["track"] is None  # lines only when asked
    with_lines = phone.get("/api/v1/patrols/?track=1").data["results"][0]
    assert with_lines["track"]["type"] == "MultiLineString"
    replay = phone.get(url).data["points"]
    assert len(replay) == 19 and replay[0]["status"] == "ok"
    assert TrackPoint.objects.count() == 19


def test_starting_again_with_the_same_id_answers_with_the_first_patrol(phone):
    body = {"id": str(uuid.uuid4())}
    first = phone.post("/api/v1/patrols/", body, format="json")
    again = phone.post("/api/v1/patrols/", body, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.data["id"] == first.data["id"]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"points": "not a list"}, "points", "non-empty list"),
        ({"points": []}, "points", "non-empty list"),
        (
            {"points": [{"id": "x", "t": "2026-12-01T10:00:00+08:00", "x": 1, "y": 2}]},
            "points[0].id",
            "UUID",
        ),
        (
            {"points": [{"id": str(uuid.uuid4()), "t": "yesterday", "x": 1, "y": 2}]},
            "points[0].t",
            "ISO 8601",
        ),
        (
            {"points": [{"id": str(uuid.uuid4()), "t": "2026-12-01T10:00:00", "x": 1, "y": 2}]},
            "points[0].t",
            "no time zone",
        ),
        (
            {"points": [{"id": str(uuid.uuid4()), "t": "2026-12-01T10:00:00Z", "x": "a", "y": 2}]},
            "points[0].x",
            "number",
        ),
    ],
    ids=["not-a-list", "empty", "bad-id", "bad-time", "naive-time", "bad-x"],
)
def test_malformed_batches_are_400s_naming_the_field(phone, started, body, field, words):
    answer = phone.post(f"/api/v1/patrols/{started}/points/", body, format="json")
    assert answer.status_code == 400
    assert answer.data["field"] == field
    assert words in answer.data["detail"]
    assert not TrackPoint.objects.exists()


def test_points_out_of_order_in_the_future_or_out_of_range_store_nothing(phone, started):
    url = f"/api/v1/patrols/{started}/points/"
    ordered = walk(east_along(150, 10, 50), start=recent_start())
    backwards = phone.post(url, {"points": _json_points(ordered[::-1])}, format="json")
    assert backwards.status_code == 400 and "out of order" in backwards.data["detail"]
    future = walk([(10, 150)], start=timezone.now() + timedelta(hours=3), tag="f")
    later = phone.post(url, {"crs": "EPSG:4490", "points": _json_points(future)}, format="json")
    assert later.status_code == 400 and "future" in later.data["detail"]
    outside = _json_points(ordered[:1])
    outside[0]["y"] = 95.0
    wrong = phone.post(url, {"points": outside}, format="json")
    assert wrong.status_code == 400 and "95" in wrong.data["detail"]
    unknown = phone.post(url, {"crs": "EPSG:9999", "points": _json_points(ordered)}, format="json")
    assert unknown.status_code == 400
    assert not TrackPoint.objects.exists()


def test_another_inspectors_patrol_is_not_found(started, city):
    other = factories.user("inspector-b", Role.INSPECTOR, scope=[city["110101001001002"]])
    points = _json_points(walk([(10, 150)], start=recent_start()))
    client = _client(other)
    assert (
        client.post(
            f"/api/v1/patrols/{started}/points/", {"points": points}, format="json"
        ).status_code
        == 404
    )
    assert client.post(f"/api/v1/patrols/{started}/end/", {}, format="json").status_code == 404
    assert client.get(f"/api/v1/patrols/{started}/").status_code == 404
    assert client.get("/api/v1/patrols/").data["count"] == 0
    assert not TrackPoint.objects.exists()
    assert Patrol.objects.get(pk=started).status == "active"


def test_the_command_center_reads_every_patrol_but_walks_none(started, viewer):
    client = _client(viewer)
    assert client.get("/api/v1/patrols/").data["count"] == 1
    assert client.get(f"/api/v1/patrols/{started}/").status_code == 200
    assert (
        client.post("/api/v1/patrols/", {"id": str(uuid.uuid4())}, format="json").status_code == 403
    )


def test_coverage_and_visits_for_an_inspectors_scope(phone, started):
    url = f"/api/v1/patrols/{started}/points/"
    phone.post(
        url,
        {"crs": 4490, "points": _json_points(walk(east_along(150, -45, 95), start=recent_start()))},
        format="json",
    )
    day = timezone.localtime(recent_start()).date().isoformat()
    covered = phone.get(f"/api/v1/patrols/coverage/?day={day}").data
    assert covered["grids"] == 1  # the inspector's one unit grid
    assert covered["results"][0]["grid"] == "110101001001001"
    assert covered["results"][0]["share"] > 0.5
    visits = phone.get("/api/v1/patrols/visits/").data
    assert visits["count"] == 1 and visits["overdue"] == 0
    (grid,) = visits["results"]
    assert grid["overdue"] is False
    last = recent_start() + timedelta(seconds=140)  # the point at x = 95
    assert grid["last_visit"] == last.isoformat()
    bad = phone.get(
        "/api/v1/patrols/coverage/?since=2026-01-01T00:00:00Z&until=2026-03-01T00:00:00Z"
    )
    assert bad.status_code == 400 and "31 days" in bad.data["detail"]


def test_a_report_sent_twice_with_its_client_id_makes_one_case(phone, city):
    body = {
        "service_code": GARBAGE,
        "lon": point(50, 150).x,
        "lat": point(50, 150).y,
        "client_id": str(uuid.uuid4()),
        "observed_at": (timezone.now() - timedelta(minutes=5)).isoformat(),
    }
    first = phone.post("/api/v1/cases/", body, format="json")
    again = phone.post("/api/v1/cases/", body, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.data["id"] == first.data["id"]
    assert again.data["properties"]["repeated"] is True
    assert first.data["properties"]["path_check"] == "no_track"
    assert Case.objects.count() == 1
    bad = phone.post("/api/v1/cases/", {**body, "client_id": "nope"}, format="json")
    assert bad.status_code == 400 and bad.data["field"] == "client_id"
