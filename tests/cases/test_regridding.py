"""Open cases follow grid edits; final ones keep the grid they were handled in."""

from __future__ import annotations

import shapely

from geogrid.cases.models import Case, CaseEvent
from geogrid.cases.transitions import transition_case
from geogrid.grids.impact import edit_impact
from geogrid.grids.models import Grid
from geogrid.grids.services.editing import retire_grid
from geogrid.grids.services.replacing import merge_grids, split_grid
from tests.geometry import rect, to_lonlat


def test_splitting_a_grid_moves_its_open_cases_to_the_piece_they_lie_in(
    city, report, operator, admin_user
):
    base = city["west_c"].code
    open_case = report(80, 150).case
    cancelled = report(85, 160).case
    transition_case(case=cancelled, to="cancelled", actor=operator, reason="重复上报")
    _, east = split_grid(
        grid=Grid.objects.get(code=base + "001"),
        line=to_lonlat(shapely.LineString([(50, 90), (50, 210)])),
        expected_version=1,
        actor=admin_user,
    )
    moved = Case.objects.get(pk=open_case.pk)
    assert (moved.grid_id, moved.grid_code) == (east.pk, east.code)
    assert (moved.community_code, moved.street_code) == (base, base[:9])
    event = CaseEvent.objects.get(case=moved, action="regridded")
    assert event.details == {"from": base + "001", "to": east.code}
    assert event.actor == admin_user
    # A final case stays in the grid it was handled in.
    assert Case.objects.get(pk=cancelled.pk).grid_code == base + "001"


def test_a_reshape_preview_counts_the_open_cases_that_would_change_grid(city, report):
    base = city["west_c"].code
    report(95, 150)
    report(20, 150)
    north_west = Grid.objects.get(code=base + "001")
    impact = edit_impact(grid=north_west, new_geom=rect(0, 100, 90, 200).geoms[0])
    # The case at x = 95 falls in no grid until the neighbour grows: it is left, not moved.
    assert impact["open_cases_moved"] == 0 and impact["open_cases_left"] == 1


def test_merging_moves_open_cases_into_the_merged_grid(city, report, admin_user):
    base = city["west_c"].code
    first, second = report(50, 150).case, report(150, 150).case
    merged = merge_grids(
        grids=list(Grid.objects.filter(code__in=[base + "001", base + "002"])),
        expected_versions={base + "001": 1, base + "002": 1},
        actor=admin_user,
    )
    assert set(
        Case.objects.filter(pk__in=[first.pk, second.pk]).values_list("grid_code", flat=True)
    ) == {merged.code}


def test_retiring_a_grid_keeps_its_open_cases_in_the_retired_grid(city, report, admin_user):
    base = city["west_c"].code
    case = report(50, 150).case
    retire_grid(grid=Grid.objects.get(code=base + "001"), expected_version=1, actor=admin_user)
    assert Case.objects.get(pk=case.pk).grid_code == base + "001"
    assert not CaseEvent.objects.filter(action="regridded").exists()
