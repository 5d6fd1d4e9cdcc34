"""The command center's patrol page in real Chromium over the small city: the day's tracks come
as tiles, the coverage colours the walked grids, the indicator tables name the inspector and
count the flagged reports, and the replay moves a marker along the track with the slider and
the play button and shows each report at its time with its path check."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from geogrid.accounts.models import Role, User
from geogrid.cases.intake import submit_report
from geogrid.command_center.patrols import inspector_patrols
from geogrid.patrols.services import end_patrol, record_points, start_patrol
from tests import factories
from tests.cases.conftest import GARBAGE
from tests.geometry import point
from tests.patrols.factories import east_along, recent_start, walk

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def patrolled(transactional_db, settings):
    """The small city; an inspector who walked along y = 150 an hour ago (30 points, 290 s)
    and made three reports: beside the track, 140 m off it, and half an hour before (no
    track); a command-center viewer."""
    settings.GEOGRID_PATH_CHECK_DISTANCE_M = 50.0
    admin = factories.user("root-admin", Role.ADMIN)
    city = factories.small_city(admin)
    inspector = User.objects.create_user(
        username="inspector",
        password="geogrid-demo",
        role=Role.INSPECTOR,
        first_name="建国",
        last_name="王",
    )
    inspector.grid_scopes.create(grid=city["110101001001001"])
    User.objects.create_user(username="viewer", password="geogrid-demo", role=Role.VIEWER)
    start = recent_start()
    patrol, _ = start_patrol(actor=inspector, client_id=uuid.uuid4(), started_at=start)
    record_points(
        actor=inspector, patrol=patrol, points=walk(east_along(150, -45, 245), start=start)
    )
    end_patrol(actor=inspector, patrol=patrol)
    cases = {}
    for name, (x, y, at) in {
        "on_track": (55, 160, start + timedelta(seconds=100)),
        "off_track": (55, 10, start + timedelta(seconds=200)),
        "no_track": (50, 150, start - timedelta(minutes=30)),
    }.items():
        where = point(x, y)
        cases[name] = submit_report(
            actor=inspector,
            channel="inspector",
            service_code=GARBAGE,
            x=where.x,
            y=where.y,
            observed_at=at,
        ).case
        assert cases[name].path_check == name
    return {
        "inspector": inspector,
        "start": start,
        "cases": cases,
        "day": timezone.localtime(start).date().isoformat(),
    }


def log_in(page, base_url: str, next_url: str) -> None:
    page.goto(f"{base_url}/login/?next={next_url.replace('?', '%3F').replace('&', '%26')}")
    page.fill("input[name=username]", "viewer")
    page.fill("input[name=password]", "geogrid-demo")
    page.click("form:has(input[name=password]) button[type=submit]")
    page.wait_for_url(base_url + next_url)
    page.wait_for_selector("body[data-ready]", timeout=30_000)


def test_the_patrol_page_and_the_replay_of_an_inspectors_day(
    live_server, page, screenshot, patrolled
):
    track_tiles: list[int] = []
    page.on("response", lambda r: "/tiles/tracks/" in r.url and track_tiles.append(r.status))
    log_in(page, live_server.url, f"/command-center/patrols/?day={patrolled['day']}")

    # The day's tracks arrive as tiles; the coverage colours the two walked unit grids.
    page.wait_for_function("() => Number(document.body.dataset.trackTiles) > 0")
    assert track_tiles and set(track_tiles) <= {200, 304}
    assert page.evaluate("document.body.dataset.coveredGrids") == "2"
    # The indicator tables: the inspector by name, the walk and the flagged reports.
    inspector = patrolled["inspector"]
    row = page.locator(f'#inspector-table tr[data-inspector="{inspector.pk}"]')
    assert "建国 王" in row.text_content()
    assert "inspector" not in page.locator("#inspector-table").text_content()
    cells = row.locator("td")
    assert cells.nth(0).text_content() == "1"  # patrols
    assert cells.nth(2).text_content() == "5 分"  # 290 s on patrol
    # Its one grid, covered 0.6 (the query module's figure, as the page rounds it).
    (mine,) = [
        r
        for r in inspector_patrols(
            since=patrolled["start"] - timedelta(hours=2),
            until=patrolled["start"] + timedelta(hours=1),
        )
        if r.inspector_id == inspector.pk
    ]
    assert mine.mean_share == pytest.approx(0.6, abs=0.002)
    assert cells.nth(3).text_content() == f"{mine.mean_share * 100:.1f}".removesuffix(".0") + "%"
    assert cells.nth(4).text_content() == "3"  # reports
    assert cells.nth(6).text_content().startswith("2")  # off track and no track
    assert page.locator("#grid-table tbody tr").count() == 3  # NW, NE walked; SW reported in
    assert page.get_attribute('.kpi[data-key="flagged"]', "data-value") == "2"

    # The replay: the track, the three reports in time order with their checks.
    row.locator("button.replay-link").click()
    page.wait_for_function("() => document.body.dataset.replayPoints === '30'")
    assert page.evaluate("document.body.dataset.replayReports") == "3"
    checks = page.locator("#replay-reports .replay-report").evaluate_all(
        "items => items.map(i => i.dataset.check)"
    )
    assert checks == ["no_track", "on_track", "off_track"]
    off = page.locator('#replay-reports .replay-report[data-check="off_track"]')
    away = round(patrolled["cases"]["off_track"].path_distance_m)
    assert away == pytest.approx(172, abs=3)  # (55, 10) against the track at (155, 150)
    assert "偏离轨迹" in off.text_content() and f"距轨迹 {away} 米" in off.text_content()
    start = int(patrolled["start"].timestamp())
    # The slider starts at the first thing of the day: the report written before the walk.
    first = int(page.evaluate("document.body.dataset.replayTime"))
    assert first == int((patrolled["start"] - timedelta(minutes=30)).timestamp())

    # Play moves the marker along; a click on a report puts the replay at its moment.
    page.select_option("#replay-speed", "1200")
    page.click("#replay-play")
    page.wait_for_function(f"() => Number(document.body.dataset.replayTime) > {first + 60}")
    page.click("#replay-play")  # pause
    assert page.get_attribute("#replay-play", "aria-pressed") == "false"
    off.click()
    assert page.evaluate("document.body.dataset.replayTime") == str(start + 200)
    marker = page.evaluate(
        """() => { let found = null;
        GEOGRID.map.eachLayer(l => { if (l instanceof L.CircleMarker && l.options.radius === 9) {
            found = l.getLatLng(); } });
        return [found.lng, found.lat]; }"""
    )
    expected = point(155, 150)  # 200 s after the start, x = -45 + 200
    assert marker[0] == pytest.approx(expected.x, abs=2e-6)
    assert marker[1] == pytest.approx(expected.y, abs=2e-6)
    assert page.locator("#replay-where").text_content() == "第 1 次巡查"
    # The reports up to that moment are shown as passed; the slider reaches the walk's end.
    assert page.locator("#replay-reports li.passed").count() == 3
    assert page.get_attribute("#replay-slider", "max") == str(start + 290)
    page.wait_for_timeout(300)
    screenshot("command-center-patrols")
