"""Report counts per grid: the stored grid path, roll-ups by level, period, category, subtree,
access and plain errors."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from rest_framework.test import APIClient

from geogrid.cases.models import Case
from geogrid.command_center.queries import cases_per_grid

BEIJING = ZoneInfo("Asia/Shanghai")
WEST = "110101001001"


@pytest.fixture
def history(report):
    """NW unit grid: 3 garbage reports (one last year); SE: 1 road-dirt report; the east
    community (no unit grids): 1 garbage report."""
    made = [report(x, y, **extra).case for x, y, extra in [
        (20, 180, {}), (40, 160, {}), (60, 120, {}), (150, 50, {"service_code": "06012"}),
        (300, 100, {})]]
    Case.objects.filter(pk=made[2].pk).update(
        reported_at=datetime(2025, 6, 1, 10, tzinfo=BEIJING))
    Case.objects.filter(pk=made[0].pk).update(overdue=True)
    return made


def _window() -> dict:
    now = datetime.now(BEIJING)
    return {"start": now - timedelta(days=30), "end": now + timedelta(minutes=1)}


def test_counts_per_unit_grid_come_from_the_stored_grid_path(history):
    counts = cases_per_grid(**_window())
    assert [(c.code, c.reports, c.overdue) for c in counts] == [
        (WEST + "001", 2, 1), (WEST + "004", 1, 0), ("110101002001", 1, 0)]


def test_counts_roll_up_by_level_and_filter_by_category_and_subtree(history):
    streets = cases_per_grid(**_window(), level="street")
    assert [(c.code, c.reports) for c in streets] == [("110101001", 3), ("110101002", 1)]
    assert [(c.code, c.reports) for c in cases_per_grid(**_window(), class_code="06012")] == [
        (WEST + "004", 1)]
    assert {c.code for c in cases_per_grid(**_window(), within="110101002")} == {
        "110101002001"}
    year = cases_per_grid(start=datetime(2025, 1, 1, tzinfo=BEIJING),
                          end=datetime(2026, 1, 1, tzinfo=BEIJING))
    assert [(c.code, c.reports) for c in year] == [(WEST + "001", 1)]


def test_the_api_is_for_the_command_center(history, operator, inspector, viewer):
    client = APIClient()
    client.force_authenticate(inspector)
    assert client.get("/api/v1/command-center/grid-counts/").status_code == 403
    client.force_authenticate(viewer)
    body = client.get("/api/v1/command-center/grid-counts/", {"level": "community"}).json()
    assert body["total"] == 4
    assert body["fields"] == ["id", "code", "name", "reports", "overdue"]
    assert body["grids"][0][1:] == [WEST, "西社区", 3, 1]
    for params, field in [({"since": "yesterday"}, "since"), ({"within": "12x"}, "within"),
                          ({"level": "planet"}, None), ({"limit": "0"}, "limit")]:
        response = client.get("/api/v1/command-center/grid-counts/", params)
        assert response.status_code == 400, params
        if field:
            assert response.json()["field"] == field
