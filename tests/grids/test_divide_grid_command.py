"""manage.py divide_grid: a dry run by default with the report, --commit saves, --out writes a
GeoPackage for QGIS, and mistakes end with a message that says what to do."""

from __future__ import annotations

import io

import pyogrio
import pytest
from django.core.management import CommandError, call_command
from shapely.geometry import LineString

from geogrid.grids.models import Grid
from tests import factories
from tests.geometry import to_lonlat


@pytest.fixture
def crossroads(city):
    factories.reference_features(
        "roads",
        "street",
        to_lonlat(LineString([(300, -50), (300, 250)])),
        to_lonlat(LineString([(150, 100), (450, 100)])),
    )
    return city["east_c"]


def divide(*args: str) -> str:
    out = io.StringIO()
    call_command("divide_grid", *args, stdout=out, verbosity=0)
    return out.getvalue()


def test_a_dry_run_prints_the_report_and_saves_nothing(crossroads):
    printed = divide(crossroads.code, "--method", "features", "--target-area", "10000")

    assert "Dry run (nothing saved)" in printed
    assert "into 4 grids" in printed and "created 4" in printed
    lines = {line.split()[0]: line for line in printed.splitlines() if line[:1].isalpha()}
    assert "100.0%" in lines["features"] and {"square", "voronoi"} <= set(lines)
    assert not Grid.objects.filter(parent=crossroads).exists()


def test_commit_saves_the_grids_and_out_writes_the_proposal(crossroads, tmp_path):
    path = tmp_path / "proposal.gpkg"
    printed = divide(crossroads.code, "--count", "4", "--commit", "--out", str(path))

    assert printed.startswith(f"Divided {crossroads.code} by features into 4 grids")
    codes = sorted(Grid.objects.filter(parent=crossroads).values_list("code", flat=True))
    frame = pyogrio.read_dataframe(path)
    assert sorted(frame["code"]) == codes and set(frame["status"]) == {"created"}
    assert frame["area_m2"].round(-2).tolist() == [10_000.0] * 4


def test_a_second_run_with_replace_keeps_every_code(crossroads):
    divide(crossroads.code, "--commit")
    printed = divide(crossroads.code, "--replace")
    assert "kept 4, changed 0, retired 0, created 0" in printed


@pytest.mark.parametrize(
    "args, message",
    [
        (["110101999999"], "There is no grid 110101999999"),
        (["{east}", "--count", "0"], "at least 1"),
        (["{east}", "--target-area", "-5"], "positive number"),
        (["{east}", "--out", "x.geojson"], "GeoPackage"),
        (["{east}", "--balance", "traffic"], "Unknown workload source traffic"),
        (["{east}", "--method", "square", "--keep-blocks"], "applies to --method features only"),
    ],
)
def test_mistakes_end_with_a_message(crossroads, args, message):
    args = [a.format(east=crossroads.code) for a in args]
    with pytest.raises(CommandError, match=message):
        divide(*args)


def test_keep_blocks_leaves_blocks_whole_and_says_so(city):
    # One street at x = 300 across the east community: two blocks of 20,000 m².
    factories.reference_features("roads", "street", to_lonlat(LineString([(300, -50), (300, 250)])))
    balanced = divide(city["east_c"].code, "--target-area", "10000")
    whole = divide(city["east_c"].code, "--target-area", "10000", "--keep-blocks")

    assert "into 4 grids" in balanced and "Blocks kept whole" not in balanced
    assert "into 2 grids" in whole and "Blocks kept whole" in whole


def test_dividing_a_grid_with_children_without_replace_says_how(city):
    with pytest.raises(CommandError, match="re-divide with replace_existing"):
        divide(city["west_c"].code, "--method", "square")


def test_features_without_a_road_layer_say_to_import_one(city):
    with pytest.raises(CommandError, match="import_layer"):
        divide(city["east_c"].code)
