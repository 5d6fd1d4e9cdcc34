"""The command center in real Chromium over the demo city (its real Dongcheng grids, users and
240 demo cases through the workflow, spread over the past week; the 200,000-component inventory
is left out for speed, a few components are added to one grid): the heatmap is drawn from the
heat tiles, the cards show the database's indicators, the charts render, a click on a grid
opens its summary with the officer, and the page refreshes itself."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db.models import F
from django.utils import timezone

from geogrid.accounts.models import Role, User
from geogrid.cases.indicators import case_indicators
from geogrid.cases.models import Case
from geogrid.command_center import summaries
from geogrid.components.models import ComponentClass
from geogrid.components.services import create_component
from geogrid.grids.models import Grid
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.demo, pytest.mark.django_db(transaction=True)]

BEIJING = ZoneInfo("Asia/Shanghai")
TIMES = (
    "reported_at",
    "accepted_at",
    "filed_at",
    "dispatched_at",
    "deadline",
    "handled_at",
    "closed_at",
)


@pytest.fixture
def demo_city(transactional_db, settings):
    """The demo loader's steps except the component inventory (the taxonomies are the
    session's reference data, tests/conftest.py) and the generated history (its notice is
    tested below, over the small city)."""
    from geogrid.core.demo import demo_steps

    settings.GEOGRID_DEMO_HISTORY_REPORTS = 0

    # A demo database in a debug process, as `make demo` loads it: the well-known password.
    context: dict = {"demo_passwords": True}
    for step in demo_steps():
        if step.name != "components":
            step.run(context, lambda items, **kwargs: items)
    # The demo reports everything at load time: spread the cases over the past week, whole
    # histories shifted, so the daily chart has a shape and earlier dispatches are overdue.
    for age in range(1, 7):
        shift = timedelta(days=age)
        Case.objects.filter(
            id__in=Case.objects.filter(id__gt=0).annotate(m=F("id") % 7).filter(m=age).values("id")
        ).update(**{name: F(name) - shift for name in TIMES})
    return context


def _period() -> tuple[datetime, datetime]:
    """The page's default window: the last 7 local days, today included."""
    today = timezone.now().astimezone(BEIJING).date()
    first = datetime.combine(today - timedelta(days=6), datetime.min.time(), tzinfo=BEIJING)
    return first, first + timedelta(days=7)


def log_in(page, base_url: str, username: str, next_url: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base_url}/login/?next={next_url}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "geogrid-demo")
    page.click("form:has(input[name=password]) button[type=submit]")
    page.wait_for_url(base_url + next_url)
    page.wait_for_selector("body[data-ready]", timeout=30_000)


def opaque_pixels(page, selector: str) -> int:
    return page.evaluate(
        """(selector) => {
        const canvas = document.querySelector(selector);
        const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
        let n = 0;
        for (let i = 3; i < data.length; i += 4) { if (data[i] > 0) { n++; } }
        return n;
    }""",
        selector,
    )


def test_command_center_over_the_demo_city(
    live_server, page, screenshot, demo_city, monkeypatch, settings
):
    # A two-second refresh instead of a minute, and answers kept one second instead of 30, to
    # see a new report arrive within the test.
    monkeypatch.setattr("geogrid.command_center.views.REFRESH_SECONDS", 2)
    settings.GEOGRID_DASHBOARD_CACHE_S = 1
    heat_tiles: list[int] = []
    page.on("response", lambda r: "/tiles/heat/" in r.url and heat_tiles.append(r.status))
    start, end = _period()
    expected = case_indicators(start=start, end=end)
    overdue_total, _ = summaries.overdue_cases()
    assert expected.reported == 240 and overdue_total > 0

    log_in(page, live_server.url, "viewer", "/command-center/")
    page.wait_for_function("() => Number(document.body.dataset.heatPoints) > 0")

    # The heatmap: heat tiles fetched and decoded, and the heat canvas drawn.
    assert heat_tiles and set(heat_tiles) <= {200, 304}
    page.wait_for_timeout(300)  # Leaflet.heat draws on the next animation frame
    assert opaque_pixels(page, "canvas.leaflet-heatmap-layer") > 1_000

    # The indicator cards show the database's figures for the default window (7 days).
    def card(key: str) -> str:
        return page.text_content(f'.kpi[data-key="{key}"] .kpi-value').strip()

    assert card("reported") == "240"
    assert page.is_hidden("#generated-note")  # no generated history in this city
    assert card("filed") == str(expected.filed)
    assert card("closed") == str(expected.closed)
    assert page.get_attribute('.kpi[data-key="closing_rate"]', "data-value") == str(
        expected.closing_rate
    )
    assert card("overdue_open") == str(expected.overdue_open) == str(overdue_total)
    assert page.text_content("#overdue-count") == str(overdue_total)

    # The charts: the daily one adds up to the reports of the week.
    day_total = page.evaluate("""Chart.getChart(document.getElementById('chart-day'))
        .data.datasets[0].data.reduce((a, b) => a + b, 0)""")
    assert day_total == 240
    assert opaque_pixels(page, "#chart-day") > 1_000
    assert (
        page.evaluate(
            "Chart.getChart(document.getElementById('chart-department')).data.labels.length"
        )
        > 0
    )
    screenshot("command-center")

    # A click on the hottest grid on the map opens its summary with the officer.
    hottest = summaries.hot_grids(start=start, end=end, limit=1)[0]
    grid = Grid.objects.get(code=hottest.code)
    inside = grid.geom.point_on_surface
    manhole = ComponentClass.objects.get(scheme="gbt47678", code="01001")
    create_component(actor=demo_city["users"]["admin"], component_class=manhole, geom=inside)
    page.evaluate(
        "([lat, lon]) => GEOGRID.map.setView([lat, lon], 17, {animate: false})",
        [inside.y, inside.x],
    )
    at = page.evaluate(
        "([lat, lon]) => GEOGRID.map.latLngToContainerPoint([lat, lon])", [inside.y, inside.x]
    )
    box = page.locator("#cc-map").bounding_box()
    page.mouse.click(box["x"] + at["x"], box["y"] + at["y"])
    page.wait_for_function(f"() => document.body.dataset.summary === '{grid.code}'")
    assert grid.officer_name and grid.officer_name in page.text_content("#summary-officer")
    assert grid.officer_phone in page.text_content("#summary-officer")
    assert page.text_content('#summary-indicators [data-key="reported"] strong') == str(
        hottest.reports
    )
    assert "供水井盖" in page.text_content("#summary-components")
    page.wait_for_timeout(300)
    screenshot("command-center-summary")

    # The ranking opens a grid too; the choropleth has its legend.
    page.click("#summary-close")
    page.click(f'#hot-list button[data-code="{hottest.code}"]')
    page.wait_for_selector("#grid-summary:not([hidden])")
    page.click('.cc-map-panel button[data-mode="choropleth"]')
    assert page.locator("#map-legend .legend-classes li").count() >= 2
    page.click("#summary-close")
    page.evaluate("GEOGRID.map.setZoom(14, {animate: false})")
    page.wait_for_timeout(800)
    screenshot("command-center-choropleth")

    # It refreshes itself: a new report shows without a reload.
    refreshes = int(page.evaluate("document.body.dataset.refreshes"))
    from geogrid.cases.intake import submit_report

    submit_report(
        actor=demo_city["users"]["inspector"],
        channel="inspector",
        service_code="06010",
        x=inside.x,
        y=inside.y,
        description="新上报",
    )
    # A refresh already in flight, or one served from the answer it kept (1 s), may still say
    # 240: wait for the count itself, by the page's own refreshes (no reload).
    page.wait_for_function(
        "() => document.querySelector('.kpi[data-key=\"reported\"] .kpi-value')"
        ".textContent.trim() === '241'",
        timeout=15_000,
    )
    # (The count is drawn before the refresh is counted.)
    page.wait_for_function(
        f"() => Number(document.body.dataset.refreshes) > {refreshes}", timeout=15_000
    )
    assert card("reported") == "241"
    assert "更新于" in page.text_content("#updated-at")

    # A narrow window: one column, the summary below the map.
    page.set_viewport_size({"width": 390, "height": 844})
    page.click(f'#hot-list button[data-code="{hottest.code}"]')
    page.wait_for_selector("#grid-summary:not([hidden])")
    page.wait_for_timeout(500)
    screenshot("command-center-narrow")


@pytest.fixture
def small_world(transactional_db):
    """The small city and two accounts with the demo's names and password: what the English
    labels and the inspector's refusal need (the demo city would take seconds more)."""
    admin = factories.user("root-admin", Role.ADMIN)
    factories.small_city(admin)
    for username, role in (("viewer", Role.VIEWER), ("inspector", Role.INSPECTOR)):
        User.objects.create_user(username=username, password="geogrid-demo", role=role)


def test_command_center_in_english_and_closed_to_inspectors(
    live_server, page, screenshot, small_world
):
    log_in(page, live_server.url, "viewer", "/command-center/")
    page.click("form.lang button[value=en]")
    page.wait_for_selector("body[data-ready]")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.text_content('.kpi[data-key="reported"] .kpi-label') == "Reported"
    assert page.text_content('#window-buttons button[data-window="7d"]') == "7 days"
    screenshot("command-center-english")

    page.context.clear_cookies()
    page.goto(f"{live_server.url}/login/?next=/command-center/")
    page.fill("input[name=username]", "inspector")
    page.fill("input[name=password]", "geogrid-demo")
    page_url = f"{live_server.url}/command-center/"
    with page.expect_response(lambda r: r.url == page_url) as info:
        page.click("form:has(input[name=password]) button[type=submit]")
    assert info.value.status == 403


def test_command_center_and_desk_label_generated_history(
    live_server, page, screenshot, small_world
):
    from geogrid.cases.history import HistoryActors, generate_history

    operator = User.objects.create_user(
        username="operator", password="geogrid-demo", role=Role.OPERATOR
    )
    generate_history(
        count=300,
        actors=HistoryActors(
            inspector=User.objects.get(username="inspector"),
            operator=operator,
            admin=User.objects.get(username="root-admin"),
        ),
    )
    start, _ = _period()
    in_week = Case.objects.filter(generated=True, reported_at__gte=start).count()
    assert in_week > 0

    log_in(page, live_server.url, "viewer", "/command-center/")
    note = page.locator("#generated-note")
    assert note.is_visible()
    assert (
        note.text_content()
        == f"含生成的演示历史数据：本期 {in_week} 件上报为演示生成，并非真实案件。"
    )
    page.click('#window-buttons button[data-window="30d"]')
    in_month = Case.objects.filter(
        generated=True, reported_at__gte=start - timedelta(days=23)
    ).count()
    page.wait_for_function(f"() => document.body.dataset.generated === '{in_month}'")
    page.click("form.lang button[value=en]")
    page.wait_for_selector("body[data-ready]")
    assert note.text_content().startswith("Includes generated demo history: ")

    # The desk marks each generated case in its list and on its card.
    log_in(page, live_server.url, "operator", "/cases/desk/")
    page.click('#queue-tabs [data-queue="all"]')
    page.wait_for_selector('body[data-queue="all"] #case-list .generated-badge')
    assert page.locator("#case-list .generated-badge").count() == int(
        page.evaluate("document.body.dataset.count")
    )
    page.click("#case-list li:first-child button")
    page.wait_for_selector("#card-generated:not([hidden])")
    assert page.text_content("#card-generated") == "生成的演示数据"
    screenshot("case-desk-generated")
