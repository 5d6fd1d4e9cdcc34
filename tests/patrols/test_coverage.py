"""Coverage on fixed shapes with known answers: a straight walk along y = 150 through the two
northern 100 m cells, with GEOGRID_COVERAGE_DISTANCE_M = 30, covers the band y 120–180 of
each: 6,000 of 10,000 m², a share of 0.6."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from geogrid.patrols.coverage import coverage
from geogrid.patrols.models import WalkedArea
from geogrid.patrols.services import end_patrol, record_points, start_patrol
from tests.patrols.factories import east_along, recent_start, walk

pytestmark = pytest.mark.django_db

NW, NE, SW, SE = (f"110101001001{n:03d}" for n in (1, 2, 3, 4))


@pytest.fixture(autouse=True)
def _distance(settings):
    settings.GEOGRID_COVERAGE_DISTANCE_M = 30.0
    settings.GEOGRID_PATROL_GAP_S = 300


def _walk(inspector, path, *, start, end=True, tag="walk", step_s=10.0):
    patrol, _ = start_patrol(actor=inspector, client_id=uuid.uuid4(), started_at=start)
    record_points(
        actor=inspector, patrol=patrol, points=walk(path, start=start, tag=tag, step_s=step_s)
    )
    if end:
        end_patrol(actor=inspector, patrol=patrol)
    return patrol


def _by_code(rows):
    return {row.code: row for row in rows}


@pytest.mark.parametrize("ended", [True, False], ids=["ended-line", "walking-from-points"])
def test_a_straight_walk_covers_the_band_within_the_distance(inspector, ended):
    start = recent_start()
    _walk(inspector, east_along(150, -45, 245), start=start, end=ended)
    rows = _by_code(coverage(since=start - timedelta(hours=1), until=start + timedelta(hours=1)))
    assert set(rows) == {NW, NE, SW, SE}
    assert rows[NW].share == pytest.approx(0.6, abs=0.002)
    assert rows[NE].share == pytest.approx(0.6, abs=0.002)
    assert rows[SW].share == 0 and rows[SE].share == 0
    # Points at x = 5, 15, …, 95 lie in NW: 10 × 10 s; x = 105 … 195 in NE.
    assert rows[NW].seconds == pytest.approx(100)
    assert rows[NE].seconds == pytest.approx(100)
    assert (rows[NW].visits, rows[NE].visits, rows[SW].visits) == (1, 1, 0)
    assert rows[NW].last_visit == start + timedelta(seconds=140)  # the point at x = 95
    assert rows[SW].last_visit is None


def test_two_walks_overlapping_count_once(inspector):
    start = recent_start()
    _walk(inspector, east_along(150, -45, 245), start=start, tag="a")
    _walk(inspector, east_along(150, -45, 245), start=start + timedelta(minutes=10), tag="b")
    rows = _by_code(coverage(since=start, until=start + timedelta(hours=1)))
    assert rows[NW].share == pytest.approx(0.6, abs=0.002)
    assert rows[NW].visits == 2


def test_leaving_and_coming_back_is_a_second_visit(inspector):
    start = recent_start()
    # NW → NE → NW along y = 150, 10 m steps.
    path = east_along(150, 55, 155) + [(155 - 10 * i, 150) for i in range(1, 11)]
    _walk(inspector, path, start=start)
    rows = _by_code(coverage(since=start, until=start + timedelta(hours=1)))
    assert rows[NW].visits == 2 and rows[NE].visits == 1


def test_a_silence_longer_than_the_gap_counts_no_time_and_a_new_visit(inspector):
    start = recent_start()
    _walk(inspector, [(50, 150), (60, 150), (70, 150)], start=start, step_s=600)
    rows = _by_code(coverage(since=start, until=start + timedelta(hours=1)))
    assert rows[NW].seconds == 0  # 10-minute silences are not time spent walking
    assert rows[NW].visits == 3


def test_the_period_bounds_the_points_counted(inspector):
    start = recent_start()
    _walk(inspector, east_along(150, -45, 245), start=start)
    # Only the first 65 s: x = -45 … 15, of which x = 5 and 15 lie in NW. The line ends at
    # x = 15: the band x 0–15 plus a half disc of 30 m, (15 × 60 + π × 30² / 2) / 10,000.
    rows = _by_code(coverage(since=start, until=start + timedelta(seconds=65)))
    assert (rows[NW].visits, rows[NW].seconds) == (1, 10)
    assert rows[NE].visits == 0 and rows[NE].share == 0
    assert rows[NW].share == pytest.approx(0.2314, abs=0.005)


def test_coverage_of_one_inspector_and_of_a_scope(inspector, city):
    from geogrid.accounts.models import Role
    from tests import factories

    other = factories.user("inspector-se", Role.INSPECTOR, scope=[city[SE]])
    start = recent_start()
    _walk(inspector, east_along(150, -45, 245), start=start, tag="mine")
    _walk(other, east_along(50, -45, 245), start=start, tag="theirs")
    mine = _by_code(
        coverage(since=start, until=start + timedelta(hours=1), inspectors=[inspector.pk])
    )
    assert mine[SW].share == 0 and mine[NW].share > 0
    scoped = coverage(since=start, until=start + timedelta(hours=1), prefixes=[SE])
    assert [row.code for row in scoped] == [SE]
    assert scoped[0].share == pytest.approx(0.6, abs=0.002)


def test_an_ended_patrol_keeps_its_walked_area_and_a_new_distance_is_drawn_afresh(
    inspector, settings
):
    start = recent_start()
    patrol = _walk(inspector, east_along(150, -45, 245), start=start)
    area = WalkedArea.objects.get(patrol=patrol)
    assert area.distance_m == 30.0 and area.geom.valid
    settings.GEOGRID_COVERAGE_DISTANCE_M = 20.0  # the stored area is stale now
    rows = _by_code(coverage(since=start, until=start + timedelta(hours=1)))
    assert rows[NW].share == pytest.approx(0.4, abs=0.002)  # the band y 130–170
