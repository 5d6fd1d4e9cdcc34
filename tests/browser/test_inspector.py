"""The inspector's component finder in real Chromium: find by code, read the decoded code,
mark damaged, list what is near a clicked point, phone and desktop layouts, English UI."""

from __future__ import annotations

import math

import pytest
from django.utils import translation

from geogrid.accounts.models import Role
from geogrid.components.models import Component, ComponentClass
from geogrid.components.services import create_component
from tests import factories
from tests.geometry import point
from tests.photos import image_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Metres from the test origin. The inspector's unit grid is the north-west cell
# (0…100, 100…200); the last component lies in the south-east cell, outside it.
WATER_COVERS = [(20, 180), (50, 150), (80, 120)]
OUTSIDE = (150, 50)


@pytest.fixture
def inventory(transactional_db):
    factories.levels()
    admin = factories.user("root-admin", Role.ADMIN)
    city = factories.small_city(admin)
    water = ComponentClass.objects.get(scheme="gbt47678", code="01001")  # 供水井盖
    made = [
        create_component(
            actor=admin,
            component_class=water,
            geom=point(x, y),
            location_description=f"西社区 {x},{y} 米处",
        )
        for x, y in WATER_COVERS
    ]
    made.append(create_component(actor=admin, component_class=water, geom=point(*OUTSIDE)))
    unit = city["west_c"].children.order_by("code").first()
    inspector = factories.user("inspector-a", Role.INSPECTOR, scope=[unit])
    return {"city": city, "components": made, "inspector": inspector, "unit": unit}


def log_in(page, base_url: str, username: str) -> None:
    """Through the real login form, then on to the finder."""
    page.goto(base_url + "/login/?next=/inspector/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pw-" + username)
    page.click("form:has(input[name=password]) button[type=submit]")
    page.wait_for_url(base_url + "/inspector/")
    page.wait_for_selector("body[data-ready]")


def search(page, text: str) -> None:
    page.fill("#search-input", text)
    page.press("#search-input", "Enter")


def open_by_code(page, code: str) -> None:
    search(page, code)
    page.wait_for_selector("#component-card[data-loaded]")


def card_text(page, part: str) -> str:
    return page.text_content(f'#card-parts [data-part="{part}"] dd').strip()


def test_anonymous_visitor_is_sent_to_the_login_page(client, inventory):
    response = client.get("/inspector/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/inspector/")


def test_inspector_finds_a_component_by_code_and_reads_its_decoded_code(
    live_server, page, inventory
):
    component = inventory["components"][0]
    assert component.code == "11010101001000001"
    log_in(page, live_server.url, "inspector-a")
    open_by_code(page, component.code)
    assert page.text_content("#card-code") == component.code
    district, major, minor, serial = (
        card_text(page, p) for p in ("district", "major", "minor", "serial")
    )
    assert "110101" in district and "东城区" in district
    assert "01" in major and "市政公用设施" in major
    assert "001" in minor and "供水井盖" in minor
    assert serial == "000001"
    assert "供水井盖" in page.text_content("#card-class")
    assert page.text_content("#card-status").strip() == "完好"
    assert inventory["unit"].code in page.text_content("#card-grid")
    assert "北京市自来水集团东城分公司" in page.text_content("#card-competent")
    assert "010-64000001" in page.text_content("#card-competent")
    assert page.text_content("#card-no-photos") == "暂无照片"
    assert page.is_visible("#card-no-photos")
    # One result in the list behind the card, one marker on the map.
    assert page.locator("#result-list li").count() == 1
    assert page.get_attribute("body", "data-markers") == "1"


def test_unknown_code_is_reported_in_plain_words(live_server, page, inventory):
    log_in(page, live_server.url, "inspector-a")
    search(page, "11010101001999999")
    page.wait_for_selector("#message.error")
    assert page.text_content("#message") == "未找到编码为 11010101001999999 的部件。"
    assert page.locator("#component-card").is_hidden()


def test_inspector_marks_a_component_damaged_and_the_database_records_it(
    live_server, page, screenshot, inventory
):
    component = inventory["components"][1]
    log_in(page, live_server.url, "inspector-a")
    open_by_code(page, component.code)
    page.fill("#status-note", "井盖有裂缝")
    page.click("#status-actions button[data-status=damaged]")
    page.wait_for_selector('#component-card[data-status="damaged"]')
    assert page.text_content("#card-status").strip() == "破损"
    assert page.text_content("#card-status-text").strip() == "破损"
    assert page.text_content("#message") == "已将状态改为“破损”。"
    assert page.is_disabled("#status-actions button[data-status=damaged]")
    assert page.text_content("#result-list li .r-status") == "破损"
    screenshot("inspector-marked-damaged")
    component.refresh_from_db()
    assert component.status == "damaged"
    event = component.events.filter(action="status").get()
    # Made by an inspector on the street: checked against their track, of which there is none.
    assert event.details == {
        "from": "intact",
        "to": "damaged",
        "note": "井盖有裂缝",
        "path_check": "no_track",
        "path_distance_m": None,
    }


def test_status_change_outside_the_inspectors_grid_shows_the_apis_refusal(
    live_server, page, inventory
):
    outside = inventory["components"][3]
    log_in(page, live_server.url, "inspector-a")
    open_by_code(page, outside.code)  # readable (public read API), not changeable
    page.click("#status-actions button[data-status=lost]")
    page.wait_for_selector("#card-error:not([hidden])")
    assert "不在您负责的网格内" in page.text_content("#card-error")
    assert outside.code in page.text_content("#card-error .api-detail")  # the API's detail
    outside.refresh_from_db()
    assert outside.status == "intact"
    assert page.text_content("#card-status").strip() == "完好"


def test_inspector_adds_a_photo_from_the_card_and_sees_its_preview(
    live_server, page, screenshot, inventory, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    component = inventory["components"][0]
    log_in(page, live_server.url, "inspector-a")
    open_by_code(page, component.code)
    assert page.is_visible("#card-no-photos")
    # A text file is refused with the API's reason, and nothing is stored.
    page.set_input_files(
        "#photo-input",
        files=[{"name": "notes.jpg", "mimeType": "image/jpeg", "buffer": b"not a photo at all"}],
    )
    page.wait_for_selector("#card-error:not([hidden])")
    assert "照片未能上传" in page.text_content("#card-error")
    assert "not a photo this system can read" in page.text_content("#card-error .api-detail")
    assert not component.photos.exists()
    # A real photo: uploaded, shown as a preview that loads, recorded with its caption.
    page.fill("#photo-caption", "井盖边缘破损")
    page.set_input_files(
        "#photo-input",
        files=[
            {"name": "cover.png", "mimeType": "image/png", "buffer": image_bytes("PNG", (800, 600))}
        ],
    )
    page.wait_for_selector("#card-photos li img")
    page.wait_for_function("() => document.querySelector('#card-photos img').naturalWidth > 0")
    assert page.text_content("#message") == "照片已上传。"
    assert page.is_hidden("#card-no-photos") and page.is_hidden("#card-error")
    assert "井盖边缘破损" in page.text_content("#card-photos li small")
    photo = component.photos.get()
    assert photo.caption == "井盖边缘破损" and photo.uploaded_by == inventory["inspector"]
    page.locator("#photo-form").scroll_into_view_if_needed()
    screenshot("inspector-photo")
    # Opened again, the card lists it from the API.
    page.reload()
    page.wait_for_selector("body[data-ready]")
    open_by_code(page, component.code)
    page.wait_for_selector("#card-photos li img")
    assert page.locator("#card-photos li").count() == 1


def test_viewer_sees_the_card_without_status_buttons(live_server, page, inventory):
    factories.user("viewer", Role.VIEWER)
    log_in(page, live_server.url, "viewer")
    open_by_code(page, inventory["components"][0].code)
    assert page.locator("#status-actions").count() == 0
    assert page.locator("#photo-form").count() == 0
    page.click("#my-grids-button")
    assert "您没有负责的网格" in page.text_content("#message")


def test_clicking_the_map_without_geolocation_lists_nearby_components_nearest_first(
    live_server, page, screenshot, inventory
):
    # This browser has no geolocation at all (as on a desktop without a location service).
    page.add_init_script(
        "Object.defineProperty(Navigator.prototype, 'geolocation', "
        "{get: function () { return undefined; }});"
    )
    log_in(page, live_server.url, "inspector-a")
    page.click("#near-me")
    assert "请在地图上点击您所在的位置" in page.text_content("#message")
    # Click the map 10 m east and 10 m south of the first cover: the covers lie 14 m, 28 m and
    # 71 m away, the component outside the inspector's grid 170 m: all within 300 m.
    target = point(30, 170)
    spot = page.evaluate(
        "([lat, lon]) => { var p = GEOGRID.map.latLngToContainerPoint([lat, lon]);"
        " return [p.x, p.y]; }",
        [target.y, target.x],
    )
    box = page.locator("#inspector-map").bounding_box()
    page.mouse.click(box["x"] + spot[0], box["y"] + spot[1])
    page.wait_for_selector("#result-list li .r-distance")
    codes = page.eval_on_selector_all("#result-list li", "items => items.map(i => i.dataset.code)")
    metres = [
        float(m)
        for m in page.eval_on_selector_all(
            "#result-list .r-distance", "items => items.map(i => i.dataset.metres)"
        )
    ]
    expected = sorted(inventory["components"], key=lambda c: _metres(c, target))
    assert codes == [c.code for c in expected]
    assert metres == sorted(metres) and 10 < metres[0] < 20
    assert "由近到远" in page.text_content("#results-summary")
    screenshot("inspector-near-point")
    # A marker opens its card (and the click does not start another search around it).
    nearest = page.evaluate(
        "([lat, lon]) => { var p = GEOGRID.map.latLngToContainerPoint([lat, lon]);"
        " return [p.x, p.y]; }",
        [expected[0].geom.y, expected[0].geom.x],
    )
    page.mouse.click(box["x"] + nearest[0], box["y"] + nearest[1])
    page.wait_for_selector("#component-card[data-loaded]")
    assert page.text_content("#card-code") == expected[0].code
    assert page.locator("#results").is_hidden()
    assert page.text_content("#result-list li .r-distance").endswith("米")


def _metres(component: Component, target) -> float:
    # Small distances near Beijing: an equirectangular approximation is plenty for ordering.
    lon, lat = component.geom.x, component.geom.y
    dx = (lon - target.x) * 111_320 * math.cos(math.radians(lat))
    dy = (lat - target.y) * 110_574
    return math.hypot(dx, dy)


def test_phone_and_desktop_layouts(live_server, page, screenshot, inventory):
    log_in(page, live_server.url, "inspector-a")
    # Desktop: side panel; zoomed in on the inspector's grid, the components in view load.
    page.wait_for_function("() => Number(document.body.dataset.markers) >= 3")
    page.click("#my-grids-button")
    page.wait_for_selector("#result-list li")
    assert page.locator("#result-list li").count() == 3  # not the one outside the grid
    screenshot("inspector-desktop-list")
    page.click("#result-list li >> nth=0")
    page.wait_for_selector("#component-card[data-loaded]")
    screenshot("inspector-desktop")
    # Phone: the panel becomes a bottom sheet under the map, nothing wider than the screen.
    page.set_viewport_size({"width": 375, "height": 812})
    page.reload()
    page.wait_for_selector("body[data-ready]")
    page.wait_for_function("() => Number(document.body.dataset.markers) >= 3")
    sheet = page.locator("#sheet").bounding_box()
    map_box = page.locator("#inspector-map").bounding_box()
    assert sheet["width"] == 375 and sheet["y"] > map_box["y"] + 300
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot("inspector-phone")
    page.click("#my-grids-button")
    page.wait_for_selector("#result-list li")
    screenshot("inspector-phone-list")
    page.click("#result-list li >> nth=0")
    page.wait_for_selector("#component-card[data-loaded]")
    assert page.locator("#sheet.expanded").count() == 1
    assert page.locator("#status-actions button[data-status=damaged]").is_visible()
    screenshot("inspector-phone-card")


def test_english_ui_shows_english_labels(live_server, page, screenshot, inventory):
    log_in(page, live_server.url, "inspector-a")
    page.click("form.lang button[value=en]")
    page.wait_for_selector("body[data-ready]")
    assert page.locator("html").get_attribute("lang") == "en"
    open_by_code(page, inventory["components"][0].code)
    # Data in English where the data has it: the class and the departments.
    assert "water-supply manhole cover" in page.text_content("#card-class")
    assert "water-supply manhole cover" in card_text(page, "minor")
    assert "Beijing Waterworks Group, Dongcheng Branch" in page.text_content("#card-competent")
    assert "Log out" in page.text_content("header.topbar")
    # Every label goes through the English catalogue (exactly what it translates to).
    with translation.override("en"):
        from django.utils.translation import gettext, pgettext

        assert page.text_content("#search-form button") == gettext("查询")
        assert page.text_content("#card-no-photos") == gettext("暂无照片")
        assert page.text_content('[data-part="serial"] dt') == gettext("顺序码")
        assert page.text_content(".facts dt") == pgettext("部件卡片", "名称")
        assert page.text_content("#status-actions button[data-status=damaged]") == gettext(
            "标记破损"
        )
        assert page.text_content("#card-status").strip() == gettext("完好")
        assert page.title().startswith(gettext("部件查询"))
    screenshot("inspector-english")
