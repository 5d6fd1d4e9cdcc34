"""Component services: codes, geometry against class, grid assignment, status, history."""

from __future__ import annotations

import pytest
from shapely.geometry import LineString

from geogrid.components.models import Component, ComponentClass, ComponentEvent, ComponentPhoto
from geogrid.components.services import (
    ComponentError,
    ComponentVersionConflict,
    add_component_photo,
    change_component_status,
    create_component,
    update_component,
    void_component,
)
from geogrid.core.codes import CodeError
from geogrid.core.gis import GeometryError
from geogrid.core.photos import check_photo
from tests.geometry import point, to_lonlat
from tests.photos import image_bytes, upload


def test_point_component_gets_its_grid_district_and_next_serial(city, manhole_class, admin_user):
    first = create_component(actor=admin_user, component_class=manhole_class, geom=point(50, 150))
    second = create_component(actor=admin_user, component_class=manhole_class, geom=point(150, 50))
    assert first.code == "11010101001000001" and second.code == "11010101001000002"
    assert first.grid.code == city["west_c"].code + "001"
    assert second.grid.code == city["west_c"].code + "004"
    assert first.competent_department.key == "自来水"  # the class default
    assert ComponentEvent.objects.filter(component=first, action="created").exists()


def test_legacy_scheme_codes_have_sixteen_digits(city, taxonomy, admin_user, settings):
    settings.GEOGRID_COMPONENT_SCHEME = "cjt214"
    legacy = ComponentClass.objects.get(scheme="cjt214", code="0101")
    component = create_component(actor=admin_user, component_class=legacy, geom=point(50, 150))
    assert component.code == "1101010101000001"


def test_class_of_the_inactive_scheme_is_refused(city, taxonomy, admin_user):
    legacy = ComponentClass.objects.get(scheme="cjt214", code="0101")
    with pytest.raises(ComponentError, match="scheme"):
        create_component(actor=admin_user, component_class=legacy, geom=point(50, 150))


def test_geometry_of_the_wrong_kind_for_the_class_is_refused(city, manhole_class, admin_user):
    line = to_lonlat(LineString([(10, 110), (60, 160)]))
    with pytest.raises(GeometryError, match="captured as a point, not a LineString"):
        create_component(actor=admin_user, component_class=manhole_class, geom=line)


def test_line_component_goes_to_the_grid_holding_its_longest_part(city, taxonomy, admin_user):
    railing = ComponentClass.objects.filter(scheme="gbt47678", geometry="line").first()
    # 70 m in grid 001 (x 0–100, north row), 20 m in grid 002.
    line = to_lonlat(LineString([(30, 150), (120, 150)]))
    component = create_component(actor=admin_user, component_class=railing, geom=line)
    assert component.grid.code == city["west_c"].code + "001"


def test_point_outside_every_unit_grid_is_refused(city, manhole_class, admin_user):
    with pytest.raises(ComponentError, match="outside every unit grid"):
        create_component(actor=admin_user, component_class=manhole_class, geom=point(300, 50))


def test_explicit_code_is_checked_and_reserves_its_serial(city, manhole_class, admin_user):
    given = create_component(
        actor=admin_user,
        component_class=manhole_class,
        geom=point(50, 150),
        code="11010101001000042",
    )
    assert given.code == "11010101001000042"
    following = create_component(
        actor=admin_user, component_class=manhole_class, geom=point(60, 150)
    )
    assert following.code == "11010101001000043"
    for bad, message in [
        ("11010101001000042", "already used"),
        ("11010101002000050", "not 01001"),
        ("11010201001000050", "district 110102"),
        ("1101010100100005", "17"),
    ]:
        with pytest.raises(CodeError, match=message):
            create_component(
                actor=admin_user, component_class=manhole_class, geom=point(70, 150), code=bad
            )


def test_status_change_and_voiding_are_recorded(city, manhole_class, admin_user):
    component = create_component(
        actor=admin_user, component_class=manhole_class, geom=point(50, 150)
    )
    change_component_status(
        component=component, actor=admin_user, status="damaged", note="cover cracked"
    )
    component.refresh_from_db()
    assert component.status == "damaged" and component.change_date is not None
    event = ComponentEvent.objects.get(component=component, action="status")
    assert event.details == {"from": "intact", "to": "damaged", "note": "cover cracked"}
    void_component(component=component, actor=admin_user, reason="removed")
    with pytest.raises(ComponentError, match="already void"):
        void_component(component=component, actor=admin_user)
    with pytest.raises(ComponentError, match="Unknown status"):
        change_component_status(component=component, actor=admin_user, status="broken")


def test_moving_a_component_reassigns_its_grid_and_stale_versions_conflict(
    city, manhole_class, admin_user
):
    component = create_component(
        actor=admin_user, component_class=manhole_class, geom=point(50, 150)
    )
    update_component(
        component=component,
        actor=admin_user,
        expected_version=1,
        geom=point(150, 150),
        notes="re-surveyed",
    )
    component.refresh_from_db()
    assert component.grid.code == city["west_c"].code + "002" and component.version == 2
    changes = ComponentEvent.objects.get(component=component, action="updated").details["changes"]
    assert changes["grid"] == [city["west_c"].code + "001", city["west_c"].code + "002"]
    with pytest.raises(ComponentVersionConflict):
        update_component(component=component, actor=admin_user, expected_version=1, notes="x")


def test_nearest_components_are_ordered_by_true_distance(city, manhole_class, admin_user):
    from geogrid.components.nearest import nearest_components

    # 30 m east is nearer than 35 m north, but in degrees (east–west shrunk by cos 40°) it
    # looks farther: planar order alone would get this wrong.
    made = {
        name: create_component(actor=admin_user, component_class=manhole_class, geom=point(x, y))
        for name, (x, y) in {"east30": (80, 100), "north35": (50, 135), "far": (150, 180)}.items()
    }
    here = point(50, 100)
    found = nearest_components(here.x, here.y, limit=2)
    assert [n.code for n in found] == [made["east30"].code, made["north35"].code]
    assert found[0].distance_m == pytest.approx(30, abs=0.5)


def test_exhausted_serials_give_a_plain_error(city, manhole_class, admin_user):
    from geogrid.components.models import ComponentSerial

    ComponentSerial.objects.create(
        district_code="110101", scheme="gbt47678", class_code="01001", last_serial=999_999
    )
    with pytest.raises(CodeError, match="not enough serial numbers left"):
        create_component(actor=admin_user, component_class=manhole_class, geom=point(50, 150))
    assert ComponentSerial.objects.get(class_code="01001").last_serial == 999_999


def test_photo_files_are_removed_when_the_database_write_fails(
    city, manhole_class, admin_user, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    component = create_component(
        actor=admin_user, component_class=manhole_class, geom=point(10, 10)
    )
    photo = check_photo(upload(image_bytes()))
    Component.objects.filter(pk=component.pk).delete()  # gone before the photo arrives
    with pytest.raises(Component.DoesNotExist):
        add_component_photo(component=component, actor=admin_user, photo=photo)
    assert not list(tmp_path.rglob("*.*"))
    assert not ComponentPhoto.objects.exists()
