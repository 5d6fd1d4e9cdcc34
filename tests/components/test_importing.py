"""import_components / export_components: per-row reports, codes, CRS, all-or-nothing commits,
round trips through GeoPackage, GeoJSON and CSV, and the speed of a large CSV."""

from __future__ import annotations

import csv
import json
import time
import zipfile
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone
from pyproj import Transformer
from shapely.geometry import LineString, Polygon

from geogrid.components.importing import (
    ImportFileError,
    codes,
    export_components,
    format_report,
    import_components,
    writing,
)
from geogrid.components.models import (
    Component,
    ComponentClass,
    ComponentEvent,
    ComponentImport,
    ComponentSerial,
    Department,
)
from geogrid.components.services import change_component_status, create_component
from geogrid.core.gcj02 import wgs84_to_gcj02
from tests.geometry import ORIGIN, bowtie, point, rect, to_lonlat

WEST = "110101001001"  # the west community: unit grids …001 (NW) … 004 (SE)


def lonlat(x: float, y: float) -> tuple[float, float]:
    p = point(x, y)
    return p.x, p.y


def write_csv(tmp_path: Path, rows: list[dict], name: str = "components.csv") -> Path:
    path = tmp_path / name
    fields = list(dict.fromkeys(k for row in rows for k in row))
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_vector(tmp_path: Path, name: str, rows: list[dict], crs: int = 4490, **kwargs) -> Path:
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)
    path = tmp_path / name
    frame.to_file(path, engine="pyogrio", **kwargs)
    return path


def manhole_row(x: float, y: float, **attrs) -> dict:
    lon, lat = lonlat(x, y)
    return {"LBDM": "01001", "lon": f"{lon:.9f}", "lat": f"{lat:.9f}", **attrs}


def problems(report, row: int) -> str:
    found = report.row(row)
    assert found is not None, f"row {row} was accepted"
    return " ".join(found.messages)


@pytest.fixture
def line_class(taxonomy):
    return ComponentClass.objects.filter(scheme="gbt47678", geometry="line").first()


@pytest.fixture
def area_class(taxonomy):
    return ComponentClass.objects.filter(scheme="gbt47678", geometry="polygon").first()


# --- Dry run and commit -------------------------------------------------------------------------
def test_dry_run_reports_every_row_and_writes_nothing(city, manhole_class, admin_user, tmp_path):
    path = write_csv(tmp_path, [manhole_row(50, 150), manhole_row(150, 50)])
    report = import_components(path=path, actor=admin_user)
    assert report.counts == {"rows": 2, "accepted": 2, "rejected": 0}
    assert report.accepted_by_class == {"01001 供水井盖": 2}
    assert not report.committed
    assert Component.objects.count() == 0 and not ComponentSerial.objects.exists()
    assert "Dry run: nothing was written" in format_report(report)


def test_commit_creates_components_in_their_grids_with_serials_and_events(
    city, manhole_class, admin_user, tmp_path
):
    path = write_csv(
        tmp_path, [manhole_row(50, 150), manhole_row(150, 50), manhole_row(300, 50)]
    )  # the third is outside every unit grid
    report = import_components(path=path, actor=admin_user, commit=True)
    assert report.committed and report.created == 2
    assert list(report.codes) == ["11010101001000001", "11010101001000002"]
    first, second = Component.objects.order_by("code")
    assert (first.grid.code, second.grid.code) == (WEST + "001", WEST + "004")
    assert first.district_code == "110101" and first.name == "供水井盖"
    assert first.competent_department == manhole_class.default_department
    assert first.status == "intact" and first.currency == "in_use"
    assert first.initial_date == timezone.localdate()
    assert first.geom.srid == 4490 and first.geom.x == pytest.approx(point(50, 150).x)
    # One audit record for the import; every component it created points to it.
    batch = ComponentImport.objects.get()
    assert batch.action == "imported" and batch.actor == admin_user
    assert (batch.file_name, batch.created_count, batch.scheme) == (path.name, 2, "gbt47678")
    assert batch.details["rejected"] == 1 and batch.details["rows"] == 3
    assert first.import_batch == batch and second.import_batch == batch
    assert not ComponentEvent.objects.filter(component=first).exists()
    assert abs((first.created_at - batch.created_at).total_seconds()) < 60
    assert problems(report, 3).startswith("It lies outside every unit grid")
    # Serials continue after the import.
    following = create_component(
        actor=admin_user, component_class=manhole_class, geom=point(60, 150)
    )
    assert following.code == "11010101001000003"


def test_new_serials_follow_the_grids_then_north_to_south_west_to_east(
    city, manhole_class, admin_user, tmp_path
):
    path = write_csv(
        tmp_path,
        [manhole_row(150, 50), manhole_row(60, 120), manhole_row(20, 180), manhole_row(80, 180)],
    )
    report = import_components(path=path, actor=admin_user, commit=True)
    # Grid 004 comes last; inside grid 001 the northern row first, west before east.
    assert [code[-1] for code in report.codes] == ["4", "3", "1", "2"]


# --- One test per report case -------------------------------------------------------------------
def test_unknown_class_is_rejected(city, taxonomy, admin_user, tmp_path):
    path = write_csv(
        tmp_path,
        [
            manhole_row(50, 150, LBDM="09999"),
            manhole_row(50, 150, LBDM="0101"),  # a CJ/T 214 class
            manhole_row(50, 150, LBDM=""),
        ],
    )
    report = import_components(path=path, actor=admin_user)
    assert report.counts["rejected"] == 3
    assert (
        problems(report, 1) == "Unknown class 09999: not a class of GB/T 47678.5-2026 (17 digits)."
    )
    assert "belongs to CJ/T 214" in problems(report, 2)
    assert problems(report, 3) == "It has no class code."
    assert report.reason_counts == {"unknown_class": 3}


def test_geometry_of_the_wrong_kind_for_the_class_is_rejected(
    city, manhole_class, area_class, admin_user, tmp_path
):
    path = write_vector(
        tmp_path,
        "shapes.geojson",
        [
            {"LBDM": "01001", "geometry": to_lonlat(LineString([(10, 110), (60, 160)]))},
            {"LBDM": area_class.code, "geometry": point(50, 50)},
            {"LBDM": area_class.code, "geometry": rect(10, 10, 40, 40).geoms[0]},
        ],
    )
    report = import_components(path=path, actor=admin_user)
    assert problems(report, 1) == ("A 供水井盖 (01001) is captured as a point, not a LineString.")
    assert "is captured as a polygon, not a Point" in problems(report, 2)
    assert report.row(3) is None
    assert report.reason_counts == {"wrong_geometry": 2}


def test_invalid_polygon_is_rejected(city, area_class, admin_user, tmp_path):
    path = write_vector(
        tmp_path, "bowtie.geojson", [{"LBDM": area_class.code, "geometry": bowtie(20, 20, 50)}]
    )
    report = import_components(path=path, actor=admin_user)
    assert "The polygon is invalid: self-intersection" in problems(report, 1)
    assert report.reason_counts == {"invalid_geometry": 1}


def test_point_outside_every_unit_grid_is_rejected(city, manhole_class, admin_user, tmp_path):
    # The east community has no unit grids.
    path = write_csv(tmp_path, [manhole_row(300, 50)])
    report = import_components(path=path, actor=admin_user, commit=True)
    lon, lat = lonlat(300, 50)
    assert problems(report, 1) == (
        f"It lies outside every unit grid (lon {lon:.6f}, lat "
        f"{lat:.6f}); check its coordinates and coordinate system."
    )
    assert report.created == 0 and Component.objects.count() == 0


def test_duplicate_codes_in_the_file_and_already_stored_are_rejected(
    city, manhole_class, admin_user, tmp_path
):
    stored = create_component(
        actor=admin_user,
        component_class=manhole_class,
        geom=point(10, 110),
        code="11010101001000007",
    )
    path = write_csv(
        tmp_path,
        [
            manhole_row(50, 150, GLBJBSM="11010101001000010"),
            manhole_row(60, 150, GLBJBSM="11010101001000010"),
            manhole_row(70, 150, GLBJBSM=stored.code),
        ],
    )
    report = import_components(path=path, actor=admin_user, code_field="GLBJBSM", commit=True)
    assert report.row(1) is None
    assert problems(report, 2) == "Code 11010101001000010 also belongs to row 1."
    assert problems(report, 3) == (
        "Code 11010101001000007 is already used (component codes are never reused)."
    )
    assert report.reason_counts == {"duplicate_code": 2}
    assert set(Component.objects.values_list("code", flat=True)) == {
        stored.code,
        "11010101001000010",
    }


def test_malformed_codes_and_codes_of_another_class_or_district_are_rejected(
    city, manhole_class, admin_user, tmp_path
):
    path = write_csv(
        tmp_path,
        [
            manhole_row(50, 150, GLBJBSM="1101010100100005"),  # 16 digits
            manhole_row(50, 150, GLBJBSM="1101010100100000A"),
            manhole_row(50, 150, GLBJBSM="11010101001000000"),  # serial 0
            manhole_row(50, 150, GLBJBSM="11010101002000050"),  # class 01002
            manhole_row(50, 150, GLBJBSM="11010201001000050"),  # district 110102
            manhole_row(50, 150, GLBJBSM="99999901001000050"),  # no such district
        ],
    )
    report = import_components(path=path, actor=admin_user, code_field="GLBJBSM")
    assert "has 16 digits" in problems(report, 1)
    assert "digits only" in problems(report, 2)
    assert "serial numbers start at 000001" in problems(report, 3)
    assert problems(report, 4) == "Code 11010101002000050 is of class 01002, not 01001 (供水井盖)."
    assert problems(report, 5) == (
        "Code 11010201001000050 belongs to district 110102, but the "
        "component lies in district 110101."
    )
    assert "not a GB/T 2260 county-level division code" in problems(report, 6)
    assert report.reason_counts == {"bad_code": 6}


def test_bad_coordinates_in_csv_are_rejected(city, manhole_class, admin_user, tmp_path):
    lon, lat = lonlat(50, 150)
    path = write_csv(
        tmp_path,
        [
            {"LBDM": "01001", "Longitude": "NaN", "Latitude": f"{lat}"},
            {"LBDM": "01001", "Longitude": "", "Latitude": f"{lat}"},
            {"LBDM": "01001", "Longitude": "450000", "Latitude": "4416000"},
            {"LBDM": "01001", "Longitude": "116,4", "Latitude": f"{lat}"},
            {"LBDM": "01001", "Longitude": "inf", "Latitude": f"{lat}"},
            {"LBDM": "01001", "Longitude": f"{lon}", "Latitude": f"{lat}"},
        ],
    )
    report = import_components(path=path, actor=admin_user)
    assert "not finite numbers" in problems(report, 1)
    assert "It has no coordinates" in problems(report, 2)
    assert "outside longitude −180…180" in problems(report, 3)
    assert "look like metres" in problems(report, 3)
    assert (
        problems(report, 4) == "Its coordinates are not numbers: Longitude '116,4', Latitude "
        f"'{lat}'."
    )
    assert "not finite numbers" in problems(report, 5)
    assert report.row(6) is None
    assert report.reason_counts == {"bad_coordinates": 5}


def test_projected_csv_rows_outside_the_zone_are_rejected_one_by_one(
    city, manhole_class, admin_user, tmp_path
):
    rows = [
        {"LBDM": "01001", "x": ORIGIN[0] + 50, "y": ORIGIN[1] + 150},
        {"LBDM": "01001", "x": 9_000_000, "y": ORIGIN[1]},  # not in zone CM 117E
        {"LBDM": "01001", "x": ORIGIN[0] + 150, "y": ORIGIN[1] + 50},
    ]
    path = write_csv(tmp_path, rows)
    report = import_components(path=path, actor=admin_user, crs="4548", commit=True)
    assert report.transformed
    assert "not valid in EPSG:4548" in problems(report, 2)
    assert report.created == 2
    assert set(Component.objects.values_list("grid__code", flat=True)) == {
        WEST + "001",
        WEST + "004",
    }


def test_departments_missing_or_unknown_are_rejected(city, manhole_class, admin_user, tmp_path):
    ComponentClass.objects.filter(pk=manhole_class.pk).update(default_department=None)
    water = Department.objects.get(key="自来水")
    path = write_csv(
        tmp_path,
        [
            manhole_row(50, 150),  # no ZGBMDM and no class default
            manhole_row(50, 150, ZGBMDM="NO-SUCH-DEPT"),
            manhole_row(50, 150, ZGBMDM=water.code, YHDWDM="NOPE"),
            manhole_row(50, 150, ZGBMDM=water.code),
        ],
    )
    report = import_components(path=path, actor=admin_user)
    assert problems(report, 1) == (
        "Class 01001 供水井盖 has no default department; give the "
        "competent department's code (ZGBMDM)."
    )
    assert "No department has the code 'NO-SUCH-DEPT' (competent department" in problems(report, 2)
    assert "No department has the code 'NOPE' (maintainer" in problems(report, 3)
    assert report.row(4) is None
    assert report.reason_counts == {"missing_department": 1, "unknown_department": 2}


def test_attributes_by_standard_and_plain_names(city, manhole_class, admin_user, tmp_path):
    water, drains = Department.objects.get(key="自来水"), Department.objects.get(key="排水")
    rows = [
        manhole_row(
            50,
            150,
            GLBJMC="东四北大街井盖",
            GLBJZT="破损",
            ZGBMDM=water.code,
            QSDWDM=drains.code,
            YHDWDM=water.code,
            CSRQ="20190315",
            SJLY="地形图",
            BZ="旧井盖",
        ),
        manhole_row(
            60,
            150,
            name="plain",
            status="Occupied",
            initial_date="2020-01-02",
            data_source="base_data",
            notes="n",
            material="铸铁",
            location_description="路口东侧",
        ),
        manhole_row(70, 150, GLBJZT="移除"),  # not a status of this system
        manhole_row(80, 150, CSRQ="2019-02-30"),
        manhole_row(90, 150, SJLY="卫星"),
    ]
    path = write_csv(tmp_path, rows)
    report = import_components(path=path, actor=admin_user, commit=True)
    assert "Unknown status '移除'" in problems(report, 3)
    assert "initial date (CSRQ) '2019-02-30' is not a date" in problems(report, 4)
    assert "Unknown data source '卫星'" in problems(report, 5)
    assert report.reason_counts == {"bad_value": 3}
    first, second = Component.objects.order_by("code")
    assert (first.name, first.status, first.initial_date, first.data_source, first.notes) == (
        "东四北大街井盖",
        "damaged",
        date(2019, 3, 15),
        "map",
        "旧井盖",
    )
    assert (first.competent_department, first.owner_department, first.maintainer_department) == (
        water,
        drains,
        water,
    )
    assert (second.name, second.status, second.initial_date, second.data_source) == (
        "plain",
        "occupied",
        date(2020, 1, 2),
        "base_data",
    )
    assert (second.material, second.location_description) == ("铸铁", "路口东侧")


def test_commit_is_all_or_nothing(city, manhole_class, admin_user, tmp_path, monkeypatch):
    stored = create_component(actor=admin_user, component_class=manhole_class, geom=point(10, 110))
    serials = list(ComponentSerial.objects.values_list("last_serial", flat=True))
    # A code taken by someone else after the check: the database refuses the whole import.
    monkeypatch.setattr(
        codes, "_existing_codes", lambda numbers, length: np.zeros(0, dtype=np.int64)
    )
    path = write_csv(
        tmp_path,
        [manhole_row(50, 150), manhole_row(150, 50), manhole_row(60, 150, GLBJBSM=stored.code)],
    )
    with pytest.raises(ImportFileError, match="nothing was written.*components_unique_code"):
        import_components(path=path, actor=admin_user, code_field="GLBJBSM", commit=True)
    assert list(Component.objects.values_list("code", flat=True)) == [stored.code]
    assert list(ComponentSerial.objects.values_list("last_serial", flat=True)) == serials
    assert not ComponentImport.objects.exists()


def test_unusable_files_raise_a_plain_error(city, manhole_class, admin_user, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ImportFileError, match="unsupported file type .txt"):
        import_components(path=text, actor=admin_user, class_code="01001")
    no_coordinates = write_csv(tmp_path, [{"LBDM": "01001", "where": "here"}])
    with pytest.raises(ImportFileError, match="no longitude/latitude columns"):
        import_components(path=no_coordinates, actor=admin_user)
    good = write_csv(tmp_path, [manhole_row(50, 150)], name="good.csv")
    with pytest.raises(ImportFileError, match="--code-field 'CODE' is not a field"):
        import_components(path=good, actor=admin_user, code_field="CODE")
    with pytest.raises(ImportFileError, match="--class 09999: no class"):
        import_components(path=good, actor=admin_user, class_code="09999")


# --- Formats and coordinate systems -------------------------------------------------------------
def test_csv_saved_by_excel_in_gb18030_is_read(city, manhole_class, admin_user, tmp_path):
    lon, lat = lonlat(50, 150)
    path = tmp_path / "excel.csv"
    path.write_bytes(f"LBDM,GLBJMC,lon,lat\n01001,东四井盖,{lon},{lat}\n".encode("gb18030"))
    report = import_components(path=path, actor=admin_user, commit=True)
    assert report.created == 1 and Component.objects.get().name == "东四井盖"


def test_csv_codes_and_class_codes_keep_their_leading_zeros(
    city, manhole_class, admin_user, tmp_path
):
    path = write_csv(
        tmp_path,
        [
            manhole_row(50, 150, LBDM="01001", GLBJBSM="11010101001000123"),
            manhole_row(150, 50, LBDM="01001"),
        ],
    )
    report = import_components(
        path=path, actor=admin_user, code_field="GLBJBSM", class_field="LBDM", commit=True
    )
    assert report.counts["rejected"] == 0, format_report(report)
    # The explicit serial is reserved first: the allocated row follows it.
    assert list(report.codes) == ["11010101001000123", "11010101001000124"]
    assert ComponentSerial.objects.get(class_code="01001").last_serial == 124


def test_class_codes_read_as_numbers_are_padded(city, manhole_class, admin_user, tmp_path):
    path = write_vector(tmp_path, "numbers.geojson", [{"LBDM": 1001, "geometry": point(50, 150)}])
    report = import_components(path=path, actor=admin_user)
    assert report.accepted_by_class == {"01001 供水井盖": 1}


def test_geopackage_with_points_and_polygons(city, manhole_class, area_class, admin_user, tmp_path):
    path = write_vector(
        tmp_path,
        "mixed.gpkg",
        [
            {"LBDM": "01001", "GLBJMC": "井盖", "geometry": point(50, 150)},
            {"LBDM": area_class.code, "GLBJMC": "面", "geometry": rect(110, 10, 190, 60).geoms[0]},
        ],
        layer="components",
    )
    report = import_components(path=path, actor=admin_user, commit=True)
    assert report.created == 2, format_report(report)
    assert report.source_crs == "EPSG:4490" and not report.transformed
    area = Component.objects.get(component_class=area_class)
    assert area.geom.geom_type == "Polygon" and area.grid.code == WEST + "004"
    assert area.code == "110101" + area_class.code + "000001"


def test_texts_longer_than_their_columns_are_rejected_counting_characters(
    city, manhole_class, admin_user, tmp_path
):
    path = write_csv(
        tmp_path,
        [
            manhole_row(20, 180, GLBJMC="井" * 100),  # 100 characters (300 bytes): fits
            manhole_row(40, 180, GLBJMC="井" * 101),
            manhole_row(60, 180, material="m" * 51),
            manhole_row(80, 180, location_description="路" * 257),
            manhole_row(60, 120, GLBJMC="井" * 101),  # the same long name again
        ],
    )
    report = import_components(path=path, actor=admin_user)
    assert [r.row for r in report.rejected] == [2, 3, 4, 5]
    assert problems(report, 2) == "Its name is longer than 100 characters."
    assert problems(report, 3) == "Its material is longer than 50 characters."
    assert problems(report, 4) == "Its location description is longer than 256 characters."
    assert problems(report, 5) == "Its name is longer than 100 characters."
    assert report.reason_counts == {"bad_value": 4}


def test_points_only_and_mixed_copy_slices_store_every_geometry_exactly(
    city, manhole_class, area_class, admin_user, tmp_path, monkeypatch
):
    # Slices of two rows: the first two rows (points only) take the numpy EWKB path, the last
    # slice (a point and a polygon) shapely's; both land in one COPY.
    monkeypatch.setattr(writing, "COPY_SLICE_ROWS", 2)
    points = [point(20, 180), point(80, 180), point(60, 120)]
    polygon = rect(110, 10, 190, 60).geoms[0]
    path = write_vector(
        tmp_path,
        "slices.gpkg",
        [
            *({"LBDM": "01001", "geometry": p} for p in points),
            {"LBDM": area_class.code, "geometry": polygon},
        ],
        layer="components",
    )
    report = import_components(path=path, actor=admin_user, commit=True)
    assert report.created == 4, format_report(report)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_SRID(geom), ST_AsBinary(geom) FROM components_component ORDER BY code"
        )
        stored = cursor.fetchall()
    assert {srid for srid, _ in stored} == {4490}
    geoms = shapely.from_wkb([bytes(wkb) for _, wkb in stored])
    assert sorted(shapely.to_wkt(g, rounding_precision=-1) for g in geoms) == sorted(
        shapely.to_wkt(g, rounding_precision=-1) for g in [*points, polygon]
    )


def test_zipped_shapefile_in_a_projected_crs(city, line_class, admin_user, tmp_path):
    metres = gpd.GeoDataFrame(
        {"LBDM": [line_class.code] * 2},
        geometry=[
            LineString([(ORIGIN[0] + 30, ORIGIN[1] + 150), (ORIGIN[0] + 60, ORIGIN[1] + 150)]),
            LineString([(ORIGIN[0] + 30, ORIGIN[1] + 50), (ORIGIN[0] + 120, ORIGIN[1] + 50)]),
        ],
        crs=4548,
    )
    folder = tmp_path / "shp"
    folder.mkdir()
    metres.to_file(folder / "parts.shp", engine="pyogrio")
    archive = tmp_path / "parts.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for part in folder.iterdir():
            zipped.write(part, part.name)
    report = import_components(path=archive, actor=admin_user, commit=True)
    assert report.created == 2, format_report(report)
    assert report.source_crs == "EPSG:4548" and report.transformed
    grids = Component.objects.order_by("code").values_list("grid__code", flat=True)
    assert list(grids) == [WEST + "001", WEST + "003"]  # 70 m of 90 m in the south-west grid


def test_gcj02_csv_is_converted_when_declared(city, manhole_class, admin_user, tmp_path):
    wgs_lon, wgs_lat = lonlat(50, 150)
    gcj_lon, gcj_lat = wgs84_to_gcj02(wgs_lon, wgs_lat)
    path = write_csv(
        tmp_path,
        [{"class": "01001", "lng": f"{float(gcj_lon):.9f}", "lat": f"{float(gcj_lat):.9f}"}],
    )
    undeclared = import_components(path=path, actor=admin_user)
    assert undeclared.reason_counts == {"outside_grids": 1}  # ~500 m off without --crs
    report = import_components(path=path, actor=admin_user, crs="gcj02", commit=True)
    assert report.created == 1 and report.transformed
    component = Component.objects.get()
    assert component.grid.code == WEST + "001"
    assert component.geom.x == pytest.approx(wgs_lon, abs=1e-7)
    assert component.geom.y == pytest.approx(wgs_lat, abs=1e-7)


# --- Export and round trip ----------------------------------------------------------------------
@pytest.fixture
def inventory(city, manhole_class, line_class, area_class, admin_user):
    water, drains = Department.objects.get(key="自来水"), Department.objects.get(key="排水")
    made = [
        create_component(
            actor=admin_user,
            component_class=manhole_class,
            geom=point(50, 150),
            name="东四井盖",
            owner_department=drains,
            maintainer_department=water,
            initial_date=date(2018, 5, 6),
            notes='备注, with "quotes"',
            data_source="map",
            material="铸铁",
            location_description="路口",
        ),
        create_component(actor=admin_user, component_class=manhole_class, geom=point(150, 50)),
        create_component(
            actor=admin_user,
            component_class=line_class,
            geom=to_lonlat(LineString([(30, 150), (120, 150)])),
        ),
        create_component(
            actor=admin_user,
            component_class=area_class,
            geom=to_lonlat(Polygon([(110, 10), (190, 10), (190, 60), (110, 60)])),
        ),
    ]
    change_component_status(component=made[1], actor=admin_user, status="lost")
    return made


FIELDS = (
    "code",
    "name",
    "component_class_id",
    "competent_department_id",
    "owner_department_id",
    "maintainer_department_id",
    "status",
    "grid_id",
    "district_code",
    "initial_date",
    "change_date",
    "data_source",
    "notes",
    "material",
    "location_description",
)


@pytest.mark.parametrize("fmt", ["gpkg", "geojson", "csv"])
def test_export_then_import_recreates_the_components(inventory, admin_user, tmp_path, fmt):
    before = {c["code"]: c for c in Component.objects.values(*FIELDS)}
    shapes = {c.code: shapely.from_wkb(bytes(c.geom.wkb)) for c in Component.objects.all()}
    path = tmp_path / f"components.{fmt}"
    assert export_components(queryset=Component.objects.all(), path=path, fmt=fmt) == 4
    Component.objects.all().delete()
    report = import_components(
        path=path, actor=admin_user, code_field="GLBJBSM", class_field="LBDM", commit=True
    )
    assert report.created == 4, format_report(report)
    after = {c["code"]: c for c in Component.objects.values(*FIELDS)}
    assert after == before
    for component in Component.objects.all():
        shape = shapely.from_wkb(bytes(component.geom.wkb))
        assert shape.geom_type == shapes[component.code].geom_type
        assert shapely.equals_exact(shape, shapes[component.code], tolerance=1e-8)


def test_export_uses_the_standard_attribute_names(inventory, tmp_path):
    path = tmp_path / "out.gpkg"
    export_components(queryset=Component.objects.all(), path=path, fmt="gpkg")
    frame = gpd.read_file(path)  # as QGIS reads it: all rows, mixed geometry kinds
    assert len(frame) == 4
    assert set(frame.geometry.geom_type) == {"Point", "LineString", "Polygon"}
    by_code = frame.set_index("GLBJBSM")
    first, lost = by_code.loc[inventory[0].code], by_code.loc[inventory[1].code]
    standard = ["GLBJMC", "LBDM", "GLBJZT", "CSRQ", "SJLY", "BZ"]
    assert list(first[standard]) == [
        "东四井盖",
        "01001",
        "完好",
        "20180506",
        "地形图",
        '备注, with "quotes"',
    ]
    made = inventory[0]
    assert list(first[["ZGBMDM", "ZGBMMC", "QSDWMC", "YHDWMC"]]) == [
        made.competent_department.code,
        made.competent_department.name,
        made.owner_department.name,
        made.maintainer_department.name,
    ]
    assert list(first[["SZDYWGBSM", "SZJDDM", "SZJDMC", "SZSQDM", "SZSQMC"]]) == [
        WEST + "001",
        "110101001",
        "西街道",
        WEST,
        "西社区",
    ]
    assert list(lost[["GLBJZT", "BGRQ"]]) == ["丢失", timezone.localdate().strftime("%Y%m%d")]
    csv_path = tmp_path / "out.csv"
    export_components(queryset=Component.objects.all(), path=csv_path, fmt="csv")
    header = csv_path.read_text(encoding="utf-8-sig").splitlines()[0].split(",")
    assert header[:3] == ["GLBJBSM", "GLBJMC", "LBDM"] and header[-3:] == ["lon", "lat", "WKT"]


@pytest.mark.parametrize("fmt", ["gpkg", "geojson", "csv"])
def test_export_of_no_components_writes_an_empty_file(db, tmp_path, fmt):
    path = tmp_path / f"none.{fmt}"
    assert export_components(queryset=Component.objects.none(), path=path, fmt=fmt) == 0
    assert path.exists()


# --- Commands -----------------------------------------------------------------------------------
def test_import_and_export_commands(city, manhole_class, admin_user, tmp_path, capsys):
    path = write_csv(tmp_path, [manhole_row(50, 150), manhole_row(300, 50)])
    report_json = tmp_path / "report.json"
    call_command(
        "import_components",
        str(path),
        "--class",
        "01001",
        "--commit",
        "--actor",
        admin_user.username,
        "--report-json",
        str(report_json),
    )
    out = capsys.readouterr().out
    assert "#2       REJECTED" in out and "outside every unit grid: 1" in out
    assert "Committed: 1 components created" in out
    data = json.loads(report_json.read_text(encoding="utf-8"))
    assert data["counts"] == {"rows": 2, "accepted": 1, "rejected": 1}
    assert data["rejected"][0]["reasons"] == ["outside_grids"]
    with pytest.raises(CommandError, match="File not found"):
        call_command("import_components", str(tmp_path / "missing.csv"), "--class", "01001")
    out_path = tmp_path / "export.geojson"
    call_command("export_components", str(out_path), "--within", WEST, "--status", "完好")
    assert "Wrote 1 components" in capsys.readouterr().out
    assert len(gpd.read_file(out_path)) == 1
    with pytest.raises(CommandError, match="--status"):
        call_command("export_components", str(out_path), "--status", "gone")


# --- Speed --------------------------------------------------------------------------------------
def test_hundred_thousand_point_csv_imports_in_under_fifteen_seconds(
    city, manhole_class, admin_user, tmp_path
):
    n = 100_000
    rng = np.random.default_rng(47678)
    x, y = rng.uniform(1, 199, n), rng.uniform(1, 199, n)  # inside the four unit grids
    lon, lat = Transformer.from_crs(4548, 4490, always_xy=True).transform(
        x + ORIGIN[0], y + ORIGIN[1]
    )
    path = tmp_path / "many.csv"
    table = np.empty((n, 2), dtype=object)
    table[:, 0], table[:, 1] = np.char.mod("%.9f", lon), np.char.mod("%.9f", lat)
    np.savetxt(path, table, fmt="%s", delimiter=",", header="lon,lat", comments="")
    start = time.perf_counter()
    with connection.cursor() as cursor:
        # The test's transaction is never committed: check the foreign keys now, as a commit
        # would, so that their cost is in the figure.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    report = import_components(path=path, actor=admin_user, class_code="01001", commit=True)
    elapsed = time.perf_counter() - start
    assert report.created == n, format_report(report, limit=5)
    assert elapsed < 15, f"{n:,} points took {elapsed:.1f} s"
    assert Component.objects.count() == n
    assert ComponentImport.objects.get().created_count == n
    assert Component.objects.filter(import_batch__isnull=True).count() == 0
    assert ComponentSerial.objects.get(class_code="01001").last_serial == n
    assert sorted(report.codes) == [f"11010101001{i:06d}" for i in range(1, n + 1)]


def _setting(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SHOW {name}")
        return cursor.fetchone()[0]


def test_a_superuser_import_restores_the_foreign_key_triggers_afterwards(
    city, manhole_class, admin_user, tmp_path
):
    path = write_csv(tmp_path, [manhole_row(50, 150)])
    report = import_components(path=path, actor=admin_user, commit=True)
    assert report.created == 1
    assert _setting("session_replication_role") == "origin"


def test_a_non_superuser_role_imports_with_the_foreign_keys_checked(
    city, manhole_class, admin_user, tmp_path
):
    # Roles and grants are transactional: the test's rollback removes them again.
    with connection.cursor() as cursor:
        cursor.execute("CREATE ROLE geogrid_test_importer NOSUPERUSER")
        cursor.execute("GRANT ALL ON ALL TABLES IN SCHEMA public TO geogrid_test_importer")
        cursor.execute("GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO geogrid_test_importer")
        cursor.execute("SET ROLE geogrid_test_importer")
    try:
        path = write_csv(tmp_path, [manhole_row(50, 150), manhole_row(150, 50)])
        report = import_components(path=path, actor=admin_user, commit=True)
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the checks a commit runs
        assert report.created == 2 and _setting("session_replication_role") == "origin"
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")
    assert Component.objects.filter(import_batch__file_name=path.name).count() == 2
