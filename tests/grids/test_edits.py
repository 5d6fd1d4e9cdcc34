"""Split, merge and the editor's check-or-save entry point (geogrid.grids.edits)."""

from __future__ import annotations

import pytest
import shapely
import shapely.ops

from geogrid.components.models import Component
from geogrid.components.services import create_component
from geogrid.grids.edits import run_edit
from geogrid.grids.errors import GridError, VersionConflict
from geogrid.grids.models import Grid, GridBoundary, GridEvent, GridType
from geogrid.grids.services.editing import update_grid_attributes
from geogrid.grids.services.replacing import merge_grids, split_grid
from tests.geometry import point, rect, to_lonlat


def line(*xy: tuple[float, float]):
    return to_lonlat(shapely.LineString(xy))


def unit(city, suffix: str) -> Grid:
    return Grid.objects.get(code=city["west_c"].code + suffix)


def test_split_retires_the_grid_and_creates_two_siblings_that_tile_it(city, admin_user):
    north_west = unit(city, "001")
    update_grid_attributes(
        grid=north_west, actor=admin_user, officer_name="王芳", grid_type=GridType.RESIDENTIAL
    )
    pieces = split_grid(
        grid=north_west,
        line=line((50, 90), (50, 210)),
        expected_version=1,
        actor=admin_user,
        reason="新小区",
    )
    north_west.refresh_from_db()
    assert not north_west.is_active and north_west.version == 2
    assert [p.code for p in pieces] == [city["west_c"].code + s for s in ("005", "006")]
    assert [round(p.area_m2) for p in pieces] == [5000, 5000]
    for piece in pieces:
        assert piece.geom.valid and piece.parent_id == city["west_c"].pk
        assert piece.officer_name == "王芳" and piece.grid_type == GridType.RESIDENTIAL
    union = shapely.union_all([shapely.from_wkb(bytes(p.geom.wkb)) for p in pieces])
    old = shapely.from_wkb(bytes(north_west.geom.wkb))
    assert shapely.symmetric_difference(union, old).area < 1e-12
    retired = GridEvent.objects.get(grid=north_west, action="retired")
    assert retired.details["replaced_by"] == [p.code for p in pieces]
    assert GridEvent.objects.get(grid=pieces[0], action="split").details["replaces"] == [
        north_west.code
    ]
    assert GridBoundary.objects.get(grid=north_west).valid_to is not None


def test_split_moves_the_components_to_the_piece_they_lie_in(city, manhole_class, admin_user):
    west_cover = create_component(
        actor=admin_user, component_class=manhole_class, geom=point(20, 150)
    )
    east_cover = create_component(
        actor=admin_user, component_class=manhole_class, geom=point(80, 150)
    )
    west, east = split_grid(
        grid=unit(city, "001"), line=line((50, 90), (50, 210)), expected_version=1, actor=admin_user
    )
    assert Component.objects.get(pk=west_cover.pk).grid_id == west.pk
    assert Component.objects.get(pk=east_cover.pk).grid_id == east.pk


def test_a_line_that_does_not_cross_the_grid_is_refused_in_plain_words(city, admin_user):
    with pytest.raises(GridError, match="does not cut grid .* in two"):
        split_grid(
            grid=unit(city, "001"),
            line=line((50, 120), (50, 210)),
            expected_version=1,
            actor=admin_user,
        )
    assert unit(city, "001").is_active


def test_a_split_leaving_a_piece_below_the_level_minimum_writes_nothing(city, admin_user):
    # A 5 m strip is 500 m², under the unit level's 1,000 m² minimum.
    outcome = run_edit(
        action="split",
        actor=admin_user,
        commit=True,
        grid=unit(city, "001"),
        versions={city["west_c"].code + "001": 1},
        line=line((5, 90), (5, 210)),
    )
    assert not outcome.ok and outcome.problems[0].kind == "area"
    assert unit(city, "001").is_active
    assert city["west_c"].children.count() == 4


def test_merge_makes_one_grid_with_a_new_code_from_two_neighbours(city, admin_user):
    merged = merge_grids(
        grids=[unit(city, "001"), unit(city, "002")],
        expected_versions={city["west_c"].code + "001": 1, city["west_c"].code + "002": 1},
        actor=admin_user,
    )
    assert merged.code == city["west_c"].code + "005"
    assert round(merged.area_m2) == 20000 and merged.geom.valid
    assert merged.geom.num_geom == 1
    assert not unit(city, "001").is_active and not unit(city, "002").is_active


def test_merging_grids_that_only_touch_at_a_corner_is_refused(city, admin_user):
    with pytest.raises(GridError, match="do not form one area"):
        merge_grids(
            grids=[unit(city, "001"), unit(city, "004")],
            expected_versions={city["west_c"].code + "001": 1, city["west_c"].code + "004": 1},
            actor=admin_user,
        )


def test_merge_with_a_stale_version_changes_nothing(city, admin_user):
    with pytest.raises(VersionConflict):
        merge_grids(
            grids=[unit(city, "001"), unit(city, "002")],
            expected_versions={city["west_c"].code + "001": 1, city["west_c"].code + "002": 7},
            actor=admin_user,
        )
    assert unit(city, "001").is_active and unit(city, "002").is_active


def test_a_check_reports_codes_and_impact_and_writes_nothing(city, manhole_class, admin_user):
    create_component(actor=admin_user, component_class=manhole_class, geom=point(80, 150))
    before = (Grid.objects.count(), GridEvent.objects.count())
    outcome = run_edit(
        action="split",
        actor=admin_user,
        commit=False,
        grid=unit(city, "001"),
        versions={city["west_c"].code + "001": 1},
        line=line((50, 90), (50, 210)),
    )
    assert outcome.ok and not outcome.committed
    assert [g.code for g in outcome.created] == [city["west_c"].code + s for s in ("005", "006")]
    assert outcome.retired == [city["west_c"].code + "001"]
    assert outcome.impact["components_moved"] == 1
    assert (Grid.objects.count(), GridEvent.objects.count()) == before
    assert unit(city, "001").is_active


def test_a_check_shows_every_overlap_of_a_new_drawing(city, levels, admin_user):
    # Over the north-west and north-east grids at once.
    outcome = run_edit(
        action="create",
        actor=admin_user,
        commit=False,
        grid=city["west_c"],
        geometry=shapely.geometry.mapping(rect(60, 120, 140, 180)),
    )
    assert not outcome.ok
    assert sorted(p.kind for p in outcome.problems) == ["overlap", "overlap"]
    assert {round(p.area_m2) for p in outcome.problems} == {2400}
    assert all(p.geom_metric is not None for p in outcome.problems)


def test_retiring_warns_about_the_gap_it_opens(city, admin_user):
    outcome = run_edit(
        action="retire",
        actor=admin_user,
        commit=False,
        grid=unit(city, "004"),
        versions={city["west_c"].code + "004": 1},
    )
    assert outcome.ok and outcome.retired == [city["west_c"].code + "004"]
    assert [w.kind for w in outcome.warnings] == ["gap"]
    assert round(outcome.warnings[0].area_m2) == 10000


def test_a_self_intersecting_drawing_is_a_problem_with_its_location(city, admin_user):
    from tests.geometry import bowtie

    outcome = run_edit(
        action="create",
        actor=admin_user,
        commit=False,
        grid=city["east_c"],
        geometry=shapely.geometry.mapping(bowtie(250, 50, 100)),
    )
    assert not outcome.ok and outcome.problems[0].kind == "invalid"
    assert outcome.problems[0].location is not None


def test_a_re_division_moves_each_component_once_to_its_new_grid(city, manhole_class, admin_user):
    from geogrid.components.models import ComponentEvent

    cover = create_component(actor=admin_user, component_class=manhole_class, geom=point(20, 180))
    outcome = run_edit(
        action="divide",
        actor=admin_user,
        commit=True,
        grid=city["west_c"],
        replace_existing=True,
        target_area_m2=2_500,
    )
    # Each 100 m square becomes four 50 m squares: none mostly survives, all four are retired.
    assert outcome.ok and len(outcome.retired) == 4 and len(outcome.created) == 16
    assert outcome.division["codes"] == {"kept": 0, "changed": 0, "retired": 4, "created": 16}
    assert outcome.impact["components_moved"] == 1
    moved = Component.objects.get(pk=cover.pk)
    assert moved.grid.code in [g.code for g in outcome.created]
    assert ComponentEvent.objects.filter(component=cover, action="regridded").count() == 1
    assert GridEvent.objects.get(grid=unit(city, "001"), action="retired").details[
        "replaced_by"
    ] == [g.code for g in outcome.created]


def test_a_line_ending_a_hair_inside_the_boundary_still_cuts(city, admin_user):
    # A line snapped onto the edges may end a hair inside them in floating point; here 5 cm.
    line = to_lonlat(shapely.LineString([(0.05, 150), (99.95, 150)]))
    as_drawn = shapely.ops.split(shapely.from_wkb(bytes(unit(city, "001").geom.wkb)), line)
    assert len(as_drawn.geoms) == 1  # as drawn, it cuts nothing
    pieces = split_grid(grid=unit(city, "001"), line=line, expected_version=1, actor=admin_user)
    assert [round(p.area_m2) for p in pieces] == [5000, 5000]


def test_refusals_name_their_reason_for_clients(city, admin_user):
    with pytest.raises(GridError) as caught:
        merge_grids(
            grids=[unit(city, "001"), unit(city, "004")],
            expected_versions={city["west_c"].code + "001": 1, city["west_c"].code + "004": 1},
            actor=admin_user,
        )
    assert caught.value.reason == "not_adjacent"
