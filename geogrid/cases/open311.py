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

The views are here; what goes out (XML, JSON, cases and services in the spec's fields) is in
cases/open311_rendering.py, what comes in (the view wrapper, arguments, key, throttle) in
cases/open311_http.py.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from geogrid.accounts import throttle
from geogrid.cases import workflow
from geogrid.cases.errors import ReportError
from geogrid.cases.intake import case_class_for, submit_open311_report
from geogrid.cases.models import Case, CaseClass, CasePhoto, PhotoStage
from geogrid.cases.open311_http import (
    Open311Error,
    api_key_of,
    check_attributes,
    date_range,
    header_key,
    is_id,
    open311_view,
    point_from,
    posted_attributes,
    reporter_name_of,
    split_values,
    text_field,
    throttle_post,
)
from geogrid.cases.open311_rendering import (
    render,
    render_errors,
    serialise_attributes,
    serialise_request,
    serialise_service,
    service_notice,
)
from geogrid.components.schemes import active_scheme
from geogrid.core import params as qp
from geogrid.core.photos import check_photo, photo_uploads
from geogrid.grids.locate import OutsideAllGrids, locate

logger = logging.getLogger(__name__)

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# Discovery's changeset: the date this interface last changed. CaseClass has no timestamp, so
# changes of the service list itself cannot move it yet.
CHANGESET = "2026-11-26"
# The spec's default response volume: at most 1000 requests (the window is open311_http's).
MAX_REQUESTS = 1000
MAX_DESCRIPTION = 4000  # "free form text limited to 4,000 characters"


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
        api_key_of(request)


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
    point = point_from(request.GET)
    if point is not None:
        try:
            locate(*point, 4326)
        except OutsideAllGrids:
            return render(fmt, "services", [])
    return render(fmt, "services", [serialise_service(c) for c in _active_classes()])


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
        {"service_code": case_class.service_code, "attributes": serialise_attributes(case_class)},
    )


@open311_view("GET", "POST")
def service_requests(request: HttpRequest, *, fmt: str) -> HttpResponse:
    """GET: the requests matching the filters, newest first. POST: report a problem."""
    if request.method == "POST":
        return _create_request(request, fmt)
    _require_read_key(request)
    params = request.GET
    ids = split_values(params, "service_request_id")
    cases = _cases()
    if ids:
        # "This overrides all other arguments."
        if not all(is_id(part) for part in ids):
            raise Open311Error(
                400,
                "service_request_id must be request ids separated by commas, such as 1021,1022.",
            )
        cases = cases.filter(pk__in=[int(part) for part in ids[:MAX_REQUESTS]])
    else:
        start, end = date_range(
            text_field(params, "start_date", 64), text_field(params, "end_date", 64)
        )
        cases = cases.filter(reported_at__gte=start, reported_at__lte=end)
        codes = split_values(params, "service_code")
        if codes:
            cases = cases.filter(case_class__service_code__in=codes)
        statuses = set(split_values(params, "status"))
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
        fmt, "service_requests", [serialise_request(case, request) for case in cases[:MAX_REQUESTS]]
    )


@open311_view("GET")
def service_request(request: HttpRequest, service_request_id: str, *, fmt: str) -> HttpResponse:
    """One request, as a list of one (the spec's shape)."""
    _require_read_key(request)
    case = (
        _cases().filter(pk=int(service_request_id)).first() if is_id(service_request_id) else None
    )
    if case is None:
        raise Open311Error(404, f"There is no service request {service_request_id!r}.")
    return render(fmt, "service_requests", [serialise_request(case, request)])


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
    throttle_post(throttle.open311_address(request))
    if header_key(request):
        key = api_key_of(request)
        data = request.POST
    else:
        data = request.POST
        key = api_key_of(request, data)
    logger.info("open311 key used", extra={"key_id": key.pk})
    throttle_post(throttle.open311_key(key.pk))
    service_code = text_field(data, "service_code", 30)
    if not service_code:
        raise Open311Error(
            400, f"service_code is missing; the list of services is at services.{fmt}."
        )
    try:
        case_class = case_class_for(service_code)
    except ReportError as exc:
        raise Open311Error(404, str(exc)) from None
    check_attributes(case_class, posted_attributes(data))
    point = point_from(data)
    if point is None:
        if text_field(data, "address_string", 255) or text_field(data, "address_id"):
            raise Open311Error(
                400,
                "This server places requests by lat and long only: it "
                "cannot look up address_string or address_id. Send lat "
                "and long (WGS84) too; address_string is kept as the "
                "address.",
            )
        raise Open311Error(400, "A location is needed: send lat and long (WGS84).")
    description = text_field(data, "description", MAX_DESCRIPTION)
    email = text_field(data, "email", 254)
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise Open311Error(400, f"email {email!r} is not an e-mail address.") from None
    # media_url is accepted and ignored: we store only photos we have checked ourselves.
    # Counted before any is decoded: decoding is what costs.
    photos = [check_photo(upload) for upload in photo_uploads(request.FILES, "media")]
    account_id = text_field(data, "account_id", 100)
    reporter_name = reporter_name_of(
        text_field(data, "first_name", 50), text_field(data, "last_name", 50)
    )
    # A repeat of a recent identical request answers with that request's id.
    case, _created = submit_open311_report(
        open311_key=key,
        service_code=service_code,
        x=point[0],
        y=point[1],
        description=description,
        address=text_field(data, "address_string", 255),
        photos=photos,
        reporter_name=reporter_name,
        reporter_phone=text_field(data, "phone", 40),
        reporter_email=email,
        device_id=text_field(data, "device_id", 100),
        account_id=account_id,
    )
    # The submitter's own account_id goes back to the submitter only; GET never shows it.
    return render(
        fmt,
        "service_requests",
        [
            {
                "service_request_id": case.pk,
                "service_notice": service_notice(case),
                "account_id": account_id,
            }
        ],
    )
