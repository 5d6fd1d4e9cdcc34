"""import_layer on GeoPackage, GeoJSON and Shapefiles: classes, names, CRS, per-feature
reasons, clipping, replacing by name, dry runs and the messages for files that cannot be used.

Shapes are drawn in metres near Dongcheng (tests/geometry.py), inside the default
GEOGRID_CITY_BBOX."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from django.core.management import call_command
from django.core.management.base import CommandError
from shapely.geometry import LineString, Point

from geogrid.reference.importing import plan_import
from geogrid.reference.models import ReferenceEvent, ReferenceFeature, ReferenceLayer
from tests.geometry import ORIGIN, bowtie, rect, to_lonlat

ROOT = Path(__file__).resolve().parents[2]


def line(*points: tuple[float, float]) -> LineString:
    return to_lonlat(LineString(points))


def _write(tmp_path: Path, name: str, rows: list[dict], crs: int | None = 4490, **kw) -> Path:
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)
    path = tmp_path / name
    frame.to_file(path, engine="pyogrio", **kw)
    return path


def _import(*args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command("import_layer", *args, "-v0", stdout=out)
    return out.getvalue()


ROADS = [
    {"road": "长安街", "level": "primary", "geometry": line((0, 0), (500, 0))},
    {"road": "东四北大街", "level": "secondary", "geometry": line((0, 100), (500, 100))},
    {"road": "史家胡同", "level": "lane", "geometry": line((0, 200), (500, 200))},
    {"road": None, "level": "胡同/小巷", "geometry": line((0, 300), (500, 300))},
    {"road": "朝阳门内大街", "level": "Residential", "geometry": line((0, 400), (500, 400))},
]


def test_roads_from_a_geopackage_get_their_classes_and_names(db, tmp_path):
    path = _write(tmp_path, "roads.gpkg", ROADS)
    report = _import(
        str(path),
        "--kind",
        "roads",
        "--name-field",
        "road",
        "--class-field",
        "level",
        "--date",
        "2025-05-01",
        "--attribution",
        "东城区规划分局",
    )
    layer = ReferenceLayer.objects.get()
    assert (layer.name, layer.kind, layer.feature_count) == ("roads", "roads", 5)
    assert layer.source == "roads.gpkg" and str(layer.source_date) == "2025-05-01"
    assert layer.attribution == "东城区规划分局"
    stored = dict(ReferenceFeature.objects.values_list("name", "feature_class"))
    assert stored == {
        "长安街": "main",  # an OSM value, mapped
        "东四北大街": "secondary",
        "史家胡同": "lane",  # a class value as it is
        "": "lane",  # the class's Chinese label
        "朝阳门内大街": "street",  # OSM values in any case
    }
    event = ReferenceEvent.objects.get(layer=layer)
    assert event.action == "imported"
    assert event.details["by_class"] == {"lane": 2, "main": 1, "secondary": 1, "street": 1}
    assert "main 1, secondary 1, street 1, lane 2" in report


@pytest.mark.parametrize(
    "name,driver", [("b.geojson", "GeoJSON"), ("b.shp", None), ("b.zip", None)]
)
def test_buildings_from_geojson_and_shapefiles_get_the_default_class(db, tmp_path, name, driver):
    rows = [{"n": i, "geometry": rect(i * 30, 0, i * 30 + 20, 20).geoms[0]} for i in range(4)]
    if name.endswith(".zip"):
        folder = tmp_path / "shp"
        folder.mkdir()
        _write(folder, "b.shp", rows)
        path = tmp_path / name
        with zipfile.ZipFile(path, "w") as archive:
            for part in folder.iterdir():
                archive.write(part, part.name)
    else:
        path = _write(tmp_path, name, rows, **({"driver": driver} if driver else {}))
    _import(str(path), "--kind", "buildings", "--name", "东城建筑")
    layer = ReferenceLayer.objects.get(name="东城建筑")
    assert layer.feature_count == 4
    assert set(ReferenceFeature.objects.values_list("feature_class", flat=True)) == {"building"}
    areas = [f.geom.transform(4548, clone=True).area for f in ReferenceFeature.objects.all()]
    assert areas == pytest.approx([400.0] * 4, rel=1e-3)


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_a_file_without_a_crs_is_refused_until_crs_names_it(db, tmp_path):
    metres = [{"geometry": LineString([(ORIGIN[0], ORIGIN[1]), (ORIGIN[0] + 300, ORIGIN[1])])}]
    path = _write(tmp_path, "gk.shp", metres, crs=None)
    with pytest.raises(CommandError, match="does not say which coordinate system.*--crs"):
        _import(str(path), "--kind", "walls")
    _import(str(path), "--kind", "walls", "--crs", "4548")
    stored = shapely.from_wkt(ReferenceFeature.objects.get().geom.wkt)
    expected = line((0, 0), (300, 0))
    assert shapely.hausdorff_distance(stored, expected) < 1e-7


def test_each_unusable_feature_is_skipped_with_its_reason(db, tmp_path):
    rows = [
        {"level": "primary", "geometry": line((0, 0), (100, 0))},
        {"level": "primary", "geometry": rect(0, 0, 50, 50).geoms[0]},  # a road area
        {"level": "primary", "geometry": to_lonlat(Point(10, 10))},
        {"level": "motorway-ish", "geometry": line((0, 50), (100, 50))},
        {"level": None, "geometry": line((0, 60), (100, 60))},
        {"level": "lane", "geometry": LineString([(500.0, 39.9), (501.0, 39.9)])},
        {"level": "lane", "geometry": None},
        {"level": "lane", "geometry": line((0, 70), (0, 70))},  # collapses to a point
    ]
    path = _write(tmp_path, "bad.geojson", rows, driver="GeoJSON")
    plan = plan_import(path=path, kinds=["roads"], class_field="level")
    layer = plan.layers[0]
    assert len(layer.geoms) == 1
    reasons = dict(zip(layer.skipped_labels.tolist(), layer.skipped_reasons.tolist(), strict=True))
    assert reasons["feature 2"] == "it is a Polygon; roads must be lines (centrelines)"
    assert reasons["feature 3"] == "it is a Point; roads must be lines (centrelines)"
    assert reasons["feature 4"].startswith("unknown class for roads in level (use main, ")
    assert reasons["feature 5"] == "its level is empty"
    assert reasons["feature 6"].startswith("its coordinates are outside longitude")
    assert reasons["feature 7"] == "it has no geometry"
    assert reasons["feature 8"] == "invalid geometry that cannot be repaired"
    assert layer.skipped_details.tolist()[2] == "'motorway-ish'"


def test_buildings_are_polygons_and_multipolygons_only(db, tmp_path):
    rows = [
        {"geometry": line((0, 0), (10, 10))},
        {"geometry": rect(0, 0, 10, 10)},  # a MultiPolygon
        {"geometry": shapely.multipoints([to_lonlat(Point(1, 1)), to_lonlat(Point(2, 2))])},
    ]
    path = _write(tmp_path, "b.geojson", rows, driver="GeoJSON")
    layer = plan_import(path=path, kinds=["buildings"]).layers[0]
    assert len(layer.geoms) == 1 and layer.geoms[0].geom_type == "MultiPolygon"
    assert layer.skipped_reasons.tolist() == [
        "it is a LineString; buildings must be polygons (footprints)",
        "it is a MultiPoint; buildings must be polygons (footprints)",
    ]


def test_an_invalid_polygon_is_repaired_and_reported(db, tmp_path):
    path = _write(tmp_path, "green.gpkg", [{"geometry": bowtie(0, 0, 100)}])
    report = _import(str(path), "--kind", "green")
    feature = ReferenceFeature.objects.get()
    assert feature.geom.geom_type == "MultiPolygon" and feature.geom.num_geom == 2
    assert "Repaired features (1" in report and "self-intersection at lon" in report


def test_features_are_clipped_to_the_clip_area_and_those_outside_dropped(db, tmp_path):
    clip = _write(tmp_path, "area.geojson", [{"geometry": rect(0, 0, 1000, 1000).geoms[0]}])
    rows = [
        {"geometry": line((100, 500), (900, 500))},  # inside
        {"geometry": line((500, 500), (1500, 500))},  # crosses the east edge
        {"geometry": line((2000, 500), (2500, 500))},  # outside
    ]
    path = _write(tmp_path, "walls.gpkg", rows)
    report = _import(str(path), "--kind", "walls", "--clip", str(clip))
    lengths = sorted(
        round(f.geom.transform(4548, clone=True).length) for f in ReferenceFeature.objects.all()
    )
    assert lengths == [500, 800]
    assert "1 outside the clip area (dropped); 1 cut at its edge" in report
    assert ReferenceEvent.objects.get().details["outside_clip"] == 1


def test_the_default_clip_is_the_city_box_and_a_file_wholly_outside_is_refused(
    db, tmp_path, settings
):
    far = [{"geometry": LineString([(121.47, 31.23), (121.48, 31.23)])}]  # Shanghai
    path = _write(tmp_path, "shanghai.gpkg", far)
    with pytest.raises(CommandError, match="Every feature of shanghai.gpkg lies outside"):
        _import(str(path), "--kind", "roads")
    _import(str(path), "--kind", "roads", "--no-clip")
    assert ReferenceLayer.objects.get().feature_count == 1
    _import(str(path), "--kind", "roads", "--clip", "121.4,31.2,121.5,31.3", "--name", "b")
    settings.GEOGRID_CITY_BBOX = None
    _import(str(path), "--kind", "roads", "--name", "c")
    assert ReferenceLayer.objects.count() == 3


def test_importing_under_the_same_name_replaces_the_layer(db, tmp_path):
    first = _write(tmp_path, "v1.gpkg", ROADS)
    second = _write(tmp_path, "v2.gpkg", ROADS[:2])
    _import(str(first), "--kind", "roads", "--name", "东城道路", "--name-field", "road")
    layer = ReferenceLayer.objects.get()
    _import(str(second), "--kind", "roads", "--name", "东城道路", "--name-field", "road")
    again = ReferenceLayer.objects.get()
    assert again.pk == layer.pk and again.feature_count == 2 and again.source == "v2.gpkg"
    assert set(ReferenceFeature.objects.values_list("name", flat=True)) == {"长安街", "东四北大街"}
    replaced = ReferenceEvent.objects.filter(layer=layer).order_by("id").last()
    assert replaced.action == "replaced" and replaced.details["replaced_features"] == 5
    with pytest.raises(CommandError, match="holds roads, not walls"):
        _import(str(second), "--kind", "walls", "--name", "东城道路")
    assert ReferenceFeature.objects.count() == 2


def test_a_dry_run_writes_nothing(db, tmp_path):
    path = _write(tmp_path, "roads.gpkg", ROADS)
    report = _import(str(path), "--kind", "roads", "--dry-run")
    assert "Dry run: nothing was written." in report
    assert not ReferenceLayer.objects.exists() and not ReferenceEvent.objects.exists()


@pytest.mark.parametrize(
    "args,message",
    [
        (["--kind", "roads", "--kind", "water"], "exactly one --kind"),
        ([], "exactly one --kind"),
        (["--kind", "rivers"], "Unknown kind 'rivers'; use one of: roads, water, walls"),
        (["--kind", "roads", "--name-field", "nom"], r"its fields are: road, level\."),
        (["--kind", "roads", "--class-field", "x"], "--class-field 'x' is not a field"),
        (["--kind", "roads", "--crs", "9999"], "9999"),
        (["--kind", "roads", "--date", "1.5.2025"], "YYYY-MM-DD"),
        (["--kind", "roads", "--clip", "1,2,0,3"], "west < east"),
    ],
)
def test_bad_options_end_with_a_message(db, tmp_path, args, message):
    path = _write(tmp_path, "roads.gpkg", ROADS)
    with pytest.raises(CommandError, match=message):
        _import(str(path), *args)
    assert not ReferenceLayer.objects.exists()


@pytest.mark.parametrize("name", ["broken.gpkg", "broken.geojson", "broken.osm.pbf", "x.txt"])
def test_a_malformed_or_unsupported_file_ends_with_a_message(db, tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"this is not a vector file\x00\x01")
    with pytest.raises(CommandError) as caught:
        _import(str(path), "--kind", "roads")
    assert name in str(caught.value) and "\n" not in str(caught.value)


def test_an_oversized_file_is_refused(db, tmp_path, settings):
    settings.GEOGRID_MAX_IMPORT_MB = 0
    path = _write(tmp_path, "roads.gpkg", ROADS)
    with pytest.raises(CommandError, match="over the 0 MB limit"):
        _import(str(path), "--kind", "roads")
    osm = tmp_path / "city.osm"
    osm.write_text('<osm version="0.6"></osm>')
    with pytest.raises(CommandError, match="over the 0 MB limit"):
        _import(str(osm))


def test_the_command_line_exits_1_with_one_line(db, tmp_path):
    path = _write(tmp_path, "roads.gpkg", ROADS)
    done = subprocess.run(
        [sys.executable, "manage.py", "import_layer", str(path), "--dry-run"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "GEOGRID_DEBUG": "1"},
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "CommandError: roads.gpkg holds one layer: name its kind with exactly one --kind "
        "(roads | water | walls | buildings | green)."
    ]


def test_the_event_names_the_file_not_its_folder(db, tmp_path):
    path = _write(tmp_path, "roads.gpkg", ROADS)
    _import(str(path), "--kind", "roads")
    details = json.dumps(ReferenceEvent.objects.get().details, ensure_ascii=False)
    assert str(tmp_path) not in details and "roads.gpkg" in details
