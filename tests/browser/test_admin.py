"""The Django admin in real Chromium under the Content-Security-Policy: its log-in page and the
grid change page, whose django-leaflet map widget starts from a static script
(templates/leaflet/, static/js/admin/leaflet_map.js) instead of inline ones."""

from __future__ import annotations

import json

import pytest

from geogrid.accounts.models import Role
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def staff_city(transactional_db):
    factories.levels()
    admin = factories.user("root-admin", Role.ADMIN)
    admin.is_staff = admin.is_superuser = True
    admin.save()
    return factories.small_city(admin)


def open_grid_change_page(page, base_url: str, grid) -> None:
    """Log in as root-admin through the admin and land on `grid`'s change page: the admin's own
    log-in sends people to the site's (throttled, two-factor) log-in page and back."""
    page.goto(f"{base_url}/admin/login/?next=/admin/grids/grid/{grid.pk}/change/")
    page.wait_for_url(f"{base_url}/login/**")
    page.fill("input[name=username]", "root-admin")
    page.fill("input[name=password]", "pw-root-admin")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base_url}/admin/grids/grid/{grid.pk}/change/")


def test_admin_grid_change_page_draws_the_grid_on_its_map_widget(
    live_server, page, screenshot, staff_city
):
    open_grid_change_page(page, live_server.url, staff_city["west"])
    # The widget's map is up with the grid's boundary drawn and its editing toolbar.
    page.wait_for_selector("#id_geom-map.leaflet-container path.leaflet-interactive")
    assert page.locator("#id_geom-map .leaflet-draw-toolbar").count() >= 1
    stored = json.loads(page.input_value("#id_geom"))
    assert stored["type"] == "MultiPolygon"
    screenshot("admin-grid-change")


def test_admin_map_widgets_draw_the_pages_basemap_and_fetch_nothing_from_the_internet(
    live_server, page, screenshot, staff_city, settings
):
    from geogrid.accounts.models import User

    settings.GEOGRID_BASEMAP = "local"
    factories.street_map(User.objects.get(username="root-admin"))
    tiles: list[int] = []
    elsewhere: list[str] = []
    page.on("response", lambda r: "/tiles/reference/" in r.url and tiles.append(r.status))
    page.on("request", lambda r: not r.url.startswith(live_server.url) and elsewhere.append(r.url))
    open_grid_change_page(page, live_server.url, staff_city["west"])

    page.wait_for_selector("#id_geom-map.basemap-local path.leaflet-interactive")
    page.wait_for_function(
        "() => performance.getEntriesByType('resource')"
        ".some(e => e.name.includes('/tiles/reference/'))"
    )
    page.wait_for_load_state("networkidle")
    assert tiles and 200 in tiles
    assert elsewhere == []
    screenshot("admin-grid-change-basemap")
