"""import_grids / export_grids: per-feature reports, repairs, CRS, all-or-nothing commits."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from shapely.geometry import Point

from geogrid.core.gcj02 import wgs84_to_gcj02
from geogrid.core.vectorfiles import ImportFileError
from geogrid.grids.importing import import_grids
from geogrid.grids.models import Grid, GridEvent
from tests.geometry import bowtie, rect

DONGCHENG = Path(__file__).resolve().parents[2] / "gis_data" / "dongcheng-110101.geojson"


def _write(tmp_path: Path, name: str, rows: list[dict], crs: int | None = 4326, **kwargs) -> Path:
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)
    path = tmp_path / name
    frame.to_file(path, engine="pyogrio", **kwargs)
    return path


def test_real_dongcheng_boundary_is_repaired_and_reported(levels, admin_user):
    report = import_grids(
        path=DONGCHENG,
        level="district",
        actor=admin_user,
        code_field="code",
        name_field="name",
        commit=True,
    )
    feature = report.features[0]
    assert feature.status == "repaired"
    assert "self-intersection at lon 116.4375" in feature.messages[0]
    assert "changed its area by" in feature.messages[0]
    grid = Grid.objects.get(code="110101")
    assert grid.geom.valid and grid.source == "imported"
    assert grid.area_m2 == pytest.approx(41.8e6, rel=0.01)
    assert GridEvent.objects.filter(grid=grid, action="imported").exists()


def test_invalid_polygon_rejected_by_the_service_is_repaired_by_the_importer(
    city, levels, admin_user, tmp_path
):
    from geogrid.core.gis import GeometryError
    from geogrid.grids.services.editing import create_grid

    shape = bowtie(220, 20, 150)
    with pytest.raises(GeometryError):
        create_grid(actor=admin_user, level=levels["unit"], parent=city["east_c"], geom=shape)
    path = _write(tmp_path, "bowtie.geojson", [{"geometry": shape}], crs=4326)
    report = import_grids(
        path=path, level="unit", parent_code=city["east_c"].code, actor=admin_user, commit=True
    )
    assert report.features[0].status == "repaired", report.features[0].messages
    assert len(report.created) == 1
    assert Grid.objects.get(code=report.created[0]).geom.num_geom == 2  # two triangles


def test_dry_run_reports_and_writes_nothing(city, admin_user, tmp_path):
    rows = [
        {"code": city["east_c"].code + "001", "geometry": rect(200, 0, 300, 100)},
        {"code": city["east_c"].code + "002", "geometry": rect(300, 0, 400, 100)},
    ]
    path = _write(tmp_path, "units.gpkg", rows)
    report = import_grids(path=path, level="unit", actor=admin_user, code_field="code")
    assert report.counts == {"accepted": 2, "repaired": 0, "rejected": 0}
    assert not report.committed
    assert not Grid.objects.filter(parent=city["east_c"]).exists()


def test_each_bad_feature_gets_its_own_reason(city, admin_user, tmp_path):
    east = city["east_c"].code
    rows = [
        {"code": east + "001", "geometry": rect(200, 0, 300, 100)},  # fine
        {"code": east + "001", "geometry": rect(300, 0, 400, 100)},  # duplicate code
        {"code": "110101002999", "geometry": rect(200, 100, 300, 200)},  # wrong length
        {"code": east + "003", "geometry": rect(350, 100, 450, 200)},  # escapes parent
        {"code": "110101009001004", "geometry": rect(300, 100, 400, 200)},  # no such parent
        {"code": east + "005", "geometry": None},  # no geometry
        {"code": east + "006", "geometry": Point(0, 0)},  # not a polygon
    ]
    path = _write(tmp_path, "mixed.geojson", rows)
    report = import_grids(path=path, level="unit", actor=admin_user, code_field="code", commit=True)
    reasons = {f.row: " ".join(f.messages) for f in report.features}
    assert report.features[0].status == "accepted"
    assert "also belongs to feature 1" in reasons[2]
    assert "has 12 digits" in reasons[3]
    assert "outside its parent" in reasons[4]
    assert "parent grid 110101009001" in reasons[5]
    assert "no geometry" in reasons[6]
    assert "Point" in reasons[7]
    assert report.created == [east + "001"]


def test_commit_is_all_or_nothing(city, admin_user, tmp_path, monkeypatch):
    from geogrid.grids import importing

    rows = [{"geometry": rect(200, 0, 300, 100)}, {"geometry": rect(300, 0, 400, 100)}]
    path = _write(tmp_path, "two.geojson", rows)
    calls = []
    real = importing.create_grids

    def create_then_fail(**kwargs):
        calls.append(kwargs)
        real(**kwargs)
        raise RuntimeError("disk full")  # a failure after rows were inserted

    monkeypatch.setattr(importing, "create_grids", create_then_fail)
    with pytest.raises(RuntimeError):
        import_grids(
            path=path, level="unit", parent_code=city["east_c"].code, actor=admin_user, commit=True
        )
    assert calls and not Grid.objects.filter(parent=city["east_c"]).exists()


def test_projected_file_is_transformed_and_says_so(city, admin_user, tmp_path):
    from shapely.geometry import box

    from tests.geometry import ORIGIN

    cell = box(ORIGIN[0] + 200, ORIGIN[1], ORIGIN[0] + 300, ORIGIN[1] + 100)
    path = _write(tmp_path, "gk.gpkg", [{"geometry": cell}], crs=4548)
    report = import_grids(
        path=path, level="unit", parent_code=city["east_c"].code, actor=admin_user, commit=True
    )
    assert report.transformed and report.source_crs == "EPSG:4548"
    assert report.features[0].area_m2 == pytest.approx(10_000, rel=1e-3)


def test_gcj02_file_is_converted_when_declared(city, admin_user, tmp_path):
    import shapely

    wgs = rect(200, 0, 300, 100)
    gcj = shapely.transform(
        wgs, lambda xy: __import__("numpy").column_stack(wgs84_to_gcj02(xy[:, 0], xy[:, 1]))
    )
    path = _write(tmp_path, "gcj.geojson", [{"geometry": gcj}])
    naive = import_grids(path=path, level="unit", parent_code=city["east_c"].code, actor=admin_user)
    assert naive.features[0].status == "rejected"  # hundreds of metres off: outside the parent
    declared = import_grids(
        path=path,
        level="unit",
        parent_code=city["east_c"].code,
        actor=admin_user,
        crs="gcj02",
        commit=True,
    )
    assert declared.features[0].status == "accepted" and declared.created


def test_zipped_shapefile_is_read(city, admin_user, tmp_path):
    shp_dir = tmp_path / "shp"
    shp_dir.mkdir()
    _write(shp_dir, "cells.shp", [{"geometry": rect(200, 0, 300, 100)}])
    archive = tmp_path / "cells.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for part in shp_dir.iterdir():
            zipped.write(part, part.name)
    report = import_grids(
        path=archive, level="unit", parent_code=city["east_c"].code, actor=admin_user
    )
    assert report.counts["accepted"] == 1


def test_shapefile_without_crs_needs_crs_option(city, admin_user, tmp_path):
    with pytest.warns(UserWarning, match="crs"):  # pyogrio warns when writing such a file
        path = _write(tmp_path, "nocrs.shp", [{"geometry": rect(200, 0, 300, 100)}], crs=None)
    with pytest.raises(ImportFileError, match="--crs"):
        import_grids(path=path, level="unit", parent_code=city["east_c"].code, actor=admin_user)
    report = import_grids(
        path=path, level="unit", parent_code=city["east_c"].code, actor=admin_user, crs="4490"
    )
    assert report.counts["accepted"] == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "could not be read"),
        (b"", "could not be read"),
    ],
)
def test_malformed_files_are_refused_with_a_message(city, admin_user, tmp_path, content, message):
    path = tmp_path / "broken.geojson"
    path.write_bytes(content)
    with pytest.raises(ImportFileError, match=message):
        import_grids(path=path, level="unit", parent_code=city["east_c"].code, actor=admin_user)


def test_unknown_field_and_type_are_refused(city, admin_user, tmp_path):
    path = _write(tmp_path, "ok.geojson", [{"geometry": rect(200, 0, 300, 100)}])
    with pytest.raises(ImportFileError, match="is not a field"):
        import_grids(path=path, level="unit", actor=admin_user, code_field="CODE")
    text = tmp_path / "grids.txt"
    text.write_text("hello")
    with pytest.raises(ImportFileError, match="unsupported file type"):
        import_grids(path=text, level="unit", actor=admin_user, parent_code="110101002001")


def test_command_prints_the_report_and_writes_json(city, admin_user, tmp_path, capsys):
    path = _write(tmp_path, "cmd.geojson", [{"geometry": rect(200, 0, 300, 100)}])
    out_json = tmp_path / "report.json"
    call_command(
        "import_grids",
        str(path),
        "--level",
        "unit",
        "--parent",
        city["east_c"].code,
        "--report-json",
        str(out_json),
        verbosity=0,
    )
    printed = capsys.readouterr().out
    assert "Dry run" in printed and "ACCEPTED" in printed
    assert json.loads(out_json.read_text())["counts"]["accepted"] == 1
    with pytest.raises(CommandError, match="Unknown level"):
        call_command("import_grids", str(path), "--level", "galaxy", verbosity=0)


@pytest.mark.parametrize("fmt", ["geojson", "gpkg"])
def test_export_round_trips_through_a_file(city, tmp_path, fmt):
    out = tmp_path / f"grids.{fmt}"
    call_command("export_grids", str(out), "--level", "unit", verbosity=0)
    frame = gpd.read_file(out)
    assert sorted(frame["code"]) == sorted(g.code for g in Grid.objects.filter(level__slug="unit"))
    assert frame.crs.to_epsg() == (4326 if fmt == "geojson" else 4490)
    assert frame.geometry.is_valid.all()


def test_one_unconvertible_feature_is_rejected_alone(city, admin_user, tmp_path):
    from shapely.geometry import box

    from tests.geometry import ORIGIN

    good = box(ORIGIN[0] + 200, ORIGIN[1], ORIGIN[0] + 300, ORIGIN[1] + 100)
    absurd = box(1e12, 1e12, 1e12 + 100, 1e12 + 100)  # no place on Earth in EPSG:4548
    path = _write(tmp_path, "mixed-gk.gpkg", [{"geometry": good}, {"geometry": absurd}], crs=4548)
    report = import_grids(
        path=path,
        level="unit",
        parent_code=city["east_c"].code,
        actor=admin_user,
        crs="4548",
        commit=True,
    )  # declared: our converter
    assert report.features[0].status == "accepted" and len(report.created) == 1
    assert report.features[1].status == "rejected"
    assert "cannot be converted from" in report.features[1].messages[0]
