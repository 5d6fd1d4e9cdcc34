"""Command-center API parameters (issue 10): out-of-range numbers and dates are 400s naming the
parameter, never a 500 from PostgreSQL."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from geogrid.cases.models import Case

CENTER = "/api/v1/command-center"


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("grid-counts/", {"limit": "99999999999999999999"}, "limit"),
        ("grid-counts/", {"since": "0001-01-01T00:00:00+08:00"}, "since"),
        ("grid-counts/", {"level": "\x00"}, "level"),
        ("grid-counts/", {"class": "\x00"}, "class"),
        ("indicators/", {"until": "0001-01-01T00:00:00+08:00"}, "until"),
        ("indicators/", {"since": "2026-02-30T00:00:00+08:00"}, "since"),
        ("hot-grids/", {"limit": "99999999999999999999"}, "limit"),
        ("overdue/", {"within": "\x00"}, "within"),
        ("indicators/rows/", {"by": "\x00"}, "by"),
    ],
)
def test_command_center_refuses_out_of_range_parameters_with_400(operator, path, params, field):
    client = APIClient()
    client.force_authenticate(operator)
    response = client.get(f"{CENTER}/{path}", params)
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field


def test_command_center_takes_an_unencoded_offset(operator):
    client = APIClient()
    client.force_authenticate(operator)
    response = client.get(
        f"{CENTER}/indicators/?since=2026-11-01T00:00:00+08:00&until=2026-11-08T00:00:00+08:00"
    )
    assert response.status_code == 200, response.content
    assert response.json()["since"].startswith("2026-11-01T")


@pytest.mark.parametrize(
    ("path", "extra"),
    [
        ("grid-counts/", {}),
        ("indicators/", {}),
        ("indicators/rows/", {"by": "day"}),
        ("hot-grids/", {}),
    ],
)
def test_command_center_refuses_a_period_longer_than_the_maximum_with_400(
    operator, settings, path, extra
):
    settings.GEOGRID_MAX_PERIOD_DAYS = 400
    client = APIClient()
    client.force_authenticate(operator)
    too_long = client.get(
        f"{CENTER}/{path}",
        {"since": "2025-01-01T00:00:00+08:00", "until": "2026-02-06T00:00:00+08:00", **extra},
    )
    assert too_long.status_code == 400, too_long.content
    assert too_long.json()["field"] == "since"
    assert "401 days long; at most 400 days" in too_long.json()["detail"]
    within = client.get(
        f"{CENTER}/{path}",
        {"since": "2025-01-01T00:00:00+08:00", "until": "2026-02-05T00:00:00+08:00", **extra},
    )
    assert within.status_code == 200, within.content


def _reported(client: APIClient, path: str, **params) -> int:
    response = client.get(f"{CENTER}/{path}", params)
    assert response.status_code == 200, response.content
    body = response.json()
    return body["indicators"]["reported"] if "indicators" in body else body["total"]


@pytest.mark.parametrize("path", ["indicators/", "grid-counts/"])
def test_dashboard_answers_are_kept_for_the_configured_seconds(operator, report, settings, path):
    settings.GEOGRID_DASHBOARD_CACHE_S = 1
    client = APIClient()
    client.force_authenticate(operator)
    report()
    assert _reported(client, path) == 1
    report(60, 160)
    assert _reported(client, path) == 1  # kept: every open dashboard asks the same
    week = (timezone.now() - timedelta(days=7)).isoformat()
    assert _reported(client, path, since=week) == 2  # another query is another answer
    time.sleep(1.1)
    assert _reported(client, path) == 2  # expired


def test_dashboard_cache_off_computes_every_answer(operator, report, settings):
    settings.GEOGRID_DASHBOARD_CACHE_S = 0
    client = APIClient()
    client.force_authenticate(operator)
    report()
    assert _reported(client, "indicators/") == 1
    report(60, 160)
    assert _reported(client, "indicators/") == 2


def test_kept_dashboard_answers_are_per_language_and_never_skip_the_role_check(
    operator, handler, report
):
    client = APIClient()
    client.force_authenticate(operator)
    report()
    chinese = client.get(f"{CENTER}/indicators/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    english = client.get(f"{CENTER}/indicators/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert chinese["labels"]["reported"] != english["labels"]["reported"]
    department = APIClient()
    department.force_authenticate(handler)
    assert department.get(f"{CENTER}/indicators/").status_code == 403


def test_indicators_count_the_generated_demo_reports_of_the_period(
    operator, handler, report, inspector, settings
):
    from geogrid.cases.history import HistoryActors, generate_history

    settings.GEOGRID_DASHBOARD_CACHE_S = 0
    client = APIClient()
    client.force_authenticate(operator)
    report()
    body = client.get(f"{CENTER}/indicators/").json()
    assert body["generated"] == 0 and body["indicators"]["reported"] == 1
    generate_history(
        count=300,
        actors=HistoryActors(
            inspector=inspector, operator=operator, admin=operator, handler=handler
        ),
    )
    now = timezone.now()
    for days in (30, 365):
        since = now - timedelta(days=days)
        body = client.get(f"{CENTER}/indicators/", {"since": since.isoformat()}).json()
        expected = Case.objects.filter(generated=True, reported_at__gte=since).count()
        assert body["generated"] == expected > 0
        assert body["indicators"]["reported"] == expected + 1  # the figures include them
