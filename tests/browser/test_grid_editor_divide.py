"""Dividing a community along its roads from the grid editor, in real Chromium: the form, the
preview coloured by status with its balance report, saving, and mistakes said in plain words
(docs/domain.md §2.7)."""

from __future__ import annotations

import pytest
from shapely.geometry import LineString

from geogrid.accounts.models import Role
from geogrid.grids.models import Grid, GridLevel
from geogrid.grids.services.editing import create_grids, update_grid_attributes
from geogrid.grids.validation import Candidate
from tests import factories
from tests.browser.test_grid_editor import open_community
from tests.geometry import rect, to_lonlat

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COMMUNITY = "110101002001"  # the east community, x 200–400, y 0–200
# Its unit grids before the re-division (metres) and the people living in each. Along the
# cross of roads (x = 300, y = 100) the north-west one is kept, the north-east and the wider
# south-west ones keep their codes with new boundaries, the south-east quarter is a new grid
# and the four others are retired.
OLD_UNITS = [
    (rect(200, 100, 300, 200), 400),  # 001 kept
    (rect(300, 110, 400, 200), 300),  # 002 changed
    (rect(200, 0, 240, 100), 100),  # 003 retired
    (rect(240, 0, 300, 100), 200),  # 004 changed
    (rect(300, 0, 335, 110), 150),  # 005 retired
    (rect(335, 0, 370, 110), 150),  # 006 retired
    (rect(370, 0, 400, 110), 100),  # 007 retired
]


def road(*coords: tuple[float, float]) -> LineString:
    return to_lonlat(LineString(coords))


@pytest.fixture
def crossroads(transactional_db):
    """The small city, the east community in seven unit grids with their population, and two
    streets crossing it (x = 300 and y = 100)."""
    factories.levels()
    admin = factories.user("root-admin", Role.ADMIN)
    city = factories.small_city(admin)
    factories.user("planner-a", Role.PLANNER, scope=[city["district"]])
    units = create_grids(
        actor=admin,
        level=GridLevel.objects.get(slug="unit"),
        parent=city["east_c"],
        candidates=[Candidate(geom=shape) for shape, _ in OLD_UNITS],
    )
    for unit, (_, people) in zip(units, OLD_UNITS, strict=True):
        update_grid_attributes(grid=unit, actor=admin, population=people)
    factories.reference_features(
        "roads", "street", road((300, -50), (300, 250)), road((150, 100), (450, 100))
    )
    return city


def open_divide_form(page, base_url: str) -> None:
    open_community(page, base_url, "110101002", COMMUNITY)
    page.click("#tool-divide")
    page.wait_for_selector("#divide-form:not([hidden])")


def test_a_planner_re_divides_a_community_along_its_roads_and_saves_the_preview(
    live_server, page, screenshot, crossroads
):
    open_divide_form(page, live_server.url)
    # Roads are loaded here: the form offers dividing along them first.
    assert page.input_value("#divide-method") == "features"
    assert page.is_hidden("#divide-no-features")
    assert page.input_value("#divide-tolerance") == "25"
    page.fill("#divide-area", "10000")
    page.check("input[name=divide-balance][value=population]")
    screenshot("grid-editor-divide-form")
    page.click("#divide-form button[type=submit]")
    page.wait_for_selector("body[data-check-state='ok']")

    counts = {
        kind: page.get_attribute(f"#divide-counts li[data-kind='{kind}']", "data-count")
        for kind in ("kept", "changed", "created", "retired")
    }
    assert counts == {"kept": "1", "changed": "2", "created": "1", "retired": "4"}
    # The balance report: this division beside the square and Voronoi ones, each with its CVs.
    methods = page.eval_on_selector_all(
        "#divide-compare thead th[data-method]", "els => els.map(e => e.dataset.method)"
    )
    assert methods == ["features", "square", "voronoi"]
    area_cv = page.eval_on_selector_all(
        "#divide-compare tr[data-row='area_cv'] td", "els => els.map(e => e.textContent)"
    )
    assert area_cv[0] == "0.0%" and all(v.endswith("%") for v in area_cv)
    workload_cv = page.inner_text("#divide-compare tr[data-row='workload_cv'] td.this")
    assert workload_cv.endswith("%")
    assert page.inner_text("#divide-compare tr[data-row='on_feature'] td.this") == "100.0%"
    assert "工作量变异系数" in page.inner_text("#divide-compare")
    # On the map: the four grids of the division by status, and the four retired outlines.
    shapes = {
        status: page.locator(f"path.preview-{status}").count()
        for status in ("kept", "changed", "new", "retired")
    }
    assert shapes == {"kept": 1, "changed": 2, "new": 1, "retired": 4}
    assert page.is_visible("#preview-legend")
    assert "保持不变" in page.inner_text("#preview-legend")
    preview_codes = page.eval_on_selector_all(
        "#divide-grids tr[data-code]", "els => els.map(e => e.dataset.code)"
    )
    assert len(preview_codes) == 4
    assert not Grid.objects.filter(code=COMMUNITY + "008").exists()  # a preview writes nothing
    page.click("#divide-grids-summary")
    screenshot("grid-editor-divide-preview")

    page.click("#act-save")
    page.wait_for_selector("body[data-saved]")
    screenshot("grid-editor-divide-saved")
    answer = page.request.get(f"{live_server.url}/api/v1/grids/?parent={COMMUNITY}&page_size=100")
    assert answer.ok
    collection = answer.json()
    assert collection["type"] == "FeatureCollection"
    saved_codes = sorted(f["id"] for f in collection["features"])
    assert saved_codes == sorted(preview_codes)
    assert saved_codes == [COMMUNITY + s for s in ("001", "002", "004", "008")]
    assert sorted(round(f["properties"]["area_m2"]) for f in collection["features"]) == [10_000] * 4


@pytest.mark.parametrize(
    ("fill", "words"),
    [
        ({"#divide-tolerance": "200"}, "允许偏差须为 5 至 100 之间的百分数。"),
        ({"target": "count", "#divide-count": "0"}, "网格数须为 1 至 999 的整数。"),
        ({"target": "inspectors", "#divide-inspectors": ""}, "网格员人数须为 1 至 999 的整数。"),
        ({"#divide-area": "50"}, "目标面积须为 1,000 至 50,000 平方米之间的数。"),
    ],
)
def test_a_mistake_in_the_division_form_is_said_in_plain_words_and_nothing_is_previewed(
    live_server, page, screenshot, crossroads, fill, words
):
    open_divide_form(page, live_server.url)
    target = fill.pop("target", None)
    if target:
        page.check(f"input[name=divide-target][value={target}]")
    for selector, value in fill.items():
        page.fill(selector, value)
    page.click("#divide-form button[type=submit]")
    page.wait_for_selector("#divide-error:not([hidden])")
    assert page.inner_text("#divide-error") == words
    assert page.get_attribute("body", "data-check-state") == "invalid"
    assert page.locator("path.preview-shape").count() == 0
    assert page.is_hidden("#divide-report") and page.is_disabled("#act-save")
    if target == "count":
        screenshot("grid-editor-divide-error")
    # Put right, the same form previews.
    page.check("input[name=divide-target][value=area]")
    page.fill("#divide-area", "10000")
    page.fill("#divide-tolerance", "25")
    page.click("#divide-form button[type=submit]")
    page.wait_for_selector("body[data-check-state='ok']")
    assert page.is_hidden("#divide-error")


def test_without_roads_loaded_the_form_offers_squares_and_voronoi_only(
    live_server, page, crossroads
):
    from geogrid.reference.models import ReferenceFeature

    ReferenceFeature.objects.all().delete()
    open_divide_form(page, live_server.url)
    assert page.input_value("#divide-method") == "square"
    assert page.is_disabled("#divide-method option[value=features]")
    assert page.is_visible("#divide-no-features")


def test_the_division_form_and_report_speak_english(live_server, page, screenshot, crossroads):
    open_community(page, live_server.url, "110101002", COMMUNITY)
    page.click("form.lang button[value=en]")
    page.wait_for_selector("body[data-ready]")
    assert page.locator("html").get_attribute("lang") == "en"
    page.wait_for_selector("#pick-1 option[value='110101002']", state="attached")
    page.select_option("#pick-1", "110101002")
    page.wait_for_selector(f"#pick-2 option[value='{COMMUNITY}']", state="attached")
    page.select_option("#pick-2", COMMUNITY)
    page.wait_for_selector(f"body[data-parent='{COMMUNITY}']")
    page.click("#tool-divide")
    page.check("input[name=divide-balance][value=population]")
    page.click("#divide-form button[type=submit]")
    page.wait_for_selector("body[data-check-state='ok']")
    page.click("#divide-grids-summary")
    words = " ".join(
        page.inner_text(selector)
        for selector in ("#divide-form", "#divide-report", "#preview-legend", "#tool-hint")
    )
    screenshot("grid-editor-divide-english")
    assert "Along roads" in words and "Workload CV" in words and "Kept" in words
    assert "Tolerance (%)" in words and "Reports (last 12 months)" in words
    assert "Keep blocks whole" in words
    untranslated = [c for c in words if "\u4e00" <= c <= "\u9fff"]
    assert not untranslated, words


def test_a_form_changed_after_its_preview_is_previewed_again_before_it_can_be_saved(
    live_server, page, crossroads
):
    open_divide_form(page, live_server.url)
    page.click("#divide-form button[type=submit]")
    page.wait_for_selector("body[data-check-state='ok']")
    assert page.is_enabled("#act-save")
    page.check("input[name=divide-target][value=count]")
    page.fill("#divide-count", "2")
    assert page.is_disabled("#act-save")
    page.click("#act-check")  # 检查 previews the form as it now reads
    page.wait_for_selector("body[data-check-state='ok'] #act-save:not([disabled])")
    assert page.get_attribute("body", "data-division-report") == "2"


def test_a_first_division_previews_its_new_grids_with_the_legend(live_server, page, crossroads):
    from geogrid.accounts.models import User
    from geogrid.grids.services.editing import retire_grid

    admin = User.objects.get(username="root-admin")
    for unit in Grid.objects.active().filter(parent__code="110101001001"):
        retire_grid(grid=unit, expected_version=unit.version, actor=admin)
    open_community(page, live_server.url, "110101001", "110101001001")
    page.click("#tool-divide")
    page.select_option("#divide-method", "square")
    page.click("#divide-form button[type=submit]")
    page.wait_for_selector("body[data-check-state='ok']")
    assert page.locator("path.preview-new").count() == 4
    assert page.is_visible("#preview-legend")
    assert page.get_attribute("#divide-counts li[data-kind='created']", "data-count") == "4"


def test_with_blocks_kept_whole_each_block_between_the_roads_is_one_grid(
    live_server, page, screenshot, crossroads
):
    from geogrid.reference.models import ReferenceFeature

    # Only the north–south street: two blocks of 20,000 m², twice the 10,000 m² target.
    ReferenceFeature.objects.all().delete()
    factories.reference_features("roads", "street", road((300, -50), (300, 250)))
    open_divide_form(page, live_server.url)
    assert page.is_hidden("#divide-keep-blocks-hint")
    page.check("#divide-keep-blocks")
    assert page.is_visible("#divide-keep-blocks-hint")
    page.click("#divide-form button[type=submit]")
    page.wait_for_selector("body[data-check-state='ok']")

    assert page.locator("#divide-grids tr[data-code]").count() == 2
    assert "街坊整块成格" in page.inner_text("#divide-used")
    assert page.inner_text("#divide-compare tr[data-row='on_feature'] td.this") == "100.0%"
    screenshot("grid-editor-divide-whole-blocks")
    # Squares have no blocks: the choice is off for them.
    page.select_option("#divide-method", "square")
    assert page.is_disabled("#divide-keep-blocks")
    assert page.is_hidden("#divide-keep-blocks-hint")


def test_one_grid_per_inspector_starts_from_the_inspectors_the_community_has(
    live_server, page, crossroads
):
    units = list(Grid.objects.active().filter(parent__code=COMMUNITY).order_by("code"))
    factories.user("inspector-1", Role.INSPECTOR, scope=units[:2])
    factories.user("inspector-2", Role.INSPECTOR, scope=units[2:4])
    factories.user("inspector-3", Role.INSPECTOR, scope=[units[4]])
    open_divide_form(page, live_server.url)
    page.check("input[name=divide-target][value=inspectors]")

    assert page.input_value("#divide-inspectors") == "3"
    assert page.inner_text("#divide-inspectors-hint") == "每名网格员一个网格；本区域有 3 名网格员。"
    page.click("#divide-form button[type=submit]")
    page.wait_for_selector("body[data-check-state='ok']")
    assert page.locator("#divide-grids tr[data-code]").count() == 3
