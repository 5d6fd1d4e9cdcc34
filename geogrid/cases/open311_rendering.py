"""Open311 GeoReport v2, what goes out: XML and JSON documents, and cases and case classes in
the spec's fields (the views are in cases/open311.py)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from geogrid.cases import workflow
from geogrid.cases.models import Case, CaseClass, CaseKind, CaseStatus
from geogrid.cases.privacy import public_view
from geogrid.components.models import Department

CONTENT_TYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}

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


def _english() -> bool:
    return translation.get_language() == "en"


def _department_name(department: Department | None) -> str:
    if department is None:
        return ""
    return department.name_en if _english() and department.name_en else department.name


def _local(value: datetime | None) -> str | None:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


def serialise_attributes(case_class: CaseClass) -> list[dict[str, Any]]:
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


def serialise_service(case_class: CaseClass) -> dict[str, Any]:
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


def service_notice(case: Case, *, names_grid: bool = True) -> str:
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


def serialise_request(case: Case, request: HttpRequest) -> dict[str, Any]:
    """One case as a GeoReport request. Built field by field: the reporter's name, phone,
    e-mail, device and account never leave the server; what else the public sees of the case
    is cases/privacy.py's `public_view`."""
    view = public_view(case)
    photos = case.report_photos if view.shows_photos else []  # prefetched by open311._cases()
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
        "service_notice": service_notice(case, names_grid=view.names_grid),
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
