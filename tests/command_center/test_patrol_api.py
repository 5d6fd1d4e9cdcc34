"""The command-center patrol API: indicators per inspector and per grid, the replay of one
inspector's day; names, never usernames; plain 4xx for bad input; city-wide roles only."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from geogrid.cases.intake import submit_report
from geogrid.patrols.services import end_patrol, record_points, start_patrol
from tests.cases.conftest import GARBAGE
from tests.geometry import point
from tests.patrols.factories import east_along, recent_start, walk

pytestmark = pytest.mark.django_db

INDICATORS = "/api/v1/command-center/patrols/indicators/"
REPLAY = "/api/v1/command-center/patrols/replay/"


@pytest.fixture
def walked(inspector, settings):
    settings.GEOGRID_COVERAGE_DISTANCE_M = 30.0
    settings.GEOGRID_PATH_CHECK_DISTANCE_M = 50.0
    inspector.first_name, inspector.last_name = "建国", "王"
    inspector.save()
    start = recent_start()
    patrol, _ = start_patrol(actor=inspector, client_id=uuid.uuid4(), started_at=start)
    record_points(
        actor=inspector, patrol=patrol, points=walk(east_along(150, -45, 245), start=start)
    )
    end_patrol(actor=inspector, patrol=patrol)
    far = point(55, 10)  # 140 m from where the track was
    case = submit_report(
        actor=inspector,
        channel="inspector",
        service_code=GARBAGE,
        x=far.x,
        y=far.y,
        observed_at=start + timedelta(seconds=100),
    ).case
    return {"start": start, "patrol": patrol, "case": case}


def _client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def _around(start) -> dict:
    return {
        "since": (start - timedelta(hours=1)).isoformat(),
        "until": (start + timedelta(hours=1)).isoformat(),
    }


def test_indicators_per_inspector_name_people_by_their_full_name(operator, inspector, walked):
    response = _client(operator).get(INDICATORS, {"by": "inspector", **_around(walked["start"])})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["by"] == "inspector" and body["count"] == 1
    row = body["rows"][0]
    assert row["inspector_id"] == inspector.pk
    assert row["name"] == inspector.get_full_name() == "建国 王"
    assert (row["patrols"], row["seconds"], row["reports"], row["flagged"]) == (1, 290, 1, 1)
    assert row["distance_m"] == pytest.approx(290, rel=0.01)
    assert row["mean_share"] == pytest.approx(0.6, abs=0.002)
    assert "inspector-a" not in response.content.decode()


def test_indicators_per_grid(viewer, walked):
    response = _client(viewer).get(
        INDICATORS, {"by": "grid", "limit": 1, **_around(walked["start"])}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == 3  # NW and NE walked, SW reported in
    assert len(body["rows"]) == 1
    assert body["rows"][0]["code"] == "110101001001001"  # 0.6 and 100 s, before NE on code
    assert body["rows"][0]["share"] == pytest.approx(0.6, abs=0.002)


def test_indicators_default_to_today(operator, walked):
    body = _client(operator).get(INDICATORS, {"by": "inspector"}).json()
    midnight = timezone.make_aware(datetime.combine(timezone.localdate(), time.min))
    assert body["since"] == midnight.isoformat()
    assert body["until"] == (midnight + timedelta(days=1)).isoformat()


@pytest.mark.parametrize(
    "params, field, words",
    [
        ({"by": "department"}, "by", "'by' must be one of inspector, grid"),
        ({}, "by", "'by' must be one of"),
        ({"by": "grid", "day": "2026-02-30"}, "day", "day"),
        (
            {"by": "grid", "day": "2026-01-05", "since": "2026-01-05T00:00:00+08:00"},
            "day",
            "either 'day' or 'since'",
        ),
        (
            {
                "by": "grid",
                "since": "2026-01-01T00:00:00+08:00",
                "until": "2026-03-01T00:00:00+08:00",
            },
            "until",
            "at most 31 days",
        ),
        ({"by": "grid", "limit": "0"}, "limit", "whole number"),
    ],
)
def test_bad_indicator_requests_are_400_and_say_why(operator, city, params, field, words):
    response = _client(operator).get(INDICATORS, params)
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field
    assert words in response.json()["detail"]


def test_the_replay_of_an_inspectors_day(operator, inspector, walked):
    day = timezone.localtime(walked["start"]).date().isoformat()
    response = _client(operator).get(REPLAY, {"inspector": inspector.pk, "day": day})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["inspector"] == {"id": inspector.pk, "name": inspector.get_full_name()}
    assert body["day"] == day
    (patrol,) = body["patrols"]
    assert patrol["id"] == walked["patrol"].pk
    assert len(patrol["points"]) == 30
    assert patrol["points"][0][0] == walked["start"].timestamp()
    (report,) = body["reports"]
    assert report["case_id"] == walked["case"].pk
    assert (report["path_check"], report["path_check_label"]) == ("off_track", "偏离轨迹")
    assert report["path_distance_m"] == pytest.approx(140, abs=2)
    assert "inspector-a" not in response.content.decode()


def test_the_replay_needs_an_existing_inspector(operator, planner, city):
    client = _client(operator)
    missing = client.get(REPLAY)
    assert missing.status_code == 400 and missing.json()["field"] == "inspector"
    assert client.get(REPLAY, {"inspector": 999999}).status_code == 404
    assert client.get(REPLAY, {"inspector": planner.pk}).status_code == 404  # not an inspector
    assert client.get(REPLAY, {"inspector": "abc"}).status_code == 400


def test_the_patrol_api_is_for_the_command_center(inspector, planner, walked):
    for user in (inspector, planner):
        assert _client(user).get(INDICATORS, {"by": "inspector"}).status_code == 403
        assert _client(user).get(REPLAY, {"inspector": inspector.pk}).status_code == 403
    assert APIClient().get(INDICATORS, {"by": "inspector"}).status_code in (401, 403)
