"""The dashboard's summaries: hot grids with their trend, the overdue list (agreeing with the
indicator card), activity per day, indicator tables, one grid's summary; and their API:
city-wide roles only, plain 400s for bad parameters."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from geogrid.cases.indicators import case_indicators
from geogrid.cases.models import Case
from geogrid.cases.transitions import transition_case
from geogrid.command_center import summaries
from geogrid.components.models import ComponentClass
from geogrid.components.services import create_component
from geogrid.grids.models import Grid
from tests.geometry import point

BEIJING = ZoneInfo("Asia/Shanghai")
WEST = "110101001001"
NW, SE = WEST + "001", WEST + "004"
ROAD_DIRT = "06012"


def _now() -> datetime:
    return timezone.now()


def _window(days: int = 30) -> dict:
    now = _now()
    return {"start": now - timedelta(days=days), "end": now + timedelta(minutes=1)}


def _dispatch(case: Case, operator, *, late_by: timedelta | None = None) -> Case:
    for to in ("accepted", "filed", "dispatched"):
        case = transition_case(case=case, to=to, actor=operator)
    if late_by is not None:
        Case.objects.filter(pk=case.pk).update(deadline=_now() - late_by)
    return Case.objects.get(pk=case.pk)


@pytest.fixture
def history(report):
    """NW unit grid: 3 garbage reports now and 1 forty days ago (the period before); SE: 1
    road-dirt report; the east community (not divided into unit grids): 1 garbage report."""
    made = [
        report(x, y, **extra).case
        for x, y, extra in [
            (20, 180, {}),
            (40, 160, {}),
            (60, 120, {}),
            (150, 50, {"service_code": ROAD_DIRT}),
            (300, 100, {}),
            (30, 130, {}),
        ]
    ]
    Case.objects.filter(pk=made[5].pk).update(reported_at=_now() - timedelta(days=40))
    return made


# --- Hot grids -----------------------------------------------------------------------------------
def test_hot_grids_rank_unit_grids_by_reports_with_names_and_the_previous_period(history):
    ranking = summaries.hot_grids(**_window())
    assert [(g.rank, g.code, g.reports, g.previous) for g in ranking] == [
        (1, NW, 3, 1),
        (2, SE, 1, 0),
        (3, "110101002001", 1, 0),
    ]
    assert (ranking[0].community, ranking[0].street) == ("西社区", "西街道")


def test_hot_grids_filter_by_category_subtree_and_limit(history):
    assert [g.code for g in summaries.hot_grids(**_window(), class_code=ROAD_DIRT)] == [SE]
    assert [g.code for g in summaries.hot_grids(**_window(), within="110101002")] == [
        "110101002001"
    ]
    assert [g.code for g in summaries.hot_grids(**_window(), limit=1)] == [NW]
    with pytest.raises(ValueError, match="no category"):
        summaries.hot_grids(**_window(), class_code="99999")


# --- Overdue -------------------------------------------------------------------------------------
def test_overdue_list_is_most_overdue_first_and_agrees_with_the_indicator_card(history, operator):
    a = _dispatch(history[0], operator, late_by=timedelta(hours=2))
    b = _dispatch(history[3], operator, late_by=timedelta(days=3))
    _dispatch(history[1], operator)  # dispatched, deadline still ahead
    closed_late = _dispatch(history[2], operator, late_by=timedelta(days=5))
    Case.objects.filter(pk=closed_late.pk).update(status="closed", closed_at=_now())

    total, cases = summaries.overdue_cases()
    assert total == 2
    assert [c.id for c in cases] == [b.pk, a.pk]
    assert cases[0].grid_code == SE and cases[0].department
    assert cases[0].overdue_hours > cases[1].overdue_hours >= 0
    assert total == case_indicators(**_window()).overdue_open
    assert summaries.overdue_cases(class_code=ROAD_DIRT)[0] == 1
    assert summaries.overdue_cases(within="110101002")[0] == 0


def test_no_overdue_cases_is_an_empty_list(history):
    assert summaries.overdue_cases() == (0, [])


# --- Activity by day -----------------------------------------------------------------------------
def test_activity_counts_per_local_day_with_every_day_present(history, operator):
    _dispatch(history[0], operator)
    today = _now().astimezone(BEIJING).date()
    start = datetime.combine(today - timedelta(days=6), datetime.min.time(), tzinfo=BEIJING)
    body = summaries.activity_by_day(start=start, end=start + timedelta(days=7))
    assert body["bucket"] == "day"
    assert [row["date"] for row in body["rows"]] == [
        (today - timedelta(days=6 - i)).isoformat() for i in range(7)
    ]
    assert body["rows"][-1] == {"date": today.isoformat(), "reported": 5, "filed": 1, "closed": 0}
    assert sum(row["reported"] for row in body["rows"][:-1]) == 0


def test_activity_of_a_long_period_is_counted_by_month(history):
    start = datetime(2025, 1, 1, tzinfo=BEIJING)
    body = summaries.activity_by_day(start=start, end=_now() + timedelta(days=1))
    assert body["bucket"] == "month"
    assert body["rows"][0]["date"] == "2025-01-01"
    assert sum(row["reported"] for row in body["rows"]) == 6


# --- One grid ------------------------------------------------------------------------------------
@pytest.fixture
def nw_grid(history, admin_user):
    grid = Grid.objects.get(code=NW)
    Grid.objects.filter(pk=grid.pk).update(officer_name="张伟", officer_phone="13800000001")
    cover = ComponentClass.objects.get(scheme="gbt47678", code="01001")
    light = ComponentClass.objects.get(scheme="gbt47678", code="01037")
    for x, y, cls, status in [
        (10, 190, cover, "intact"),
        (20, 190, cover, "damaged"),
        (30, 190, light, "intact"),
        (150, 50, light, "intact"),
    ]:
        at = point(x, y)
        create_component(actor=admin_user, component_class=cls, geom=at, status=status)
    return Grid.objects.get(pk=grid.pk)


def test_grid_summary_has_officer_components_open_cases_and_indicators(nw_grid, inspector):
    summary = summaries.grid_summary(code=NW, **_window()).as_dict()
    assert summary["officer"] == {"name": "张伟", "phone": "13800000001", "department": ""}
    assert [i["username"] for i in summary["inspectors"]] == ["inspector-a"]
    assert [step["code"] for step in summary["path"]] == ["110101", "110101001", WEST, NW]
    assert summary["components"]["total"] == 3 and summary["components"]["faulty"] == 1
    assert [(c["code"], c["total"], c["faulty"]) for c in summary["components"]["by_class"]] == [
        ("01001", 2, 1),
        ("01037", 1, 0),
    ]
    assert summary["open_cases"]["count"] == 4  # the three of now and the one of 40 days ago
    assert len(summary["open_cases"]["items"]) == 4
    assert summary["indicators"]["reported"] == 3
    expected = case_indicators(grid_code=NW, **_window()).as_dict()
    del expected["self_reported"]
    assert summary["indicators"] == expected
    assert summary["grid"]["geometry"]["type"] == "MultiPolygon"


def test_a_street_summary_counts_its_whole_subtree(nw_grid):
    summary = summaries.grid_summary(code="110101001", **_window()).as_dict()
    assert summary["components"]["total"] == 4
    assert summary["open_cases"]["count"] == 5
    assert summary["officer"]["name"] == ""


def test_an_unknown_grid_has_no_summary(city):
    with pytest.raises(Grid.DoesNotExist):
        summaries.grid_summary(code="110101009", **_window())


# --- The API -------------------------------------------------------------------------------------
CC = "/api/v1/command-center/"
ENDPOINTS = [
    "indicators/",
    "indicators/rows/?by=department",
    "hot-grids/",
    "overdue/",
    f"grids/{NW}/summary/",
]


@pytest.fixture
def viewer_client(viewer) -> APIClient:
    client = APIClient()
    client.force_authenticate(viewer)
    return client


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_the_endpoints_are_for_city_wide_roles(
    endpoint, history, inspector, handler, planner, operator, viewer
):
    client = APIClient()
    assert client.get(CC + endpoint).status_code in (401, 403)
    for user in (inspector, handler, planner):
        client.force_authenticate(user)
        assert client.get(CC + endpoint).status_code == 403, user.username
    for user in (operator, viewer):
        client.force_authenticate(user)
        assert client.get(CC + endpoint).status_code == 200, user.username


def test_indicators_endpoint_gives_the_cards_of_the_period_with_labels(history, viewer_client):
    body = viewer_client.get(CC + "indicators/").json()
    expected = case_indicators(start=_now() - timedelta(days=30), end=_now()).as_dict()
    assert body["indicators"]["reported"] == expected["reported"] == 5
    assert body["labels"]["closing_rate"] == "结案率"
    assert "self_reported" not in body["indicators"]


def test_indicator_rows_by_department_street_and_day(history, operator, viewer_client):
    _dispatch(history[0], operator)
    departments = viewer_client.get(CC + "indicators/rows/", {"by": "department"}).json()
    assert [(r["name"], r["filed"]) for r in departments["rows"]] == [("东城区环境卫生服务中心", 1)]
    assert departments["rows"][0]["name_en"]
    streets = viewer_client.get(CC + "indicators/rows/", {"by": "street"}).json()["rows"]
    assert [(r["key"], r["name"], r["reported"]) for r in streets] == [
        ("110101001", "西街道", 4),
        ("110101002", "东街道", 1),
    ]
    days = viewer_client.get(CC + "indicators/rows/", {"by": "day"}).json()
    assert days["bucket"] == "day" and len(days["rows"]) in (30, 31)
    assert sum(r["reported"] for r in days["rows"]) == 5


def test_hot_grids_and_overdue_endpoints(history, operator, viewer_client):
    _dispatch(history[3], operator, late_by=timedelta(days=1))
    hot = viewer_client.get(CC + "hot-grids/", {"limit": 2}).json()
    assert [(g["code"], g["reports"], g["previous"]) for g in hot["grids"]] == [
        (NW, 3, 1),
        (SE, 1, 0),
    ]
    overdue = viewer_client.get(CC + "overdue/").json()
    assert overdue["count"] == 1
    assert overdue["cases"][0]["service_code"] == ROAD_DIRT
    assert overdue["cases"][0]["grid_code"] == SE


def test_grid_summary_endpoint(nw_grid, viewer_client):
    body = viewer_client.get(CC + f"grids/{NW}/summary/").json()
    assert body["officer"]["name"] == "张伟"
    assert body["components"]["total"] == 3
    assert viewer_client.get(CC + "grids/110101009/summary/").status_code == 404


@pytest.mark.parametrize(
    ("endpoint", "params", "field"),
    [
        ("indicators/", {"since": "last week"}, "since"),
        (
            "indicators/",
            {"since": "2026-11-02T00:00:00+08:00", "until": "2026-11-01T00:00:00+08:00"},
            "until",
        ),
        ("indicators/rows/", {}, "by"),
        ("indicators/rows/", {"by": "planet"}, "by"),
        ("hot-grids/", {"class": "99999"}, "class"),
        ("hot-grids/", {"class": "06 010"}, "class"),
        ("hot-grids/", {"limit": "0"}, "limit"),
        ("hot-grids/", {"limit": "101"}, "limit"),
        ("hot-grids/", {"within": "12x"}, "within"),
        ("overdue/", {"class": "99999"}, "class"),
        ("overdue/", {"limit": "many"}, "limit"),
        (f"grids/{NW}/summary/", {"until": "2026-11-01"}, "until"),
        ("grids/12ab/summary/", {}, "code"),
    ],
)
def test_bad_parameters_are_400_with_a_plain_message(
    endpoint, params, field, history, viewer_client
):
    response = viewer_client.get(CC + endpoint, params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["field"] == field
    assert isinstance(body["detail"], str) and body["detail"]
