"""The offline basemap in real Chromium: with GEOGRID_BASEMAP=local a map page draws the
reference layers from GeoGrid's own tiles (/tiles/reference/), and the grid editor's switches
hide and show the roads."""

from __future__ import annotations

import pytest

from geogrid.accounts.models import Role
from tests import factories
from tests.geometry import point

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Colours of static/js/core/basemap.js: road fill, building fill.
ROAD = (255, 255, 255)
BUILDING = (220, 212, 204)

# Pixels of the basemap's tile canvases: drawn at all, and of the road and building colours.
BASEMAP_PIXELS = """([road, building]) => {
    const counts = {drawn: 0, road: 0, building: 0};
    const near = (d, i, c) => Math.abs(d[i] - c[0]) + Math.abs(d[i + 1] - c[1])
                              + Math.abs(d[i + 2] - c[2]) <= 6;
    for (const canvas of GEOGRID.map.geogridBasemap.getContainer().querySelectorAll("canvas")) {
        const d = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
        for (let i = 0; i < d.length; i += 4) {
            if (d[i + 3] === 0) { continue; }
            counts.drawn++;
            if (d[i + 3] === 255 && near(d, i, road)) { counts.road++; }
            if (d[i + 3] === 255 && near(d, i, building)) { counts.building++; }
        }
    }
    return counts;
}"""


@pytest.fixture
def street_map(transactional_db):
    factories.levels()
    admin = factories.user("root-admin", Role.ADMIN)
    city = factories.small_city(admin)
    factories.user("planner-a", Role.PLANNER, scope=[city["district"]])
    factories.street_map(admin)
    return city


def _show_the_streets(page) -> None:
    """The map at z16 over the street map, its basemap tiles loaded and drawn."""
    at = point(100, 100)
    page.evaluate(
        "([lat, lon]) => GEOGRID.map.setView([lat, lon], 16, {animate: false})", [at.y, at.x]
    )
    page.wait_for_function(
        "(colours) => (" + BASEMAP_PIXELS + ")(colours).building > 200", arg=[ROAD, BUILDING]
    )


def _pixels(page) -> dict[str, int]:
    return page.evaluate(BASEMAP_PIXELS, [ROAD, BUILDING])


def test_a_map_page_with_the_local_basemap_draws_the_roads_from_geogrids_own_tiles(
    live_server, page, screenshot, street_map, settings
):
    settings.GEOGRID_BASEMAP = "local"
    tiles: list[int] = []
    elsewhere: list[str] = []
    page.on("response", lambda r: "/tiles/reference/" in r.url and tiles.append(r.status))
    page.on(
        "request",
        lambda r: not r.url.startswith(live_server.url) and elsewhere.append(r.url),
    )
    page.goto(live_server.url + "/")
    page.wait_for_selector("body[data-grids-loaded]")
    _show_the_streets(page)
    assert tiles and all(status in (200, 304) for status in tiles) and 200 in tiles
    pixels = _pixels(page)
    assert pixels["road"] > 2_000  # the main road, the street and the lane, white
    assert pixels["drawn"] > pixels["road"] + pixels["building"]  # and their grey casings
    assert elsewhere == []  # nothing from the internet
    # The ground is the basemap's light colour, and the sources are credited.
    assert "basemap-local" in page.get_attribute("#city-map", "class")
    page.wait_for_function(
        "() => document.querySelector('.leaflet-control-attribution').textContent"
        ".includes('© 测试测绘')"
    )
    screenshot("basemap-local")


def test_the_grid_editor_switches_the_roads_off_and_on(live_server, page, street_map, settings):
    settings.GEOGRID_BASEMAP = "local"
    page.goto(live_server.url + "/login/?next=/grids/editor/")
    page.fill("input[name=username]", "planner-a")
    page.fill("input[name=password]", "pw-planner-a")
    page.click("form:has(input[name=password]) button[type=submit]")
    page.wait_for_selector("body[data-ready]")
    # The editor fits its map to the planner's district once the children are in: after that.
    page.wait_for_selector("body[data-children-loaded]", state="attached")
    page.evaluate("() => { GEOGRID.map = window.geogridEditor.map; }")
    labels = page.locator(".basemap-toggle label").all_text_contents()
    assert labels == ["道路", "水系", "建筑"]
    _show_the_streets(page)
    pixels = _pixels(page)
    zoom = page.evaluate("() => GEOGRID.map.getZoom()")
    assert pixels["road"] > 2_000, (pixels, zoom)
    page.uncheck(".basemap-toggle input[data-kind=roads]")
    page.wait_for_function(
        "(colours) => { const p = (" + BASEMAP_PIXELS + ")(colours);"
        " return p.road === 0 && p.building > 200; }",
        arg=[ROAD, BUILDING],
    )
    page.check(".basemap-toggle input[data-kind=roads]")
    page.wait_for_function(
        "(colours) => (" + BASEMAP_PIXELS + ")(colours).road > 2000", arg=[ROAD, BUILDING]
    )
