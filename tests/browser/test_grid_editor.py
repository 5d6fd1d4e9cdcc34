"""The planner's grid editor in real Chromium: draw and save a grid, split one with a line,
and see an overlapping drawing refused with the overlap on the map."""

from __future__ import annotations

import pytest
import shapely

from geogrid.accounts.models import Role
from geogrid.core.gis import to_metric
from geogrid.grids.models import Grid
from tests import factories
from tests.geometry import rect, to_lonlat

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def district(transactional_db):
    factories.levels()
    admin = factories.user("root-admin", Role.ADMIN)
    city = factories.small_city(admin)
    factories.user("planner-a", Role.PLANNER, scope=[city["district"]])
    return city


def open_community(page, base_url: str, street: str, community: str) -> None:
    page.goto(base_url + "/login/?next=/grids/editor/")
    page.fill("input[name=username]", "planner-a")
    page.fill("input[name=password]", "pw-planner-a")
    page.click("form:has(input[name=password]) button[type=submit]")
    page.wait_for_selector("body[data-ready]")
    page.wait_for_selector(f"#pick-1 option[value='{street}']", state="attached")
    page.select_option("#pick-1", street)
    page.wait_for_selector(f"#pick-2 option[value='{community}']", state="attached")
    page.select_option("#pick-2", community)
    page.wait_for_selector(f"body[data-parent='{community}']")


def pixel(page, x: float, y: float) -> tuple[float, float]:
    """Where the point x, y metres from the test origin is on the screen."""
    at = to_lonlat(shapely.Point(x, y))
    return page.evaluate(
        """([lat, lng]) => {
        const p = geogridEditor.map.latLngToContainerPoint([lat, lng]);
        const box = document.getElementById('editor-map').getBoundingClientRect();
        return [box.left + p.x, box.top + p.y];
    }""",
        [at.y, at.x],
    )


def click_at(page, x: float, y: float) -> None:
    # Geoman places a vertex where its hint marker is, which follows mousemove: settle the
    # pointer on the spot before clicking.
    at = pixel(page, x, y)
    page.mouse.move(*at, steps=4)
    page.wait_for_timeout(60)
    page.mouse.click(*at)
    page.wait_for_timeout(120)


def test_planner_draws_a_grid_by_clicking_and_the_database_holds_it(
    live_server, page, screenshot, district
):
    open_community(page, live_server.url, "110101002", "110101002001")
    page.click("#tool-draw")
    corners = [(220, 20), (320, 20), (320, 120), (220, 120)]
    for x, y in corners:
        click_at(page, x, y)
    click_at(page, *corners[0])  # clicking the first vertex closes the ring
    page.wait_for_selector("body[data-check-state='ok']")
    assert "检查通过" in page.inner_text("#result")
    page.fill("#create-name", "新建公园网格")
    page.select_option("#create-type", "park")
    screenshot("grid-editor-drawn")
    page.click("#act-save")
    page.wait_for_selector("body[data-saved]")
    stored = Grid.objects.get(parent__code="110101002001")
    assert stored.name == "新建公园网格" and stored.grid_type == "park"
    expected = rect(220, 20, 320, 120)
    shape = shapely.from_wkb(bytes(stored.geom.wkb))
    assert stored.area_m2 == pytest.approx(10_000, rel=0.03)
    # Clicks land within a pixel or two of the intended corners (~1 m per pixel here).
    assert shapely.hausdorff_distance(to_metric(shape), to_metric(expected)) < 3.0
    page.wait_for_selector(f"#children-list li[data-code='{stored.code}']")


def test_a_split_line_makes_two_valid_siblings(live_server, page, screenshot, district):
    open_community(page, live_server.url, "110101001", "110101001001")
    target = "110101001001001"  # the north-west cell, x 0–100, y 100–200
    click_at(page, 50, 150)
    page.wait_for_selector(f"#children-list li.selected[data-code='{target}']")
    page.click("#tool-split")
    click_at(page, 50, 95)
    click_at(page, 50, 215)
    click_at(page, 50, 215)  # clicking the last vertex again finishes the line
    page.wait_for_selector("body[data-check-state='ok']")
    assert "110101001001005" in page.inner_text("#result")
    screenshot("grid-editor-split-preview")
    page.click("#act-save")
    page.wait_for_selector("body[data-saved]")
    assert not Grid.objects.get(code=target).is_active
    pieces = list(
        Grid.objects.active().filter(parent__code="110101001001", code__gt="110101001001004")
    )
    assert len(pieces) == 2
    assert all(p.geom.valid for p in pieces)
    assert sum(p.area_m2 for p in pieces) == pytest.approx(10_000, rel=1e-3)
    page.wait_for_selector("#children-list li[data-code='110101001001006']")
    screenshot("grid-editor-split-saved")


def test_an_overlapping_drawing_is_refused_with_the_overlap_shown(
    live_server, page, screenshot, district
):
    open_community(page, live_server.url, "110101001", "110101001001")
    page.click("#tool-draw")
    corners = [(60, 120), (140, 120), (140, 180), (60, 180)]
    for x, y in corners:
        click_at(page, x, y)
    click_at(page, *corners[0])
    page.wait_for_selector("body[data-check-state='problems']")
    kinds = page.eval_on_selector_all("#result .problems li", "els => els.map(e => e.dataset.kind)")
    assert kinds == ["overlap", "overlap"]
    assert page.locator("path.problem-shape").count() == 2
    assert page.is_disabled("#act-save")
    assert "重叠" in page.inner_text("#result")
    screenshot("grid-editor-overlap-refused")
    assert Grid.objects.filter(parent__code="110101001001").count() == 4


def test_a_community_is_re_divided_from_the_page_after_a_preview(
    live_server, page, screenshot, district
):
    open_community(page, live_server.url, "110101002", "110101002001")
    page.click("#tool-divide")
    page.fill("#divide-area", "10000")
    page.click("#divide-form button[type=submit]")
    page.wait_for_selector("body[data-check-state='ok']")
    # The preview draws the four cells and writes nothing yet.
    assert page.locator("#result li[data-kind='created']").inner_text().count("110101002001") == 4
    assert not Grid.objects.filter(parent__code="110101002001").exists()
    screenshot("grid-editor-divide-preview")
    page.click("#act-save")
    page.wait_for_selector("body[data-saved]")
    cells = Grid.objects.active().filter(parent__code="110101002001")
    assert cells.count() == 4 and {round(c.area_m2) for c in cells} == {10000}


def drag(page, start: tuple[float, float], end: tuple[float, float]) -> None:
    page.mouse.move(*pixel(page, *start))
    page.mouse.down()
    for step in range(1, 6):
        x = start[0] + (end[0] - start[0]) * step / 5
        y = start[1] + (end[1] - start[1]) * step / 5
        page.mouse.move(*pixel(page, x, y))
    page.mouse.up()


def test_a_stale_version_shows_who_saved_keeps_the_drawing_and_retries(
    live_server, page, screenshot, district
):
    from geogrid.accounts.models import User
    from geogrid.grids.services.editing import reshape_grid

    open_community(page, live_server.url, "110101001", "110101001001")
    target = "110101001001001"
    click_at(page, 50, 150)
    page.wait_for_selector(f"#children-list li.selected[data-code='{target}']")
    page.click("#tool-edit")
    # Someone else saves the grid while the planner is editing it.
    reshape_grid(
        grid=Grid.objects.get(code=target),
        geom=rect(0, 100, 100, 198),
        expected_version=1,
        actor=User.objects.get(username="root-admin"),
    )
    drag(page, (0, 200), (20, 180))  # the north-west corner, moved inwards (away from snaps)
    page.wait_for_selector("body[data-check-state='conflict']")
    assert "root-admin" in page.inner_text("#result")
    screenshot("grid-editor-conflict")
    page.click("#act-retry")
    page.wait_for_selector("body[data-check-state='ok']")
    page.click("#act-save")
    page.wait_for_selector("body[data-saved]")
    saved = Grid.objects.get(code=target)
    assert saved.version == 3
    # The planner's moved corner, not the other editor's boundary, is what was saved.
    vertices = to_metric(
        shapely.points(shapely.get_coordinates(shapely.from_wkb(bytes(saved.geom.wkb))))
    )
    moved_corner = to_metric(to_lonlat(shapely.Point(20, 180)))
    assert shapely.distance(vertices, moved_corner).min() < 3.0
    # Its history lists the three boundaries with their authors.
    click_at(page, 50, 150)
    page.click("#tool-history")
    page.wait_for_selector("body[data-history-loaded='3']")
    history = page.inner_text("#history-list")
    assert "planner-a" in history and "root-admin" in history
    screenshot("grid-editor-history")


def test_drawing_snaps_to_the_neighbours_vertices(live_server, page, screenshot, district):
    from geogrid.accounts.models import User
    from geogrid.grids.services.editing import retire_grid

    # Retiring the south-east cell (x 100–200, y 0–100) leaves a gap to fill.
    retire_grid(
        grid=Grid.objects.get(code="110101001001004"),
        expected_version=1,
        actor=User.objects.get(username="root-admin"),
    )
    open_community(page, live_server.url, "110101001", "110101001001")
    page.click("#tool-draw")
    # Each click lands about 1.5 m off the corner: only snapping makes the drawing fit.
    corners = [(101.5, 101.5), (201.5, 101.5), (201.5, -1.5), (101.5, -1.5)]
    for x, y in corners:
        page.mouse.move(*pixel(page, x + 3, y + 3))
        click_at(page, x, y)
    click_at(page, *corners[0])
    page.wait_for_selector("body[data-check-state='ok'], body[data-check-state='problems']")
    screenshot("grid-editor-snapped")
    assert page.get_attribute("body", "data-check-state") == "ok", page.inner_text("#result")
    page.click("#act-save")
    page.wait_for_selector("body[data-saved]")
    new = Grid.objects.active().get(parent__code="110101001001", code__gt="110101001001004")
    drawn = shapely.from_wkb(bytes(new.geom.wkb))
    neighbours = shapely.union_all(
        [
            shapely.from_wkb(bytes(g.geom.wkb))
            for g in Grid.objects.filter(code__in=["110101001001002", "110101001001003"])
        ]
    )
    # Snapped vertices coincide with the neighbours' and the parent's: no overlap at all.
    assert shapely.intersection(drawn, neighbours).area < 1e-14
    assert new.area_m2 == pytest.approx(10_000, rel=1e-3)


def test_a_planner_edits_a_grids_officer_from_the_page(live_server, page, district):
    open_community(page, live_server.url, "110101001", "110101001001")
    click_at(page, 150, 150)
    page.wait_for_selector("#attrs-form:not([hidden])")
    page.fill("#attrs-form input[name=officer_name]", "李明")
    page.fill("#attrs-form input[name=officer_phone]", "13800000000")
    page.select_option("#attrs-form select[name=grid_type]", "commercial")
    page.click("#attrs-form button[type=submit]")
    page.wait_for_selector("body[data-attributes-saved='110101001001002']")
    grid = Grid.objects.get(code="110101001001002")
    assert (grid.officer_name, grid.officer_phone, grid.grid_type) == (
        "李明",
        "13800000000",
        "commercial",
    )
