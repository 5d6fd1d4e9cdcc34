"""Case REST API: reporting (JSON and multipart with photos), bad input as 400s with nothing
stored, who sees which cases, private contact fields, transitions with 400/403/409."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from rest_framework.test import APIClient

from geogrid.accounts.models import Role
from geogrid.cases.models import Case
from tests import factories
from tests.cases.conftest import GARBAGE
from tests.geometry import point
from tests.photos import image_bytes, upload


def _client(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def _point_body(x: float = 50, y: float = 150, **extra) -> dict:
    at = point(x, y)
    return {"service_code": GARBAGE, "lon": at.x, "lat": at.y, **extra}


def test_an_inspector_reports_with_a_photo_and_gets_the_case_back(
    inspector, case_taxonomy, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    response = _client(inspector).post(
        "/api/v1/cases/",
        {**_point_body(description="垃圾堆放"), "photo": upload(image_bytes())},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    props = response.json()["properties"]
    assert props["status"] == "reported" and props["channel"] == "inspector"
    assert props["grid_code"] == "110101001001001"
    assert props["department"]["name"] == "东城区环境卫生服务中心"
    assert [p["stage"] for p in props["photos"]] == ["report"]
    assert props["events"][0]["action"] == "reported" and props["duplicates"] == []
    assert "reporter_phone" not in props  # inspectors never see contact fields


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"service_code": GARBAGE}, "lon", "'lon' is required"),
        ({**_point_body(), "lon": "abc"}, "lon", "must be a number"),
        ({**_point_body(), "service_code": "77777"}, "service_code", "no active category"),
        (_point_body(5000, 5000), "location", "outside every grid"),
        ({**_point_body(), "crs": "EPSG:1"}, None, "EPSG:1"),
        ({**_point_body(), "channel": "fax"}, "channel", "filed with the channel inspector"),
        ({**_point_body(), "component_code": "123"}, "component_code", "is not valid"),
    ],
)
def test_bad_reports_are_400_with_the_field_and_store_nothing(
    inspector, case_taxonomy, body, field, message
):
    response = _client(inspector).post("/api/v1/cases/", body, format="json")
    assert response.status_code == 400, response.content
    assert message in response.json()["detail"]
    if field:
        assert response.json()["field"] == field
    assert not Case.objects.exists()


def test_a_non_image_photo_is_400_and_stores_nothing(inspector, case_taxonomy, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    response = _client(inspector).post(
        "/api/v1/cases/",
        {**_point_body(), "photo": upload(b"%PDF-1.4 not an image", name="x.jpg")},
        format="multipart",
    )
    assert response.status_code == 400 and response.json()["field"] == "photo"
    assert not Case.objects.exists() and not list(tmp_path.rglob("*.*"))


def test_reporting_needs_a_login_and_a_reporting_role(case_taxonomy, viewer):
    assert _client().post("/api/v1/cases/", _point_body(), format="json").status_code in (401, 403)
    assert _client(viewer).post("/api/v1/cases/", _point_body(), format="json").status_code == 403


def test_who_sees_which_cases_and_the_contact_fields(
    report, operator, handler, inspector, viewer, case_taxonomy
):
    mine = report(50, 150, reporter_phone="13900000000").case  # 环卫, the inspector's grid
    other = report(150, 50, service_code="06017").case  # 绿地脏乱 → 园林, SE grid
    ids = {
        name: [f["id"] for f in _client(user).get("/api/v1/cases/").json()["features"]]
        for name, user in {
            "operator": operator,
            "viewer": viewer,
            "handler": handler,
            "inspector": inspector,
        }.items()
    }
    assert set(ids["operator"]) == set(ids["viewer"]) == {mine.pk, other.pk}
    assert ids["handler"] == [mine.pk]  # only the sanitation department's case
    assert set(ids["inspector"]) == {mine.pk, other.pk}  # both reported by the inspector
    stranger = factories.user("inspector-b", Role.INSPECTOR)
    assert _client(stranger).get("/api/v1/cases/").json()["features"] == []
    assert _client(stranger).get(f"/api/v1/cases/{mine.pk}/").status_code == 404
    seen = _client(operator).get(f"/api/v1/cases/{mine.pk}/").json()["properties"]
    assert seen["reporter_phone"] == "13900000000"
    for user in (viewer, handler, inspector):
        body = _client(user).get(f"/api/v1/cases/{mine.pk}/").content.decode()
        assert "13900000000" not in body


def test_list_filters(report, operator):
    first = report(50, 150).case
    second = report(150, 50, service_code="06012").case
    Case.objects.filter(pk=second.pk).update(status="dispatched", overdue=True)
    client = _client(operator)

    def ids(**params):
        return [f["id"] for f in client.get("/api/v1/cases/", params).json()["features"]]

    assert ids(status="reported") == [first.pk]
    assert ids(status="open") == [second.pk, first.pk]
    assert ids(grid="110101001001004") == [second.pk]
    assert ids(service_code=GARBAGE) == [first.pk]
    assert ids(overdue="1") == [second.pk]
    assert client.get("/api/v1/cases/", {"status": "bogus"}).status_code == 400
    assert client.get("/api/v1/cases/", {"since": "yesterday"}).status_code == 400


def test_transitions_through_the_api(report, operator, handler, inspector):
    case = report(50, 150).case
    url = f"/api/v1/cases/{case.pk}/transition/"
    detail = _client(operator).get(f"/api/v1/cases/{case.pk}/").json()["properties"]
    assert {m["to"] for m in detail["moves"]} == {"accepted", "rejected", "cancelled"}
    assert _client(handler).post(url, {"to": "accepted"}, format="json").status_code == 403
    bad = _client(operator).post(url, {"to": "closed"}, format="json")
    assert bad.status_code == 400 and "cannot become" in bad.json()["detail"]
    stale = _client(operator).post(url, {"to": "accepted", "version": 99}, format="json")
    assert stale.status_code == 409
    for to in ("accepted", "filed", "dispatched"):
        response = _client(operator).post(url, {"to": to}, format="json")
        assert response.status_code == 200, response.content
    assert response.json()["properties"]["deadline"] is not None
    no_reason = _client(handler).post(url, {"to": "handled"}, format="json")
    assert no_reason.status_code == 400 and "needs a reason" in no_reason.json()["detail"]
    done = _client(handler).post(url, {"to": "handled", "reason": "已清理"}, format="json")
    assert done.json()["properties"]["status"] == "handled"
    checked = _client(inspector).post(url, {"to": "checked"}, format="json")
    assert checked.json()["properties"]["status"] == "checked"


def test_extension_requests_validate_the_amount(report, operator, handler):
    case = report(50, 150).case
    Case.objects.filter(pk=case.pk).update(status="dispatched")
    url = f"/api/v1/cases/{case.pk}/transition/"
    bad = _client(handler).post(
        url,
        {"to": "extension_requested", "reason": "x", "extend_by": {"amount": -1, "unit": "days"}},
        format="json",
    )
    assert bad.status_code == 400 and bad.json()["field"] == "extend_by"


def test_escalation_through_the_api(report, inspector, handler):
    case = report(50, 150).case
    url = f"/api/v1/cases/{case.pk}/escalate/"
    assert _client(inspector).post(url, {}, format="json").status_code == 400
    response = _client(inspector).post(url, {"reason": "需社区协调"}, format="json")
    assert response.json()["properties"]["handling_level"] == "community"
    assert _client(handler).post(url, {"reason": "x"}, format="json").status_code == 403


def test_the_category_list(case_taxonomy, inspector):
    body = _client(inspector).get("/api/v1/case-classes/", {"kind": "event"}).json()
    assert len(body) == 97 and body[0]["service_code"] == "06001"


# --- Channel, duplicates and moves follow how a report arrived and the caller's scope ---------
@pytest.mark.parametrize(
    ("role", "channel", "expected"),
    [
        ("inspector", "", "inspector"),
        ("inspector", "inspector", "inspector"),
        ("inspector", "open311", None),
        ("inspector", "hotline", None),
        ("operator", "", "hotline"),
        ("operator", "video", "video"),
        ("operator", "citizen", None),
        ("operator", "open311", None),
    ],
)
def test_the_server_sets_the_channel_from_how_the_report_arrived(
    request, case_taxonomy, role, channel, expected
):
    user = request.getfixturevalue(role)
    body = _point_body(**({"channel": channel} if channel else {}))
    response = _client(user).post("/api/v1/cases/", body, format="json")
    if expected is None:
        assert response.status_code == 400, response.content
        assert response.json()["field"] == "channel"
        assert "citizens report through Open311" in response.json()["detail"]
        assert not Case.objects.exists()
    else:
        assert response.status_code == 201, response.content
        assert response.json()["properties"]["channel"] == expected


def test_possible_duplicates_list_only_cases_in_the_callers_scope(report, operator, inspector):
    # An operator's hotline report in the NE unit grid, outside the inspector's NW grid, 8 m
    # from where the inspector then reports the same problem.
    hidden = report(104, 150, actor=operator, channel="hotline").case
    mine = report(96, 150).case
    assert [d["id"] for d in mine.possible_duplicates] == [hidden.pk]  # stored for the desk
    body = _client(inspector).post("/api/v1/cases/", _point_body(97, 150), format="json")
    assert body.status_code == 201, body.content
    props = body.json()["properties"]
    assert hidden.pk not in [d["id"] for d in props["duplicates"]]
    assert hidden.pk not in [d["id"] for d in props["possible_duplicates"]]
    assert [d["id"] for d in props["duplicates"]] == [mine.pk]
    detail = _client(inspector).get(f"/api/v1/cases/{mine.pk}/").json()["properties"]
    assert detail["possible_duplicates"] == []
    desk = _client(operator).get(f"/api/v1/cases/{mine.pk}/").json()["properties"]
    assert [d["id"] for d in desk["possible_duplicates"]] == [hidden.pk]


def test_moves_offered_are_those_the_scope_allows(report, operator, handler, inspector, city):
    # An inspector of the NE unit grid reports a problem in the NW one: they see their report,
    # but checking it on site belongs to the NW grid's inspector.
    north_east = city["west_c"].children.order_by("code")[1]
    other = factories.user("inspector-b", Role.INSPECTOR, scope=[north_east])
    case = report(50, 150, actor=other).case
    url = f"/api/v1/cases/{case.pk}/"
    for to in ("accepted", "filed", "dispatched"):
        _client(operator).post(url + "transition/", {"to": to}, format="json")
    _client(handler).post(url + "transition/", {"to": "handled", "reason": "已清理"}, format="json")
    detail = _client(other).get(url).json()["properties"]
    assert detail["status"] == "handled" and detail["moves"] == []
    refused = _client(other).post(url + "transition/", {"to": "checked"}, format="json")
    assert refused.status_code == 403
    # The NW grid's inspector is offered the check, and the server accepts it.
    offered = {m["to"] for m in _client(inspector).get(url).json()["properties"]["moves"]}
    assert "checked" in offered
    assert (
        _client(inspector).post(url + "transition/", {"to": "checked"}, format="json").status_code
        == 200
    )


# --- Odd input (issue 10) --------------------------------------------------------------------------
def test_report_json_array_body_is_400(inspector, case_taxonomy):
    response = _client(inspector).post("/api/v1/cases/", [_point_body()], format="json")
    assert response.status_code == 400 and "JSON object" in response.json()["detail"]


@pytest.mark.parametrize("path", ["transition", "escalate"])
def test_case_actions_refuse_a_json_array_body(report, operator, path):
    case = report(50, 150).case
    response = _client(operator).post(
        f"/api/v1/cases/{case.pk}/{path}/", ["accepted"], format="json"
    )
    assert response.status_code == 400 and "JSON object" in response.json()["detail"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"reporter_email": "not an address"}, "reporter_email"),
        ({"reporter_email": "a" * 250 + "@x.cn"}, "reporter_email"),
        ({"reporter_name": "名" * 101}, "reporter_name"),
        ({"address": ["a", "b"]}, "address"),
        ({"description": "a\x00b"}, "description"),
    ],
)
def test_report_text_fields_are_checked_with_400_naming_the_field(
    inspector, case_taxonomy, change, field
):
    response = _client(inspector).post("/api/v1/cases/", {**_point_body(), **change}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field
    assert not Case.objects.exists()


def test_transition_department_as_a_list_is_400(report, operator):
    case = report(50, 150).case
    response = _client(operator).post(
        f"/api/v1/cases/{case.pk}/transition/",
        {"to": "accepted", "department": ["a"]},
        format="json",
    )
    assert response.status_code == 400 and response.json()["field"] == "department"


def test_report_photo_count_is_checked_before_any_photo_is_decoded(
    inspector, case_taxonomy, settings
):
    # Seven files that are not images: the count answers, not the first unreadable file.
    response = _client(inspector).post(
        "/api/v1/cases/",
        {**_point_body(), "photo": [upload(b"junk", name=f"{n}.jpg") for n in range(7)]},
        format="multipart",
    )
    assert response.status_code == 400
    assert f"at most {settings.GEOGRID_MAX_PHOTOS}" in response.json()["detail"]


@pytest.mark.parametrize(
    "params",
    [
        {"since": "2026-02-30T00:00:00+08:00"},
        {"until": "0001-01-01T00:00:00+08:00"},
        {"grid": "\x00"},
        {"service_code": "\x00"},
        {"overdue": "sometimes"},
        {"path_check": "sideways"},
        {"path_check": "\x00"},
    ],
)
def test_case_list_refuses_bad_parameters_with_400(report, operator, params):
    response = _client(operator).get("/api/v1/cases/", params)
    assert response.status_code == 400 and response.json()["field"] == next(iter(params))


def test_the_desk_filters_reports_by_their_path_check(report, operator):
    """The desk's 轨迹异常 queue: an inspector's report off their track or made with no track
    (docs/domain.md §8.4), and the path check in each answer."""
    on = report(50, 150).case
    off = report(60, 150).case
    none = report(70, 150).case
    hotline = report(80, 150, actor=operator, channel="hotline").case  # not an inspector's
    Case.objects.filter(pk=on.pk).update(path_check="on_track", path_distance_m=8.0)
    Case.objects.filter(pk=off.pk).update(path_check="off_track", path_distance_m=432.5)
    Case.objects.filter(pk=none.pk).update(path_check="no_track", path_distance_m=None)
    client = _client(operator)

    def ids(**params):
        body = client.get("/api/v1/cases/", params).json()
        return [f["id"] for f in body["features"]]

    assert ids(path_check="flagged") == [none.pk, off.pk]
    assert ids(path_check="off_track") == [off.pk]
    assert ids(path_check="on_track,no_track") == [none.pk, on.pk]
    assert hotline.pk in ids() and hotline.pk not in ids(path_check="flagged")
    props = client.get(f"/api/v1/cases/{off.pk}/").json()["properties"]
    assert (props["path_check"], props["path_check_label"]) == ("off_track", "偏离轨迹")
    assert props["path_distance_m"] == 432.5


def test_reported_photo_is_stored_without_its_exif(inspector, case_taxonomy, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    exif = Image.Exif()
    exif[0x0110] = "Phone Model X"
    exif.get_ifd(0x8825)[2] = (39.0, 54.0, 27.0)
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "JPEG", exif=exif)
    response = _client(inspector).post(
        "/api/v1/cases/", {**_point_body(), "photo": upload(buffer.getvalue())}, format="multipart"
    )
    assert response.status_code == 201, response.content
    stored = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert len(stored) == 2  # the original and its preview
    for path in stored:
        data = path.read_bytes()
        assert b"Phone Model X" not in data and b"Exif" not in data


def test_generated_cases_say_so_in_the_list_and_the_detail(report, operator, inspector, handler):
    from geogrid.cases.history import HistoryActors, generate_history

    person = report().case
    generate_history(
        count=20,
        actors=HistoryActors(
            inspector=inspector, operator=operator, admin=operator, handler=handler
        ),
    )
    generated = Case.objects.filter(generated=True).first()
    client = _client(operator)
    assert client.get(f"/api/v1/cases/{generated.pk}/").json()["properties"]["generated"] is True
    assert client.get(f"/api/v1/cases/{person.pk}/").json()["properties"]["generated"] is False
    listed = {
        f["id"]: f["properties"]["generated"]
        for f in client.get("/api/v1/cases/", {"page_size": 100}).json()["features"]
    }
    assert listed[person.pk] is False and sum(listed.values()) == 20


def test_the_workbench_has_a_badge_for_generated_cases(client, operator):
    client.force_login(operator)
    page = client.get("/cases/desk/").content.decode()
    assert 'id="card-generated"' in page and "生成的演示数据" in page
