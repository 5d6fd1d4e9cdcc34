"""The city map page in real Chromium: grids drawn, a click locates the point."""

from __future__ import annotations

import pytest

from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def small_city(transactional_db):
    factories.levels()
    return factories.small_city()


def test_home_map_draws_grids_and_locates_a_click(live_server, page, screenshot, small_city):
    page.goto(live_server.url + "/")
    page.wait_for_selector("body[data-grids-loaded]")
    assert page.get_attribute("body", "data-grids-loaded") == "2"  # the two streets
    assert "城市网格" in page.text_content("aside h1")
    page.check("input[name=level][value=community]")
    page.wait_for_function("() => document.body.dataset.gridsLoaded === '2'")
    box = page.locator("#city-map").bounding_box()
    # The map fits the district; its centre lies on the shared street edge → west street wins.
    page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] / 2)
    page.wait_for_selector("#locate-result li")
    items = page.locator("#locate-result li").all_text_contents()
    assert items[0].startswith("区县") and "东城区" in items[0]
    assert any("西街道" in item for item in items)
    screenshot("home-map")


def test_home_page_switches_to_english(live_server, page, small_city):
    page.goto(live_server.url + "/")
    page.click("form.lang button[value=en]")
    page.wait_for_selector("body[data-grids-loaded]")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.text_content("aside h1") == "City grids"
    assert "Street" in page.text_content("fieldset")


def test_the_map_opens_at_the_configured_centre_and_speaks_english(
    live_server, page, settings, transactional_db
):
    # No grids, so nothing moves the map: it stays where LEAFLET_CONFIG says (not a literal in
    # a script), and the script's own words come from the djangojs catalogue (/jsi18n/).
    factories.levels()
    settings.LEAFLET_CONFIG = {
        **settings.LEAFLET_CONFIG,
        "DEFAULT_CENTER": (31.23, 121.47),
        "DEFAULT_ZOOM": 11,
    }
    page.goto(live_server.url + "/")
    page.wait_for_selector("body[data-grids-loaded]")
    centre = page.evaluate("() => [GEOGRID.map.getCenter().lat, GEOGRID.map.getCenter().lng]")
    assert centre == pytest.approx([31.23, 121.47], abs=1e-6)
    assert page.evaluate("() => GEOGRID.map.getZoom()") == 11
    page.check("input[name=level][value=unit]")
    assert page.text_content("#locate-result") == "单元网格较多，请放大地图后查看。"

    page.click("form.lang button[value=en]")
    page.wait_for_selector("body[data-grids-loaded]")
    assert page.evaluate("() => GEOGRID.map.getZoom()") == 11
    page.check("input[name=level][value=unit]")
    assert page.text_content("#locate-result") == "There are many unit grids: zoom in to see them."


def _show_units_at_zoom_16(page) -> None:
    from tests.geometry import point

    page.check("input[name=level][value=unit]")
    centre = point(100, 100)
    page.evaluate(
        "([lat, lon]) => GEOGRID.map.setView([lat, lon], 16, {animate: false})",
        [centre.y, centre.x],
    )


def test_zoomed_in_the_unit_grids_replace_the_zoom_hint(live_server, page, small_city):
    page.goto(live_server.url + "/")
    page.wait_for_selector("body[data-grids-loaded]")
    page.evaluate("() => GEOGRID.map.setZoom(12, {animate: false})")
    page.check("input[name=level][value=unit]")
    page.wait_for_function("() => document.body.dataset.gridsLoaded === '0'")
    assert page.text_content("#locate-result") == "单元网格较多，请放大地图后查看。"

    _show_units_at_zoom_16(page)
    page.wait_for_function("() => document.body.dataset.gridsLoaded === '4'")
    assert page.text_content("#locate-result") == ""


@pytest.mark.parametrize(
    ("max_pages", "drawn", "hint"),
    [
        # Four pages of one grid each: all four read and drawn, no hint.
        (5, "4", ""),
        # Three pages read, a fourth left: what was read is drawn, and the map asks to zoom in.
        (3, "3", "单元网格较多，请放大地图后查看。"),
    ],
)
def test_a_view_with_more_unit_grids_than_a_page_reads_the_pages_it_may(
    live_server, page, small_city, monkeypatch, max_pages, drawn, hint
):
    from geogrid.grids import views

    monkeypatch.setattr(views, "HOME_PAGE_SIZE", 1)
    monkeypatch.setattr(views, "HOME_MAX_PAGES", max_pages)
    page.goto(live_server.url + "/")
    page.wait_for_selector("body[data-grids-loaded]")
    _show_units_at_zoom_16(page)
    page.wait_for_function(f"() => document.body.dataset.gridsLoaded === '{drawn}'")
    assert page.text_content("#locate-result") == hint
