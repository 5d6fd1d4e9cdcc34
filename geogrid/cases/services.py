"""Everything that changes a case: intake (`submit_report`), the workflow (`transition_case`),
escalation, overdue flags, API keys, the calendar. Transactional, keyword-only, with an explicit
actor, and every change appends a CaseEvent.

Intake is a hot path (every report from every channel): after the checks that need no database
(category, kept briefly per process; coordinates; photos; the named component when there is
one) a single prepared statement finds the grid path, the area class and routing rule, the
possible duplicates, and writes the case and its first event (bench/README.md: p99 ~2 ms).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from geogrid.cases import workflow
from geogrid.cases.models import (
    CalendarDay,
    CalendarDayKind,
    Case,
    CaseClass,
    CaseEvent,
    CaseKind,
    CasePhoto,
    CaseStatus,
    Channel,
    Open311Key,
    Open311KeyEvent,
    PhotoStage,
    RoutedBy,
)
from geogrid.components.models import Component, Department
from geogrid.components.services import active_scheme
from geogrid.core.codes import CodeError, parse_component_code
from geogrid.core.crs import point_to_storage
from geogrid.core.db import RawCursor, raw_cursor
from geogrid.core.logs import log_on_commit
from geogrid.core.permissions import user_role
from geogrid.core.photos import CheckedPhoto
from geogrid.core.worktime import WorkCalendar, parse_work_hours, read_holiday_file
from geogrid.grids.locate import Location, OutsideAllGrids, locate_storage
from geogrid.grids.models import Grid

logger = logging.getLogger(__name__)

ESCALATION = ("unit", "community", "street", "district")


class ReportError(ValueError):
    """A report that cannot be taken in: `field` names the input at fault."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class TransitionError(ValueError):
    """A move the workflow does not allow, or one missing what it needs."""


class TransitionForbidden(PermissionError):
    """The actor's role or scope does not allow this move on this case."""


# --- The working calendar ------------------------------------------------------------------------
@lru_cache(maxsize=4)
def _calendar(stamp: tuple) -> WorkCalendar:
    days, _hours = stamp
    return WorkCalendar(
        parse_work_hours(settings.GEOGRID_WORK_HOURS),
        holidays=[d for d, kind in days if kind == CalendarDayKind.HOLIDAY],
        workdays=[d for d, kind in days if kind == CalendarDayKind.WORKDAY],
        tz=timezone.get_default_timezone(),
    )


def work_calendar() -> WorkCalendar:
    """The calendar from the CalendarDay rows and GEOGRID_WORK_HOURS; rebuilt when either
    changes (the rows are a few dozen a year: reading them decides)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT date, kind FROM cases_calendarday ORDER BY date")
        stamp = (tuple(cursor.fetchall()), settings.GEOGRID_WORK_HOURS)
    return _calendar(stamp)


@transaction.atomic
def load_calendar(*, path: str | Path) -> tuple[int, int]:
    """Load holidays and make-up working days from a holiday file (format:
    core.worktime.read_holiday_file). All or nothing: every row is checked first
    (CalendarFileError lists the bad ones) and the rows are written in one transaction. The file
    is the authority for each year it contains: that year's dates are inserted or updated, and
    dates of that year the file no longer lists are removed (a corrected notice replaces the
    old one); other years are left alone. Returns (holidays, workdays) in the file."""
    rows = read_holiday_file(path)
    years = sorted({row.day.year for row in rows})
    removed, _ = (
        CalendarDay.objects.filter(date__year__in=years)
        .exclude(date__in=[row.day for row in rows])
        .delete()
    )
    for row in rows:
        CalendarDay.objects.update_or_create(
            date=row.day, defaults={"kind": row.kind, "name": row.name}
        )
    holidays = sum(row.kind == CalendarDayKind.HOLIDAY for row in rows)
    logger.info(
        "calendar loaded",
        extra={
            "years": years,
            "holidays": holidays,
            "workdays": len(rows) - holidays,
            "removed": removed,
        },
    )
    return holidays, len(rows) - holidays


# --- Intake -------------------------------------------------------------------------------------
@dataclass
class Duplicate:
    id: int
    distance_m: float
    status: str
    reported_at: str


@dataclass
class IntakeResult:
    case: Case
    duplicates: list[Duplicate] = field(default_factory=list)


# Categories change rarely and every report needs one: each process keeps what it read for
# CLASS_CACHE_SECONDS (an edit in the admin reaches every server process within that time).
CLASS_CACHE_SECONDS = 30.0
_class_cache: dict[tuple[str, str], tuple[float, CaseClass]] = {}


def clear_case_class_cache() -> None:
    _class_cache.clear()


def case_class_for(service_code: str, *, scheme: str | None = None) -> CaseClass:
    code = (service_code or "").strip()
    if not code:
        raise ReportError("Give the category of the problem (service_code).", field="service_code")
    key = (scheme or active_scheme(), code)
    cached = _class_cache.get(key)
    if cached is not None and time.monotonic() - cached[0] < CLASS_CACHE_SECONDS:
        return cached[1]
    found = (
        CaseClass.objects.select_related("department", "component_class")
        .filter(scheme=key[0], service_code=code, active=True)
        .first()
    )
    if found is None:
        _class_cache.pop(key, None)
        raise ReportError(
            f"There is no active category {code!r}; the list of categories is "
            "at /open311/v2/services.json.",
            field="service_code",
        )
    _class_cache[key] = (time.monotonic(), found)
    return found


# Area class (A/B/C) of the path's grids and the routing rules that apply, in one round trip.
# The finest grid that says wins; a class rule beats an all-classes rule on the same grid.
_GRID_FACTS_SQL = """
SELECT g.id, l.depth, g.area_class, r.case_class_id, r.department_id
FROM grids_grid g
JOIN grids_gridlevel l ON l.id = g.level_id
LEFT JOIN cases_routingrule r
       ON r.grid_id = g.id AND (r.case_class_id = %s OR r.case_class_id IS NULL)
WHERE g.id = ANY(%s)
"""

# Open cases of the same class near the point, reported within the window, nearest first. The
# box (in degrees) lets the GiST index answer; exact metres on the spheroid for what is in it.
_DUPLICATES_SQL = """
SELECT c.id, ST_Distance(c.geom::geography, p.pt::geography) AS metres, c.status,
       c.reported_at
FROM (SELECT ST_SetSRID(ST_MakePoint(%s, %s), 4490) AS pt) p
JOIN cases_case c
  ON c.geom && ST_Expand(p.pt, %s)
WHERE c.case_class_id = %s AND c.reported_at >= %s
  AND c.status <> ALL(%s)
ORDER BY metres, c.id
LIMIT 10
"""


def _raw_cursor() -> RawCursor:
    # Intake reads and writes in one transaction on the primary (geogrid/core/db.py).
    return raw_cursor(for_write=True)


def _grid_facts(location: Location, case_class: CaseClass) -> tuple[str, int | None]:
    """(area class, the routing rule's department id or None) from the grid path."""
    ids = [step.id for step in location.path]
    with _raw_cursor() as cursor:
        rows = cursor.execute(_GRID_FACTS_SQL, (case_class.pk, ids), prepare=True).fetchall()
    by_depth = sorted(rows, key=lambda row: (-row[1], row[3] is None))
    area = next(
        (row[2] for row in by_depth if row[2] in ("A", "B", "C")),
        settings.GEOGRID_DEFAULT_AREA_CLASS,
    )
    rule = next((row[4] for row in by_depth if row[4] is not None), None)
    return area, rule


def find_duplicates(
    *, lon: float, lat: float, case_class: CaseClass, now: datetime, exclude: int | None = None
) -> list[Duplicate]:
    radius = float(settings.GEOGRID_DUPLICATE_RADIUS_M)
    since = now - timedelta(hours=float(settings.GEOGRID_DUPLICATE_WINDOW_HOURS))
    # Degrees that cover `radius` metres in both directions at this latitude.
    degrees = radius / (111_000.0 * max(math.cos(math.radians(lat)), 0.01))
    with _raw_cursor() as cursor:
        rows = cursor.execute(
            _DUPLICATES_SQL,
            (lon, lat, degrees, case_class.pk, since, list(workflow.FINAL_STATUSES)),
            prepare=True,
        ).fetchall()
    return [
        Duplicate(
            id=row[0],
            distance_m=round(float(row[1]), 1),
            status=row[2],
            reported_at=row[3].isoformat(),
        )
        for row in rows
        if float(row[1]) <= radius and row[0] != exclude
    ]


def _named_component(code: str, case_class: CaseClass, lon: float, lat: float) -> Component | None:
    code = (code or "").strip()
    if not code:
        return None
    try:
        parse_component_code(code)
    except (CodeError, ValueError) as exc:
        raise ReportError(
            f"Component code {code!r} is not valid: {exc}", field="component_code"
        ) from exc
    component = (
        Component.objects.select_related("component_class", "owner_department")
        .filter(code=code, district_code=code[:6])
        .first()
    )
    if component is None:
        raise ReportError(f"There is no component {code}.", field="component_code")
    if (
        case_class.component_class_id
        and component.component_class_id != case_class.component_class_id
    ):
        raise ReportError(
            f"Component {code} is a {component.component_class.name}, not a "
            f"{case_class.component_class.name}; choose the category that matches it.",
            field="component_code",
        )
    distance = _metres(lon, lat, component.geom.centroid.x, component.geom.centroid.y)
    limit = float(settings.GEOGRID_COMPONENT_MAX_DISTANCE_M)
    if distance > limit:
        raise ReportError(
            f"Component {code} lies {distance:,.0f} m from the reported point (at most "
            f"{limit:,.0f} m): check the code or the location.",
            field="component_code",
        )
    return component


def _metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance (haversine, mean Earth radius): enough for a plausibility check."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(a))


def submit_report(
    *,
    actor: Any,
    channel: str,
    service_code: str,
    x: float,
    y: float,
    crs: str | int | None = None,
    description: str = "",
    address: str = "",
    component_code: str = "",
    photos: Sequence[CheckedPhoto] = (),
    reporter_name: str = "",
    reporter_phone: str = "",
    reporter_email: str = "",
    device_id: str = "",
    account_id: str = "",
    open311_key: Open311Key | None = None,
) -> IntakeResult:
    """Take in one report: normalise the point, store the grid path, route the department, list
    possible duplicates. Bad input raises ReportError (or the CRS/coordinate errors of
    core.crs) before anything is written."""
    if channel not in Channel.values:
        raise ReportError(f"Unknown channel {channel!r}.", field="channel")
    if len(photos) > settings.GEOGRID_MAX_PHOTOS:
        raise ReportError(
            f"At most {settings.GEOGRID_MAX_PHOTOS} photos per report.", field="media"
        )
    case_class = case_class_for(service_code)
    lon, lat = point_to_storage(x, y, crs)
    component = _named_component(component_code, case_class, lon, lat)
    now = timezone.now()
    reporter = actor if getattr(actor, "pk", None) else None
    case = Case(
        channel=channel,
        case_class=case_class,
        kind=case_class.kind,
        component=component,
        description=description.strip(),
        address=address.strip()[:255],
        geom=f"SRID=4490;POINT({lon!r} {lat!r})",
        submitted_point={"x": x, "y": y, "crs": str(crs or "EPSG:4490")},
        reporter=reporter,
        reporter_name=reporter_name.strip()[:100],
        reporter_phone=reporter_phone.strip()[:40],
        reporter_email=reporter_email.strip(),
        device_id=device_id.strip()[:100],
        account_id=account_id.strip()[:100],
        open311_key=open311_key,
        reported_at=now,
        updated_at=now,
    )
    owner = component.owner_department_id if component is not None else None
    if not photos:
        # The common case: one statement writes the case and its event, which makes it one
        # transaction by itself (no BEGIN/COMMIT round trips around it).
        duplicates = _intake_in_one_statement(case, lon=lon, lat=lat, owner=owner)
        if duplicates is not None:
            case._state.adding = False
            return _reported(case, duplicates)
    with transaction.atomic():
        duplicates = (
            _intake_in_one_statement(case, lon=lon, lat=lat, owner=owner) if photos else None
        )  # without photos it has just been tried
        if duplicates is None:  # no finest-level grid covers the point: the general path
            duplicates = _intake_step_by_step(case, lon=lon, lat=lat, owner=owner)
        case._state.adding = False
        _save_photos(case, photos, stage=PhotoStage.REPORT, actor=case.reporter)
    return _reported(case, duplicates)


def _reported(case: Case, duplicates: list[Duplicate]) -> IntakeResult:
    # What came in, never who reported it or what they wrote (README, "Security and privacy").
    log_on_commit(
        logger,
        "case reported",
        case_id=case.pk,
        channel=case.channel,
        service_code=case.case_class.service_code,
        grid_code=case.grid_code,
        open311_key_id=case.open311_key_id,
        duplicates=len(duplicates),
    )
    return IntakeResult(case=case, duplicates=duplicates)


# The whole intake after the checks, in one round trip: the unit grid (finest level, ST_Covers,
# lowest code) and its ancestors by code prefix; the finest area class and routing rule on that
# path; open cases of the category nearby (planar metres at this latitude: exact to ~0.5 % over
# 50 m, and far cheaper than geography for every candidate); the case and its first event.
# No row back means no finest-level grid covers the point (then _intake_step_by_step).
_INTAKE_SQL = """
WITH hit AS (
    SELECT g.id, g.code
    FROM grids_grid g
    WHERE g.valid_to IS NULL
      AND g.level_id = (SELECT id FROM grids_gridlevel ORDER BY depth DESC LIMIT 1)
      AND ST_Covers(g.geom, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4490))
    ORDER BY g.code
    LIMIT 1
), path AS (
    SELECT g.id, g.code, g.area_class, l.depth, l.slug
    FROM hit
    JOIN grids_gridlevel l ON l.code_length <= length(hit.code)
    JOIN grids_grid g ON g.code = left(hit.code, l.code_length) AND g.level_id = l.id
), facts AS (
    SELECT
        (SELECT p.area_class FROM path p WHERE p.area_class <> ''
         ORDER BY p.depth DESC LIMIT 1) AS area_class,
        (SELECT r.department_id FROM path p
         JOIN cases_routingrule r ON r.grid_id = p.id
          AND (r.case_class_id = %(class_id)s OR r.case_class_id IS NULL)
         ORDER BY p.depth DESC, r.case_class_id IS NULL LIMIT 1) AS rule_department,
        (SELECT p.code FROM path p WHERE p.slug = 'street') AS street_code,
        (SELECT p.code FROM path p WHERE p.slug = 'community') AS community_code
), near AS (
    SELECT c.id, c.status, c.reported_at,
           sqrt(power((ST_X(c.geom) - %(lon)s) * %(m_per_deg_lon)s, 2)
                + power((ST_Y(c.geom) - %(lat)s) * 110574.0, 2)) AS metres
    FROM cases_case c
    WHERE c.geom && ST_Expand(ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4490), %(degrees)s)
      AND c.case_class_id = %(class_id)s AND c.reported_at >= %(since)s
      AND c.status <> ALL(%(final)s)
), dups AS (
    SELECT id, status, reported_at, metres FROM near WHERE metres <= %(radius)s
    ORDER BY metres, id LIMIT 10
), routed AS (
    SELECT hit.id AS grid_id, hit.code AS grid_code, facts.*,
           CASE WHEN %(owner)s::bigint IS NOT NULL THEN %(owner)s::bigint
                WHEN facts.rule_department IS NOT NULL THEN facts.rule_department
                ELSE %(class_department)s::bigint END AS department_id,
           CASE WHEN %(owner)s::bigint IS NOT NULL THEN 'component_owner'
                WHEN facts.rule_department IS NOT NULL THEN 'grid_rule'
                WHEN %(class_department)s::bigint IS NOT NULL THEN 'class_default'
                ELSE 'none' END AS routed_by,
           COALESCE((SELECT jsonb_agg(jsonb_build_object(
                        'id', d.id, 'distance_m', round(d.metres::numeric, 1),
                        'status', d.status, 'reported_at', d.reported_at)
                     ORDER BY d.metres, d.id) FROM dups d), '[]'::jsonb) AS duplicates
    FROM hit, facts
), new_case AS (
    INSERT INTO cases_case (
        district_code, channel, case_class_id, kind, component_id, description, address, geom,
        submitted_point, grid_id, grid_code, street_code, community_code, area_class,
        handling_level, department_id, routed_by, reporter_id, reporter_name, reporter_phone,
        reporter_email, open311_key_id, device_id, account_id, status, possible_duplicates,
        reported_at, overdue, return_count, extension_count, rework_count, version, updated_at)
    SELECT left(r.grid_code, 6), %(channel)s, %(class_id)s, %(kind)s, %(component_id)s,
           %(description)s, %(address)s, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4490),
           %(submitted_point)s, r.grid_id, r.grid_code, COALESCE(r.street_code, ''),
           COALESCE(r.community_code, ''), COALESCE(r.area_class, %(default_area)s), 'unit',
           r.department_id, r.routed_by, %(reporter_id)s, %(reporter_name)s,
           %(reporter_phone)s, %(reporter_email)s, %(open311_key_id)s, %(device_id)s,
           %(account_id)s, 'reported', r.duplicates, %(now)s, false, 0, 0, 0, 1, %(now)s
    FROM routed r
    RETURNING id, district_code, grid_id, grid_code, street_code, community_code, area_class,
              department_id, routed_by, possible_duplicates
), event AS (
    INSERT INTO cases_caseevent (case_id, action, actor_id, created_at, details, from_status,
                                 to_status, reason)
    SELECT id, 'reported', %(reporter_id)s, %(now)s,
           jsonb_build_object('channel', %(channel)s::text, 'grid', grid_code,
                              'routed_by', routed_by, 'department', department_id,
                              'duplicates', (SELECT COALESCE(jsonb_agg(e->'id'), '[]'::jsonb)
                                             FROM jsonb_array_elements(possible_duplicates) e)),
           '', 'reported', ''
    FROM new_case
)
SELECT n.id, n.district_code, n.grid_id, n.grid_code, n.street_code, n.community_code,
       n.area_class, n.department_id, n.routed_by, n.possible_duplicates, g.name, d.code, d.name,
       d.name_en
FROM new_case n
JOIN grids_grid g ON g.id = n.grid_id
LEFT JOIN components_department d ON d.id = n.department_id
"""


# psycopg keeps its parse of a query only up to 4,096 characters: written compactly, this one
# is parsed once per process instead of on every report (0.13 ms each).
_INTAKE_SQL = " ".join(_INTAKE_SQL.split())


def _intake_in_one_statement(
    case: Case, *, lon: float, lat: float, owner: int | None
) -> list[Duplicate] | None:
    from psycopg.types.json import Jsonb

    radius = float(settings.GEOGRID_DUPLICATE_RADIUS_M)
    metres_per_degree_lon = 111_320.0 * max(math.cos(math.radians(lat)), 0.01)
    values = {
        "lon": lon,
        "lat": lat,
        "class_id": case.case_class_id,
        "class_department": case.case_class.department_id,
        "owner": owner,
        "m_per_deg_lon": metres_per_degree_lon,
        "degrees": radius / metres_per_degree_lon,
        "radius": radius,
        "final": list(workflow.FINAL_STATUSES),
        "since": case.reported_at - timedelta(hours=float(settings.GEOGRID_DUPLICATE_WINDOW_HOURS)),
        "default_area": settings.GEOGRID_DEFAULT_AREA_CLASS,
        "channel": case.channel,
        "kind": case.kind,
        "component_id": case.component_id,
        "description": case.description,
        "address": case.address,
        "submitted_point": Jsonb(case.submitted_point),
        "reporter_id": case.reporter_id,
        "reporter_name": case.reporter_name,
        "reporter_phone": case.reporter_phone,
        "reporter_email": case.reporter_email,
        "open311_key_id": case.open311_key_id,
        "device_id": case.device_id,
        "account_id": case.account_id,
        "now": case.reported_at,
    }
    with _raw_cursor() as cursor:
        row = cursor.execute(_INTAKE_SQL, values, prepare=True).fetchone()
    if row is None:
        return None
    (
        case.pk,
        case.district_code,
        case.grid_id,
        case.grid_code,
        case.street_code,
        case.community_code,
        case.area_class,
        case.department_id,
        case.routed_by,
        duplicates,
        grid_name,
        department_code,
        department_name,
        department_name_en,
    ) = row
    # What callers show right away (the grid's name, the department), without reading back.
    case.grid = Grid(id=case.grid_id, code=case.grid_code, name=grid_name)
    if case.department_id is not None:
        case.department = Department(
            id=case.department_id,
            code=department_code,
            name=department_name,
            name_en=department_name_en,
        )
    # Django's connection hands jsonb back as text.
    case.possible_duplicates = json.loads(duplicates) if isinstance(duplicates, str) else duplicates
    return [
        Duplicate(
            id=d["id"],
            distance_m=float(d["distance_m"]),
            status=d["status"],
            reported_at=d["reported_at"],
        )
        for d in case.possible_duplicates
    ]


def _route(case_class: CaseClass, owner: int | None, rule: int | None) -> tuple[int | None, str]:
    """The named component's owner > a grid rule > the category's default."""
    if owner is not None:
        return owner, RoutedBy.COMPONENT
    if rule is not None:
        return rule, RoutedBy.GRID_RULE
    if case_class.department_id:
        return case_class.department_id, RoutedBy.CLASS_DEFAULT
    return None, RoutedBy.UNROUTED


def _intake_step_by_step(
    case: Case, *, lon: float, lat: float, owner: int | None
) -> list[Duplicate]:
    """Intake for a point that no finest-level grid covers (a community not yet divided):
    locate at any level, then the same facts, routing, duplicates and insert."""
    try:
        location = locate_storage(lon, lat)
    except OutsideAllGrids as exc:
        raise ReportError(str(exc), field="location") from exc
    area, rule_department = _grid_facts(location, case.case_class)
    case.department_id, case.routed_by = _route(case.case_class, owner, rule_department)
    duplicates = find_duplicates(lon=lon, lat=lat, case_class=case.case_class, now=case.reported_at)
    codes = {step.level: step.code for step in location.path}
    unit = location.grid
    case.district_code, case.grid_id, case.grid_code = unit.code[:6], unit.id, unit.code
    case.street_code = codes.get("street", "")
    case.community_code = codes.get("community", "")
    case.area_class = area
    case.possible_duplicates = [vars(d) for d in duplicates]
    case.pk = _insert_case(
        case,
        lon=lon,
        lat=lat,
        details={
            "channel": case.channel,
            "grid": unit.code,
            "routed_by": case.routed_by,
            "department": case.department_id,
            "duplicates": [d.id for d in duplicates],
        },
    )
    return duplicates


# The case and its first event in one prepared statement (the ORM's two INSERTs cost ~1 ms more
# than this on the intake path; bench/README.md).
_INSERT_CASE_SQL = """
WITH new_case AS (
    INSERT INTO cases_case (
        district_code, channel, case_class_id, kind, component_id, description, address, geom,
        submitted_point, grid_id, grid_code, street_code, community_code, area_class,
        handling_level, department_id, routed_by, reporter_id, reporter_name, reporter_phone,
        reporter_email, open311_key_id, device_id, account_id, status, possible_duplicates,
        reported_at, overdue, return_count, extension_count, rework_count, version, updated_at)
    VALUES (%(district_code)s, %(channel)s, %(case_class_id)s, %(kind)s, %(component_id)s,
            %(description)s, %(address)s, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4490),
            %(submitted_point)s, %(grid_id)s, %(grid_code)s, %(street_code)s,
            %(community_code)s, %(area_class)s, 'unit', %(department_id)s, %(routed_by)s,
            %(reporter_id)s, %(reporter_name)s, %(reporter_phone)s, %(reporter_email)s,
            %(open311_key_id)s, %(device_id)s, %(account_id)s, 'reported',
            %(possible_duplicates)s, %(now)s, false, 0, 0, 0, 1, %(now)s)
    RETURNING id
), event AS (
    INSERT INTO cases_caseevent (case_id, action, actor_id, created_at, details, from_status,
                                 to_status, reason)
    SELECT id, 'reported', %(reporter_id)s, %(now)s, %(details)s, '', 'reported', ''
    FROM new_case
)
SELECT id FROM new_case
"""


def _insert_case(case: Case, *, lon: float, lat: float, details: dict) -> int:
    from psycopg.types.json import Jsonb

    values = {
        "district_code": case.district_code,
        "channel": case.channel,
        "case_class_id": case.case_class_id,
        "kind": case.kind,
        "component_id": case.component_id,
        "description": case.description,
        "address": case.address,
        "lon": lon,
        "lat": lat,
        "submitted_point": Jsonb(case.submitted_point),
        "grid_id": case.grid_id,
        "grid_code": case.grid_code,
        "street_code": case.street_code,
        "community_code": case.community_code,
        "area_class": case.area_class,
        "department_id": case.department_id,
        "routed_by": case.routed_by,
        "reporter_id": case.reporter_id,
        "reporter_name": case.reporter_name,
        "reporter_phone": case.reporter_phone,
        "reporter_email": case.reporter_email,
        "open311_key_id": case.open311_key_id,
        "device_id": case.device_id,
        "account_id": case.account_id,
        "possible_duplicates": Jsonb(case.possible_duplicates),
        "now": case.reported_at,
        "details": Jsonb(details),
    }
    with _raw_cursor() as cursor:
        return cursor.execute(_INSERT_CASE_SQL, values, prepare=True).fetchone()[0]


def _save_photos(case: Case, photos: Sequence[CheckedPhoto], *, stage: str, actor: Any) -> None:
    """Store the files, then their rows (the last write of the transaction that calls this);
    if writing the rows fails the files are deleted again."""
    saved: list[CasePhoto] = []
    try:
        for photo in photos:
            record = CasePhoto(
                case=case,
                stage=stage,
                width=photo.width,
                height=photo.height,
                uploaded_by=actor if getattr(actor, "pk", None) else None,
            )
            record.image.save(photo.original.name, photo.original, save=False)
            record.preview.save(photo.preview.name, photo.preview, save=False)
            saved.append(record)
        CasePhoto.objects.bulk_create(saved)
    except BaseException:
        for record in saved:
            record.image.delete(save=False)
            record.preview.delete(save=False)
        raise


# --- Workflow -----------------------------------------------------------------------------------
def _in_scope(actor: Any, case: Case, role: str | None) -> bool:
    """Department handlers act on their department's cases, inspectors on cases in their
    grids; city-wide roles on all."""
    if role in ("admin", "operator"):
        return True
    if role == "department":
        return (
            case.department_id is not None
            and actor.department_memberships.filter(department_id=case.department_id).exists()
        )
    if role == "inspector":
        prefixes = actor.grid_scopes.values_list("grid__code", flat=True)
        return any(case.grid_code.startswith(prefix) for prefix in prefixes)
    return False


def may_act_on(actor: Any, case: Case) -> bool:
    """Whether the case is in the actor's scope for workflow moves (the role is checked per
    move): what transition_case enforces, for pages and APIs that offer moves."""
    return _in_scope(actor, case, user_role(actor))


def _status_label(status: str) -> str:
    return str(CaseStatus(status).label)


@transaction.atomic
def transition_case(
    *,
    case: Case,
    to: str,
    actor: Any,
    reason: str = "",
    department: Department | None = None,
    extend_by: tuple[float, str] | None = None,
    photos: Sequence[CheckedPhoto] = (),
    expected_version: int | None = None,
) -> Case:
    """Move a case to status `to`: lock the row, check the move against the workflow table and
    the actor's role and scope, apply it, append an event. Raises TransitionError (a move that
    does not exist, or lacks a reason or a department), TransitionForbidden (role or scope)."""
    case = Case.objects.select_for_update().select_related("case_class").get(pk=case.pk)
    if expected_version is not None and case.version != expected_version:
        raise TransitionError(
            f"Case {case.pk} changed since you opened it (now version "
            f"{case.version}, status {_status_label(case.status)}); reload it."
        )
    if to not in CaseStatus.values:
        raise TransitionError(f"Unknown status {to!r}.")
    move = workflow.move(case.status, to)
    if move is None:
        allowed = workflow.moves_from(case.status)
        options = ", ".join(f"{_status_label(t)} ({t})" for t in allowed) or "none (it is final)"
        raise TransitionError(
            f"A case that is {_status_label(case.status)} cannot become "
            f"{_status_label(to)}. From here it can go to: {options}."
        )
    role = user_role(actor)
    if role not in move.roles:
        raise TransitionForbidden(f"Your role cannot {move.label} ({move.action}) a case.")
    if not _in_scope(actor, case, role):
        raise TransitionForbidden(f"Case {case.pk} is not one you are responsible for.")
    reason = (reason or "").strip()
    if move.needs_reason and not reason:
        raise TransitionError(f"{move.label} needs a reason (reason).")
    now = timezone.now()
    from_status = case.status
    details: dict[str, Any] = {}
    calendar = work_calendar()
    if to == CaseStatus.ACCEPTED:
        case.accepted_at = now
    elif to == CaseStatus.FILED and from_status == CaseStatus.ACCEPTED:
        case.filed_at = now
    elif to == CaseStatus.DISPATCHED and from_status in (CaseStatus.FILED, CaseStatus.RETURNED):
        target = department or case.department
        if target is None:
            raise TransitionError("Choose the department to dispatch the case to (department).")
        if target.pk != case.department_id:
            details["department"] = {"from": case.department_id, "to": target.pk}
            case.department = target
            case.routed_by = RoutedBy.OPERATOR
        limit = case.case_class.limit_for(case.area_class)
        case.dispatched_at = now
        case.deadline = calendar.add(now, limit, case.case_class.limit_unit)
        case.overdue = False
        details["deadline"] = case.deadline.isoformat()
    elif to == CaseStatus.DISPATCHED and from_status == CaseStatus.EXTENSION_REQUESTED:
        if extend_by is not None:
            amount, unit = extend_by
            case.deadline = calendar.add(case.deadline or now, amount, unit)
            case.extension_count += 1
            case.overdue = case.deadline < now
            details.update(
                approved=True, extend_by=[amount, unit], deadline=case.deadline.isoformat()
            )
        else:
            details["approved"] = False
    elif to == CaseStatus.DISPATCHED and from_status == CaseStatus.PARKED:
        remaining = _parked_remaining(case)
        if remaining is not None:
            case.deadline = calendar.add(now, remaining / 3600, "hours")
            details["deadline"] = case.deadline.isoformat()
    elif to == CaseStatus.PARKED and case.deadline is not None:
        details["remaining_s"] = max(calendar.working_seconds(now, case.deadline), 0.0)
    elif to == CaseStatus.RETURNED:
        case.return_count += 1
    elif to == CaseStatus.EXTENSION_REQUESTED and extend_by is not None:
        details["asked"] = list(extend_by)
    elif to == CaseStatus.HANDLED:
        case.handled_at = now
        if case.deadline is not None and now > case.deadline:
            case.overdue = True
    elif to == CaseStatus.REWORK:
        case.rework_count += 1
    elif to == CaseStatus.CLOSED:
        case.closed_at = now
    case.status = to
    case.version += 1
    case.save()
    CaseEvent.objects.create(
        case=case,
        action=move.action,
        actor=actor,
        from_status=from_status,
        to_status=to,
        reason=reason,
        details=details,
    )
    if photos:
        stage = PhotoStage.CHECK if from_status == CaseStatus.HANDLED else PhotoStage.FEEDBACK
        _save_photos(case, photos, stage=stage, actor=actor)
    log_on_commit(
        logger,
        "case transition",
        case_id=case.pk,
        action=move.action,
        from_status=from_status,
        to_status=to,
        actor_id=getattr(actor, "pk", None),
    )
    return case


def _parked_remaining(case: Case) -> float | None:
    event = case.events.filter(action="parked").order_by("-created_at", "-id").first()
    return event.details.get("remaining_s") if event else None


@transaction.atomic
def escalate_case(*, case: Case, actor: Any, reason: str) -> Case:
    """Raise the level a case is handled at: unit grid → community → street → district
    (小事不出网格, 一般纠纷不出社区: each step is a recorded decision)."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    role = user_role(actor)
    if role not in ("operator", "inspector", "admin") or not _in_scope(actor, case, role):
        raise TransitionForbidden(f"You cannot escalate case {case.pk}.")
    if case.status in workflow.FINAL_STATUSES:
        raise TransitionError(
            f"Case {case.pk} is {_status_label(case.status)}; it cannot be escalated."
        )
    if not (reason or "").strip():
        raise TransitionError("Escalation needs a reason (reason).")
    level = ESCALATION.index(case.handling_level) if case.handling_level in ESCALATION else 0
    if level + 1 >= len(ESCALATION):
        raise TransitionError(f"Case {case.pk} is already handled at district level.")
    old, case.handling_level = case.handling_level, ESCALATION[level + 1]
    case.version += 1
    case.save(update_fields=["handling_level", "version", "updated_at"])
    CaseEvent.objects.create(
        case=case,
        action="escalated",
        actor=actor,
        from_status=case.status,
        to_status=case.status,
        reason=reason.strip(),
        details={"from": old, "to": case.handling_level},
    )
    log_on_commit(
        logger,
        "case escalated",
        case_id=case.pk,
        from_level=old,
        to_level=case.handling_level,
        actor_id=getattr(actor, "pk", None),
    )
    return case


@transaction.atomic
def flag_overdue(*, now: datetime | None = None, actor: Any = None) -> int:
    """Mark the cases whose department clock has run past the deadline; one event each.
    Returns how many became overdue now."""
    now = now or timezone.now()
    flagged = list(
        Case.objects.select_for_update(skip_locked=True)
        .filter(status__in=workflow.CLOCK_RUNNING, deadline__lt=now, overdue=False)
        .values_list("id", "status", "deadline")
    )
    if not flagged:
        return 0
    Case.objects.filter(id__in=[row[0] for row in flagged]).update(overdue=True)
    CaseEvent.objects.bulk_create(
        [
            CaseEvent(
                case_id=case_id,
                action="overdue",
                actor=actor,
                from_status=status,
                to_status=status,
                details={"deadline": deadline.isoformat()},
            )
            for case_id, status, deadline in flagged
        ]
    )
    log_on_commit(logger, "overdue cases flagged", count=len(flagged))
    return len(flagged)


# --- Open311 API keys ---------------------------------------------------------------------------
def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@transaction.atomic
def create_open311_key(*, name: str, actor: Any = None) -> tuple[Open311Key, str]:
    """A new API key for a client system; returns (record, the key). Only its hash is kept."""
    name = (name or "").strip()
    if not name:
        raise ValueError("Give the client system a name.")
    if Open311Key.objects.filter(name=name).exists():
        raise ValueError(f"A key named {name!r} exists already; choose another name.")
    key = secrets.token_urlsafe(24)
    record = Open311Key.objects.create(name=name, key_hash=hash_key(key), prefix=key[:6])
    log_on_commit(
        logger, "open311 key created", key_id=record.pk, actor_id=getattr(actor, "pk", None)
    )
    Open311KeyEvent.objects.create(
        key=record, action="created", actor=actor, details={"prefix": record.prefix}
    )
    return record, key


@transaction.atomic
def revoke_open311_key(*, key: Open311Key, actor: Any = None) -> bool:
    """Stop accepting a client system's key (at once, in every worker); the record stays, so
    its cases keep naming their source. Returns False when it was revoked already."""
    updated = Open311Key.objects.filter(pk=key.pk, active=True).update(
        active=False,
        revoked_at=timezone.now(),
        revoked_by=getattr(actor, "username", "") or "manage.py",
    )
    key.refresh_from_db()
    if updated:
        log_on_commit(
            logger, "open311 key revoked", key_id=key.pk, actor_id=getattr(actor, "pk", None)
        )
        Open311KeyEvent.objects.create(
            key=key, action="revoked", actor=actor, details={"prefix": key.prefix}
        )
    return bool(updated)


@transaction.atomic
def rotate_open311_key(*, key: Open311Key, actor: Any = None, reason: str = "") -> str:
    """A new secret for the same client system: the old secret stops working at once, the
    record (and the cases that name it as their source) stays, active again if it was revoked.
    Locks the key row; writes an Open311KeyEvent "rotated" with both prefixes and the reason.
    Returns the new key (shown once; only its hash is stored)."""
    record = Open311Key.objects.select_for_update().get(pk=key.pk)
    old_prefix = record.prefix
    secret = secrets.token_urlsafe(24)
    record.key_hash, record.prefix = hash_key(secret), secret[:6]
    record.active, record.revoked_at, record.revoked_by = True, None, ""
    record.save(update_fields=["key_hash", "prefix", "active", "revoked_at", "revoked_by"])
    Open311KeyEvent.objects.create(
        key=record,
        action="rotated",
        actor=actor,
        details={"old_prefix": old_prefix, "prefix": record.prefix, "reason": reason},
    )
    key.refresh_from_db()
    return secret


def open311_key_accepts(record: Open311Key, key: str) -> bool:
    """Whether `key` is the secret of this active record (what an Open311 POST would check)."""
    return record.active and record.key_hash == hash_key(key.strip())


def open311_key_for(key: str) -> Open311Key | None:
    if not key:
        return None
    return Open311Key.objects.filter(key_hash=hash_key(key.strip()), active=True).first()


__all__ = [
    "CaseKind",
    "Duplicate",
    "IntakeResult",
    "ReportError",
    "TransitionError",
    "TransitionForbidden",
    "create_open311_key",
    "revoke_open311_key",
    "rotate_open311_key",
    "escalate_case",
    "find_duplicates",
    "flag_overdue",
    "load_calendar",
    "submit_report",
    "transition_case",
    "work_calendar",
]


_REPEAT_LOCK_SQL = "SELECT pg_advisory_xact_lock(%s)"
# The first case of the same key, category, description and point within the window: the
# key's cases come from its index, the rest are filters on those few rows.
_REPEAT_SQL = """
    SELECT id FROM cases_case
    WHERE open311_key_id = %s AND case_class_id = %s AND description = %s
      AND reported_at >= %s AND geom ~= ST_SetSRID(ST_MakePoint(%s, %s), 4490)
    ORDER BY id LIMIT 1"""


def submit_open311_report(
    *,
    open311_key: Open311Key,
    service_code: str,
    x: float,
    y: float,
    description: str = "",
    **report: Any,
) -> tuple[Case, bool]:
    """An Open311 POST: a repeat of one the same key sent within
    GEOGRID_OPEN311_REPEAT_WINDOW_S (same service, point and description) returns the first
    case, not a second one; the flag says whether a case was created. Clients retry a POST
    whose answer they lost; without this every retry is one more case for the command center.
    Two identical posts racing each other serialise on an advisory lock keyed by the tuple,
    held until the first one's case is committed, so the second one finds it."""
    window = int(settings.GEOGRID_OPEN311_REPEAT_WINDOW_S)
    if window <= 0:
        result = submit_report(
            actor=None,
            channel=Channel.OPEN311,
            open311_key=open311_key,
            service_code=service_code,
            x=x,
            y=y,
            crs=4326,
            description=description,
            **report,
        )
        return result.case, True
    lon, lat = point_to_storage(x, y, 4326)
    description = description.strip()
    case_class = case_class_for(service_code)
    digest = hashlib.blake2b(
        repr((open311_key.pk, service_code, lon, lat, description)).encode(), digest_size=8
    ).digest()
    with transaction.atomic():
        # Two statements on purpose: in READ COMMITTED each statement reads the data committed
        # when it starts, so the lookup must start after the lock is granted to see the case
        # of a twin that held it. Both prepared: this runs on every Open311 POST.
        with _raw_cursor() as cursor:
            cursor.execute(
                _REPEAT_LOCK_SQL, (int.from_bytes(digest, "big", signed=True),), prepare=True
            )
            row = cursor.execute(
                _REPEAT_SQL,
                (
                    open311_key.pk,
                    case_class.pk,
                    description,
                    timezone.now() - timedelta(seconds=window),
                    lon,
                    lat,
                ),
                prepare=True,
            ).fetchone()
        if row is not None:
            return Case.objects.select_related("grid", "department").get(pk=row[0]), False
        result = submit_report(
            actor=None,
            channel=Channel.OPEN311,
            open311_key=open311_key,
            service_code=service_code,
            x=x,
            y=y,
            crs=4326,
            description=description,
            **report,
        )
    return result.case, True
