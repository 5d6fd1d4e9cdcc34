"""Patrol indicators per inspector and per grid, and the replay of one inspector's day, on fixed
shapes with known answers: the inspector (scope: the NW unit grid) walks east along y = 150
from x = -45 to 245 m, 10 m every 10 s (30 points, 290 s, 290 m); NW and NE each hold ten of
the points (100 s, 100 m) and are covered 0.6 with GEOGRID_COVERAGE_DISTANCE_M = 30
(tests/patrols/test_coverage.py). Three reports: one beside the track, one 140 m off it, and
one written half an hour before the walk (no track)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from geogrid.accounts.models import Role
from geogrid.cases.intake import submit_report
from geogrid.command_center.patrols import (
    display_name,
    grid_patrols,
    inspector_patrols,
    replay_patrols,
    replay_reports,
)
from geogrid.patrols.models import PathCheck
from geogrid.patrols.services import end_patrol, record_points, start_patrol
from tests import factories
from tests.cases.conftest import GARBAGE
from tests.geometry import point
from tests.patrols.factories import east_along, recent_start, walk

pytestmark = pytest.mark.django_db

NW, NE, SW, SE = (f"110101001001{n:03d}" for n in (1, 2, 3, 4))


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.GEOGRID_COVERAGE_DISTANCE_M = 30.0
    settings.GEOGRID_PATROL_GAP_S = 300
    settings.GEOGRID_PATH_CHECK_DISTANCE_M = 50.0
    settings.GEOGRID_PATH_CHECK_WINDOW_S = 120


def _report(inspector, x, y, at):
    where = point(x, y)
    return submit_report(
        actor=inspector,
        channel="inspector",
        service_code=GARBAGE,
        x=where.x,
        y=where.y,
        observed_at=at,
    ).case


@pytest.fixture
def walked(inspector):
    start = recent_start()
    patrol, _ = start_patrol(actor=inspector, client_id=uuid.uuid4(), started_at=start)
    record_points(
        actor=inspector, patrol=patrol, points=walk(east_along(150, -45, 245), start=start)
    )
    end_patrol(actor=inspector, patrol=patrol)
    at_55 = start + timedelta(seconds=100)  # the point at x = 55
    cases = {
        PathCheck.ON_TRACK: _report(inspector, 55, 160, at_55),
        PathCheck.OFF_TRACK: _report(inspector, 55, 10, at_55),  # in SW, 140 m from the track
        PathCheck.NO_TRACK: _report(inspector, 50, 150, start - timedelta(minutes=30)),
    }
    assert {check: case.path_check for check, case in cases.items()} == {c: c for c in cases}
    return {"start": start, "patrol": patrol, "cases": cases}


def _period(walked):
    start = walked["start"]
    return {"since": start - timedelta(hours=1), "until": start + timedelta(hours=1)}


def test_inspector_patrols_add_up_the_walk_and_the_reports(inspector, walked):
    idle = factories.user("inspector-b", Role.INSPECTOR, scope=[])
    rows = {row.inspector_id: row for row in inspector_patrols(**_period(walked))}
    assert set(rows) == {inspector.pk, idle.pk}  # idle inspectors are listed too
    row = rows[inspector.pk]
    assert row.patrols == 1
    assert row.seconds == pytest.approx(290)
    assert row.distance_m == pytest.approx(290, rel=0.01)
    assert (row.grids, row.mean_share) == (1, pytest.approx(0.6, abs=0.002))
    assert (row.reports, row.off_track, row.no_track, row.flagged) == (3, 1, 1, 2)
    assert row.reports_per_hour == pytest.approx(3 / (290 / 3600), abs=0.01)
    nothing = rows[idle.pk]
    assert (nothing.patrols, nothing.seconds, nothing.reports) == (0, 0, 0)
    assert nothing.grids == 0 and nothing.mean_share is None
    assert nothing.reports_per_hour is None  # no time on patrol: nothing to divide by


def test_an_inspectors_coverage_is_the_mean_over_the_grids_of_their_scope(city, walked):
    # Scope NW (0.6) and SW (0): the mean of the two unit grids.
    both = factories.user("inspector-c", Role.INSPECTOR, scope=[city[NW], city[SW]])
    # A community covers its four unit grids: NW 0.6, NE 0.6, SW 0, SE 0.
    community = factories.user("inspector-d", Role.INSPECTOR, scope=[city["west_c"]])
    rows = {row.inspector_id: row for row in inspector_patrols(**_period(walked))}
    assert (rows[both.pk].grids, rows[both.pk].mean_share) == (2, pytest.approx(0.3, abs=0.002))
    assert rows[community.pk].grids == 4
    assert rows[community.pk].mean_share == pytest.approx(0.3, abs=0.002)


def test_grid_patrols_attribute_time_distance_and_reports_to_each_grid(walked):
    rows = {row.code: row for row in grid_patrols(**_period(walked))}
    assert set(rows) == {NW, NE, SW}  # SE was neither walked nor reported in
    assert rows[NW].share == pytest.approx(0.6, abs=0.002)
    assert rows[NW].seconds == pytest.approx(100) and rows[NE].seconds == pytest.approx(100)
    assert rows[NW].distance_m == pytest.approx(100, rel=0.01)
    assert rows[NE].distance_m == pytest.approx(100, rel=0.01)
    assert rows[NW].visits == 1
    # NW: the report beside the track and the one without a track; SW: the one off it.
    assert (rows[NW].reports, rows[NW].no_track, rows[NW].off_track) == (2, 1, 0)
    assert (rows[SW].reports, rows[SW].off_track, rows[SW].share) == (1, 1, 0)
    assert rows[NE].reports == 0 and rows[NE].reports_per_hour == 0
    assert rows[NW].reports_per_hour == pytest.approx(2 / (100 / 3600), abs=0.01)


def test_a_period_that_cuts_a_patrol_counts_only_the_part_inside_it(inspector, walked):
    start = walked["start"]
    rows = {
        row.inspector_id: row
        for row in inspector_patrols(
            since=start + timedelta(seconds=100), until=start + timedelta(hours=1)
        )
    }
    # Points from x = 55 (100 s in) to 245: 19 steps of 10 s and 10 m.
    assert rows[inspector.pk].seconds == pytest.approx(190)
    assert rows[inspector.pk].distance_m == pytest.approx(190, rel=0.01)
    # Only the two reports written at 100 s lie inside; the one without a track before it.
    assert (rows[inspector.pk].reports, rows[inspector.pk].no_track) == (2, 0)


def test_reports_count_when_they_were_written_not_when_they_arrived(inspector, walked):
    start = walked["start"]
    # The report without a track was written half an hour before the walk and arrived now.
    rows = {
        row.inspector_id: row
        for row in inspector_patrols(
            since=start - timedelta(minutes=40), until=start - timedelta(minutes=20)
        )
    }
    assert (rows[inspector.pk].reports, rows[inspector.pk].no_track) == (1, 1)


def test_the_replay_holds_the_days_points_and_reports_in_time_order(inspector, walked):
    period = _period(walked)
    patrols = replay_patrols(inspector_id=inspector.pk, **period)
    assert [p.patrol_id for p in patrols] == [walked["patrol"].pk]
    points = patrols[0].points
    assert len(points) == 30
    assert [t for t, _, _ in points] == sorted(t for t, _, _ in points)
    first = point(-45, 150)
    assert points[0][0] == walked["start"].timestamp()
    assert points[0][1:] == (pytest.approx(first.x, abs=1e-6), pytest.approx(first.y, abs=1e-6))
    reports = replay_reports(inspector_id=inspector.pk, **period)
    cases = walked["cases"]
    assert [r.case_id for r in reports] == [
        cases[PathCheck.NO_TRACK].pk,
        cases[PathCheck.ON_TRACK].pk,
        cases[PathCheck.OFF_TRACK].pk,
    ]
    off = reports[2]
    assert (off.path_check, off.path_check_label) == ("off_track", "偏离轨迹")
    assert off.path_distance_m == pytest.approx(140, abs=2)
    assert off.at == walked["start"] + timedelta(seconds=100)
    # Another inspector's day is empty.
    other = factories.user("inspector-b", Role.INSPECTOR)
    assert replay_patrols(inspector_id=other.pk, **period) == []
    assert replay_reports(inspector_id=other.pk, **period) == []


def test_people_are_named_by_their_full_name_never_their_username(inspector):
    assert display_name(inspector) == f"#{inspector.pk}"
    inspector.first_name, inspector.last_name = "建国", "王"
    assert "inspector-a" not in display_name(inspector)
    assert display_name(inspector) == inspector.get_full_name()


def test_a_period_must_carry_a_time_zone_and_run_forward(walked):
    start = walked["start"]
    with pytest.raises(ValueError, match="end after"):
        inspector_patrols(since=start, until=start)
    with pytest.raises(ValueError, match="time zone"):
        grid_patrols(since=start.replace(tzinfo=None), until=start.replace(tzinfo=None))
