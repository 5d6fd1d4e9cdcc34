"""Intake: the grid path, routing precedence, possible duplicates, and every bad input refused
with nothing stored."""

from __future__ import annotations

from datetime import timedelta

import pytest

from geogrid.cases import intake_store
from geogrid.cases.errors import ReportError
from geogrid.cases.intake import submit_report
from geogrid.cases.models import Case, CaseClass, CaseEvent, CasePhoto, RoutingRule
from geogrid.components.models import ComponentClass, Department
from geogrid.components.services import create_component
from geogrid.core.coordinates import CoordinateError, CRSError
from geogrid.core.gcj02 import wgs84_to_gcj02
from geogrid.core.photos import check_photo
from tests.cases.conftest import COVER_FAULT, GARBAGE
from tests.geometry import point
from tests.photos import image_bytes, upload

WEST = "110101001001"  # the west community; unit grids …001 NW, …002 NE, …003 SW, …004 SE


def test_a_report_stores_the_grid_path_routes_by_class_and_records_who(
    report, inspector, sanitation
):
    result = report(50, 150, description="路边一堆垃圾", reporter_phone="13800000000")
    case = Case.objects.get(pk=result.case.pk)
    assert (case.grid_code, case.community_code, case.street_code, case.district_code) == (
        WEST + "001",
        WEST,
        "110101001",
        "110101",
    )
    assert case.status == "reported" and case.kind == "event" and case.channel == "inspector"
    assert case.department == sanitation and case.routed_by == "class_default"
    assert case.area_class == "B"  # no grid says otherwise: the default
    assert case.reporter == inspector and case.reporter_phone == "13800000000"
    assert case.geom.srid == 4490 and case.geom.x == pytest.approx(point(50, 150).x)
    event = CaseEvent.objects.get(case=case)
    assert (event.action, event.to_status, event.actor) == ("reported", "reported", inspector)
    assert result.duplicates == []


def test_gcj02_points_are_converted_before_the_grid_is_found(city, case_taxonomy):
    true = point(150, 150)  # the NE unit grid
    lon, lat = wgs84_to_gcj02(true.x, true.y)  # ~500 m off in Beijing
    result = submit_report(
        actor=None, channel="citizen", service_code=GARBAGE, x=float(lon), y=float(lat), crs="gcj02"
    )
    assert result.case.grid_code == WEST + "002"
    assert result.case.geom.x == pytest.approx(true.x, abs=1e-6)
    assert result.case.submitted_point["crs"] == "gcj02"


def test_the_area_class_comes_from_the_finest_grid_that_has_one(report, city):
    community = city["west_c"]
    community.area_class = "A"
    community.save(update_fields=["area_class"])
    assert report(50, 150).case.area_class == "A"
    ne = community.children.get(code=WEST + "002")
    ne.area_class = "C"
    ne.save(update_fields=["area_class"])
    assert report(150, 150).case.area_class == "C"


# --- Routing precedence ---------------------------------------------------------------------------
def test_routing_prefers_the_components_owner_then_a_grid_rule_then_the_class(
    report, city, admin_user, case_taxonomy
):
    water = Department.objects.get(key="自来水")
    drainage = Department.objects.get(key="排水")
    municipal = Department.objects.get(key="市政")
    cover = create_component(
        actor=admin_user,
        geom=point(50, 150),
        component_class=ComponentClass.objects.get(scheme="gbt47678", code="01001"),
        owner_department=drainage,
    )
    cover_fault = CaseClass.objects.get(scheme="gbt47678", service_code=COVER_FAULT)
    RoutingRule.objects.create(grid=city["west_c"], case_class=cover_fault, department=municipal)
    # 1. The named component's owner wins over the grid rule.
    named = report(52, 150, service_code=COVER_FAULT, component_code=cover.code).case
    assert (named.department, named.routed_by, named.component) == (
        drainage,
        "component_owner",
        cover,
    )
    # 2. No component named: the grid rule (set on the community, applies to its unit grids).
    ruled = report(60, 160, service_code=COVER_FAULT).case
    assert (ruled.department, ruled.routed_by) == (municipal, "grid_rule")
    # 3. Outside the rule's grid: the class default.
    default = report(300, 100, service_code=COVER_FAULT).case
    assert (default.department, default.routed_by) == (water, "class_default")


def test_a_finer_grid_rule_and_a_class_rule_win_over_coarser_and_all_class_rules(
    report, city, case_taxonomy
):
    garbage = CaseClass.objects.get(scheme="gbt47678", service_code=GARBAGE)
    street_office, culture = (
        Department.objects.get(key="街道"),
        Department.objects.get(key="文旅"),
    )
    city_mgmt = Department.objects.get(key="城管")
    unit = city["west_c"].children.get(code=WEST + "001")
    RoutingRule.objects.create(grid=city["west"], case_class=garbage, department=culture)
    RoutingRule.objects.create(grid=unit, case_class=None, department=street_office)
    assert report(50, 150).case.department == street_office  # finer grid, all classes
    RoutingRule.objects.create(grid=unit, case_class=garbage, department=city_mgmt)
    assert report(50, 150).case.department == city_mgmt  # same grid: the class rule
    assert report(150, 50).case.department == culture  # other unit grid: the street's rule


# --- Possible duplicates -----------------------------------------------------------------------
def test_possible_duplicates_are_open_cases_of_the_class_nearby_nearest_first(report):
    far = report(50, 150).case  # 40 m away from the new one
    near = report(80, 160).case  # ~14 m away
    report(95, 95)  # ~67 m away: beyond the 50 m radius
    report(90, 150, service_code="06012")  # another class
    closed = report(88, 150).case
    Case.objects.filter(pk=closed.pk).update(status="closed")
    old = report(89, 151).case
    Case.objects.filter(pk=old.pk).update(reported_at=old.reported_at - timedelta(days=4))
    result = report(90, 150)
    assert [d.id for d in result.duplicates] == [near.pk, far.pk]
    assert result.duplicates[0].distance_m == pytest.approx(14.1, abs=0.5)
    assert result.case.possible_duplicates[0]["id"] == near.pk


def test_a_point_in_a_community_not_yet_divided_is_taken_in_step_by_step(
    report, inspector, sanitation
):
    # The east community has no unit grids: no finest-level grid covers the point, so intake
    # locates it at any level and writes the case through the same INSERT as the common path.
    east = "110101002001"
    first = report(300, 100).case
    result = report(305, 100)
    case = Case.objects.get(pk=result.case.pk)
    assert (case.grid_code, case.community_code, case.street_code, case.district_code) == (
        east,
        east,
        "110101002",
        "110101",
    )
    assert (case.department, case.routed_by, case.area_class) == (
        sanitation,
        "class_default",
        "B",
    )
    assert [d["id"] for d in case.possible_duplicates] == [first.pk]
    assert case.possible_duplicates[0]["distance_m"] == pytest.approx(5.0, abs=0.5)
    event = CaseEvent.objects.get(case=case)
    assert (event.action, event.actor, event.from_status, event.to_status) == (
        "reported",
        inspector,
        "",
        "reported",
    )
    assert event.details == {
        "channel": "inspector",
        "grid": east,
        "routed_by": "class_default",
        "department": sanitation.pk,
        "duplicates": [first.pk],
    }


# --- Bad input: a clear error, nothing stored ---------------------------------------------------
def _nothing_stored() -> None:
    assert not Case.objects.exists() and not CaseEvent.objects.exists()
    assert not CasePhoto.objects.exists()


def test_a_point_outside_every_grid_is_refused(report):
    with pytest.raises(ReportError, match="outside every grid") as error:
        report(5000, 5000)
    assert error.value.field == "location"
    _nothing_stored()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"x": 200.0, "y": 39.9}, CoordinateError, "Longitude 200.0 is out of range"),
        ({"x": 116.4, "y": 91.0}, CoordinateError, "Latitude 91.0 is out of range"),
        ({"x": float("nan"), "y": 39.9}, CoordinateError, "Longitude is not a number"),
        ({"x": 116.4, "y": 39.9, "crs": "EPSG:99999"}, CRSError, "99999"),
    ],
)
def test_bad_coordinates_and_crs_are_refused(case_taxonomy, city, kwargs, error, message):
    with pytest.raises(error, match=message):
        submit_report(actor=None, channel="citizen", service_code=GARBAGE, **kwargs)
    _nothing_stored()


@pytest.mark.parametrize(
    ("service_code", "message"),
    [
        ("", "Give the category"),
        ("99999", "no active category '99999'"),
        ("S0101", "no active category"),  # a legacy code while GB/T 47678.5 is active
    ],
)
def test_unknown_categories_are_refused(report, service_code, message):
    with pytest.raises(ReportError, match=message) as error:
        report(50, 150, service_code=service_code)
    assert error.value.field == "service_code"
    _nothing_stored()


def test_an_inactive_category_is_refused_once_the_change_is_saved(report):
    report(50, 150)  # the category is now cached by this process
    garbage = CaseClass.objects.get(scheme="gbt47678", service_code=GARBAGE)
    garbage.active = False
    garbage.save()  # as the admin does
    with pytest.raises(ReportError, match="no active category"):
        report(50, 150)


def test_component_codes_must_exist_match_the_class_and_lie_near_the_point(
    report, admin_user, case_taxonomy
):
    cover = create_component(
        actor=admin_user,
        geom=point(50, 150),
        component_class=ComponentClass.objects.get(scheme="gbt47678", code="01001"),
    )
    for code, message in [
        ("11010101-001", "is not valid"),
        ("11010101001999999", "There is no component 11010101001999999"),
    ]:
        with pytest.raises(ReportError, match=message) as error:
            report(50, 150, service_code=COVER_FAULT, component_code=code)
        assert error.value.field == "component_code"
    with pytest.raises(ReportError, match=r"lies 1\d\d m from the reported point"):
        report(50, 1, service_code=COVER_FAULT, component_code=cover.code)  # 149 m away
    with pytest.raises(ReportError, match="is a 供水井盖, not a 污水井盖"):
        report(50, 150, service_code="01002", component_code=cover.code)
    _nothing_stored()


def test_photos_are_stored_with_the_report_and_limited_in_number(report, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    photo = check_photo(upload(image_bytes()))
    with pytest.raises(ReportError, match=f"At most {settings.GEOGRID_MAX_PHOTOS} photos"):
        report(50, 150, photos=[photo] * (settings.GEOGRID_MAX_PHOTOS + 1))
    _nothing_stored()
    case = report(50, 150, photos=[photo]).case
    stored = CasePhoto.objects.get(case=case)
    assert stored.stage == "report" and stored.width == 64
    assert len(list(tmp_path.rglob("*.*"))) == 2


def test_intake_statements_fit_psycopg_parse_cache():
    # psycopg keeps its parse of a query only up to 4,096 characters; beyond that every
    # report pays the parse again (docs/architecture.md §4.2).
    assert len(intake_store._INTAKE_SQL) <= 4096
    assert len(intake_store._STEP_BY_STEP_SQL) <= 4096
