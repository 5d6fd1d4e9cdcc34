"""Writing a checked report: the grid path, area class, routing and possible duplicates, and
the case with its first event (docs/domain.md §5.4).

The common path is one prepared statement (docs/architecture.md §4.3); a point that no
finest-level grid covers (a community not yet divided) takes the step-by-step path, which
locates it at any level first. Both write the case through the same INSERT (_NEW_CASE_SQL).
"""

from __future__ import annotations

import json
import math
from datetime import timedelta
from typing import Any

from django.conf import settings
from psycopg.types.json import Jsonb

from geogrid.cases import workflow
from geogrid.cases.duplicates import Duplicate, find_duplicates
from geogrid.cases.errors import ReportError
from geogrid.cases.models import Case, CaseClass, RoutedBy
from geogrid.components.models import Department
from geogrid.core.db import RawCursor, raw_cursor
from geogrid.grids.locate import Location, OutsideAllGrids, locate_storage
from geogrid.grids.models import Grid


def _raw_cursor() -> RawCursor:
    # Intake reads and writes in one transaction on the primary (geogrid/core/db.py).
    return raw_cursor(for_write=True)


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


# The case and its first event, from the one row of a CTE `routed` (grid_id, grid_code,
# street_code, community_code, area_class, department_id, routed_by, duplicates): the only
# INSERT of a case, shared by both paths. The event's details are built from what was inserted.
_NEW_CASE_SQL = """
new_case AS (
    INSERT INTO cases_case (
        district_code, channel, case_class_id, kind, component_id, description, address, geom,
        submitted_point, grid_id, grid_code, street_code, community_code, area_class,
        handling_level, department_id, routed_by, reporter_id, reporter_name, reporter_phone,
        reporter_email, open311_key_id, device_id, account_id, status, possible_duplicates,
        reported_at, overdue, return_count, extension_count, rework_count, version, updated_at,
        observed_at, client_id, path_check, path_distance_m)
    SELECT left(r.grid_code, 6), %(channel)s, %(class_id)s, %(kind)s, %(component_id)s,
           %(description)s, %(address)s, ST_Point(%(lon)s, %(lat)s, 4490),
           %(submitted_point)s, r.grid_id, r.grid_code, COALESCE(r.street_code, ''),
           COALESCE(r.community_code, ''), COALESCE(r.area_class, %(darea)s), 'unit',
           r.department_id, r.routed_by, %(reporter_id)s, %(reporter_name)s,
           %(reporter_phone)s, %(reporter_email)s, %(open311_key_id)s, %(device_id)s,
           %(account_id)s, 'reported', r.duplicates, %(now)s, false, 0, 0, 0, 1, %(now)s,
           %(seen)s, %(cid)s, %(pc)s, %(pm)s
    FROM routed r
    RETURNING id, district_code, grid_id, grid_code, street_code, community_code, area_class,
              department_id, routed_by, possible_duplicates, path_check, path_distance_m
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
"""

# The whole intake after the checks, in one round trip: the unit grid (finest level, ST_Covers,
# lowest code) and its ancestors by code prefix; the finest area class and routing rule on that
# path; open cases of the category nearby (planar metres at this latitude: exact to ~0.5 % over
# 50 m, and far cheaper than geography for every candidate); the case and its first event.
# No row back means no finest-level grid covers the point (then insert_step_by_step).
_INTAKE_SQL = (
    """
WITH hit AS (
    SELECT g.id, g.code
    FROM grids_grid g
    WHERE g.valid_to IS NULL
      AND g.level_id = (SELECT id FROM grids_gridlevel ORDER BY depth DESC LIMIT 1)
      AND ST_Covers(g.geom, ST_Point(%(lon)s, %(lat)s, 4490))
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
           sqrt(power((ST_X(c.geom) - %(lon)s) * %(mx)s, 2)
                + power((ST_Y(c.geom) - %(lat)s) * 110574.0, 2)) AS metres
    FROM cases_case c
    WHERE c.geom && ST_Expand(ST_Point(%(lon)s, %(lat)s, 4490), %(degrees)s)
      AND c.case_class_id = %(class_id)s AND c.reported_at >= %(since)s
      AND c.status <> ALL(%(final)s)
), dups AS (
    SELECT id, status, reported_at, metres FROM near WHERE metres <= %(radius)s
    ORDER BY metres, id LIMIT 10
), routed AS (
    SELECT hit.id AS grid_id, hit.code AS grid_code, facts.*,
           CASE WHEN %(owner)s::bigint IS NOT NULL THEN %(owner)s::bigint
                WHEN facts.rule_department IS NOT NULL THEN facts.rule_department
                ELSE %(cdep)s::bigint END AS department_id,
           CASE WHEN %(owner)s::bigint IS NOT NULL THEN 'component_owner'
                WHEN facts.rule_department IS NOT NULL THEN 'grid_rule'
                WHEN %(cdep)s::bigint IS NOT NULL THEN 'class_default'
                ELSE 'none' END AS routed_by,
           COALESCE((SELECT jsonb_agg(jsonb_build_object(
                        'id', d.id, 'distance_m', round(d.metres::numeric, 1),
                        'status', d.status, 'reported_at', d.reported_at)
                     ORDER BY d.metres, d.id) FROM dups d), '[]'::jsonb) AS duplicates
    FROM hit, facts
),
"""
    + _NEW_CASE_SQL
    + """
SELECT n.id, n.district_code, n.grid_id, n.grid_code, n.street_code, n.community_code,
       n.area_class, n.department_id, n.routed_by, n.possible_duplicates, g.name, d.code, d.name,
       d.name_en
FROM new_case n
JOIN grids_grid g ON g.id = n.grid_id
LEFT JOIN components_department d ON d.id = n.department_id
"""
)

# The step-by-step path's facts, as the one row `routed` of _NEW_CASE_SQL.
_STEP_BY_STEP_SQL = (
    """
WITH routed AS (
    SELECT %(grid_id)s::bigint AS grid_id, %(grid_code)s::text AS grid_code,
           %(street_code)s::text AS street_code, %(community_code)s::text AS community_code,
           %(area_class)s::text AS area_class, %(department_id)s::bigint AS department_id,
           %(routed_by)s::text AS routed_by, %(duplicates)s::jsonb AS duplicates
),
"""
    + _NEW_CASE_SQL
    + """
SELECT id FROM new_case
"""
)

# psycopg keeps its parse of a query only up to 4,096 characters: written compactly, these are
# parsed once per process instead of on every report (0.13 ms each).
_INTAKE_SQL = " ".join(_INTAKE_SQL.split())
_STEP_BY_STEP_SQL = " ".join(_STEP_BY_STEP_SQL.split())


def _case_values(case: Case, *, lon: float, lat: float) -> dict[str, Any]:
    """The parameters of _NEW_CASE_SQL that come from the case itself."""
    return {
        "lon": lon,
        "lat": lat,
        "class_id": case.case_class_id,
        "darea": settings.GEOGRID_DEFAULT_AREA_CLASS,
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
        "seen": case.observed_at,
        "cid": case.client_id,
        "pc": case.path_check,
        "pm": case.path_distance_m,
    }


def insert_in_one_statement(
    case: Case, *, lon: float, lat: float, owner: int | None
) -> list[Duplicate] | None:
    """Find the grid path, routing and duplicates and write the case and its event, in one
    prepared statement; fills in the case. None (nothing written) when no finest-level grid
    covers the point."""
    radius = float(settings.GEOGRID_DUPLICATE_RADIUS_M)
    metres_per_degree_lon = 111_320.0 * max(math.cos(math.radians(lat)), 0.01)
    values = {
        **_case_values(case, lon=lon, lat=lat),
        "cdep": case.case_class.department_id,
        "owner": owner,
        "mx": metres_per_degree_lon,
        "degrees": radius / metres_per_degree_lon,
        "radius": radius,
        "final": list(workflow.FINAL_STATUSES),
        "since": case.reported_at - timedelta(hours=float(settings.GEOGRID_DUPLICATE_WINDOW_HOURS)),
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


def insert_step_by_step(
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
    values = {
        **_case_values(case, lon=lon, lat=lat),
        "grid_id": case.grid_id,
        "grid_code": case.grid_code,
        "street_code": case.street_code,
        "community_code": case.community_code,
        "area_class": case.area_class,
        "department_id": case.department_id,
        "routed_by": case.routed_by,
        "duplicates": Jsonb(case.possible_duplicates),
    }
    with _raw_cursor() as cursor:
        row = cursor.execute(_STEP_BY_STEP_SQL, values, prepare=True).fetchone()
    assert row is not None  # the INSERT of one case, its new_case row selected
    case.pk = row[0]
    return duplicates
