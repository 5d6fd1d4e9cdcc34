"""assign_points(): bulk point-in-grid assignment, and its agreement with locate()."""

from __future__ import annotations

import numpy as np
import pytest

from geogrid.grids.assignment import AssignmentResult, GridIndex, assign_points
from geogrid.grids.locate import OutsideAllGrids, locate
from geogrid.grids.services.editing import retire_grid
from tests.geometry import point


def _arrays(*xy_metres: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    points = [point(x, y) for x, y in xy_metres]
    return np.array([p.x for p in points]), np.array([p.y for p in points])


def test_points_inside_unit_grids_get_their_grid(city):
    base = city["west_c"].code
    lon, lat = _arrays((50, 150), (150, 150), (50, 50), (150, 50), (60, 140))
    result = assign_points(lon, lat)
    assert list(result.grid_code) == [
        base + "001",
        base + "002",
        base + "003",
        base + "004",
        base + "001",
    ]
    assert list(result.grid_id) == [city[c].pk for c in result.grid_code]
    assert result.grid_id.dtype == np.int64 and result.grid_code.dtype == object
    assert result.found.all()


def test_point_on_a_shared_edge_goes_to_the_lowest_code(meridian_pair):
    west, east, middle, south, north = meridian_pair
    assert west.code < east.code
    result = assign_points(np.array([middle]), np.array([(south + north) / 2]))
    assert result.grid_code[0] == west.code and result.grid_id[0] == west.pk


def test_point_on_a_vertex_shared_by_four_grids_goes_to_the_lowest_code(city):
    # (100, 100) m is the corner of all four unit grids, bit for bit the same in each.
    lon, lat = _arrays((100, 100))
    assert assign_points(lon, lat).grid_code[0] == city["west_c"].code + "001"


def test_point_on_the_outer_boundary_is_found(city):
    lon, lat = _arrays((0, 0))
    assert assign_points(lon, lat).grid_code[0] == city["west_c"].code + "003"


def test_points_outside_all_grids_get_minus_one_and_none(city):
    # Far outside the city, and inside the east community where no unit grid exists.
    lon, lat = _arrays((-500, -500), (300, 50))
    result = assign_points(lon, lat)
    assert list(result.grid_id) == [-1, -1]
    assert list(result.grid_code) == [None, None]
    assert not result.found.any()


def test_other_levels_can_be_assigned(city):
    lon, lat = _arrays((300, 50), (50, 50), (-500, -500))
    result = assign_points(lon, lat, level="community")
    assert list(result.grid_code) == [city["east_c"].code, city["west_c"].code, None]


def test_empty_input_gives_empty_arrays(city):
    result = assign_points(np.array([]), np.array([]))
    assert isinstance(result, AssignmentResult) and len(result) == 0
    assert result.grid_id.dtype == np.int64 and result.grid_code.dtype == object


def test_no_grid_of_the_level_gives_minus_one_everywhere(levels):
    lon, lat = _arrays((50, 50), (150, 150))
    result = assign_points(lon, lat)
    assert list(result.grid_id) == [-1, -1] and list(result.grid_code) == [None, None]


def test_non_finite_coordinates_are_in_no_grid(city):
    lon, lat = _arrays((50, 150), (50, 150), (50, 150))
    lon[1], lat[2] = np.nan, np.inf
    result = assign_points(lon, lat)
    assert list(result.grid_code) == [city["west_c"].code + "001", None, None]


def test_mismatched_arrays_are_refused(city):
    with pytest.raises(ValueError, match="1-D arrays of one length"):
        assign_points(np.zeros(3), np.zeros(2))


def test_unknown_level_is_refused(city):
    with pytest.raises(ValueError, match="Unknown grid level"):
        assign_points(np.zeros(1), np.zeros(1), level="block")


def test_retired_grids_are_ignored(city, admin_user):
    grid = city[city["west_c"].code + "002"]
    retire_grid(grid=grid, expected_version=grid.version, actor=admin_user)
    lon, lat = _arrays((150, 150))
    assert assign_points(lon, lat).grid_id[0] == -1


def test_district_filter_keeps_other_districts_out(city):
    lon, lat = _arrays((50, 150))
    assert assign_points(lon, lat, district_code="110101").grid_code[0] is not None
    assert assign_points(lon, lat, district_code="110102").grid_code[0] is None


def _lattice() -> tuple[np.ndarray, np.ndarray]:
    """A fixed lattice of 21 × 13 = 273 points over the city and around it, every 25 m from
    (-50, -50) m: many sit on grid edges and vertices, some outside every grid."""
    xs, ys = np.meshgrid(np.arange(-50, 451, 25), np.arange(-50, 251, 25))
    return _arrays(*zip(xs.ravel().tolist(), ys.ravel().tolist(), strict=True))


def test_agrees_with_locate_on_a_lattice_of_points(city, meridian_pair):
    lon, lat = _lattice()
    result = assign_points(lon, lat)
    expected = []
    for x, y in zip(lon, lat, strict=True):
        try:
            found = locate(float(x), float(y))
        except OutsideAllGrids:
            expected.append(None)
            continue
        # locate() returns the finest level holding the point; assign_points only unit grids.
        expected.append(found.grid.code if found.grid.level == "unit" else None)
    assert list(result.grid_code) == expected
    assert 0 < sum(code is not None for code in expected) < len(expected)


def test_a_loaded_index_gives_the_same_answer_in_small_chunks(city, meridian_pair):
    lon, lat = _lattice()
    index = GridIndex.load(level="unit")
    whole = index.assign(lon, lat)
    chunked = index.assign(lon, lat, chunk_size=7)
    assert np.array_equal(whole.grid_id, chunked.grid_id)
    assert list(whole.grid_code) == list(chunked.grid_code)
