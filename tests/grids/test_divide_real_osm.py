"""Division along features on real data: central Helsinki as OpenStreetMap has it (the extract
shipped in gis_data/osm/, © OpenStreetMap contributors, ODbL), imported with import_layer."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.core.management import call_command
from shapely.geometry import MultiPolygon, box

from geogrid.grids.services.dividing import divide_parent
from geogrid.grids.services.editing import create_grid
from geogrid.grids.topology import topology_report

HELSINKI = Path(__file__).resolve().parents[2] / "gis_data" / "osm" / "helsinki-test.osm.pbf"
# Inside the extract, away from its edges (where ways are cut off): about 1.2 km × 1.4 km.
CENTRE = MultiPolygon([box(24.9365, 60.1652, 24.9520, 60.1780)])


@pytest.fixture
def helsinki(settings, levels, admin_user):
    # Areas in ETRS-TM35FIN, Finland's metric CRS (the default is Beijing's zone).
    settings.GEOGRID_METRIC_SRID = 3067
    call_command("import_layer", str(HELSINKI), "--no-clip", verbosity=0)
    district = create_grid(
        actor=admin_user, level=levels["district"], code="110108", geom=CENTRE, name="Helsinki"
    )
    street = create_grid(
        actor=admin_user, level=levels["street"], parent=district, geom=CENTRE, name="Kluuvi"
    )
    return create_grid(
        actor=admin_user, level=levels["community"], parent=street, geom=CENTRE, name="Keskusta"
    )


def test_central_helsinki_divides_along_its_streets_without_cutting_a_building(
    helsinki, admin_user
):
    started = time.monotonic()
    result = divide_parent(
        parent=helsinki, actor=admin_user, method="features", target_area_m2=10_000
    )
    elapsed = time.monotonic() - started

    report = result.report()
    features = report["summary"]
    square, voronoi = report["compared"]
    assert 100 <= features["grids"] <= 200
    assert features["buildings_cut"] == 0
    assert features["on_feature_share"] >= 0.75
    # The geometric methods ignore the city: most of their boundary is nowhere near a street,
    # and they cut a building for every few grids.
    for other in (square, voronoi):
        assert other["on_feature_share"] < 0.25
        assert other["buildings_cut"] >= 100
    assert topology_report(parent=helsinki)["ok"]
    assert elapsed < 30


def test_re_dividing_central_helsinki_with_the_same_settings_keeps_every_code(helsinki, admin_user):
    first = divide_parent(
        parent=helsinki, actor=admin_user, method="features", target_area_m2=10_000, compare=False
    )
    helsinki.refresh_from_db()

    again = divide_parent(
        parent=helsinki,
        actor=admin_user,
        method="features",
        target_area_m2=10_000,
        compare=False,
        replace_existing=True,
    )

    assert again.report()["codes"] == {
        "kept": len(first.children),
        "changed": 0,
        "retired": 0,
        "created": 0,
    }
    assert sorted(g.code for g in again.children) == sorted(g.code for g in first.children)


def test_central_helsinki_with_its_blocks_kept_whole_has_nine_tenths_of_its_boundary_on_features(
    helsinki, admin_user, levels
):
    result = divide_parent(
        parent=helsinki,
        actor=admin_user,
        method="features",
        target_area_m2=10_000,
        keep_blocks=True,
    )

    report = result.report()
    features = report["summary"]
    assert report["keep_blocks"] is True
    # A city block is a grid unless it is larger than the unit level allows (50,000 m²): the
    # boundaries are the streets, and the grids vary more in size than balanced ones.
    assert features["on_feature_share"] >= 0.9
    assert features["buildings_cut"] == 0
    assert features["area_max_m2"] <= levels["unit"].max_area_m2
    assert features["area_min_m2"] >= levels["unit"].min_area_m2
    assert 60 <= features["grids"] <= 120
    assert topology_report(parent=helsinki)["ok"]
