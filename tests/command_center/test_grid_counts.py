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
    made = [
        report(x, y, **extra).case
        for x, y, extra in [
            (20, 180, {}),
            (40, 160, {}),
            (60, 120, {}),
            (150, 50, {"service_code": "06012"}),
            (300, 100, {}),
        ]
    ]
    Case.objects.filter(pk=made[2].pk).update(reported_at=datetime(2025, 6, 1, 10, tzinfo=BEIJING))
    Case.objects.filter(pk=made[0].pk).update(overdue=True)
    return made


def _window() -> dict:
    now = datetime.now(BEIJING)
    return {"start": now - timedelta(days=30), "end": now + timedelta(minutes=1)}


def test_counts_per_unit_grid_come_from_the_stored_grid_path(history):
    counts = cases_per_grid(**_window())
    assert [(c.code, c.reports, c.overdue) for c in counts] == [
        (WEST + "001", 2, 1),
        (WEST + "004", 1, 0),
        ("110101002001", 1, 0),
    ]


def test_counts_roll_up_by_level_and_filter_by_category_and_subtree(history):
    streets = cases_per_grid(**_window(), level="street")
    assert [(c.code, c.reports) for c in streets] == [("110101001", 3), ("110101002", 1)]
    assert [(c.code, c.reports) for c in cases_per_grid(**_window(), class_code="06012")] == [
        (WEST + "004", 1)
    ]
    assert {c.code for c in cases_per_grid(**_window(), within="110101002")} == {"110101002001"}
    year = cases_per_grid(
        start=datetime(2025, 1, 1, tzinfo=BEIJING), end=datetime(2026, 1, 1, tzinfo=BEIJING)
    )
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
    for params, field in [
        ({"since": "yesterday"}, "since"),
        ({"within": "12x"}, "within"),
        ({"level": "planet"}, None),
        ({"limit": "0"}, "limit"),
    ]:
        response = client.get("/api/v1/command-center/grid-counts/", params)
        assert response.status_code == 400, params
        if field:
            assert response.json()["field"] == field


# --- The month counts behind long periods (cases/migrations/0003) -------------------------------
# Report times chosen to sit on and next to Beijing month boundaries, in several years.
MOMENTS = [
    datetime(2025, 1, 31, 23, 59, 59, tzinfo=BEIJING),
    datetime(2025, 2, 1, tzinfo=BEIJING),
    datetime(2025, 6, 15, 12, tzinfo=BEIJING),
    datetime(2025, 12, 31, 23, 30, tzinfo=BEIJING),
    datetime(2026, 1, 1, tzinfo=BEIJING),
    datetime(2026, 3, 1, 0, 0, 1, tzinfo=BEIJING),
    datetime(2026, 3, 20, 8, tzinfo=BEIJING),
    datetime(2026, 4, 30, 16, tzinfo=BEIJING),
]


@pytest.fixture
def spread(report):
    """Thirty reports over four unit grids, two categories, eight moments; some overdue."""
    places = [(20, 180), (150, 150), (60, 40), (150, 50)]
    made = []
    for i in range(30):
        x, y = places[i % 4]
        made.append(report(x, y, service_code="06012" if i % 3 else "06010").case)
        Case.objects.filter(pk=made[-1].pk).update(
            reported_at=MOMENTS[i % len(MOMENTS)], overdue=i % 5 == 0
        )
    return made


def _plain(start, end, *, length=None, class_code=None, within=None) -> dict:
    """What the counts must equal: a plain COUNT over the cases, grouped by grid code."""
    from django.db.models import Count, F, Q
    from django.db.models.functions import Left

    cases = Case.objects.filter(reported_at__gte=start, reported_at__lt=end)
    if class_code:
        cases = cases.filter(case_class__service_code=class_code)
    if within:
        cases = cases.filter(grid_code__startswith=within)
    key = Left("grid_code", length) if length else F("grid_code")
    rows = (
        cases.annotate(key=key)
        .values("key")
        .annotate(n=Count("pk"), late=Count("pk", filter=Q(overdue=True)))
    )
    return {row["key"]: (row["n"], row["late"]) for row in rows}


def _month_counts_match_the_cases() -> bool:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT count(*) FROM (
                SELECT cases_count_month(reported_at) AS month, grid_id, grid_code,
                       count(*)::int AS reports, (count(*) FILTER (WHERE overdue))::int AS overdue
                FROM cases_case GROUP BY 1, 2, 3) c
            FULL JOIN cases_gridmonthcount s USING (month, grid_id, grid_code)
            WHERE c.reports IS DISTINCT FROM s.reports OR c.overdue IS DISTINCT FROM s.overdue""")
        return cursor.fetchone()[0] == 0


WINDOWS = [
    (datetime(2025, 1, 1, tzinfo=BEIJING), datetime(2027, 1, 1, tzinfo=BEIJING)),  # all months
    (datetime(2025, 2, 1, tzinfo=BEIJING), datetime(2026, 3, 1, tzinfo=BEIJING)),  # on bounds
    (
        datetime(2025, 1, 31, 23, 59, 59, tzinfo=BEIJING),
        datetime(2026, 3, 1, 0, 0, 1, tzinfo=BEIJING),
    ),  # 1 s edges
    (
        datetime(2025, 1, 31, 23, 59, 59, 1, tzinfo=BEIJING),
        datetime(2026, 3, 1, 0, 0, 1, 1, tzinfo=BEIJING),
    ),  # just after
    (
        datetime(2026, 3, 1, 0, 0, 1, tzinfo=BEIJING),
        datetime(2026, 3, 25, tzinfo=BEIJING),
    ),  # in a month
    (datetime(2025, 6, 1, 12, tzinfo=BEIJING), datetime(2026, 4, 30, 15, tzinfo=BEIJING)),
    (
        datetime(2025, 12, 31, 16, tzinfo=ZoneInfo("UTC")),
        datetime(2026, 5, 1, tzinfo=ZoneInfo("America/New_York")),
    ),  # other zones
]


@pytest.mark.parametrize(("start", "end"), WINDOWS)
def test_counts_equal_a_plain_count_for_any_period(spread, start, end):
    from geogrid.grids.models import GridLevel

    for level in ("unit", "community", "street", "district"):
        length = None if level == "unit" else GridLevel.objects.get(slug=level).code_length
        counts = cases_per_grid(start=start, end=end, level=level)
        expected = _plain(start, end, length=length)
        assert {c.code: (c.reports, c.overdue) for c in counts} == expected, level
        assert [c.reports for c in counts] == sorted((c.reports for c in counts), reverse=True)
    for class_code in ("06010", "06012"):
        counts = cases_per_grid(start=start, end=end, class_code=class_code)
        assert {c.code: (c.reports, c.overdue) for c in counts} == _plain(
            start, end, class_code=class_code
        )
    counts = cases_per_grid(start=start, end=end, within=WEST)
    assert {c.code: (c.reports, c.overdue) for c in counts} == _plain(start, end, within=WEST)


def test_month_counts_follow_every_write(spread):
    assert _month_counts_match_the_cases()
    # Moved to another month (one row, then many), flagged overdue, re-assigned, deleted.
    Case.objects.filter(pk=spread[0].pk).update(reported_at=datetime(2024, 7, 1, tzinfo=BEIJING))
    Case.objects.filter(pk__in=[c.pk for c in spread[1:10]]).update(
        reported_at=datetime(2026, 2, 28, 23, 59, tzinfo=BEIJING)
    )
    Case.objects.filter(pk__in=[c.pk for c in spread[10:20]]).update(overdue=True)
    other = spread[3]
    Case.objects.filter(pk=spread[4].pk).update(grid_id=other.grid_id, grid_code=other.grid_code)
    Case.objects.filter(pk__in=[c.pk for c in spread[20:25]]).delete()
    assert _month_counts_match_the_cases()
    # Workflow-style saves that touch no counted column change nothing.
    case = Case.objects.get(pk=spread[26].pk)
    case.description = "edited"
    case.save()
    assert _month_counts_match_the_cases()
    start, end = datetime(2024, 1, 1, tzinfo=BEIJING), datetime(2027, 1, 1, tzinfo=BEIJING)
    assert {c.code: (c.reports, c.overdue) for c in cases_per_grid(start=start, end=end)} == _plain(
        start, end
    )
    # Months that fall to zero leave no row behind.
    from geogrid.cases.models import GridMonthCount

    Case.objects.all().delete()
    assert not GridMonthCount.objects.exists()


def test_the_api_sends_the_counts_in_order_and_limited(spread, viewer):
    client = APIClient()
    client.force_authenticate(viewer)
    since, until = "2025-01-01T00:00:00+08:00", "2027-01-01T00:00:00+08:00"
    counts = cases_per_grid(
        start=datetime(2025, 1, 1, tzinfo=BEIJING), end=datetime(2027, 1, 1, tzinfo=BEIJING)
    )
    body = client.get(
        "/api/v1/command-center/grid-counts/", {"since": since, "until": until}
    ).json()
    assert body["grids"] == [[c.grid_id, c.code, c.name, c.reports, c.overdue] for c in counts]
    assert body["total"] == len(spread)
    top = client.get(
        "/api/v1/command-center/grid-counts/", {"since": since, "until": until, "limit": "2"}
    ).json()
    assert top["grids"] == body["grids"][:2]
    assert top["total"] == sum(row[3] for row in top["grids"])
    empty = client.get(
        "/api/v1/command-center/grid-counts/",
        {"since": "2020-01-01T00:00:00+08:00", "until": "2020-02-01T00:00:00+08:00"},
    ).json()
    assert empty["grids"] == [] and empty["total"] == 0
