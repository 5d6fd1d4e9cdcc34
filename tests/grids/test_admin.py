"""The grid admin edits through the services: checks shown on the form, history kept."""

from __future__ import annotations

import json

import shapely

from geogrid.grids.models import Grid, GridBoundary
from tests.geometry import rect


def _form(grid: Grid, geom, *, opened_version: int | None = None) -> dict:
    return {
        "opened_version": grid.version if opened_version is None else opened_version,
        "name": grid.name,
        "grid_type": grid.grid_type,
        "households": "",
        "population": "",
        "officer_name": "",
        "officer_phone": "",
        "responsible_department": "",
        "geom": json.dumps(shapely.geometry.mapping(geom)),
        "boundaries-TOTAL_FORMS": "0",
        "boundaries-INITIAL_FORMS": "0",
        "boundaries-MIN_NUM_FORMS": "0",
        "boundaries-MAX_NUM_FORMS": "1000",
    }


def test_admin_change_page_shows_the_map_widget(admin_client, city):
    grid = city["west"]
    page = admin_client.get(f"/admin/grids/grid/{grid.pk}/change/").content.decode()
    assert "leaflet" in page.lower() and "id_geom" in page


def test_admin_reshape_goes_through_the_service(admin_client, city):
    grid = Grid.objects.get(code=city["west_c"].code + "001")
    response = admin_client.post(
        f"/admin/grids/grid/{grid.pk}/change/", _form(grid, rect(0, 100, 90, 200))
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    grid.refresh_from_db()
    assert grid.version == 2 and GridBoundary.objects.filter(grid=grid).count() == 2


def test_admin_refused_boundary_is_explained_on_the_form(admin_client, city):
    grid = Grid.objects.get(code=city["west_c"].code + "001")
    response = admin_client.post(
        f"/admin/grids/grid/{grid.pk}/change/", _form(grid, rect(0, 100, 150, 200))
    )
    assert response.status_code == 200
    assert "overlap by" in response.content.decode()
    grid.refresh_from_db()
    assert grid.version == 1


def test_admin_refuses_a_save_over_a_change_made_since_the_page_was_opened(
    admin_client, city, admin_user
):
    from geogrid.grids.services.editing import reshape_grid

    grid = Grid.objects.get(code=city["west_c"].code + "001")
    page = admin_client.get(f"/admin/grids/grid/{grid.pk}/change/").content.decode()
    assert 'name="opened_version"' in page and 'value="1"' in page
    # Someone else saves a new boundary while the first admin still has version 1 open.
    reshape_grid(grid=grid, geom=rect(0, 100, 95, 200), expected_version=1, actor=admin_user)
    response = admin_client.post(
        f"/admin/grids/grid/{grid.pk}/change/",
        {**_form(grid, rect(0, 100, 90, 200), opened_version=1), "name": "旧页面的名字"},
    )
    assert response.status_code == 200
    assert "其他人已保存了修改" in response.content.decode()
    grid.refresh_from_db()
    assert grid.version == 2 and grid.name != "旧页面的名字"
    assert GridBoundary.objects.filter(grid=grid).count() == 2


def test_admin_never_deletes_grids(admin_client, city):
    grid = city["west"]
    assert admin_client.get(f"/admin/grids/grid/{grid.pk}/delete/").status_code == 403
