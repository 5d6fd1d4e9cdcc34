"""The demo's generated patrol history: deterministic, written in bulk, and marked the way the
cleaning rules would mark it."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import shapely
from django.db import connection

from geogrid.accounts.models import Role
from geogrid.patrols.cleaning import clean
from geogrid.patrols.coverage import coverage
from geogrid.patrols.demo import generate, working_days, write
from geogrid.patrols.models import Patrol, PatrolSource, TrackPoint, WalkedArea
from geogrid.patrols.services import limits
from tests import factories

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 10, 23, 20, 0, tzinfo=SHANGHAI)


def _scopes(city):
    west = factories.user("walker-west", Role.INSPECTOR, scope=[city["110101001001001"]])
    south = factories.user("walker-south", Role.INSPECTOR, scope=[city["110101001001003"]])
    polygon = lambda code: shapely.from_wkb(bytes(city[code].geom.ewkb))  # noqa: E731
    return [
        (west.pk, [polygon("110101001001001"), polygon("110101001001002")]),
        (south.pk, [polygon("110101001001003"), polygon("110101001001004")]),
    ]


def _days():
    return working_days(date(2026, 10, 23), 12)  # 12 Oct … 23 Oct: ten working days


def test_only_working_days_of_the_calendar_get_patrols(city):
    days = _days()
    assert date(2026, 10, 17) not in days and date(2026, 10, 18) not in days  # a weekend
    assert len(days) == 10 and days[0] == date(2026, 10, 12)


def test_the_history_is_the_same_for_the_same_seed(city):
    scopes = _scopes(city)
    first, again = generate(scopes, _days(), now=NOW), generate(scopes, _days(), now=NOW)
    assert len(first.patrols) == len(again.patrols) > 10
    assert np.array_equal(np.concatenate(first.lon), np.concatenate(again.lon))
    assert [p["client_id"] for p in first.patrols] == [p["client_id"] for p in again.patrols]
    other = generate(scopes, _days(), now=NOW, seed=1)
    assert not np.array_equal(np.concatenate(first.times)[:50], np.concatenate(other.times)[:50])


def test_the_marks_are_those_cleaning_gives(city):
    history = generate(_scopes(city), _days(), now=NOW)
    marked = 0
    for times, lon, lat, accuracy, status in zip(
        history.times, history.lon, history.lat, history.accuracy, history.status, strict=True
    ):
        verdicts = clean(times, lon, lat, accuracy.astype(float), previous=None, limits=limits())
        assert verdicts == list(status)
        marked += int((status != "ok").sum())
    assert marked > 0  # some jumps and poor fixes, as promised


def test_written_history_is_ended_patrols_with_points_and_lines(city):
    history = generate(_scopes(city), _days(), now=NOW)
    count = write(history, district="110101", progress=lambda steps, **kw: steps)
    assert TrackPoint.objects.count() == count == history.point_count
    patrols = Patrol.objects.all()
    assert patrols.count() == len(history.patrols)
    assert set(patrols.values_list("source", "status").distinct()) == {(PatrolSource.DEMO, "ended")}
    assert WalkedArea.objects.count() == patrols.exclude(geom=None).count()
    first = patrols.order_by("started_at").first()
    assert first.geom is not None and first.distance_m > 1000
    assert first.points_accepted == TrackPoint.objects.filter(patrol=first, status="ok").count()
    day = datetime.combine(
        first.started_at.astimezone(SHANGHAI).date(), datetime.min.time(), SHANGHAI
    )
    rows = {r.code: r for r in coverage(since=day, until=day + timedelta(days=1))}
    assert rows["110101001001001"].share > 0.3 and rows["110101001001001"].visits >= 1
    # Every stored point lies in the grid it names.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM patrols_trackpoint p JOIN grids_grid g ON g.id = p.grid_id "
            "WHERE NOT ST_Covers(g.geom, p.geom)"
        )
        assert cursor.fetchone()[0] == 0
