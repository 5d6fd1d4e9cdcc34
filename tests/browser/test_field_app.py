"""The inspector's field app in real Chromium, offline and back: the page and its service
worker are reached through a loopback proxy (tests/browser/proxy.py) that the test closes to
take the network away — from the page *and* the worker — and opens again. A patrol recorded
offline and a report with a photo written offline arrive exactly once, even when the server's
first answer is lost on the way back."""

from __future__ import annotations

import time

import pytest

from geogrid.accounts.models import Role
from geogrid.cases.models import Case, CasePhoto
from geogrid.patrols.models import Patrol, TrackPoint
from tests import factories
from tests.browser.conftest import OUTPUT
from tests.browser.proxy import Proxy
from tests.geometry import point
from tests.photos import image_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GARBAGE = "06010"  # 暴露垃圾, an event category of the reference data


@pytest.fixture
def field(transactional_db, live_server, settings):
    settings.GEOGRID_PATROL_FIX_EVERY_S = 1
    settings.GEOGRID_PATROL_SEND_EVERY_S = 2
    factories.levels()
    admin = factories.user("root-admin", Role.ADMIN)
    city = factories.small_city(admin)
    unit = city["110101001001001"]
    factories.user("inspector-a", Role.INSPECTOR, scope=[unit])
    proxy = Proxy(int(live_server.url.rsplit(":", 1)[1]))
    yield proxy
    proxy.close()


def _open(page, proxy: Proxy, x: float = 50, y: float = 150) -> None:
    page.context.grant_permissions(["geolocation"], origin=proxy.url)
    _move(page, x, y)
    page.goto(proxy.url + "/login/?next=/patrol/")
    page.fill("input[name=username]", "inspector-a")
    page.fill("input[name=password]", "pw-inspector-a")
    page.click("form:has(input[name=password]) button[type=submit]")
    page.wait_for_url(proxy.url + "/patrol/")
    page.wait_for_selector("body[data-ready]")
    page.wait_for_selector("body[data-offline-ready]", timeout=20000)


def _move(page, x: float, y: float) -> None:
    at = point(x, y)
    page.context.set_geolocation({"latitude": at.y, "longitude": at.x, "accuracy": 6})


def _counts(page) -> dict[str, int]:
    data = page.evaluate("Object.assign({}, document.querySelector('.field-page').dataset)")
    return {k: int(data.get(k, "0")) for k in ("waiting", "sent", "refused")}


def _wait_for(page, condition, timeout: float = 20.0) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = _counts(page)
        if condition(counts):
            return counts
        page.wait_for_timeout(250)
    raise AssertionError(f"the queue never got there: {_counts(page)}")


def _wait_for_text(page, selector: str, text: str, timeout: float = 10.0) -> None:
    # Polled from here: a predicate run in the page would need eval, which the CSP forbids.
    deadline = time.monotonic() + timeout
    while text not in (page.text_content(selector) or ""):
        assert time.monotonic() < deadline, f"{selector} never showed {text!r}"
        page.wait_for_timeout(200)


def _until(page, condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the server never got it"
        page.wait_for_timeout(200)


def _send_now(page) -> None:
    page.click("#tab-queue")
    page.click("#send-now")


def test_a_patrol_recorded_offline_arrives_once(page, field, screenshot):
    proxy = field
    _open(page, proxy)
    # No network from here on: the browser is told so (Playwright's offline mode, which the
    # page sees as navigator.onLine) and the server is out of reach for the service worker too.
    page.context.set_offline(True)
    proxy.close()
    page.reload()  # the page itself now comes from the service worker
    page.wait_for_selector("body[data-ready]")
    assert "离线" in page.text_content("#net-state")
    page.click("#patrol-toggle")
    for step in range(6):  # walking east along y = 150, 5 m a second
        _move(page, 20 + 5 * step, 150)
        page.wait_for_timeout(1100)
    page.click("#patrol-toggle")
    counts = _wait_for(page, lambda c: c["waiting"] >= 3)
    assert counts["sent"] == 0
    assert "开始巡查" in page.text_content("#patrol-toggle")
    page.click("#tab-queue")
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "field-offline-queue.png"))
    assert "待发送" in page.text_content("#queue-list")
    assert not Patrol.objects.exists() and not TrackPoint.objects.exists()
    sent_points = page.evaluate(
        """window.GEOGRID.outbox.list().then(items => items
             .filter(i => i.kind === 'points')
             .reduce((n, i) => n + i.body.points.length, 0))"""
    )
    assert sent_points >= 5

    # The network returns and the page sends by itself, but the first answer is lost on its
    # way back: the server has started the patrol, the phone does not know, and sends the
    # start again later.
    proxy.open()
    proxy.lose_answers = True
    page.context.set_offline(False)
    _until(page, lambda: Patrol.objects.count() == 1)
    page.wait_for_timeout(500)  # the answer is dropped; the outbox stops at the "failure"
    assert _counts(page)["sent"] == 0
    proxy.lose_answers = False
    _send_now(page)
    counts = _wait_for(page, lambda c: c["waiting"] == 0)
    assert counts["refused"] == 0
    patrol = Patrol.objects.get()
    assert patrol.status == "ended"
    assert TrackPoint.objects.filter(patrol=patrol).count() == sent_points
    # Sending again changes nothing: every item is done.
    _send_now(page)
    page.wait_for_timeout(1000)
    assert Patrol.objects.count() == 1
    assert TrackPoint.objects.count() == sent_points
    assert "已发送" in page.text_content("#queue-list")


def test_a_report_with_a_photo_written_offline_arrives_once(page, field, screenshot):
    proxy = field
    _open(page, proxy)
    page.context.set_offline(True)
    proxy.close()
    page.reload()
    page.wait_for_selector("body[data-ready]")
    page.click("#tab-report")
    page.wait_for_selector(f'#report-class option[value="{GARBAGE}"]', state="attached")
    page.select_option("#report-class", GARBAGE)
    page.fill("#report-description", "路口垃圾堆放")
    page.set_input_files(
        "#report-photo",
        files=[{"name": "garbage.jpg", "mimeType": "image/jpeg", "buffer": image_bytes()}],
    )
    page.click("#report-form button[type=submit]")
    _wait_for(page, lambda c: c["waiting"] == 1)
    page.click("#tab-queue")
    assert "上报" in page.text_content("#queue-list") and "1 张照片" in page.text_content(
        "#queue-list"
    )
    screenshot("field-report-queued-offline")
    assert not Case.objects.exists()

    proxy.open()
    proxy.lose_answers = True  # the case is made; the phone never hears
    page.context.set_offline(False)  # back online: the page sends by itself
    _until(page, lambda: Case.objects.count() == 1)
    page.wait_for_timeout(500)
    assert _counts(page)["sent"] == 0
    proxy.lose_answers = False
    _send_now(page)
    _wait_for(page, lambda c: c["waiting"] == 0 and c["sent"] == 1)
    case = Case.objects.get()
    assert CasePhoto.objects.filter(case=case).count() == 1
    assert case.client_id is not None and case.observed_at is not None
    assert case.description == "路口垃圾堆放"
    assert case.path_check == "no_track"  # no patrol was being recorded
    text = page.text_content("#queue-list")
    assert f"#{case.pk}" in text and "重复发送" in text
    # The worker kept the page's files and the grids, and nothing about cases.
    kept = page.evaluate(
        "caches.open('geogrid-v1').then(c => c.keys()).then(ks => ks.map(k => k.url))"
    )
    assert any("/api/v1/grids/" in url for url in kept)
    assert any(url.endswith("/patrol/") for url in kept)
    assert not any("/api/v1/cases" in url or "/login" in url for url in kept)


def test_a_refused_item_shows_the_servers_reason_and_the_rest_goes_on(page, field):
    proxy = field
    _open(page, proxy)
    # A report far outside every grid: the server refuses it, with its reason.
    _move(page, 50_000, 50_000)
    page.click("#tab-report")
    page.wait_for_selector(f'#report-class option[value="{GARBAGE}"]', state="attached")
    _wait_for_text(page, "#report-where", "精度")
    page.select_option("#report-class", GARBAGE)
    page.click("#report-form button[type=submit]")
    counts = _wait_for(page, lambda c: c["refused"] == 1)
    assert counts["waiting"] == 0
    page.click("#tab-queue")
    reason = page.text_content("#queue-list .reason")
    assert "grid" in reason.lower() or "网格" in reason
    assert not Case.objects.exists()
