"""Grid edit services: create, reshape, retire, with their checks, history and audit rows."""

from __future__ import annotations

import pytest

from geogrid.core.codes import CodeError
from geogrid.core.gis import GeometryError
from geogrid.grids.errors import TopologyError, VersionConflict
from geogrid.grids.models import Grid, GridBoundary, GridEvent
from geogrid.grids.services.editing import create_grid, reshape_grid, retire_grid
from tests.geometry import bowtie, rect


def test_unit_grids_are_numbered_west_to_east_then_north_to_south(city):
    codes = {code: grid for code, grid in city.items() if len(code) == 15}
    west_c = city["west_c"].code
    names = {c[-3:]: g.geom.centroid for c, g in codes.items()}
    assert sorted(codes) == [west_c + s for s in ("001", "002", "003", "004")]
    assert names["001"].x < names["002"].x and names["001"].y > names["003"].y
    assert names["003"].x < names["004"].x


def test_create_writes_first_boundary_version_and_audit_event(city, admin_user):
    grid = city["east"]
    boundary = GridBoundary.objects.get(grid=grid)
    assert boundary.version == 1 and boundary.valid_to is None
    assert GridEvent.objects.filter(grid=grid, action="created").count() == 1
    assert grid.area_m2 == pytest.approx(200 * 200, rel=1e-3)


def test_self_intersecting_polygon_is_rejected_with_its_location(city, levels, admin_user):
    with pytest.raises(GeometryError) as caught:
        create_grid(
            actor=admin_user, level=levels["unit"], parent=city["east_c"], geom=bowtie(250, 50, 100)
        )
    message = str(caught.value)
    assert "self-intersection" in message.lower() and "lon 116." in message
    assert caught.value.location is not None
    assert not Grid.objects.filter(parent=city["east_c"]).exists()


def test_child_escaping_its_parent_is_refused_with_the_escaping_area(city, levels, admin_user):
    # East community is x 200–400; this grid reaches 50 m beyond its eastern edge.
    with pytest.raises(TopologyError) as caught:
        create_grid(
            actor=admin_user,
            level=levels["unit"],
            parent=city["east_c"],
            geom=rect(350, 0, 450, 100),
        )
    escape = [p for p in caught.value.problems if p.kind == "escape"]
    assert escape and escape[0].area_m2 == pytest.approx(50 * 100, rel=0.01)
    assert "outside its parent" in str(caught.value)


def test_overlap_with_a_sibling_beyond_tolerance_is_refused(city, levels, admin_user):
    with pytest.raises(TopologyError) as caught:
        create_grid(
            actor=admin_user,
            level=levels["street"],
            parent=city["district"],
            geom=rect(150, 0, 300, 100),
            code="110101003",
        )
    overlaps = [p for p in caught.value.problems if p.kind == "overlap"]
    assert overlaps and "overlap" in overlaps[0].message


def test_overlap_thinner_than_tolerance_is_accepted(city, levels, admin_user):
    # A 0.2 m sliver over the west street's edge (tolerance 0.5 m) is drawing noise.
    retire_grid(grid=city["east_c"], expected_version=1, actor=admin_user)
    grid = create_grid(
        actor=admin_user,
        level=levels["community"],
        parent=city["east"],
        geom=rect(199.8, 0, 400, 200),
    )
    assert grid.code == "110101002002"  # 002001 is retired: its code is never reused


def test_area_outside_level_bounds_is_refused(city, levels, admin_user):
    with pytest.raises(TopologyError, match="below the minimum"):
        create_grid(
            actor=admin_user,
            level=levels["unit"],
            parent=city["east_c"],
            geom=rect(250, 0, 270, 20),
        )


def test_explicit_code_must_extend_the_parent_code(city, levels, admin_user):
    with pytest.raises(CodeError, match="must start with"):
        create_grid(
            actor=admin_user,
            level=levels["unit"],
            parent=city["east_c"],
            geom=rect(200, 0, 300, 100),
            code="110101001001009",
        )


def test_reshape_keeps_the_old_boundary_in_history(city, admin_user):
    grid = Grid.objects.get(code=city["west_c"].code + "001")
    reshaped = reshape_grid(
        grid=grid,
        geom=rect(0, 100, 90, 200),
        expected_version=1,
        actor=admin_user,
        reason="road moved",
    )
    assert reshaped.version == 2
    versions = list(GridBoundary.objects.filter(grid=grid).order_by("version"))
    assert [v.version for v in versions] == [1, 2]
    assert versions[0].valid_to is not None and versions[1].valid_to is None
    assert versions[0].area_m2 == pytest.approx(100 * 100, rel=1e-3)
    assert reshaped.area_m2 == pytest.approx(90 * 100, rel=1e-3)
    event = GridEvent.objects.get(grid=grid, action="reshaped")
    assert event.actor == admin_user and event.details["reason"] == "road moved"


def test_stale_version_gives_a_conflict_and_changes_nothing(city, admin_user):
    grid = Grid.objects.get(code=city["west_c"].code + "001")
    reshape_grid(grid=grid, geom=rect(0, 100, 90, 200), expected_version=1, actor=admin_user)
    with pytest.raises(VersionConflict) as caught:
        reshape_grid(grid=grid, geom=rect(0, 100, 80, 200), expected_version=1, actor=admin_user)
    assert "root-admin" in str(caught.value) and caught.value.current_version == 2
    grid.refresh_from_db()
    assert grid.version == 2
    assert grid.area_m2 == pytest.approx(90 * 100, rel=1e-3)
    assert GridBoundary.objects.filter(grid=grid).count() == 2


def test_reshape_that_would_overlap_a_sibling_is_refused(city, admin_user):
    grid = Grid.objects.get(code=city["west_c"].code + "001")
    with pytest.raises(TopologyError, match="overlap"):
        reshape_grid(grid=grid, geom=rect(0, 100, 150, 200), expected_version=1, actor=admin_user)
    grid.refresh_from_db()
    assert grid.version == 1


def test_retire_refuses_a_grid_with_active_children(city, admin_user):
    with pytest.raises(ValueError, match="active child grids"):
        retire_grid(grid=city["west_c"], expected_version=1, actor=admin_user)


def test_retired_grid_keeps_its_row_and_code(city, admin_user):
    grid = Grid.objects.get(code=city["west_c"].code + "004")
    retire_grid(grid=grid, expected_version=1, actor=admin_user, reason="merged")
    grid.refresh_from_db()
    assert grid.valid_to is not None and grid.version == 2
    assert GridBoundary.objects.get(grid=grid).valid_to is not None
    assert not Grid.objects.active().filter(pk=grid.pk).exists()


def test_attribute_update_records_old_and_new_values(city, admin_user):
    from geogrid.grids.services.editing import update_grid_attributes

    grid = city["east_c"]
    update_grid_attributes(grid=grid, actor=admin_user, officer_name="李静", households=420)
    event = GridEvent.objects.get(grid=grid, action="updated")
    assert event.details["changes"] == {"officer_name": ["", "李静"], "households": [None, 420]}
    grid.refresh_from_db()
    assert grid.version == 1  # boundary history is untouched
    with pytest.raises(ValueError, match="cannot be edited here: code"):
        update_grid_attributes(grid=grid, actor=admin_user, code="110101002009")
