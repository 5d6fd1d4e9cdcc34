"""The component admin: taxonomy editable, components edited through the services."""

from __future__ import annotations

from geogrid.components.models import ComponentEvent
from geogrid.components.services import create_component
from tests.geometry import point


def test_component_edit_in_the_admin_writes_an_event(admin_client, city, manhole_class, admin_user):
    component = create_component(
        actor=admin_user, component_class=manhole_class, geom=point(50, 150)
    )
    url = f"/admin/components/component/{component.pk}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200 and component.code in page.content.decode()
    response = admin_client.post(
        url,
        {
            "opened_version": "1",
            "name": component.name,
            "competent_department": component.competent_department_id,
            "owner_department": "",
            "maintainer_department": "",
            "location_description": "东门外",
            "data_source": "surveyed",
            "material": "铸铁",
            "notes": "",
            # The photo inline's management form, as the page sends it.
            "photos-TOTAL_FORMS": "0",
            "photos-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    component.refresh_from_db()
    assert component.material == "铸铁" and component.version == 2
    event = ComponentEvent.objects.get(component=component, action="updated")
    assert event.details["changes"]["material"] == ["", "铸铁"]


def test_local_extension_class_can_be_added(admin_client, taxonomy):
    response = admin_client.post(
        "/admin/components/componentclass/add/",
        {
            "scheme": "gbt47678",
            "code": "05901",
            "major_code": "05",
            "major_name": "其他管理部件",
            "minor_code": "901",
            "name": "充电桩",
            "name_en": "EV charger",
            "geometry": "point",
            "is_local": "on",
            "active": "on",
        },
    )
    assert response.status_code == 302
    assert (
        admin_client.get("/api/v1/codes/explain/11010105901000001").json()["class"]["name"]
        == "充电桩"
    )


def test_component_admin_refuses_a_save_over_a_change_made_since_the_page_was_opened(
    admin_client, city, manhole_class, admin_user
):
    from geogrid.components.services import update_component

    component = create_component(
        actor=admin_user, component_class=manhole_class, geom=point(50, 150)
    )
    url = f"/admin/components/component/{component.pk}/change/"
    assert 'name="opened_version"' in admin_client.get(url).content.decode()
    update_component(component=component, actor=admin_user, expected_version=1, material="球墨铸铁")
    response = admin_client.post(
        url,
        {
            "opened_version": "1",
            "name": component.name,
            "competent_department": component.competent_department_id,
            "owner_department": "",
            "maintainer_department": "",
            "location_description": "",
            "data_source": "surveyed",
            "material": "铸铁",
            "notes": "",
            "photos-TOTAL_FORMS": "0",
            "photos-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "其他人已保存了修改" in response.content.decode()
    component.refresh_from_db()
    assert component.material == "球墨铸铁" and component.version == 2
