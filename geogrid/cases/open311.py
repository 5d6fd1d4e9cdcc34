"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) under /open311/v2/.

Client systems (hotline apps, city portals, other 12345 platforms) discover the service, list
the case classes of the active scheme as services, post reports and follow their status, in XML
(required by the spec) or JSON, chosen by the format suffix of every URL.

What the spec leaves open, and what we chose:

* A posted request is a case at once (the case id is the service_request_id), so every service
  is "realtime" and no token is ever returned.
* POST answers 200, not 201: the spec gives no status for success, its own v2.1 description
  (data/georeport_v2-1.yaml of the spec's repository) documents 200, and clients exist that were
  written against 200-only servers (the GeoReporter apps broke on Chicago's 201 and had to be
  patched). Every client accepts 200.
* An unknown service_code is a 404 on POST as on GET services/<code>: the spec lists "404 -
  service_code ... was not found" among the POST errors, and 400 when it was not provided.
* We cannot geocode, so address_string or address_id without lat and long is refused (400) with
  a message that says so; address_string next to lat/long is kept as the case's address.
* Attributes (attribute[code]=value) are checked against the class's definition (required ones
  present, list values among the keys) but not stored: submit_report has no place for them.
* Names: Chinese by default; English service names (name_en) and department names when the
  client asks for English with Accept-Language or the `locale` argument (as GeoReport v2.1 and
  several servers spell it).
* GET requests covers every channel's cases and never shows the reporter's name, phone, e-mail,
  device or account id. Readers are the public audience of cases/privacy.py: a case reported
  through a public channel (GEOGRID_PUBLIC_CASE_CHANNELS) shows its description, address,
  point and media_url; an internal one (inspector, hotline, video, api) only its category,
  status, dates and department, with lat/long left out or coarsened
  (GEOGRID_PRIVATE_CASE_POSITION). When GEOGRID_PUBLIC_READ_API is off it needs an api_key as
  well, in the X-Api-Key header.
* api_key travels in the POST body (the spec's place) or an X-Api-Key header, never in the URL
  (refused with a 400: URLs are logged). A key in the header is checked before the body is
  parsed. POSTs are throttled per key and per address (GEOGRID_OPEN311_POSTS_PER_MINUTE, 429
  with Retry-After).
"""

from __future__ import annotations

import json
import logging
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import (
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
    ValidationError,
)
from django.core.validators import validate_email
from django.db import DatabaseError
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation
from django.views.decorators.csrf import csrf_exempt

from geogrid.accounts import throttle
from geogrid.cases import workflow
from geogrid.cases.errors import ReportError
from geogrid.cases.intake import case_class_for, submit_open311_report
from geogrid.cases.models import (
    Case,
    CaseClass,
    CaseKind,
    CasePhoto,
    CaseStatus,
    Open311Key,
    PhotoStage,
)
from geogrid.cases.open311_keys import open311_key_for
from geogrid.cases.privacy import public_view
from geogrid.components.models import Department
from geogrid.components.services import active_scheme
from geogrid.core import params as qp
from geogrid.core.crs import CoordinateError, CRSError
from geogrid.core.db import database_failure, failure_message, log_failure, mark_unavailable
from geogrid.core.photos import PhotoError, check_photo, photo_uploads
from geogrid.core.replica import read_from_replica
from geogrid.grids.locate import OutsideAllGrids, locate

logger = logging.getLogger(__name__)

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# Where a client sends its key besides the POST body (the only place for reads that need one).
API_KEY_HEADER = "HTTP_X_API_KEY"
KEY_IN_URL = (
    "api_key is not accepted in the URL (URLs are written to logs and proxies): send "
    "it in the POST body (api_key) or in the X-Api-Key header."
)
# Discovery's changeset: the date this interface last changed. CaseClass has no timestamp, so
# changes of the service list itself cannot move it yet.
CHANGESET = "2026-11-26"
CONTENT_TYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
# The spec's default response volume: the last 90 days, at most 1000 requests.
DEFAULT_SPAN = timedelta(days=90)
MAX_REQUESTS = 1000
MAX_DESCRIPTION = 4000  # "free form text limited to 4,000 characters"

# XML element of each item of a list, by the list's element (the Spark convention the spec uses
# to map XML to JSON: <services><service/>…</services> is a JSON array of services).
ITEM_ELEMENTS = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
}
# Characters XML 1.0 cannot carry at all (ElementTree would write them and break the document).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ATTRIBUTE_FIELD = re.compile(r"^attribute\[(?P<code>[^\[\]]+)\](?:\[\])?$")
_CJK = re.compile(r"[\u3400-\u9fff]")

# status_notes: the workflow status in plain words, after its label.
_STATUS_NOTES = {
    CaseStatus.REPORTED: "received, waiting to be accepted by the command center",
    CaseStatus.ACCEPTED: "accepted, waiting to be filed as a case",
    CaseStatus.FILED: "filed, waiting to be dispatched",
    CaseStatus.DISPATCHED: "dispatched to {department}",
    CaseStatus.RETURNED: "returned by the department, waiting to be dispatched again",
    CaseStatus.EXTENSION_REQUESTED: "{department} asked for more time",
    CaseStatus.PARKED: "on hold (parked) until it can be handled",
    CaseStatus.HANDLED: "{department} reports it handled, waiting to be checked on site",
    CaseStatus.REWORK: "not fixed when checked, {department} is working on it again",
    CaseStatus.CHECKED: "checked on site, waiting to be closed",
    CaseStatus.CLOSED: "resolved and closed",
    CaseStatus.REJECTED: "not accepted as a case",
    CaseStatus.CANCELLED: "cancelled",
}


class Open311Error(Exception):
    """A refusal in the spec's terms: the HTTP status and one or more descriptions."""

    def __init__(self, status: int, *descriptions: str, retry_after: int = 0) -> None:
        super().__init__(*descriptions)
        self.status = status
        self.descriptions = descriptions
        self.retry_after = retry_after


# --- Rendering ----------------------------------------------------------------------------------
def _xml_fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for name, item in value.items():
            _xml_fill(ET.SubElement(element, name), item)
    elif isinstance(value, list):
        item_name = ITEM_ELEMENTS[element.tag]
        for item in value:
            _xml_fill(ET.SubElement(element, item_name), item)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = _XML_INVALID.sub("", str(value))


def _json_value(value: Any) -> Any:
    """Empty text becomes null, as the spec's JSON examples map empty XML elements."""
    if isinstance(value, dict):
        return {name: _json_value(item) for name, item in value.items()}
    if isinstance(value, list):
        return [_json_value(item) for item in value]
    if value == "":
        return None
    return value


def render(fmt: str, root: str, data: Any, *, status: int = 200) -> HttpResponse:
    """`data` as a UTF-8 JSON document, or as XML under the element `root`."""
    if fmt == "json":
        body = json.dumps(_json_value(data), ensure_ascii=False).encode("utf-8")
    else:
        element = ET.Element(root)
        _xml_fill(element, data)
        body = ET.tostring(element, encoding="UTF-8", xml_declaration=True)
    return HttpResponse(body, status=status, content_type=CONTENT_TYPES[fmt])


def render_errors(fmt: str, status: int, descriptions: Iterable[str]) -> HttpResponse:
    return render(
        fmt,
        "errors",
        [{"code": status, "description": text} for text in descriptions],
        status=status,
    )


def _language(request: HttpRequest) -> str:
    """English when `locale` (en, en_US, …) or, without it, Accept-Language asks for it."""
    asked = (request.GET.get("locale") or "").strip().lower()
    if not asked:
        asked = getattr(request, "LANGUAGE_CODE", "") or settings.LANGUAGE_CODE
    return "en" if asked.startswith("en") else settings.LANGUAGE_CODE


def open311_view(
    *methods: str,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Wrap a view taking `fmt`: 404 for an unknown format (in XML, the format every server
    must offer), 405 for other methods, Open311Error and the intake errors as the spec's error
    list, names in the asked language. CSRF-exempt: clients authenticate with api_key, never
    with a session cookie."""
    allowed = {*methods, "HEAD"} if "GET" in methods else set(methods)

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, fmt: str, **kwargs: Any) -> HttpResponse:
            if fmt not in CONTENT_TYPES:
                return render_errors(
                    "xml", 404, [f"Unknown format {fmt!r}: end the URL in .xml or .json."]
                )
            if request.method not in allowed:
                response = render_errors(
                    fmt,
                    405,
                    [
                        f"{request.method} is not supported here; use {' or '.join(sorted(methods))}."
                    ],
                )
                response["Allow"] = ", ".join(sorted(allowed))
                return response
            language = _language(request)
            with translation.override(language):
                try:
                    if "api_key" in request.GET:
                        raise Open311Error(400, KEY_IN_URL)
                    response = view(request, *args, fmt=fmt, **kwargs)
                except Open311Error as exc:
                    response = render_errors(fmt, exc.status, exc.descriptions)
                    if exc.retry_after:
                        response["Retry-After"] = str(exc.retry_after)
                except (ReportError, PhotoError, CRSError, CoordinateError, qp.ParamError) as exc:
                    response = render_errors(fmt, 400, [str(exc)])
                except RequestDataTooBig:
                    response = render_errors(
                        fmt, 413, ["The request is too large: send fewer or smaller photos."]
                    )
                except (TooManyFieldsSent, TooManyFilesSent) as exc:
                    response = render_errors(
                        fmt, 400, [f"The request has too many form fields or files: {exc}"]
                    )
                except DatabaseError as exc:
                    # Down, restarting or too slow: the spec's error list, 503, Retry-After.
                    kind = database_failure(exc)
                    if kind is None:
                        raise
                    log_failure(request, kind, exc)
                    response = mark_unavailable(render_errors(fmt, 503, [failure_message(kind)]))
            # Set before LocaleMiddleware, which would name the request's language instead.
            response["Content-Language"] = language
            return response

        # Reading requests may be a moment old (a read replica, geogrid/core/replica.py);
        # POSTs always go to the primary.
        return read_from_replica(wrapper)

    return decorate


# --- Parsing ------------------------------------------------------------------------------------
def _split(params: Any, name: str) -> list[str]:
    """A comma-delimited argument, also when declared several times."""
    return qp.texts(params, name)


def _field(params: Any, name: str, max_length: int = 200) -> str:
    """A text argument, stripped: NUL bytes and over-long values are a 400 naming it."""
    return qp.text(params, name, default="", max_length=max_length) or ""


def _is_id(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _number(text: str, name: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise Open311Error(400, f"{name} must be a number (WGS84 degrees), not {text!r}.") from None


def _point(params: Any) -> tuple[float, float] | None:
    """(long, lat) from the spec's `lat` and `long`, None when neither is given."""
    lat, lon = _field(params, "lat", 40), _field(params, "long", 40)
    if not lat and not lon:
        return None
    if not (lat and lon):
        raise Open311Error(400, "Send both lat and long (WGS84 degrees), as two parameters.")
    return _number(lon, "long"), _number(lat, "lat")


def _datetime(text: str, name: str) -> tuple[datetime, bool]:
    """A W3C datetime with its offset, or a bare date (its midnight, server time); the flag
    says which (the one rule of geogrid.core.params)."""
    return qp.parse_moment(text, name, date_ok=True)


def _date_range(start_text: str, end_text: str) -> tuple[datetime, datetime]:
    """The spec's window, both ends included: both given, at most 90 days apart; one given, 90
    days from it; none, the most recent 90 days. An end_date without a time includes that
    whole day."""
    start = _datetime(start_text, "start_date")[0] if start_text else None
    end, whole_day = _datetime(end_text, "end_date") if end_text else (None, False)
    if start is None and end is None:
        end = timezone.now()
    if start is None:
        start = end - DEFAULT_SPAN
    if end is None:
        end = start + DEFAULT_SPAN
    if end < start:
        raise Open311Error(400, "end_date is before start_date.")
    if end - start > DEFAULT_SPAN:
        raise Open311Error(
            400,
            "start_date and end_date may not span more than 90 days; ask "
            "for a longer period in several requests.",
        )
    if whole_day:
        end += timedelta(days=1, microseconds=-1)
    return start, end


def _posted_attributes(data: Any) -> dict[str, list[str]]:
    """attribute[code]=value and attribute[code][]=value (multivaluelist), by code."""
    found: dict[str, list[str]] = {}
    for field in data:
        match = _ATTRIBUTE_FIELD.match(field)
        if match:
            values = [v.strip() for v in data.getlist(field) if v.strip()]
            found.setdefault(match["code"], []).extend(values)
    return found


def _check_attributes(case_class: CaseClass, posted: dict[str, list[str]]) -> None:
    """Refuse a request that lacks a required attribute or names a list value the definition
    does not offer; anything else is accepted (and, for now, not stored)."""
    problems = []
    for attribute in _attributes(case_class):
        if not attribute["variable"]:
            continue
        code, values = attribute["code"], posted.get(str(attribute["code"]), [])
        label = attribute["description"] or code
        if not values:
            if attribute["required"]:
                problems.append(
                    f"attribute[{code}] ({label}) is required for service_code "
                    f"{case_class.service_code}."
                )
            continue
        if attribute["datatype"] in ("singlevaluelist", "multivaluelist"):
            keys = {str(value["key"]) for value in attribute["values"]}
            unknown = [value for value in values if value not in keys]
            if unknown:
                problems.append(
                    f"attribute[{code}] ({label}) does not offer "
                    f"{', '.join(unknown)}; choose from {', '.join(sorted(keys))}."
                )
            elif attribute["datatype"] == "singlevaluelist" and len(values) > 1:
                problems.append(f"attribute[{code}] ({label}) takes one value.")
        elif attribute["datatype"] == "number":
            for value in values:
                try:
                    ok = math.isfinite(float(value))
                except ValueError:
                    ok = False
                if not ok:
                    problems.append(f"attribute[{code}] ({label}) must be a number, not {value!r}.")
    if problems:
        raise Open311Error(400, *problems)


def _reporter_name(first: str, last: str) -> str:
    """Chinese names put the family name first, without a space (张 + 三 → 张三)."""
    first, last = first.strip(), last.strip()
    if _CJK.search(first + last):
        return f"{last}{first}"
    return " ".join(part for part in (first, last) if part)


def _header_key(request: HttpRequest) -> str:
    return request.META.get(API_KEY_HEADER, "").strip()


def _api_key(request: HttpRequest, data: Any = None) -> Open311Key:
    """The client's key from the X-Api-Key header or, for a POST, the body's api_key (the
    spec's place); never from the URL (refused before any view runs)."""
    given = _header_key(request)
    if not given and data is not None:
        given = (data.get("api_key") or "").strip()
    key = open311_key_for(given)
    if key is None:
        # Never the key itself, nor a part of it.
        logger.warning(
            "open311 key refused", extra={"reason": "unknown or revoked" if given else "missing"}
        )
        where = (
            "the POST body (api_key) or the X-Api-Key header"
            if data is not None
            else "the X-Api-Key header"
        )
        raise Open311Error(
            403,
            "Invalid api_key: it is unknown or no longer active."
            if given
            else f"api_key is missing: send it in {where}; ask the "
            "operator of this server for one.",
        )
    return key


def _throttle_post(counter: throttle.Counter) -> None:
    """One more post from this address or with this key: 429 with Retry-After past
    GEOGRID_OPEN311_POSTS_PER_MINUTE (every attempt counts for the address, a wrong key too)."""
    wait = throttle.hit(counter)
    if wait:
        logger.warning("open311 post throttled", extra={"scope": counter.kind, "retry_after": wait})
        raise Open311Error(
            429,
            f"Too many requests: at most "
            f"{settings.GEOGRID_OPEN311_POSTS_PER_MINUTE} posts a minute "
            f"are accepted. Try again in {wait} seconds.",
            retry_after=wait,
        )


# --- Serialisation ------------------------------------------------------------------------------
def _english() -> bool:
    return translation.get_language() == "en"


def _department_name(department: Department | None) -> str:
    if department is None:
        return ""
    return department.name_en if _english() and department.name_en else department.name


def _local(value: datetime | None) -> str | None:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


def _attributes(case_class: CaseClass) -> list[dict[str, Any]]:
    """The class's attributes in the spec's fields and order, sorted by `order`."""
    attributes = [
        {
            "variable": bool(raw.get("variable", True)),
            "code": raw.get("code", ""),
            "datatype": raw.get("datatype", "string"),
            "required": bool(raw.get("required", False)),
            "datatype_description": raw.get("datatype_description") or "",
            "order": raw.get("order"),
            "description": raw.get("description") or "",
            "values": [
                {"key": value.get("key"), "name": value.get("name", "")}
                for value in raw.get("values") or []
            ],
        }
        for raw in case_class.attributes or []
    ]
    return sorted(attributes, key=lambda item: (item["order"] is None, item["order"] or 0))


def _service(case_class: CaseClass) -> dict[str, Any]:
    name = case_class.name_en if _english() and case_class.name_en else case_class.name
    return {
        "service_code": case_class.service_code,
        "service_name": name,
        "description": case_class.filing_condition,
        "metadata": bool(case_class.attributes),
        "type": "realtime",
        "keywords": ", ".join([case_class.major_name, str(CaseKind(case_class.kind).label)]),
        "group": case_class.major_name,
    }


def _service_notice(case: Case, *, names_grid: bool = True) -> str:
    department = _department_name(case.department)
    if not names_grid:
        if department:
            return f"Routed to {department}."
        return "The command center will choose the department that handles it."
    where = f"Placed in grid {case.grid_code}"
    if case.grid.name and case.grid.name != case.grid_code:
        where += f" {case.grid.name}"
    if department:
        return f"{where}; routed to {department}."
    return f"{where}; the command center will choose the department that handles it."


def _status_notes(case: Case) -> str:
    department = _department_name(case.department) or "the department"
    text = _STATUS_NOTES[CaseStatus(case.status)].format(department=department)
    return f"{CaseStatus(case.status).label} — {text}"


def _service_request(case: Case, request: HttpRequest) -> dict[str, Any]:
    """One case as a GeoReport request. Built field by field: the reporter's name, phone,
    e-mail, device and account never leave the server; what else the public sees of the case
    is cases/privacy.py's `public_view`."""
    view = public_view(case)
    photos = case.report_photos if view.shows_photos else []  # prefetched by _cases()
    name = case.case_class.name
    if _english() and case.case_class.name_en:
        name = case.case_class.name_en
    data = {
        "service_request_id": case.pk,
        "status": "closed" if case.status in workflow.FINAL_STATUSES else "open",
        "status_notes": _status_notes(case),
        "service_name": name,
        "service_code": case.case_class.service_code,
        "description": view.description,
        "agency_responsible": _department_name(case.department),
        "service_notice": _service_notice(case, names_grid=view.names_grid),
        "requested_datetime": _local(case.reported_at),
        "updated_datetime": _local(case.updated_at),
        "expected_datetime": _local(case.deadline),
        "address": view.address,
        "address_id": "",
        "zipcode": "",
        # Stored in CGCS2000, which agrees with WGS84 to well under a metre (core.crs).
        "lat": round(view.position[1], 8) if view.position else None,
        "long": round(view.position[0], 8) if view.position else None,
        "media_url": request.build_absolute_uri(photos[0].image.url) if photos else "",
    }
    if view.position is None:  # left out, not null: the spec's lat/long are optional
        del data["lat"], data["long"]
    return data


def _cases() -> QuerySet[Case]:
    return (
        Case.objects.select_related("case_class", "department", "grid")
        .prefetch_related(
            Prefetch(
                "photos",
                queryset=CasePhoto.objects.filter(stage=PhotoStage.REPORT).order_by(
                    "created_at", "id"
                ),
                to_attr="report_photos",
            )
        )
        .order_by("-reported_at", "-id")
    )


def _active_classes() -> QuerySet[CaseClass]:
    return CaseClass.objects.filter(scheme=active_scheme(), active=True).order_by("service_code")


def _require_read_key(request: HttpRequest) -> None:
    """Case reads are public unless GEOGRID_PUBLIC_READ_API is off; then they need a key."""
    if not settings.GEOGRID_PUBLIC_READ_API:
        _api_key(request)


# --- Views --------------------------------------------------------------------------------------
@open311_view("GET")
def discovery(request: HttpRequest, *, fmt: str) -> HttpResponse:
    """Service discovery: where the v2 endpoint is and which formats it speaks."""
    endpoint = request.build_absolute_uri("./").rstrip("/")
    return render(
        fmt,
        "discovery",
        {
            "changeset": CHANGESET,
            "contact": settings.GEOGRID_OPEN311_CONTACT,
            "key_service": settings.GEOGRID_OPEN311_KEY_SERVICE,
            "endpoints": [
                {
                    "specification": SPECIFICATION,
                    "url": endpoint,
                    "changeset": CHANGESET,
                    "type": "production",
                    "formats": ["text/xml", "application/json"],
                }
            ],
        },
    )


@open311_view("GET")
def service_list(request: HttpRequest, *, fmt: str) -> HttpResponse:
    """The active case classes as services; with lat/long, those that can be reported there
    (all of them inside the city's grids, none outside)."""
    point = _point(request.GET)
    if point is not None:
        try:
            locate(*point, 4326)
        except OutsideAllGrids:
            return render(fmt, "services", [])
    return render(fmt, "services", [_service(c) for c in _active_classes()])


@open311_view("GET")
def service_definition(request: HttpRequest, service_code: str, *, fmt: str) -> HttpResponse:
    """The attributes a request of this service may or must carry (empty for most)."""
    qp.check_text(service_code, "service_code", max_length=30)
    case_class = _active_classes().filter(service_code=service_code).first()
    if case_class is None:
        raise Open311Error(
            404, f"There is no service {service_code!r}; the list is at services.{fmt}."
        )
    return render(
        fmt,
        "service_definition",
        {"service_code": case_class.service_code, "attributes": _attributes(case_class)},
    )


@open311_view("GET", "POST")
def service_requests(request: HttpRequest, *, fmt: str) -> HttpResponse:
    """GET: the requests matching the filters, newest first. POST: report a problem."""
    if request.method == "POST":
        return _create_request(request, fmt)
    _require_read_key(request)
    params = request.GET
    ids = _split(params, "service_request_id")
    cases = _cases()
    if ids:
        # "This overrides all other arguments."
        if not all(_is_id(part) for part in ids):
            raise Open311Error(
                400,
                "service_request_id must be request ids separated by commas, such as 1021,1022.",
            )
        cases = cases.filter(pk__in=[int(part) for part in ids[:MAX_REQUESTS]])
    else:
        start, end = _date_range(_field(params, "start_date", 64), _field(params, "end_date", 64))
        cases = cases.filter(reported_at__gte=start, reported_at__lte=end)
        codes = _split(params, "service_code")
        if codes:
            cases = cases.filter(case_class__service_code__in=codes)
        statuses = set(_split(params, "status"))
        if statuses - {"open", "closed"}:
            raise Open311Error(
                400,
                f"status may be open, closed or both (open,closed), not "
                f"{','.join(sorted(statuses))!r}.",
            )
        if statuses == {"open"}:
            cases = cases.exclude(status__in=workflow.FINAL_STATUSES)
        elif statuses == {"closed"}:
            cases = cases.filter(status__in=workflow.FINAL_STATUSES)
    return render(
        fmt, "service_requests", [_service_request(case, request) for case in cases[:MAX_REQUESTS]]
    )


@open311_view("GET")
def service_request(request: HttpRequest, service_request_id: str, *, fmt: str) -> HttpResponse:
    """One request, as a list of one (the spec's shape)."""
    _require_read_key(request)
    case = (
        _cases().filter(pk=int(service_request_id)).first() if _is_id(service_request_id) else None
    )
    if case is None:
        raise Open311Error(404, f"There is no service request {service_request_id!r}.")
    return render(fmt, "service_requests", [_service_request(case, request)])


@csrf_exempt
def not_found(request: HttpRequest, path: str) -> HttpResponse:
    """Anything else under /open311/v2/: the spec's 404, in JSON when the path asks for it."""
    fmt = "json" if path.endswith(".json") else "xml"
    return render_errors(
        fmt,
        404,
        [f"There is no resource {path!r} in GeoReport v2 here; discovery.xml lists the endpoint."],
    )


def _create_request(request: HttpRequest, fmt: str) -> HttpResponse:
    """POST requests: the throttle (429), the key (403), the service (400/404), attributes and
    location (400), then one submit_report; no case is written before every check has passed
    (only the throttle's counts are)."""
    # Throttle and check a key sent as a header before request.POST parses the body, so a
    # client without a valid key cannot make the server read a large upload.
    _throttle_post(throttle.open311_address(request))
    if _header_key(request):
        key = _api_key(request)
        data = request.POST
    else:
        data = request.POST
        key = _api_key(request, data)
    logger.info("open311 key used", extra={"key_id": key.pk})
    _throttle_post(throttle.open311_key(key.pk))
    service_code = _field(data, "service_code", 30)
    if not service_code:
        raise Open311Error(
            400, f"service_code is missing; the list of services is at services.{fmt}."
        )
    try:
        case_class = case_class_for(service_code)
    except ReportError as exc:
        raise Open311Error(404, str(exc)) from None
    _check_attributes(case_class, _posted_attributes(data))
    point = _point(data)
    if point is None:
        if _field(data, "address_string", 255) or _field(data, "address_id"):
            raise Open311Error(
                400,
                "This server places requests by lat and long only: it "
                "cannot look up address_string or address_id. Send lat "
                "and long (WGS84) too; address_string is kept as the "
                "address.",
            )
        raise Open311Error(400, "A location is needed: send lat and long (WGS84).")
    description = _field(data, "description", MAX_DESCRIPTION)
    email = _field(data, "email", 254)
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise Open311Error(400, f"email {email!r} is not an e-mail address.") from None
    # media_url is accepted and ignored: we store only photos we have checked ourselves.
    # Counted before any is decoded: decoding is what costs.
    photos = [check_photo(upload) for upload in photo_uploads(request.FILES, "media")]
    account_id = _field(data, "account_id", 100)
    reporter_name = _reporter_name(_field(data, "first_name", 50), _field(data, "last_name", 50))
    # A repeat of a recent identical request answers with that request's id.
    case, _created = submit_open311_report(
        open311_key=key,
        service_code=service_code,
        x=point[0],
        y=point[1],
        description=description,
        address=_field(data, "address_string", 255),
        photos=photos,
        reporter_name=reporter_name,
        reporter_phone=_field(data, "phone", 40),
        reporter_email=email,
        device_id=_field(data, "device_id", 100),
        account_id=account_id,
    )
    # The submitter's own account_id goes back to the submitter only; GET never shows it.
    return render(
        fmt,
        "service_requests",
        [
            {
                "service_request_id": case.pk,
                "service_notice": _service_notice(case),
                "account_id": account_id,
            }
        ],
    )
