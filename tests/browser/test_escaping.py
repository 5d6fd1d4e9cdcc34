"""Output is text unless proven HTML: hostile names, descriptions and class names, stored through
the API and the services, reach every page — map tooltips included — as literal text. A script
that ran would open an alert; the test fails on any dialog (and, through conftest, on any
Content-Security-Policy violation)."""

from __future__ import annotations

import pytest
from django.test import Client

from geogrid.accounts.models import Role
from geogrid.cases.intake import clear_case_class_cache, submit_report
from geogrid.cases.models import CaseClass
from geogrid.components.models import ComponentClass, Department, DepartmentMember
from geogrid.components.services import create_component
from tests import factories
from tests.geometry import point

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STREET = '<img src=x onerror=alert("street")>西街道'
UNIT = '<svg onload=alert("unit")>&amp; "单元" \'网格\''
COMPONENT = '<img src=x onerror=alert("component")>井盖'
COMPONENT_CLASS = '<b onmouseover=alert("class")>供水井盖</b>'
CASE_CLASS = '<img src=x onerror=alert("case-class")>暴露垃圾'
DESCRIPTION = '<script>alert("description")</script>路边有垃圾 & 杂物'


@pytest.fixture
def hostile_city(transactional_db):
    factories.levels()
    admin = factories.user("root-admin", Role.ADMIN)
    city = factories.small_city(admin)
    factories.reference_data()
    unit = city["west_c"].children.order_by("code").first()
    planner = factories.user("planner-a", Role.PLANNER, scope=[city["district"]])
    # Grid names through the real PATCH API, as a planner would type them.
    api = Client()
    api.force_login(planner)
    for grid, name in ((city["west"], STREET), (unit, UNIT)):
        answer = api.patch(
            f"/api/v1/grids/{grid.code}/", {"name": name}, content_type="application/json"
        )
        assert answer.status_code == 200, answer.content
    # Class names as an edited taxonomy file would load them.
    ComponentClass.objects.filter(scheme="gbt47678", code="01001").update(name=COMPONENT_CLASS)
    CaseClass.objects.filter(scheme="gbt47678", code="06010").update(name=CASE_CLASS)
    clear_case_class_cache()
    water = ComponentClass.objects.get(scheme="gbt47678", code="01001")
    component = create_component(
        actor=admin, component_class=water, geom=point(50, 150), name=COMPONENT
    )
    inspector = factories.user("inspector-a", Role.INSPECTOR, scope=[unit])
    factories.user("operator-a", Role.OPERATOR)
    handler = factories.user("handler-a", Role.DEPARTMENT)
    DepartmentMember.objects.create(user=handler, department=Department.objects.get(key="环卫"))
    at = point(50, 150)
    submit_report(
        actor=inspector,
        channel="inspector",
        service_code="06010",
        x=at.x,
        y=at.y,
        description=DESCRIPTION,
    )
    return {"component": component, "unit": unit}


@pytest.fixture
def dialogs(page):
    opened: list[str] = []

    def record(dialog) -> None:
        opened.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    yield opened
    assert opened == [], f"a stored name ran as script: {opened}"


def log_in(page, base_url: str, username: str, next_url: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base_url}/login/?next={next_url}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pw-" + username)
    page.click("form:has(input[name=password]) button[type=submit]")
    page.wait_for_url(base_url + next_url)


def hover_for_tooltip(page, map_selector: str, text: str) -> str:
    """Move the pointer over the map (centre first, then a grid of spots) until a Leaflet
    tooltip containing `text` opens; its text. The maps draw on a canvas: only the pointer
    can open their tooltips."""
    box = page.locator(map_selector).bounding_box()
    spots = [(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)]
    spots += [
        (box["x"] + box["width"] * i / 24, box["y"] + box["height"] * j / 24)
        for j in range(1, 24)
        for i in range(1, 24)
    ]
    for x, y in spots:
        page.mouse.move(x, y)
        shown = page.evaluate("""() => Array.from(document.querySelectorAll(".leaflet-tooltip"),
                                                     (tip) => tip.textContent)""")
        for tip in shown:
            if text in tip:
                return tip
    raise AssertionError(f"no tooltip showing {text!r} on {map_selector}")


def assert_no_injected_markup(page) -> None:
    # The hostile strings would have made these elements had they been parsed as HTML.
    assert page.locator("main img[src=x], main svg[onload], main b[onmouseover]").count() == 0
    assert page.locator("main script:not([src]):not([type='application/json'])").count() == 0


def test_hostile_grid_name_shows_as_text_in_the_home_map_tooltip(
    live_server, page, screenshot, dialogs, hostile_city
):
    page.goto(live_server.url + "/")
    page.wait_for_function("() => document.body.dataset.gridsLoaded === '2'")
    shown = hover_for_tooltip(page, "#city-map", "西街道")
    assert STREET in shown
    screenshot("escaping-home-tooltip")
    page.locator("#city-map").click()  # and the locate list names the street too
    page.wait_for_selector("#locate-result li")
    assert STREET in page.text_content("#locate-result")
    assert_no_injected_markup(page)


def test_hostile_component_and_class_names_show_as_text_in_the_inspector(
    live_server, page, screenshot, dialogs, hostile_city
):
    component = hostile_city["component"]
    log_in(page, live_server.url, "inspector-a", "/inspector/")
    page.wait_for_selector("body[data-ready]")
    page.fill("#search-input", component.code)
    page.press("#search-input", "Enter")
    page.wait_for_selector("#component-card[data-loaded]")
    assert page.text_content("#card-name").strip() == COMPONENT
    assert COMPONENT_CLASS in page.text_content("#card-class")
    assert UNIT in page.text_content("#card-grid")
    assert COMPONENT_CLASS in hover_for_tooltip(page, "#inspector-map", "供水井盖")
    screenshot("escaping-inspector-card")
    assert_no_injected_markup(page)


def test_hostile_case_description_and_class_show_as_text_at_the_desk(
    live_server, page, screenshot, dialogs, hostile_city
):
    log_in(page, live_server.url, "operator-a", "/cases/desk/")
    page.wait_for_selector("#case-list li button")
    assert CASE_CLASS in page.text_content("#case-list")
    assert CASE_CLASS in hover_for_tooltip(page, "#case-map", "暴露垃圾")
    page.click("#case-list li button >> nth=0")
    page.wait_for_selector("#case-card:not([hidden])")
    assert page.text_content("#card-description").strip() == DESCRIPTION
    assert CASE_CLASS in page.text_content("#card-class")
    screenshot("escaping-desk-card")
    assert_no_injected_markup(page)


def test_hostile_grid_names_show_as_text_in_the_command_center_and_editor(
    live_server, page, dialogs, hostile_city
):
    log_in(page, live_server.url, "operator-a", "/command-center/")
    page.wait_for_selector("body[data-ready]", timeout=30_000)
    page.wait_for_selector("#hot-list button")
    assert UNIT in page.text_content("#hot-list")
    page.click("#hot-list button >> nth=0")
    page.wait_for_selector(f"body[data-summary='{hostile_city['unit'].code}']")
    assert UNIT in page.text_content("#summary-title")
    assert_no_injected_markup(page)

    log_in(page, live_server.url, "planner-a", "/grids/editor/")
    page.wait_for_selector("body[data-ready]")
    page.wait_for_selector("#pick-1 option[value='110101001']", state="attached")
    assert STREET in page.text_content("#pick-1")
    page.select_option("#pick-1", "110101001")
    page.wait_for_selector("body[data-parent='110101001']")
    assert STREET in page.text_content("#parent-summary")
    assert_no_injected_markup(page)
