"""The topology report: each kind of problem found, located and measured."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient
from shapely.geometry import MultiPolygon

from geogrid.grids.models import Grid, GridLevel
from geogrid.grids.topology import topology_report
from tests.geometry import bowtie, rect


def _force(grid_code: str, geom) -> None:
    """Store a broken boundary directly, as legacy data would arrive (bypassing the services)."""
    from django.contrib.gis.geos import GEOSGeometry

    Grid.objects.filter(code=grid_code).update(geom=GEOSGeometry(geom.wkt, srid=4490))


def test_clean_division_reports_ok(city):
    report = topology_report(parent=city["west_c"])
    assert report["ok"] and report["children"] == 4
    assert report["counts"] == {"invalid": 0, "overlap": 0, "gap": 0, "escape": 0, "area": 0}


def test_gap_overlap_and_escape_are_located_and_measured(city):
    base = city["west_c"].code
    _force(base + "001", rect(0, 100, 80, 200))  # leaves a 20 m × 100 m gap
    _force(base + "004", rect(100, -30, 200, 100))  # 30 m below the community: escapes
    _force(base + "003", rect(0, 0, 130, 100))  # 30 m into 004: overlap
    report = topology_report(parent=city["west_c"])
    by_kind = {p.kind: p for p in report["problems"]}
    assert by_kind["gap"].area_m2 == pytest.approx(20 * 100, rel=0.01)
    assert by_kind["escape"].area_m2 == pytest.approx(100 * 30, rel=0.01)
    assert by_kind["overlap"].area_m2 == pytest.approx(30 * 100, rel=0.01)
    assert set(by_kind["overlap"].codes) == {base + "003", base + "004"}
    lon, lat = by_kind["gap"].location
    assert 116 < lon < 117 and 39 < lat < 41
    assert not report["ok"]


def test_invalid_geometry_is_reported_with_its_location(city):
    from django.db import connection

    base = city["west_c"].code
    with connection.cursor() as cursor:  # the validity constraint stops this at the door
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE grids_grid DROP CONSTRAINT grids_grid_geom_is_valid")
    _force(base + "002", MultiPolygon([bowtie(100, 100, 100)]))
    report = topology_report(parent=city["west_c"])
    invalid = [p for p in report["problems"] if p.kind == "invalid"]
    assert invalid and invalid[0].codes == [base + "002"] and invalid[0].location


def test_area_bounds_are_reported(city):
    GridLevel.objects.filter(slug="unit").update(max_area_m2=9_000)
    report = topology_report(parent=city["west_c"])
    assert report["counts"]["area"] == 4


def test_check_topology_command_exits_nonzero_on_problems(city, capsys):
    call_command("check_topology", city["west_c"].code)
    assert "OK: no problems" in capsys.readouterr().out
    _force(city["west_c"].code + "001", rect(0, 100, 80, 200))
    with pytest.raises(SystemExit):
        call_command("check_topology", city["west_c"].code)
    assert "GAP" in capsys.readouterr().out


def test_topology_api_returns_problem_geometries(city, planner):
    _force(city["west_c"].code + "001", rect(0, 100, 80, 200))
    client = APIClient()
    client.force_authenticate(planner)
    body = client.get(f"/api/v1/grids/{city['west_c'].code}/topology/").json()
    assert body["ok"] is False and body["counts"]["gap"] == 1
    assert body["problems"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
