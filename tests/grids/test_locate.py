"""locate(): the full grid path of a point, on edges, vertices, outside, in any input CRS."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from django.utils import timezone

from geogrid.core.coordinates import CoordinateError, CRSError
from geogrid.core.gcj02 import wgs84_to_bd09, wgs84_to_gcj02
from geogrid.grids.locate import OutsideAllGrids, locate
from geogrid.grids.models import Grid
from geogrid.grids.services.editing import create_grid, reshape_grid
from tests.geometry import point, square


def _xy(x: float, y: float) -> tuple[float, float]:
    p = point(x, y)
    return p.x, p.y


def test_point_inside_a_unit_grid_gets_the_full_path(city):
    location = locate(*_xy(50, 150))
    assert [step.level for step in location.path] == ["district", "street", "community", "unit"]
    assert location.grid.code == city["west_c"].code + "001"
    assert location.path[0].code == "110101" and location.path[1].code == "110101001"


def test_point_on_a_shared_edge_goes_to_the_lowest_code(meridian_pair):
    west, east, middle, south, north = meridian_pair
    assert west.code < east.code
    assert locate(middle, (south + north) / 2).grid.code == west.code


def test_point_on_a_vertex_shared_by_two_grids_goes_to_the_lowest_code(meridian_pair):
    west, east, middle, south, north = meridian_pair
    assert locate(middle, south).grid.code == west.code
    assert locate(middle, north).grid.code == west.code


def test_point_on_a_vertex_shared_by_four_grids_goes_to_the_lowest_code(city):
    # (100, 100) m is the corner of all four unit grids; whichever covers it, the lowest wins.
    assert locate(*_xy(100, 100)).grid.code == city["west_c"].code + "001"


def test_point_on_the_outer_boundary_is_found(city):
    location = locate(*_xy(0, 0))
    assert location.grid.code == city["west_c"].code + "003"


def test_point_where_no_unit_grid_exists_stops_at_the_community(city):
    location = locate(*_xy(300, 50))
    assert location.grid.level == "community" and location.grid.code == city["east_c"].code


def test_point_outside_all_grids_is_a_clear_error(city):
    with pytest.raises(OutsideAllGrids, match="outside every grid"):
        locate(*_xy(-500, -500))


def test_multipart_grid_is_found_in_each_of_its_parts(city, levels, admin_user):
    from shapely.geometry import MultiPolygon

    parts = MultiPolygon([square(210, 10, 50).geoms[0], square(330, 130, 50).geoms[0]])
    grid = create_grid(actor=admin_user, level=levels["unit"], parent=city["east_c"], geom=parts)
    assert locate(*_xy(230, 30)).grid.code == grid.code
    assert locate(*_xy(350, 150)).grid.code == grid.code
    assert locate(*_xy(300, 100)).grid.code == city["east_c"].code


@pytest.mark.parametrize("bad", [(math.nan, 39.9), (116.4, math.inf), (200.0, 39.9), (116.4, 95.0)])
def test_nan_and_out_of_range_coordinates_are_refused(city, bad):
    with pytest.raises(CoordinateError):
        locate(*bad)


def test_unknown_crs_is_refused(city):
    with pytest.raises(CRSError, match="4326"):
        locate(116.4, 39.9, "EPSG:9999")


def test_gcj02_input_is_converted_before_lookup(city):
    lon, lat = _xy(50, 150)
    glon, glat = wgs84_to_gcj02(lon, lat)
    # The GCJ-02 offset in Beijing is several hundred metres: without conversion it would miss.
    assert locate(float(glon), float(glat), "gcj02").grid.code == city["west_c"].code + "001"


def test_bd09_input_is_converted_before_lookup(city):
    lon, lat = _xy(150, 50)
    blon, blat = wgs84_to_bd09(lon, lat)
    assert locate(float(blon), float(blat), "bd09").grid.code == city["west_c"].code + "004"


def test_gauss_kruger_input_is_transformed(city):
    from tests.geometry import ORIGIN

    location = locate(ORIGIN[0] + 150, ORIGIN[1] + 150, "EPSG:4548")
    assert location.grid.code == city["west_c"].code + "002"


def test_locate_at_a_past_date_uses_the_boundary_then_valid(city, admin_user):
    grid = Grid.objects.get(code=city["west_c"].code + "001")
    before = timezone.now()
    reshape_grid(grid=grid, geom=square(0, 100, 90), expected_version=1, actor=admin_user)
    # (95, 150) left grid 001 in the reshape; it is in no unit grid now, but was before.
    assert locate(*_xy(95, 150)).grid.level == "community"
    assert locate(*_xy(95, 150), at=before).grid.code == grid.code
    with pytest.raises(OutsideAllGrids):
        locate(*_xy(50, 150), at=before - timedelta(days=3650))


def test_locate_runs_as_a_prepared_statement(city):
    from django.db import connection

    locate(*_xy(50, 150))
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        statements = [row[0] for row in cursor.fetchall()]
    assert any("ST_Covers" in statement for statement in statements)
