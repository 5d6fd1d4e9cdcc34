"""One full case loop in real Chromium, each step on its own role's page: the inspector reports
from the map, the operator accepts, files and dispatches at the desk, the department feeds back
from its inbox, the inspector checks it on site, the operator closes it."""

from __future__ import annotations

import pytest

from geogrid.accounts.models import Role
from geogrid.cases.intake import submit_report
from geogrid.cases.models import Case
from geogrid.components.models import Department, DepartmentMember
from tests import factories
from tests.geometry import point
from tests.photos import image_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def people(transactional_db):
    factories.levels()
    admin = factories.user("root-admin", Role.ADMIN)
    city = factories.small_city(admin)
    factories.reference_data()
    unit = city["west_c"].children.order_by("code").first()
    handler = factories.user("handler-a", Role.DEPARTMENT)
    DepartmentMember.objects.create(user=handler, department=Department.objects.get(key="环卫"))
    return {
        "inspector": factories.user("inspector-a", Role.INSPECTOR, scope=[unit]),
        "operator": factories.user("operator-a", Role.OPERATOR),
        "handler": handler,
        "unit": unit,
    }


def log_in(page, base_url: str, username: str, next_url: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base_url}/login/?next={next_url}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pw-" + username)
    page.click("form:has(input[name=password]) button[type=submit]")
    page.wait_for_url(base_url + next_url)
    page.wait_for_selector("body[data-ready]")


def open_first_case(page) -> None:
    page.wait_for_selector("#case-list li button")
    page.click("#case-list li button >> nth=0")
    page.wait_for_selector("#case-card:not([hidden])")


def press(page, to: str, reason: str = "") -> None:
    if reason:
        page.fill("#action-reason", reason)
    before = page.get_attribute("#case-card", "data-status")
    page.click(f'#move-buttons button[data-to="{to}"]')
    page.wait_for_function(
        f"() => document.querySelector('#case-card').dataset.status !== '{before}'"
    )


def test_one_full_loop_through_the_pages(live_server, page, screenshot, people, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    base = live_server.url
    # 1. The inspector reports garbage in the grid, with a photo.
    log_in(page, base, "inspector-a", "/cases/report/")
    page.wait_for_function("() => document.body.dataset.grids === '1'")
    page.select_option("#report-class", "06010")
    assert "暴露垃圾" in page.text_content("#report-class option:checked")
    box = page.locator("#case-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.fill("#report-description", "路口东侧垃圾堆放约2平方米")
    page.set_input_files(
        "#report-photo",
        files=[{"name": "garbage.jpg", "mimeType": "image/jpeg", "buffer": image_bytes()}],
    )
    page.click("#report-submit")
    page.wait_for_selector("#report-result:not([hidden])")
    case = Case.objects.get()
    assert f"#{case.pk}" in page.text_content("#result-title")
    assert people["unit"].code in page.text_content("#result-body")
    assert "东城区环境卫生服务中心" in page.text_content("#result-body")
    screenshot("case-report")

    # 2. The operator accepts, files and dispatches it at the desk.
    log_in(page, base, "operator-a", "/cases/desk/")
    open_first_case(page)
    assert page.locator("#card-photos li img").count() == 1
    press(page, "accepted")
    assert page.text_content("#message") == f"案件 #{case.pk} 已受理。"
    press(page, "filed")
    assert not page.is_hidden("#dispatch-extra")
    screenshot("case-desk-dispatch")
    press(page, "dispatched")
    assert "处置时限" in page.text_content("#card-deadline")

    # 3. The department feeds back from its inbox.
    log_in(page, base, "handler-a", "/cases/inbox/")
    open_first_case(page)
    page.click('#move-buttons button[data-to="handled"]')  # without the required reason
    page.wait_for_selector("#card-error:not([hidden])")
    assert "needs a reason" in page.text_content("#card-error .api-detail")
    press(page, "handled", "已清理完毕")
    screenshot("case-inbox-handled")

    # 4. The inspector checks it on site.
    log_in(page, base, "inspector-a", "/cases/checks/")
    open_first_case(page)
    press(page, "checked")

    # 5. The operator closes it.
    log_in(page, base, "operator-a", "/cases/desk/")
    page.click('#queue-tabs button[data-queue="checked"]')
    page.wait_for_function("() => document.body.dataset.queue === 'checked'")
    open_first_case(page)
    press(page, "closed")
    screenshot("case-desk-closed")
    case.refresh_from_db()
    assert case.status == "closed" and case.closed_at is not None
    assert list(case.events.order_by("id").values_list("action", flat=True)) == [
        "reported",
        "accepted",
        "filed",
        "dispatched",
        "handled",
        "checked",
        "closed",
    ]
    timeline = page.text_content("#card-events")
    assert "结案" in timeline and "已清理完毕" in timeline


def test_the_desk_in_english(live_server, page, screenshot, people):
    from geogrid.cases.intake import submit_report
    from tests.geometry import point

    at = point(50, 150)
    submit_report(
        actor=people["inspector"],
        channel="inspector",
        service_code="06010",
        x=at.x,
        y=at.y,
        description="rubbish",
    )
    log_in(page, live_server.url, "operator-a", "/cases/desk/")
    page.click("form.lang button[value=en]")
    page.wait_for_selector("body[data-ready]")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.text_content('#queue-tabs button[data-queue="reported"]') == "Reported"
    open_first_case(page)
    assert page.text_content('#move-buttons button[data-to="accepted"]') == "Accept"
    assert "exposed garbage" in page.text_content("#card-title").lower()
    screenshot("case-desk-english")


def test_the_desk_shows_reports_flagged_by_the_path_check(live_server, page, screenshot, people):
    """An inspector's report far from their track, one made with no track, and one on it: the
    desk's 轨迹异常 tab lists the two flagged ones with their badges, and the case card says
    how far off and when the report was written (docs/domain.md §8.4)."""
    made = {}
    for check, (x, distance) in {"off_track": (40, 312.4), "no_track": (50, None)}.items():
        at = point(x, 150)
        case = submit_report(
            actor=people["inspector"], channel="inspector", service_code="06010", x=at.x, y=at.y
        ).case
        Case.objects.filter(pk=case.pk).update(path_check=check, path_distance_m=distance)
        made[check] = case
    at = point(60, 150)
    on = submit_report(
        actor=people["inspector"], channel="inspector", service_code="06010", x=at.x, y=at.y
    ).case
    Case.objects.filter(pk=on.pk).update(path_check="on_track", path_distance_m=6.0)

    log_in(page, live_server.url, "operator-a", "/cases/desk/")
    # In the first queue every report is listed, the flagged ones with their badge.
    badges = page.locator("#case-list .path-badge")
    assert sorted(badges.all_text_contents()) == ["偏离轨迹 312 米", "无巡查轨迹"]
    page.click('#queue-tabs button[data-queue="flagged"]')
    page.wait_for_function("() => document.body.dataset.queue === 'flagged'")
    ids = page.locator("#case-list button.result").evaluate_all("b => b.map(x => x.dataset.id)")
    assert sorted(map(int, ids)) == sorted(c.pk for c in made.values())
    page.click(f'#case-list button.result[data-id="{made["off_track"].pk}"]')
    page.wait_for_selector("#case-card:not([hidden])")
    assert page.text_content("#card-path") == "偏离轨迹 312 米"
    assert page.is_visible("#card-path")
    assert "偏离轨迹 312 米" in page.text_content("#card-path-check")
    screenshot("case-desk-path-check")
    # A report on its track shows its check in the facts, without a badge.
    page.goto(f"{live_server.url}/cases/desk/?case={on.pk}")
    page.wait_for_selector("#case-card:not([hidden])")
    assert page.is_hidden("#card-path")
    assert page.text_content("#card-path-check") == "轨迹相符"
