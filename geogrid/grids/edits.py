"""The grid editor's one entry point: check an edit (a dry run) or save it.

Every edit runs the real service (create, reshape, split, merge, retire, divide) inside a
transaction. A check rolls that transaction back, so what the planner is shown — the problems,
the codes that would be created or retired, the components and open cases that would change
grid, the gaps it would open — is exactly what saving would do, computed by the same code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import shapely
from django.db import transaction
from shapely.geometry.base import BaseGeometry

from geogrid.accounts.actors import Actor
from geogrid.core.gis import GeometryError
from geogrid.grids import topology
from geogrid.grids.errors import GridError, TopologyError
from geogrid.grids.impact import collect_impact
from geogrid.grids.models import Grid, GridType
from geogrid.grids.services import dividing, editing, locking, replacing

ACTIONS = ("create", "reshape", "split", "merge", "retire", "divide")


@dataclass
class EditOutcome:
    action: str
    committed: bool
    ok: bool
    created: list[Grid] = field(default_factory=list)
    changed: list[Grid] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    # Grids shown in a preview besides the created and changed ones: a division's children it
    # keeps untouched, and the grids an edit retires (their last boundary).
    kept: list[Grid] = field(default_factory=list)
    retired_grids: list[Grid] = field(default_factory=list)
    problems: list[topology.Problem] = field(default_factory=list)
    warnings: list[topology.Problem] = field(default_factory=list)
    impact: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    # A division's report: codes kept/changed/retired/created, balance, per-grid figures.
    division: dict[str, Any] = field(default_factory=dict)


def _merge_impact(log: list[dict[str, Any]]) -> dict[str, Any]:
    """Add up what the providers reported for each grid write of one edit."""
    total: dict[str, Any] = {}
    for applied in log:
        for key, value in applied.items():
            if isinstance(value, list):
                total[key] = (total.get(key, []) + value)[:50]
            elif isinstance(value, int | float):
                total[key] = total.get(key, 0) + value
    return total


def _gaps(parent: Grid | None) -> list[topology.Problem]:
    if parent is None:
        return []
    return [p for p in topology.topology_report(parent=parent)["problems"] if p.kind == "gap"]


def _new_gaps(
    before: list[topology.Problem], after: list[topology.Problem]
) -> list[topology.Problem]:
    """Gaps present after the edit and not before (an edit may open a gap on purpose — a
    retired grid leaves one — so these are warnings, not refusals)."""
    if not before:
        return after
    old = shapely.union_all([p.geom_metric for p in before if p.geom_metric is not None])
    fresh = []
    for problem in after:
        shape = problem.geom_metric
        if shape is None or shapely.area(shapely.difference(shape, old)) > 1.0:
            fresh.append(problem)
    return fresh


def _perform(
    *,
    action: str,
    actor: Actor | None,
    grid: Grid | None,
    grids: list[Grid],
    versions: dict[str, int],
    geometry: Any,
    line: Any,
    name: str,
    grid_type: str,
    reason: str,
    target_area_m2: float,
    method: str,
    replace_existing: bool,
    count: int | None,
    balance: Sequence[str],
    tolerance: float | None,
    keep_blocks: bool,
    division: dict[str, Any],
    shown: dict[str, list[Grid]],
) -> tuple[list[Grid], list[Grid], list[str]]:
    """(created, changed, retired codes) of one edit, written in the caller's transaction; a
    division also fills `division` with its report and `shown` with the children it keeps and
    the grids it retires, for the preview."""
    if action == "create":
        assert grid is not None  # the parent
        level = locking.child_level(grid)
        created = editing.create_grid(
            actor=actor,
            level=level,
            parent=grid,
            geom=geometry,
            name=name,
            grid_type=grid_type or GridType.OTHER,
        )
        return [created], [], []
    assert grid is not None or grids
    if action == "reshape":
        assert grid is not None
        changed = editing.reshape_grid(
            grid=grid,
            geom=geometry,
            actor=actor,
            reason=reason,
            expected_version=versions[grid.code],
        )
        return [], [changed], []
    if action == "split":
        assert grid is not None
        pieces = replacing.split_grid(
            grid=grid, line=line, actor=actor, reason=reason, expected_version=versions[grid.code]
        )
        return pieces, [], [grid.code]
    if action == "merge":
        merged = replacing.merge_grids(
            grids=grids, expected_versions=versions, actor=actor, reason=reason
        )
        return [merged], [], sorted(g.code for g in grids)
    if action == "retire":
        assert grid is not None
        editing.retire_grid(
            grid=grid, expected_version=versions[grid.code], actor=actor, reason=reason
        )
        return [], [], [grid.code]
    if action == "divide":
        assert grid is not None
        result = dividing.divide_parent(
            parent=grid,
            actor=actor,
            target_area_m2=None if count else target_area_m2,
            count=count,
            method=method,
            balance=balance,
            tolerance=tolerance,
            keep_blocks=keep_blocks,
            replace_existing=replace_existing,
            compare=True,
        )
        division.update(result.report())
        # What the division was asked for (the report has the tolerance used): the editor
        # shows it beside the figures.
        division["target_area_m2"] = None if count else target_area_m2
        division["count"] = count
        shown["kept"] = list(result.kept)
        shown["retired"] = list(result.retired)
        return result.created, result.changed, [g.code for g in result.retired]
    raise GridError(f"Unknown edit {action!r}; use one of: {', '.join(ACTIONS)}.")


def run_edit(
    *,
    action: str,
    actor: Actor | None,
    commit: bool,
    grid: Grid | None = None,
    grids: list[Grid] | None = None,
    versions: dict[str, int] | None = None,
    geometry: Any = None,
    line: Any = None,
    name: str = "",
    grid_type: str = "",
    reason: str = "",
    target_area_m2: float = 10_000.0,
    method: str = "square",
    replace_existing: bool = False,
    count: int | None = None,
    balance: Sequence[str] = (),
    tolerance: float | None = None,
    keep_blocks: bool = False,
) -> EditOutcome:
    """Check (commit=False) or save (commit=True) one grid edit.

    `grid` is the grid edited (for "create" and "divide": the parent); `grids` the grids merged;
    `versions` the version of each grid the planner edited (stale → VersionConflict, nothing
    written). Topology problems come back in the outcome (ok=False) rather than raised, so a
    check can show all of them on the map; a failed save writes nothing. Other mistakes
    (bad geometry, a line that cuts nothing...) raise GridError / GeometryError.
    """
    if action not in ACTIONS:
        raise GridError(f"Unknown edit {action!r}; use one of: {', '.join(ACTIONS)}.")
    grids = grids or []
    versions = versions or {}
    parent = grid if action in ("create", "divide") else (grid or grids[0]).parent
    outcome = EditOutcome(action=action, committed=False, ok=True)
    shown: dict[str, list[Grid]] = {}
    try:
        with transaction.atomic():
            before = _gaps(parent)
            with collect_impact() as log:
                created, changed, retired = _perform(
                    action=action,
                    actor=actor,
                    grid=grid,
                    grids=grids,
                    versions=versions,
                    geometry=geometry,
                    line=line,
                    name=name,
                    grid_type=grid_type,
                    reason=reason,
                    target_area_m2=target_area_m2,
                    method=method,
                    replace_existing=replace_existing,
                    count=count,
                    balance=balance,
                    tolerance=tolerance,
                    keep_blocks=keep_blocks,
                    division=outcome.division,
                    shown=shown,
                )
            outcome.created, outcome.changed, outcome.retired = created, changed, retired
            outcome.kept = shown.get("kept", [])
            outcome.retired_grids = shown.get("retired", [])
            outcome.impact = _merge_impact(log)
            outcome.warnings = _new_gaps(before, _gaps(parent))
            if commit:
                outcome.committed = True
            else:
                transaction.set_rollback(True)
    except TopologyError as exc:
        outcome.ok = False
        outcome.problems = exc.problems
        outcome.message = str(exc)
    except GeometryError as exc:
        # A self-intersecting drawing: show where, like the topology problems.
        outcome.ok = False
        location = getattr(exc, "location", None)
        outcome.problems = [topology.Problem(kind="invalid", message=str(exc), location=location)]
        outcome.message = str(exc)
    outcome.impact.setdefault("components_moved", 0)
    outcome.impact.setdefault("open_cases_moved", 0)
    return outcome


def as_geojson(shape: BaseGeometry) -> dict[str, Any]:
    return shapely.geometry.mapping(shape)


def outcome_payload(outcome: EditOutcome) -> dict[str, Any]:
    """The editor's JSON: problems and warnings with their shapes (lon/lat), the resulting
    grids, the codes that change and the impact counts."""

    def grid_feature(g: Grid, status: str) -> dict[str, Any]:
        return {
            "type": "Feature",
            "id": g.code,
            "geometry": as_geojson(shapely.from_wkb(bytes(g.geom.wkb))),
            "properties": {
                "code": g.code,
                "name": g.name,
                "area_m2": round(g.area_m2, 1),
                "version": g.version or 1,
                "grid_type": g.grid_type,
                "status": status,
            },
        }

    # Status as the editor's legend names them: new, changed, kept (a division's untouched
    # children) and retired (the boundary the grid had).
    features = (
        [grid_feature(g, "new") for g in outcome.created]
        + [grid_feature(g, "changed") for g in outcome.changed]
        + [grid_feature(g, "kept") for g in outcome.kept]
        + [grid_feature(g, "retired") for g in outcome.retired_grids]
    )
    return {
        "action": outcome.action,
        "ok": outcome.ok,
        "committed": outcome.committed,
        "message": outcome.message,
        "problems": [p.as_dict() for p in outcome.problems],
        "warnings": [p.as_dict() for p in outcome.warnings],
        "codes": {
            "created": [g.code for g in outcome.created],
            "changed": [g.code for g in outcome.changed],
            "retired": outcome.retired,
        },
        "impact": outcome.impact,
        "grids": {"type": "FeatureCollection", "features": features},
        "division": outcome.division or None,
    }
