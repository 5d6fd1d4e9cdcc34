"""divide_parent along roads: children bounded by the roads, coded in reading order, balanced by
workload, and a stable re-division (kept, changed, retired, created)."""

from __future__ import annotations

import pytest
import shapely
from shapely.geometry import LineString

from geogrid.components.models import Component
from geogrid.components.services import create_component
from geogrid.grids.errors import GridError
from geogrid.grids.models import Grid, GridEvent
from geogrid.grids.services.dividing import divide_parent
from geogrid.grids.topology import topology_report
from geogrid.reference.models import ReferenceFeature
from tests import factories
from tests.geometry import point, to_lonlat


def road(*coords):
    return to_lonlat(LineString(coords))


@pytest.fixture
def crossroads(city):
    """The east community (x 200–400, y 0–200) crossed by two streets at x = 300 and y = 100."""
    factories.reference_features(
        "roads", "street", road((300, -50), (300, 250)), road((150, 100), (450, 100))
    )
    return city["east_c"]


def bounds_m(grid):
    from tests.grids.test_feature_division import bounds_m as metric_bounds

    return metric_bounds(shapely.from_wkb(bytes(grid.geom.wkb)))


def test_a_community_crossed_by_two_streets_divides_into_the_four_blocks(crossroads, admin_user):
    result = divide_parent(
        parent=crossroads, actor=admin_user, method="features", target_area_m2=10_000
    )

    codes = [g.code for g in result.children]
    assert codes == [crossroads.code + s for s in ("001", "002", "003", "004")]
    # Reading order: north-west, north-east, south-west, south-east.
    assert [bounds_m(g) for g in result.children] == [
        (200, 100, 300, 200),
        (300, 100, 400, 200),
        (200, 0, 300, 100),
        (300, 0, 400, 100),
    ]
    assert topology_report(parent=crossroads)["ok"]
    summary = result.report()["summary"]
    assert summary["on_feature_share"] == 1.0 and summary["grids"] == 4
    assert [c["method"] for c in result.report()["compared"]] == ["square", "voronoi"]


def test_re_dividing_an_unchanged_parent_keeps_every_code_untouched(crossroads, admin_user):
    first = divide_parent(
        parent=crossroads, actor=admin_user, method="features", target_area_m2=10_000
    )
    events = GridEvent.objects.count()

    again = divide_parent(
        parent=crossroads,
        actor=admin_user,
        method="features",
        target_area_m2=10_000,
        replace_existing=True,
    )

    assert again.report()["codes"] == {"kept": 4, "changed": 0, "retired": 0, "created": 0}
    assert [g.code for g in again.children] == [g.code for g in first.children]
    assert all(g.version == 1 for g in crossroads.children.active())
    assert GridEvent.objects.count() == events + 1  # the parent's 'divided' only


def test_a_moved_road_changes_the_grids_beside_it_and_moves_their_components(
    crossroads, manhole_class, admin_user
):
    divide_parent(parent=crossroads, actor=admin_user, method="features", target_area_m2=10_000)
    cover = create_component(actor=admin_user, component_class=manhole_class, geom=point(310, 150))
    assert cover.grid.code == crossroads.code + "002"
    # The north–south street is in fact at x = 320.
    ReferenceFeature.objects.filter(geom__intersects=point(300, 50).buffer(1e-5).wkt).delete()
    factories.reference_features("roads", "street", road((320, -50), (320, 250)))

    result = divide_parent(
        parent=crossroads,
        actor=admin_user,
        method="features",
        target_area_m2=10_000,
        replace_existing=True,
    )

    assert result.report()["codes"] == {"kept": 0, "changed": 4, "retired": 0, "created": 0}
    assert [bounds_m(g) for g in result.children][:2] == [
        (200, 100, 320, 200),
        (320, 100, 400, 200),
    ]
    assert all(g.version == 2 for g in result.children)
    assert Component.objects.get(pk=cover.pk).grid.code == crossroads.code + "001"
    assert topology_report(parent=crossroads)["ok"]


def test_balancing_by_components_pairs_busy_blocks_with_quiet_ones(
    crossroads, manhole_class, admin_user
):
    divide_parent(parent=crossroads, actor=admin_user, method="features", target_area_m2=10_000)
    for x in (230, 250, 270, 330, 350, 370):  # ten covers in each northern block
        for y in (120, 140, 160, 170, 180):
            create_component(actor=admin_user, component_class=manhole_class, geom=point(x, y))
            create_component(actor=admin_user, component_class=manhole_class, geom=point(x, y + 5))

    result = divide_parent(
        parent=crossroads,
        actor=admin_user,
        method="features",
        count=2,
        balance=["components"],
        tolerance=0.1,
        replace_existing=True,
    )

    report = result.report()
    assert [row["components"] for row in report["grids"]] == [30.0, 30.0]
    assert report["summary"]["workload_cv"] < 0.1
    assert [bounds_m(g) for g in result.children] == [(200, 0, 300, 200), (300, 0, 400, 200)]


def test_dividing_along_features_without_any_loaded_is_refused_with_what_to_do(city, admin_user):
    with pytest.raises(GridError, match="import_layer") as raised:
        divide_parent(parent=city["east_c"], actor=admin_user, method="features")
    assert raised.value.reason == "no_features"
    assert not Grid.objects.filter(parent=city["east_c"]).exists()


def test_an_unknown_workload_source_is_refused_with_the_known_ones(crossroads, admin_user):
    with pytest.raises(GridError, match="components, population, reports"):
        divide_parent(parent=crossroads, actor=admin_user, method="features", balance=["traffic"])


def test_with_kerb_boundaries_each_street_belongs_to_one_grid_and_boundaries_run_on_its_kerbs(
    crossroads, admin_user, settings
):
    """The same crossroads with GEOGRID_DIVISION_BOUNDARY=kerb: streets 10 m wide, so the kerbs
    run 5 m either side of x = 300 and y = 100. Four blocks of 95 m × 95 m; each strip of
    carriageway joins one of them whole."""
    settings.GEOGRID_DIVISION_BOUNDARY = "kerb"

    result = divide_parent(
        parent=crossroads, actor=admin_user, method="features", target_area_m2=10_000
    )

    assert len(result.children) == 4
    kerbs_x, kerbs_y = {200, 295, 305, 400}, {0, 95, 105, 200}
    for grid in result.children:
        west, south, east, north = bounds_m(grid)
        assert {west, east} <= kerbs_x and {south, north} <= kerbs_y, bounds_m(grid)
    # No boundary runs along a centreline: the carriageways are inside grids, not between them.
    outlines = shapely.union_all(
        [shapely.from_wkb(bytes(g.geom.wkb)).boundary for g in result.children]
    )
    centrelines = shapely.union_all([road((300, 5), (300, 195)), road((205, 100), (395, 100))])
    # (Boundaries that cross one add a few centimetres each; one running along it, 95 m.)
    assert shapely.intersection(outlines, shapely.buffer(centrelines, 1e-6)).length < 2e-5
    assert topology_report(parent=crossroads)["ok"]
    assert result.report()["summary"]["on_feature_share"] == 1.0


def test_keeping_blocks_whole_is_refused_for_squares_with_a_message(crossroads, admin_user):
    with pytest.raises(GridError, match="along features only") as refused:
        divide_parent(parent=crossroads, actor=admin_user, method="square", keep_blocks=True)
    assert refused.value.reason == "bad_keep_blocks"
    assert not Grid.objects.filter(parent=crossroads).exists()
