"""Write API of the grid editor: check or save an edit, and a grid's boundary history.

POST /api/v1/grids/edits/ takes one edit as JSON (see GridEditView); with "commit": false (the
default) nothing is written and the answer says what saving would do.
"""

from __future__ import annotations

from typing import Any

import shapely
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from geogrid.accounts.actors import actor_of
from geogrid.accounts.models import Role
from geogrid.core.api import BadRequest
from geogrid.core.codes import validate_grid_code
from geogrid.core.permissions import get_in_scope_or_404, require_role
from geogrid.core.privacy import audience_of
from geogrid.grids.edits import ACTIONS, outcome_payload, run_edit
from geogrid.grids.errors import GridError, VersionConflict
from geogrid.grids.models import AreaClass, Grid, GridType
from geogrid.grids.privacy import GRID_BOUNDARY, GRID_EVENT, event_details
from geogrid.grids.serializers import GridFeatureSerializer
from geogrid.grids.services.editing import update_grid_attributes
from geogrid.grids.workload import available_sources

EDIT_ROLES = (Role.PLANNER,)
MAX_VERTICES = 20_000
DIVIDE_METHODS = ("square", "voronoi", "features")


def _code(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise BadRequest(f"'{field}' must be a grid code.", field=field)
    try:
        validate_grid_code(value)
    except ValueError as exc:
        raise BadRequest(str(exc), field=field) from exc
    return value


def _geometry(value: Any, field: str) -> dict[str, Any]:
    """A GeoJSON geometry (or Feature) in lon/lat, checked for shape and size."""
    if isinstance(value, dict) and value.get("type") == "Feature":
        value = value.get("geometry")
    if not isinstance(value, dict) or "type" not in value or "coordinates" not in value:
        raise BadRequest(
            f"'{field}' must be a GeoJSON geometry in longitude/latitude.", field=field
        )
    try:
        shape = shapely.geometry.shape(value)
    except (ValueError, TypeError, AttributeError, IndexError) as exc:
        raise BadRequest(f"'{field}' is not readable GeoJSON: {exc}.", field=field) from exc
    if shapely.get_num_coordinates(shape) > MAX_VERTICES:
        raise BadRequest(
            f"'{field}' has more than {MAX_VERTICES:,} vertices; simplify it first.", field=field
        )
    return value


def _version(value: Any, code: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadRequest(
            f"The version of grid {code} must be a positive whole number.", field="versions"
        )
    return value


class GridEditView(APIView):
    """Check or save one grid edit (planners, within their scope).

    Body: {"action": create|reshape|split|merge|retire|divide, "commit": false,
    "grid": code (edited grid; the parent for create and divide), "version": n,
    "grids": [codes] and "versions": {code: n} (merge), "geometry": GeoJSON (create, reshape),
    "line": GeoJSON line (split), "name", "grid_type" (create), "reason",
    "target_area_m2" or "count", "method": square|voronoi|features, "balance": [sources],
    "tolerance" (0.05–1; default settings.GEOGRID_DIVISION_TOLERANCE), "keep_blocks" (true:
    along features, a block is cut only when larger than the level's maximum area),
    "replace_existing" (divide)}. A division's answer adds "division": its report (codes kept,
    changed, retired and created; area and workload balance; the square and Voronoi methods on
    the same parent for comparison; the target_area_m2, count, tolerance and keep_blocks used),
    and its "grids" carry every child with status new, changed or kept, and the grids it
    retires (status retired).

    200 with {"ok", "problems", "warnings", "codes", "impact", "grids"}: ok=false lists every
    topology problem with its shape; a save that is not ok writes nothing (and answers 400 with
    the same body). 409 when a grid was saved by someone else since the given version: the body
    says who and when and carries the current boundary.
    """

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        body = request.data
        if not isinstance(body, dict):
            raise BadRequest("Send the edit as a JSON object.")
        action = body.get("action")
        if action not in ACTIONS:
            raise BadRequest(f"'action' must be one of: {', '.join(ACTIONS)}.", field="action")
        commit = body.get("commit", False)
        if not isinstance(commit, bool):
            raise BadRequest("'commit' must be true or false.", field="commit")
        require_role(request.user, *EDIT_ROLES, action="edit grids")
        scope = Grid.objects.in_scope_of(request.user).select_related("level", "parent")
        params: dict[str, Any] = {"reason": str(body.get("reason", ""))[:500]}
        versions: dict[str, int] = {}
        if action == "merge":
            codes = body.get("grids")
            if not isinstance(codes, list) or len(codes) < 2:
                raise BadRequest(
                    "'grids' must list at least two grid codes to merge.", field="grids"
                )
            raw_versions = body.get("versions")
            if not isinstance(raw_versions, dict):
                raise BadRequest(
                    "'versions' must give the version of each grid you merge.", field="versions"
                )
            grids = [get_in_scope_or_404(scope, code=_code(c, "grids")) for c in codes]
            for grid in grids:
                if grid.code not in raw_versions:
                    raise BadRequest(f"'versions' lacks grid {grid.code}.", field="versions")
                versions[grid.code] = _version(raw_versions[grid.code], grid.code)
            params["grids"] = grids
        else:
            grid = get_in_scope_or_404(scope, code=_code(body.get("grid"), "grid"))
            params["grid"] = grid
            if action in ("reshape", "split", "retire"):
                versions[grid.code] = _version(body.get("version"), grid.code)
        if action in ("create", "reshape"):
            params["geometry"] = _geometry(body.get("geometry"), "geometry")
        if action == "create":
            params["name"] = str(body.get("name", ""))[:100]
            grid_type = body.get("grid_type") or GridType.OTHER
            if grid_type not in GridType.values:
                raise BadRequest(
                    f"'grid_type' must be one of: {', '.join(GridType.values)}.", field="grid_type"
                )
            params["grid_type"] = grid_type
        if action == "split":
            params["line"] = _geometry(body.get("line"), "line")
        if action == "divide":
            params["target_area_m2"] = _target_area(body.get("target_area_m2", 10_000))
            method = body.get("method", "square")
            if method not in DIVIDE_METHODS:
                raise BadRequest(
                    f"'method' must be one of: {', '.join(DIVIDE_METHODS)}.", field="method"
                )
            params["method"] = method
            params["replace_existing"] = bool(body.get("replace_existing", False))
            params["count"] = _count(body.get("count"))
            params["balance"] = _balance(body.get("balance"))
            params["tolerance"] = _tolerance(body.get("tolerance"))
            keep_blocks = body.get("keep_blocks", False)
            if not isinstance(keep_blocks, bool):
                raise BadRequest("'keep_blocks' must be true or false.", field="keep_blocks")
            if keep_blocks and method != "features":
                raise BadRequest(
                    "'keep_blocks' applies to the features method only.", field="keep_blocks"
                )
            params["keep_blocks"] = keep_blocks
        try:
            outcome = run_edit(
                action=action, actor=actor_of(request), commit=commit, versions=versions, **params
            )
        except VersionConflict as exc:
            current = exc.grid
            return Response(
                {
                    "error": "conflict",
                    "detail": str(exc),
                    "grid": current.code,
                    "current_version": exc.current_version,
                    "changed_by": exc.changed_by,
                    "changed_at": exc.changed_at.isoformat() if exc.changed_at else None,
                    "current_geometry": shapely.geometry.mapping(
                        shapely.from_wkb(bytes(current.geom.wkb))
                    ),
                },
                status=409,
            )
        except GridError as exc:
            # The editor words the common refusals in the page's language from `reason`.
            raise BadRequest(str(exc), extra={"reason": exc.reason}) from exc
        payload = outcome_payload(outcome)
        if commit and not outcome.ok:
            return Response({"error": "topology", "detail": outcome.message, **payload}, status=400)
        return Response(payload, status=201 if outcome.committed and outcome.created else 200)


def _count(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not (1 <= value <= 999):
        raise BadRequest("'count' must be a whole number of grids from 1 to 999.", field="count")
    return value


def _tolerance(value: Any) -> float | None:
    """The share by which a grid's load may differ from the target (docs/domain.md §2.7);
    None: settings.GEOGRID_DIVISION_TOLERANCE."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not (0.05 <= value <= 1):
        raise BadRequest(
            "'tolerance' must be a number from 0.05 to 1 (5% to 100% of the target).",
            field="tolerance",
        )
    return float(value)


def _balance(value: Any) -> list[str]:
    if value is None:
        return []
    sources = available_sources()
    if not isinstance(value, list) or any(v not in sources for v in value):
        raise BadRequest(
            f"'balance' must be a list of workload sources from: {', '.join(sources)}.",
            field="balance",
        )
    return list(dict.fromkeys(value))


def _target_area(value: Any) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not (100 <= value <= 10_000_000)
    ):
        raise BadRequest(
            "'target_area_m2' must be a number of square metres between 100 and 10,000,000.",
            field="target_area_m2",
        )
    return float(value)


class GridHistoryView(APIView):
    """Every boundary a grid has had (with dates and authors), its events, and the grids it
    replaced or was replaced by (split, merge, re-division), read from its own events. The
    public (grids/privacy.py) sees it without authors, actors and staff-only attributes."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, code: str) -> Response:
        validate_grid_code(code)
        grid = get_in_scope_or_404(Grid.objects.visible_to(request.user), code=code)
        audience = audience_of(request.user)
        boundaries = [
            {
                "version": b.version,
                "valid_from": b.valid_from,
                "valid_to": b.valid_to,
                "changed_by": b.changed_by.get_username() if b.changed_by else None,
                "reason": b.reason,
                "area_m2": round(b.area_m2, 1),
                "geometry": shapely.geometry.mapping(shapely.from_wkb(bytes(b.geom.wkb))),
            }
            for b in grid.boundaries.select_related("changed_by").order_by("-version")
        ]
        events = [
            {
                "action": e.action,
                "actor": e.actor.get_username() if e.actor else None,
                "at": e.created_at,
                "details": event_details(e.details, audience),
            }
            for e in grid.events.select_related("actor").order_by("-created_at", "-id")[:200]
        ]
        GRID_BOUNDARY.redact_all(boundaries, audience)
        GRID_EVENT.redact_all(events, audience)
        return Response(
            {
                "code": grid.code,
                "name": grid.name,
                "version": grid.version,
                "active": grid.is_active,
                "valid_from": grid.valid_from,
                "valid_to": grid.valid_to,
                "boundaries": boundaries,
                "events": events,
                "replaced_by": next(
                    (
                        e["details"].get("replaced_by")
                        for e in events
                        if e["details"].get("replaced_by")
                    ),
                    [],
                ),
                "replaces": next(
                    (e["details"].get("replaces") for e in events if e["details"].get("replaces")),
                    [],
                ),
            }
        )


TEXT_LIMITS = {"name": 100, "officer_name": 50, "officer_phone": 30, "responsible_department": 100}


def parse_attributes(body: Any) -> dict[str, Any]:
    """The descriptive attributes in a PATCH body, checked (400 naming the field otherwise)."""
    if not isinstance(body, dict) or not body:
        raise BadRequest("Send the attributes to change as a JSON object.")
    changes: dict[str, Any] = {}
    for field, value in body.items():
        if field in TEXT_LIMITS:
            # A NUL byte cannot be stored by PostgreSQL (it would be a 500).
            if (
                not isinstance(value, str)
                or len(value.strip()) > TEXT_LIMITS[field]
                or "\x00" in value
            ):
                raise BadRequest(
                    f"'{field}' must be text of at most {TEXT_LIMITS[field]} "
                    "characters, without control characters.",
                    field=field,
                )
            if field == "name" and not value.strip():
                raise BadRequest("'name' cannot be empty.", field=field)
            changes[field] = value.strip()
        elif field == "grid_type":
            if value not in GridType.values:
                raise BadRequest(
                    f"'grid_type' must be one of: {', '.join(GridType.values)}.", field=field
                )
            changes[field] = value
        elif field == "area_class":
            if value not in ("", *AreaClass.values):
                raise BadRequest(
                    "'area_class' must be A, B, C or empty (as the parent).", field=field
                )
            changes[field] = value
        elif field in ("households", "population"):
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, int)
                or not 0 <= value <= 100_000_000
            ):
                raise BadRequest(
                    f"'{field}' must be a whole number of at least 0, or null.", field=field
                )
            changes[field] = value
        else:
            raise BadRequest(
                f"'{field}' cannot be changed here: boundaries change through "
                "/api/v1/grids/edits/, codes and levels never.",
                field=field,
            )
    return changes


def update_attributes(request: Request, grid: Grid) -> Response:
    """PATCH a grid's descriptive attributes (planners, in scope); answers the grid."""
    require_role(request.user, *EDIT_ROLES, action="edit grids")
    grid = get_in_scope_or_404(Grid.objects.in_scope_of(request.user), code=grid.code)
    changes = parse_attributes(request.data)
    updated = update_grid_attributes(grid=grid, actor=actor_of(request), **changes)
    return Response(GridFeatureSerializer(updated, context={"request": request}).data)
