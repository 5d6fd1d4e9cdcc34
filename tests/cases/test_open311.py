"""Open311 GeoReport v2 conformance: discovery, services and service definitions, posting
requests (form-encoded and multipart, every refusal with the spec's error list and nothing
stored), querying requests with the spec's filters and limits, both formats throughout, and the
reporter's private fields never in any output."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from io import StringIO
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from geogrid.cases import open311
from geogrid.cases.models import Case, CaseClass, CaseEvent, CasePhoto, Open311Key
from geogrid.cases.open311_keys import create_open311_key, open311_key_for
from geogrid.cases.transitions import transition_case
from tests.cases.conftest import COVER_FAULT, GARBAGE
from tests.geometry import point
from tests.photos import image_bytes, upload

API = "/open311/v2"
NW_GRID = "110101001001001"  # the unit grid at (50, 150)
SANITATION = "东城区环境卫生服务中心"
W3C_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$")
SHANGHAI = ZoneInfo("Asia/Shanghai")
# Every field of a GET request, in the spec's order.
REQUEST_FIELDS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]
ATTRIBUTES = [
    {
        "variable": True,
        "code": "AREA",
        "datatype": "singlevaluelist",
        "required": True,
        "datatype_description": "",
        "order": 2,
        "description": "堆放面积",
        "values": [
            {"key": "small", "name": "小于1平方米"},
            {"key": "large", "name": "1平方米以上"},
        ],
    },
    {
        "variable": True,
        "code": "NOTE",
        "datatype": "string",
        "required": False,
        "datatype_description": "",
        "order": 1,
        "description": "补充说明",
        "values": [],
    },
]


@pytest.fixture
def api_key(db) -> str:
    # The key of a citizen app that posts reports.
    return create_open311_key(name="市民通")[1]


def _json(response) -> Any:
    assert response["Content-Type"] == "application/json; charset=utf-8"
    return json.loads(response.content.decode("utf-8"))


def _xml(response) -> ET.Element:
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    return ET.fromstring(response.content)


def _fields(key: str | None, x: float = 50, y: float = 150, **changes: Any) -> dict[str, Any]:
    """A complete POST body at (x, y) metres of the small city; a change to None drops the
    field."""
    at = point(x, y)
    fields = {
        "api_key": key,
        "service_code": GARBAGE,
        "lat": at.y,
        "long": at.x,
        "description": "路口有一堆垃圾",
        **changes,
    }
    return {name: value for name, value in fields.items() if value is not None}


def _post(client: Client, fields: dict[str, Any], fmt: str = "json"):
    return client.post(
        f"{API}/requests.{fmt}",
        urlencode(fields, doseq=True),
        content_type="application/x-www-form-urlencoded; charset=utf-8",
    )


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["service_request_id"] for item in _json(response)]


def _nothing_stored() -> None:
    assert not Case.objects.exists() and not CaseEvent.objects.exists()
    assert not CasePhoto.objects.exists()


def _give_attributes(service_code: str) -> None:
    # Saved as the admin does (intake's category cache hears of it).
    case_class = CaseClass.objects.get(scheme="gbt47678", service_code=service_code)
    case_class.attributes = ATTRIBUTES
    case_class.save()


def _reported_at(case: Case, when: datetime) -> None:
    Case.objects.filter(pk=case.pk).update(reported_at=when)


# --- Discovery ----------------------------------------------------------------------------------
def test_discovery_names_the_endpoint_and_its_formats_in_json(client, db):
    body = _json(client.get(f"{API}/discovery.json"))
    assert set(body) == {"changeset", "contact", "key_service", "endpoints"}
    assert body["endpoints"] == [
        {
            "specification": "http://wiki.open311.org/GeoReport_v2",
            "url": "http://testserver/open311/v2",
            "changeset": open311.CHANGESET,
            "type": "production",
            "formats": ["text/xml", "application/json"],
        }
    ]


def test_discovery_in_xml_has_the_spec_elements(client, db):
    root = _xml(client.get(f"{API}/discovery.xml"))
    assert root.tag == "discovery"
    assert [child.tag for child in root] == ["changeset", "contact", "key_service", "endpoints"]
    endpoint = root.find("endpoints/endpoint")
    assert endpoint.findtext("url") == "http://testserver/open311/v2"
    assert endpoint.findtext("type") == "production"
    assert [f.text for f in endpoint.findall("formats/format")] == ["text/xml", "application/json"]


# --- Services -----------------------------------------------------------------------------------
def test_services_are_the_active_classes_of_the_active_scheme(client, case_taxonomy):
    CaseClass.objects.filter(scheme="gbt47678", service_code=COVER_FAULT).update(active=False)
    expected = CaseClass.objects.filter(scheme="gbt47678", active=True)
    garbage = expected.get(service_code=GARBAGE)
    services = _json(client.get(f"{API}/services.json"))
    assert [s["service_code"] for s in services] == sorted(c.service_code for c in expected)
    assert next(s for s in services if s["service_code"] == GARBAGE) == {
        "service_code": GARBAGE,
        "service_name": "暴露垃圾",
        "description": garbage.filing_condition,
        "metadata": False,
        "type": "realtime",
        "keywords": "市容环境类, 事件",
        "group": "市容环境类",
    }
    root = _xml(client.get(f"{API}/services.xml"))
    assert root.tag == "services" and len(root.findall("service")) == len(services)
    first = root.find("service")
    assert [child.tag for child in first] == [
        "service_code",
        "service_name",
        "description",
        "metadata",
        "type",
        "keywords",
        "group",
    ]
    assert first.findtext("metadata") == "false"


def test_services_speak_english_when_asked(client, case_taxonomy):
    def name(response) -> str:
        return next(s["service_name"] for s in _json(response) if s["service_code"] == GARBAGE)

    asked = client.get(f"{API}/services.json", HTTP_ACCEPT_LANGUAGE="en")
    assert name(asked) == "exposed garbage" and asked["Content-Language"] == "en"
    assert name(client.get(f"{API}/services.json?locale=en")) == "exposed garbage"
    # The locale argument wins over the header; Chinese is the default.
    assert (
        name(client.get(f"{API}/services.json?locale=zh_CN", HTTP_ACCEPT_LANGUAGE="en"))
        == "暴露垃圾"
    )
    assert name(client.get(f"{API}/services.json")) == "暴露垃圾"


def test_services_at_a_point_are_all_inside_the_city_and_none_outside(client, city, case_taxonomy):
    everywhere = _json(client.get(f"{API}/services.json"))
    inside, outside = point(50, 150), point(5000, 5000)
    assert (
        _json(client.get(f"{API}/services.json", {"lat": inside.y, "long": inside.x})) == everywhere
    )
    assert _json(client.get(f"{API}/services.json", {"lat": outside.y, "long": outside.x})) == []
    root = _xml(client.get(f"{API}/services.xml", {"lat": outside.y, "long": outside.x}))
    assert root.tag == "services" and len(root) == 0


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"lat": "north", "long": "116.4"}, "lat must be a number"),
        ({"lat": "39.9"}, "Send both lat and long"),
        ({"lat": "95", "long": "116.4"}, "Latitude 95.0 is out of range"),
    ],
)
def test_services_with_a_bad_point_are_400(client, case_taxonomy, query, message):
    response = client.get(f"{API}/services.json", query)
    assert response.status_code == 400
    [error] = _json(response)
    assert error["code"] == 400 and message in error["description"]


def test_a_service_definition_lists_the_attributes_by_order(client, case_taxonomy):
    _give_attributes(GARBAGE)
    definition = _json(client.get(f"{API}/services/{GARBAGE}.json"))
    assert definition["service_code"] == GARBAGE
    assert [a["code"] for a in definition["attributes"]] == ["NOTE", "AREA"]
    assert definition["attributes"][1] == {
        "variable": True,
        "code": "AREA",
        "datatype": "singlevaluelist",
        "required": True,
        "datatype_description": None,
        "order": 2,
        "description": "堆放面积",
        "values": [
            {"key": "small", "name": "小于1平方米"},
            {"key": "large", "name": "1平方米以上"},
        ],
    }
    root = _xml(client.get(f"{API}/services/{GARBAGE}.xml"))
    assert root.tag == "service_definition" and root.findtext("service_code") == GARBAGE
    area = root.findall("attributes/attribute")[1]
    assert [child.tag for child in area] == [
        "variable",
        "code",
        "datatype",
        "required",
        "datatype_description",
        "order",
        "description",
        "values",
    ]
    assert [v.findtext("key") for v in area.findall("values/value")] == ["small", "large"]
    assert area.findtext("required") == "true"
    listed = _json(client.get(f"{API}/services.json"))
    assert next(s for s in listed if s["service_code"] == GARBAGE)["metadata"] is True


def test_a_service_without_attributes_has_an_empty_definition(client, case_taxonomy):
    assert _json(client.get(f"{API}/services/{COVER_FAULT}.json")) == {
        "service_code": COVER_FAULT,
        "attributes": [],
    }


@pytest.mark.parametrize("code", ["99999", "S0101"])  # unknown; a class of the other scheme
def test_an_unknown_service_definition_is_404_in_either_format(client, case_taxonomy, code):
    response = client.get(f"{API}/services/{code}.json")
    assert response.status_code == 404
    assert _json(response)[0]["code"] == 404
    response = client.get(f"{API}/services/{code}.xml")
    assert response.status_code == 404
    assert _xml(response).findtext("error/code") == "404"


# --- POST requests ------------------------------------------------------------------------------
def test_posting_a_request_creates_an_open311_case_and_answers_per_spec(
    client, city, case_taxonomy, api_key
):
    response = _post(
        client,
        _fields(
            api_key,
            address_string="东华门大街 1 号",
            first_name="小明",
            last_name="欧阳",
            phone="13912345678",
            email="ouyang@example.com",
            device_id="dev-1",
            account_id="acct-1",
            media_url="https://example.com/p.jpg",
        ),
    )
    # 200, as the spec's own description of POST (see the module docstring).
    assert response.status_code == 200, response.content
    [answer] = _json(response)
    assert set(answer) == {"service_request_id", "service_notice", "account_id"}
    assert answer["account_id"] == "acct-1"
    assert NW_GRID in answer["service_notice"] and SANITATION in answer["service_notice"]
    case = Case.objects.get(pk=answer["service_request_id"])
    assert (case.channel, case.open311_key.name, case.grid_code) == ("open311", "市民通", NW_GRID)
    assert (case.reporter_name, case.reporter_phone, case.reporter_email) == (
        "欧阳小明",
        "13912345678",
        "ouyang@example.com",
    )
    assert (case.device_id, case.account_id, case.address) == ("dev-1", "acct-1", "东华门大街 1 号")
    assert case.reporter is None and case.description == "路口有一堆垃圾"
    assert b"13912345678" not in response.content and b"ouyang@" not in response.content


def test_posting_in_xml_with_a_photo_as_multipart(
    client, city, case_taxonomy, api_key, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    response = client.post(
        f"{API}/requests.xml",
        {**_fields(api_key, first_name="Jane", last_name="Doe"), "media": upload(image_bytes())},
    )
    assert response.status_code == 200, response.content
    root = _xml(response)
    assert root.tag == "service_requests"
    request = root.find("request")
    assert [child.tag for child in request] == [
        "service_request_id",
        "service_notice",
        "account_id",
    ]
    case = Case.objects.get(pk=int(request.findtext("service_request_id")))
    assert case.reporter_name == "Jane Doe"
    photo = CasePhoto.objects.get(case=case)
    assert photo.stage == "report"
    [shown] = _json(client.get(f"{API}/requests/{case.pk}.json"))
    assert shown["media_url"] == f"http://testserver{photo.image.url}"


def test_posting_needs_no_csrf_token(city, case_taxonomy, api_key):
    response = _post(Client(enforce_csrf_checks=True), _fields(api_key))
    assert response.status_code == 200, response.content


def test_required_attributes_are_checked(client, city, case_taxonomy, api_key):
    _give_attributes(GARBAGE)
    missing = _post(client, _fields(api_key))
    assert missing.status_code == 400
    assert "attribute[AREA] (堆放面积) is required" in _json(missing)[0]["description"]
    unknown = _post(client, _fields(api_key, **{"attribute[AREA]": "huge"}))
    assert unknown.status_code == 400 and "does not offer huge" in unknown.content.decode()
    _nothing_stored()
    accepted = _post(
        client, _fields(api_key, **{"attribute[AREA]": "small", "attribute[NOTE]": "靠近公交站"})
    )
    assert accepted.status_code == 200, accepted.content


OUTSIDE = point(5000, 5000)


@pytest.mark.parametrize(
    ("changes", "status", "message"),
    [
        ({"api_key": None}, 403, "api_key is missing"),
        ({"api_key": "not-a-key"}, 403, "Invalid api_key"),
        ({"service_code": None}, 400, "service_code is missing"),
        ({"service_code": "99999"}, 404, "no active category '99999'"),
        ({"lat": OUTSIDE.y, "long": OUTSIDE.x}, 400, "outside every grid"),
        ({"lat": None, "long": None}, 400, "A location is needed"),
        (
            {"lat": None, "long": None, "address_string": "东华门大街 1 号"},
            400,
            "places requests by lat and long only",
        ),
        ({"lat": None}, 400, "Send both lat and long"),
        ({"lat": "north"}, 400, "lat must be a number"),
        ({"lat": "95"}, 400, "Latitude 95.0 is out of range"),
        ({"email": "not-an-address"}, 400, "is not an e-mail address"),
        ({"description": "垃" * 4001}, 400, "at most 4000"),
    ],
)
def test_refused_requests_get_the_spec_error_list_and_store_nothing(
    client, city, case_taxonomy, api_key, changes, status, message
):
    response = _post(client, _fields(api_key, **changes))
    assert response.status_code == status
    [error] = _json(response)
    assert error["code"] == status and message in error["description"]
    _nothing_stored()


def test_refusals_come_in_xml_too(client, city, case_taxonomy):
    response = _post(client, _fields(None), fmt="xml")
    assert response.status_code == 403
    root = _xml(response)
    assert root.tag == "errors" and [e.tag for e in root] == ["error"]
    assert root.findtext("error/code") == "403"
    assert "api_key is missing" in root.findtext("error/description")
    _nothing_stored()


def test_an_inactive_key_is_refused(client, city, case_taxonomy, api_key):
    Open311Key.objects.update(active=False)
    response = _post(client, _fields(api_key))
    assert response.status_code == 403 and "Invalid api_key" in response.content.decode()
    _nothing_stored()


def test_media_that_is_not_an_image_is_refused(
    client, city, case_taxonomy, api_key, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    response = client.post(
        f"{API}/requests.json",
        {**_fields(api_key), "media": upload(b"%PDF-1.4 not a photo", "scan.jpg")},
    )
    assert response.status_code == 400
    assert "is not a photo this system can read" in _json(response)[0]["description"]
    _nothing_stored()
    assert not list(tmp_path.rglob("*.*"))


def test_an_unknown_format_is_404_and_other_methods_405(client, city, case_taxonomy, api_key):
    response = client.get(f"{API}/services.yaml")
    assert response.status_code == 404
    assert "end the URL in .xml or .json" in _xml(response).findtext("error/description")
    assert _post(client, _fields(api_key), fmt="csv").status_code == 404
    response = client.get(f"{API}/tokens/1.json")  # no tokens: requests are realtime
    assert response.status_code == 404 and _json(response)[0]["code"] == 404
    _nothing_stored()
    response = client.delete(f"{API}/requests.json")
    assert response.status_code == 405 and response["Allow"] == "GET, HEAD, POST"
    assert _json(response)[0]["code"] == 405


# --- GET requests -------------------------------------------------------------------------------
def test_a_request_has_every_spec_field_in_both_formats(client, report, operator, sanitation):
    # A citizen's report is public (GEOGRID_PUBLIC_CASE_CHANNELS): every field is shown.
    case = report(
        50, 150, description="垃圾", address="东华门大街", actor=None, channel="citizen"
    ).case
    for status in ("accepted", "filed", "dispatched"):
        case = transition_case(case=case, to=status, actor=operator)
    [item] = _json(client.get(f"{API}/requests/{case.pk}.json"))
    assert list(item) == REQUEST_FIELDS
    assert item["service_request_id"] == case.pk and item["status"] == "open"
    assert item["status_notes"] == f"处置中 — dispatched to {SANITATION}"
    assert (item["service_name"], item["service_code"]) == ("暴露垃圾", GARBAGE)
    assert (item["description"], item["address"]) == ("垃圾", "东华门大街")
    assert item["agency_responsible"] == SANITATION
    assert NW_GRID in item["service_notice"]
    for name in ("requested_datetime", "updated_datetime", "expected_datetime"):
        assert W3C_DATETIME.match(item[name]), item[name]
    assert item["expected_datetime"] == timezone.localtime(case.deadline).isoformat(
        timespec="seconds"
    )
    assert (item["address_id"], item["zipcode"], item["media_url"]) == (None, None, None)
    assert item["lat"] == pytest.approx(point(50, 150).y, abs=1e-7)
    assert item["long"] == pytest.approx(point(50, 150).x, abs=1e-7)
    assert b'"lng"' not in client.get(f"{API}/requests/{case.pk}.json").content
    root = _xml(client.get(f"{API}/requests/{case.pk}.xml"))
    assert root.tag == "service_requests"
    [request] = root.findall("request")
    assert [child.tag for child in request] == REQUEST_FIELDS
    assert request.findtext("long") == str(item["long"])
    assert W3C_DATETIME.match(request.findtext("requested_datetime"))


@pytest.mark.parametrize("ident", ["999999", "abc", "²", "99999999999999999999"])
def test_an_unknown_request_is_404(client, report, ident):
    report(50, 150)
    response = client.get(f"{API}/requests/{ident}.json")
    assert response.status_code == 404
    assert _json(response)[0]["code"] == 404
    assert client.get(f"{API}/requests/{ident}.xml").status_code == 404
    if ident.isascii() and ident.isdigit():
        assert _ids(client.get(f"{API}/requests.json", {"service_request_id": ident})) == []


def test_requests_are_newest_first_within_the_last_90_days_by_default(client, report):
    now = timezone.now()
    old, recent, new = (report(50, 150).case for _ in range(3))
    _reported_at(old, now - timedelta(days=91))
    _reported_at(recent, now - timedelta(days=80))
    assert _ids(client.get(f"{API}/requests.json")) == [new.pk, recent.pk]


def test_at_most_max_requests_are_returned(client, report, monkeypatch):
    monkeypatch.setattr(open311, "MAX_REQUESTS", 2)
    cases = [report(50, 150).case for _ in range(3)]
    assert _ids(client.get(f"{API}/requests.json")) == [cases[2].pk, cases[1].pk]


def test_requests_filter_by_service_code(client, report):
    garbage = report(50, 150).case
    other = report(60, 150, service_code="06012").case
    report(70, 150, service_code=COVER_FAULT)
    assert _ids(client.get(f"{API}/requests.json", {"service_code": f"{GARBAGE},06012"})) == [
        other.pk,
        garbage.pk,
    ]
    # Declared several times, and empty (an optional argument given empty is not given).
    assert _ids(client.get(f"{API}/requests.json?service_code=06012&service_code={GARBAGE}")) == [
        other.pk,
        garbage.pk,
    ]
    assert len(_ids(client.get(f"{API}/requests.json", {"service_code": ""}))) == 3


def test_requests_filter_by_open_and_closed(client, report):
    cases = {
        status: report(50, 150).case
        for status in ("reported", "dispatched", "closed", "rejected", "cancelled")
    }
    for status, case in cases.items():
        Case.objects.filter(pk=case.pk).update(status=status)

    def ids(status: str) -> set[int]:
        return set(_ids(client.get(f"{API}/requests.json", {"status": status})))

    assert ids("open") == {cases["reported"].pk, cases["dispatched"].pk}
    assert ids("closed") == {cases["closed"].pk, cases["rejected"].pk, cases["cancelled"].pk}
    assert ids("open,closed") == ids("") == {case.pk for case in cases.values()}
    [item] = _json(client.get(f"{API}/requests/{cases['rejected'].pk}.json"))
    assert item["status"] == "closed" and item["status_notes"].startswith("不予受理")
    response = client.get(f"{API}/requests.json", {"status": "pending"})
    assert response.status_code == 400 and _json(response)[0]["code"] == 400


def test_requests_filter_by_date_range_with_offsets(client, report):
    first, second, third = (report(50, 150).case for _ in range(3))
    _reported_at(first, datetime(2026, 3, 1, 10, tzinfo=SHANGHAI))
    _reported_at(second, datetime(2026, 3, 5, 10, tzinfo=SHANGHAI))
    _reported_at(third, datetime(2026, 3, 10, 10, tzinfo=SHANGHAI))
    assert _ids(
        client.get(
            f"{API}/requests.json",
            {"start_date": "2026-03-02T00:00:00+08:00", "end_date": "2026-03-06T00:00:00Z"},
        )
    ) == [second.pk]
    # A bare end date includes that day; an unencoded "+" (a space once decoded) is understood.
    assert _ids(
        client.get(f"{API}/requests.json?start_date=2026-03-05T10:00:00+08:00&end_date=2026-03-10")
    ) == [third.pk, second.pk]
    # One end given: 90 days from it.
    assert _ids(client.get(f"{API}/requests.json", {"end_date": "2026-03-05T00:00:00Z"})) == [
        first.pk
    ]
    # The ids override every other argument, the default 90 days included.
    assert _ids(
        client.get(
            f"{API}/requests.json",
            {
                "service_request_id": f"{first.pk},{third.pk}",
                "status": "closed",
                "service_code": COVER_FAULT,
            },
        )
    ) == [third.pk, first.pk]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"start_date": "yesterday"}, "must be an ISO 8601 date-time"),
        ({"start_date": "2026-03-02T00:00:00"}, "has no time zone"),
        ({"end_date": "2026-13-02T00:00:00Z"}, "must be an ISO 8601 date-time"),
        (
            {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"},
            "may not span more than 90 days",
        ),
        (
            {"start_date": "2026-03-02T00:00:00Z", "end_date": "2026-03-01T00:00:00Z"},
            "end_date is before start_date",
        ),
        ({"service_request_id": "1,two"}, "service_request_id must be request ids"),
    ],
)
def test_bad_request_queries_are_400(client, report, query, message):
    response = client.get(f"{API}/requests.xml", query)
    assert response.status_code == 400
    assert message in _xml(response).findtext("error/description")


def test_requests_need_a_key_when_the_read_api_is_not_public(client, report, api_key, settings):
    case = report(50, 150).case
    settings.GEOGRID_PUBLIC_READ_API = False
    assert client.get(f"{API}/requests.json").status_code == 403
    assert client.get(f"{API}/requests/{case.pk}.json").status_code == 403
    assert _ids(client.get(f"{API}/requests.json", HTTP_X_API_KEY=api_key)) == [case.pk]
    assert _ids(client.get(f"{API}/requests/{case.pk}.json", HTTP_X_API_KEY=api_key)) == [case.pk]
    assert client.get(f"{API}/services.json").status_code == 200


def test_the_reporters_private_fields_are_never_shown(client, city, case_taxonomy, api_key):
    private = {
        "first_name": "小明",
        "last_name": "欧阳",
        "phone": "13912345678",
        "email": "ouyang.private@example.com",
        "device_id": "device-7f3a9",
        "account_id": "acct-55501",
    }
    posted = _post(client, _fields(api_key, **private))
    assert posted.status_code == 200, posted.content
    case_id = _json(posted)[0]["service_request_id"]
    outputs = [client.get(f"{API}/requests.{fmt}").content for fmt in ("json", "xml")]
    outputs += [client.get(f"{API}/requests/{case_id}.{fmt}").content for fmt in ("json", "xml")]
    for content in outputs:
        assert str(case_id).encode() in content
        for value in private.values():
            assert value.encode("utf-8") not in content
    for value in ("13912345678", "ouyang.private@example.com", "device-7f3a9"):
        assert value.encode() not in posted.content


# --- The key command ----------------------------------------------------------------------------
def test_create_open311_key_prints_the_key_once_and_refuses_a_duplicate_name(db):
    out = StringIO()
    call_command("create_open311_key", "12345热线", stdout=out)
    lines = out.getvalue().splitlines()
    key = lines[1]
    assert open311_key_for(key).name == "12345热线"
    assert "shown only now" in lines[2]
    with pytest.raises(CommandError, match="exists already"):
        call_command("create_open311_key", "12345热线", stdout=StringIO())


# --- Where the key goes, revoking it, throttling posts ----------------------------------------
def test_open311_key_in_the_query_string_is_refused_with_where_to_put_it(
    client, report, api_key, settings
):
    case = report(50, 150).case
    settings.GEOGRID_PUBLIC_READ_API = False
    response = client.get(f"{API}/requests.json", {"api_key": api_key})
    assert response.status_code == 400
    description = _json(response)[0]["description"]
    assert "not accepted in the URL" in description and "X-Api-Key" in description
    assert client.get(f"{API}/requests/{case.pk}.xml?api_key={api_key}").status_code == 400
    posted = client.post(
        f"{API}/requests.json?api_key={api_key}",
        urlencode(_fields(None)),
        content_type="application/x-www-form-urlencoded",
    )
    assert posted.status_code == 400 and "POST body" in _json(posted)[0]["description"]
    assert list(Case.objects.values_list("pk", flat=True)) == [case.pk]


def test_open311_key_in_the_x_api_key_header_posts_a_request(client, city, case_taxonomy, api_key):
    response = client.post(
        f"{API}/requests.json",
        urlencode(_fields(None)),
        content_type="application/x-www-form-urlencoded",
        HTTP_X_API_KEY=api_key,
    )
    assert response.status_code == 200, response.content
    case = Case.objects.get(pk=_json(response)[0]["service_request_id"])
    assert case.open311_key.name == "市民通"


def test_open311_header_key_is_checked_before_the_multipart_body_is_parsed(
    client, city, case_taxonomy, api_key
):
    # A body that Django's multipart parser refuses (400) if it ever reads it: with a wrong
    # key in the header the answer is the key's 403, so the body was never parsed.
    broken = b'--XYZ\r\nContent-Disposition: form-data; name="media"; filename="a.jpg"\r\n'
    headers = {"content_type": "multipart/form-data; boundary=XYZ"}
    refused = client.post(f"{API}/requests.json", broken, HTTP_X_API_KEY="wrong", **headers)
    assert refused.status_code == 403 and "Invalid api_key" in _json(refused)[0]["description"]
    # The same body with the right key is parsed, and refused for what it is.
    parsed = client.post(f"{API}/requests.json", broken, HTTP_X_API_KEY=api_key, **headers)
    assert parsed.status_code == 400
    _nothing_stored()


def test_open311_posts_are_throttled_by_key_and_by_address(
    client, city, case_taxonomy, api_key, settings
):
    settings.GEOGRID_OPEN311_POSTS_PER_MINUTE = 3
    other_key = create_open311_key(name="12345热线")[1]

    posts = iter(range(100))

    def post(key: str, address: str):
        # Each a different report: an identical one would be answered as a repeat.
        fields = {**_fields(key), "description": f"第{next(posts)}处积水"}
        return client.post(
            f"{API}/requests.json",
            urlencode(fields),
            content_type="application/x-www-form-urlencoded",
            REMOTE_ADDR=address,
        )

    for _ in range(3):
        assert post(api_key, "127.0.0.2").status_code == 200
    refused = post(api_key, "127.0.0.2")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert "Too many requests" in _json(refused)[0]["description"]
    # The address is spent, whatever key it sends; the key is spent, from any address.
    assert post(other_key, "127.0.0.2").status_code == 429
    assert post(api_key, "127.0.0.3").status_code == 429
    # Another key from another address is unaffected.
    assert post(other_key, "127.0.0.3").status_code == 200
    assert Case.objects.count() == 4


def test_wrong_open311_keys_count_against_the_address(
    client, city, case_taxonomy, api_key, settings
):
    settings.GEOGRID_OPEN311_POSTS_PER_MINUTE = 3
    for attempt in range(3):
        assert _post(client, _fields(f"guess-{attempt}")).status_code == 403
    assert _post(client, _fields(api_key)).status_code == 429
    _nothing_stored()


def test_revoked_open311_key_is_refused(client, city, case_taxonomy, api_key, admin_user):
    from geogrid.cases.open311_keys import revoke_open311_key

    record = Open311Key.objects.get(name="市民通")
    assert revoke_open311_key(key=record, actor=admin_user) is True
    record.refresh_from_db()
    assert not record.active and record.revoked_by == admin_user.username
    assert record.revoked_at is not None
    assert revoke_open311_key(key=record, actor=admin_user) is False  # once is enough
    response = _post(client, _fields(api_key))
    assert response.status_code == 403 and "no longer active" in _json(response)[0]["description"]
    _nothing_stored()


def test_revoke_open311_key_command_by_name_and_by_id(db):
    _, first = create_open311_key(name="12345热线")
    second_record, second = create_open311_key(name="市民通")
    out = StringIO()
    call_command("revoke_open311_key", "12345热线", stdout=out)
    assert "Revoked" in out.getvalue() and open311_key_for(first) is None
    call_command("revoke_open311_key", str(second_record.pk), stdout=StringIO())
    assert open311_key_for(second) is None
    out = StringIO()
    call_command("revoke_open311_key", "12345热线", stdout=out)
    assert "revoked already" in out.getvalue()
    with pytest.raises(CommandError, match="No Open311 key is named"):
        call_command("revoke_open311_key", "无此接入方", stdout=StringIO())


# --- Odd input and limits (issue 10) -----------------------------------------------------------------
@pytest.mark.parametrize(
    "query",
    [
        {"service_code": "\x00"},
        {"status": "\x00"},
        {"end_date": "0001-01-01"},
        {"start_date": "0001-01-01"},
        {"end_date": "9999-12-31T00:00:00Z"},
        {"start_date": "2026-02-30T00:00:00Z"},
    ],
)
def test_requests_query_with_nul_bytes_or_out_of_range_dates_is_400_in_open311_format(
    client, db, query
):
    response = client.get(f"{API}/requests.json", query)
    assert response.status_code == 400, response.content
    errors = _json(response)
    assert errors[0]["code"] == 400 and next(iter(query)) in errors[0]["description"]


def test_service_definition_with_a_nul_byte_is_400(client, db):
    response = client.get(f"{API}/services/%00.json")
    assert response.status_code == 400
    assert "service_code" in _json(response)[0]["description"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("service_code", "\x00"),
        ("description", "a\x00b"),
        ("email", "x" * 300 + "@example.cn"),
        ("first_name", "名" * 60),
    ],
)
def test_posted_fields_with_nul_bytes_or_too_long_are_400(
    client, city, case_taxonomy, api_key, field, value
):
    response = _post(client, _fields(api_key, **{field: value}))
    assert response.status_code == 400, response.content
    assert field in _json(response)[0]["description"]
    _nothing_stored()


def test_a_repeated_post_answers_with_the_first_request_id(
    client, city, case_taxonomy, api_key, settings
):
    settings.GEOGRID_OPEN311_REPEAT_WINDOW_S = 600
    first = _ids(_post(client, _fields(api_key)))
    again = _ids(_post(client, _fields(api_key)))
    assert again == first and Case.objects.count() == 1
    # Another description, point or service is another request.
    other = _ids(_post(client, _fields(api_key, description="另一堆垃圾")))
    assert other != first and Case.objects.count() == 2


def test_a_post_after_the_repeat_window_is_a_new_request(
    client, city, case_taxonomy, api_key, settings
):
    settings.GEOGRID_OPEN311_REPEAT_WINDOW_S = 600
    first = _ids(_post(client, _fields(api_key)))
    _reported_at(Case.objects.get(pk=first[0]), timezone.now() - timedelta(seconds=601))
    assert _ids(_post(client, _fields(api_key))) != first


def test_media_count_is_checked_before_any_photo_is_decoded(
    client, city, case_taxonomy, api_key, settings
):
    files = [upload(b"junk", name=f"{n}.jpg") for n in range(settings.GEOGRID_MAX_PHOTOS + 2)]
    response = client.post(f"{API}/requests.json", {**_fields(api_key), "media": files})
    assert response.status_code == 400
    assert f"at most {settings.GEOGRID_MAX_PHOTOS}" in _json(response)[0]["description"]
    _nothing_stored()


@pytest.mark.django_db(transaction=True)
def test_two_identical_posts_racing_make_one_case(city, case_taxonomy, settings):
    import threading

    from django.db import connection

    settings.GEOGRID_OPEN311_REPEAT_WINDOW_S = 600
    key = create_open311_key(name="市民通")[1]
    barrier, answers = threading.Barrier(2), []

    def post() -> None:
        try:
            barrier.wait(timeout=10)
            answers.append(_ids(_post(Client(), _fields(key))))
        finally:
            connection.close()  # each thread has its own database connection

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == 2 and answers[0] == answers[1]
    assert Case.objects.filter(channel="open311").count() == 1
