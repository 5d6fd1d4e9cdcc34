"""Divide a grid into children of about a target area, or re-divide it (docs/domain.md §2.7).

Three methods: squares, relaxed Voronoi cells, and division along the city's features (roads,
water, walls; never through a building; balanced by workload). A re-division is stable: a child
the new division reproduces keeps its code untouched, a child that mostly survives keeps its
code with a new boundary (changed), the rest are retired and new codes created.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from geogrid.accounts.actors import Actor
from geogrid.core.codes import child_code
from geogrid.core.gis import area_m2, to_metric
from geogrid.core.logs import log_on_commit
from geogrid.grids import city_features as city
from geogrid.grids import topology, workload
from geogrid.grids.division import divide
from geogrid.grids.division_report import DivisionSummary, GridFigures, summarise
from geogrid.grids.errors import GridError, TopologyError
from geogrid.grids.feature_division import CityFeatures, divide_along_features
from geogrid.grids.geometry import reading_order, to_geos
from geogrid.grids.impact import apply_impact
from geogrid.grids.models import Grid, GridAction, GridBoundary, GridEvent, GridSource, GridType
from geogrid.grids.services.editing import create_grids
from geogrid.grids.services.locking import (
    child_level,
    lock_grid,
    next_sequence,
    serialise_edits_under,
)
from geogrid.grids.services.replacing import close_replaced, record_replaced
from geogrid.grids.validation import Candidate

# The package's name, not the module's: docs/operations.md, "Logs", lists the
# logger as geogrid.grids.services, whichever module writes the line.
logger = logging.getLogger(__package__)


METHODS = ("square", "voronoi", "features")
# Shares of the target by which a grid's load may differ (GEOGRID_DIVISION_TOLERANCE).
DEFAULT_TOLERANCE = 0.25
# A new piece takes over the code of an old grid when they share at least this share of both.
CHANGED_OVERLAP = 0.5
# A piece is an old grid kept when they differ by less than this share of its area.
SAME_SHARE = 1e-3


@dataclass
class DivisionResult:
    parent: Grid
    method: str
    children: list[Grid]  # every active child after the division, in code order
    kept: list[Grid] = field(default_factory=list)
    changed: list[Grid] = field(default_factory=list)
    created: list[Grid] = field(default_factory=list)
    retired: list[Grid] = field(default_factory=list)
    summary: DivisionSummary | None = None
    figures: GridFigures | None = None
    compared: list[DivisionSummary] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    tolerance: float | None = None  # as used (the setting when none was given)
    keep_blocks: bool = False
    # The children's shapes (shapely, storage CRS), in the order of `children`.
    shapes: list[Any] = field(default_factory=list)

    def report(self) -> dict[str, Any]:
        """The figures the editor and the command show: the counts of codes kept, changed,
        retired and created; the balance; per grid its area and workload."""
        rows = []
        if self.figures is not None:
            for position, child in enumerate(self.children):
                row: dict[str, Any] = {
                    "code": child.code,
                    "status": self.status_of(child),
                    "area_m2": round(float(self.figures.areas_m2[position]), 1),
                }
                if self.figures.workload_index is not None:
                    row["workload"] = round(float(self.figures.workload_index[position]), 3)
                for name, amounts in self.figures.amounts.items():
                    row[name] = round(float(amounts[position]), 1)
                rows.append(row)
        return {
            "method": self.method,
            "parent": self.parent.code,
            "codes": {
                "kept": len(self.kept),
                "changed": len(self.changed),
                "retired": len(self.retired),
                "created": len(self.created),
            },
            "retired_codes": [g.code for g in self.retired],
            "balance_sources": self.sources,
            "tolerance": self.tolerance,
            "keep_blocks": self.keep_blocks,
            "summary": self.summary.as_dict() if self.summary else None,
            "compared": [c.as_dict() for c in self.compared],
            "grids": rows,
        }

    def status_of(self, child: Grid) -> str:
        if any(child is g for g in self.kept):
            return "kept"
        if any(child is g for g in self.changed):
            return "changed"
        return "created"


@transaction.atomic
def divide_grid(
    *,
    parent: Grid,
    actor: Actor | None,
    target_area_m2: float = 10_000.0,
    method: str = "square",
    seed: int = 0,
    replace_existing: bool = False,
    commit: bool = True,
    names: Sequence[str] | None = None,
    count: int | None = None,
    grid_type: str = GridType.OTHER,
    source: str = GridSource.DIVIDED,
    describe: Callable[[str, float], dict[str, Any]] | None = None,
) -> list[Grid]:
    """Split `parent` into children covering it exactly; the children, in code order.

    See `divide_parent`, which this calls and which also reports the division. With
    commit=False nothing is written and unsaved Grid objects are returned (a preview).
    """
    if not commit:
        return _preview(
            parent=parent,
            target_area_m2=target_area_m2,
            method=method,
            seed=seed,
            count=count,
            names=names,
            source=source,
            replace_existing=replace_existing,
        )
    return divide_parent(
        parent=parent,
        actor=actor,
        target_area_m2=target_area_m2,
        method=method,
        seed=seed,
        replace_existing=replace_existing,
        names=names,
        count=count,
        grid_type=grid_type,
        source=source,
        describe=describe,
        compare=False,
    ).children


@transaction.atomic
def divide_parent(
    *,
    parent: Grid,
    actor: Actor | None,
    method: str = "square",
    target_area_m2: float | None = 10_000.0,
    count: int | None = None,
    balance: Sequence[str] = (),
    tolerance: float | None = None,
    keep_blocks: bool = False,
    seed: int = 0,
    replace_existing: bool = False,
    names: Sequence[str] | None = None,
    grid_type: str = GridType.OTHER,
    source: str = GridSource.DIVIDED,
    describe: Callable[[str, float], dict[str, Any]] | None = None,
    compare: bool = True,
    stage: Callable[[str], None] | None = None,
) -> DivisionResult:
    """Divide `parent` into children and write them; return what changed and the report.

    Methods: "square" (a lattice anchored on the parent's north-west corner), "voronoi"
    (jittered, relaxed cells; `count` fixes their number) and "features" (along the loaded
    roads, water and walls, never through a building, balanced by area and by the workload
    sources named in `balance`: components, reports, population; with `keep_blocks`, a block
    bounded by features is cut only when larger than the level's maximum area). Give
    `target_area_m2` or `count`. Children are coded west→east then north→south after every
    code the parent ever used. Locks the parent; refuses if it already has active children
    unless `replace_existing`, which re-divides stably: children the division reproduces are
    kept untouched, children it mostly reproduces keep their code with a new boundary, the
    others are retired, all in this transaction. With `compare`, the report also measures the square
    and Voronoi methods on the same parent. `describe(code, area_m2)` may return attributes for
    each new child. Writes the children, their boundaries, an event each and a 'divided' event
    on the parent.
    """
    say = stage or (lambda _: None)
    if method not in METHODS:
        raise GridError(
            f"Unknown division method {method!r}; use one of: {', '.join(METHODS)}.",
            reason="bad_method",
        )
    if count is not None and count < 1:
        raise GridError("The number of grids must be at least 1.", reason="bad_count")
    if count is None and not (target_area_m2 and target_area_m2 > 0):
        raise GridError(
            "Give a target area in square metres or a number of grids.", reason="bad_target"
        )
    if keep_blocks and method != "features":
        raise GridError(
            "Keeping blocks whole applies to dividing along features only.",
            reason="bad_keep_blocks",
        )
    tolerance = settings.GEOGRID_DIVISION_TOLERANCE if tolerance is None else tolerance
    if not 0.05 <= tolerance <= 1.0:
        raise GridError("The tolerance must be between 0.05 and 1.", reason="bad_tolerance")
    serialise_edits_under(parent.code)
    parent = lock_grid(parent)
    if not parent.is_active:
        raise GridError(f"Grid {parent.code} is retired; it cannot be divided.", reason="retired")
    level = child_level(parent)
    existing = list(parent.children.active().order_by("code"))
    if existing and not replace_existing:
        raise GridError(
            f"Grid {parent.code} already has {len(existing)} active child grids; retire them "
            "first or re-divide with replace_existing.",
            reason="has_children",
        )
    for child in existing:
        active_children = child.children.active().count()
        if active_children:
            raise GridError(
                f"Grid {child.code} still has {active_children} active child grids; re-divide "
                f"it first, or divide {parent.code} at its own level.",
                reason="has_children",
            )
    shape = shapely.from_wkb(bytes(parent.geom.wkb))
    say("reading")
    sources = workload.read_sources(shape, balance)
    features = city.city_features(shape) if method == "features" or compare else None
    if method == "features" and (features is None or not len(features.lines)):
        raise GridError(
            f"No roads, water or walls are loaded over grid {parent.code}; import a road layer "
            "(manage.py import_layer) or divide by squares or Voronoi cells.",
            reason="no_features",
        )
    old_shapes = [shapely.from_wkb(bytes(g.geom.wkb)) for g in existing]
    say("dividing")
    pieces = _pieces(
        shape,
        method=method,
        features=features,
        target_area_m2=target_area_m2,
        count=count,
        seed=seed,
        level_bounds=(level.min_area_m2, level.max_area_m2),
        sources=sources,
        previous=old_shapes,
        tolerance=tolerance,
        keep_blocks=keep_blocks,
    )
    ordered = [pieces[i] for i in reading_order(pieces)]
    metric = to_metric(np.array(ordered, dtype=object))
    areas = shapely.area(metric)
    say("checking")
    area_issues = topology.area_problems(
        [f"{i + 1}" for i in range(len(ordered))],
        areas,
        level.min_area_m2,
        level.max_area_m2,
        metric,
    )
    if area_issues:
        raise TopologyError(area_issues[0].message + " Choose another target area.", area_issues)
    kept_of, changed_of = match_previous(ordered, old_shapes)
    new_count = len(ordered) - len(kept_of) - len(changed_of)
    digits = level.code_length - len(parent.code)
    if next_sequence(parent) + new_count - 1 >= 10**digits:
        raise GridError(
            f"Dividing {parent.code} this way needs {new_count} new codes, more than its "
            f"{digits}-digit child codes have left; choose a larger target area or fewer grids, "
            "or divide the level above first.",
            reason="codes_exhausted",
        )
    say("writing")
    result = _write(
        parent=parent,
        level_code_length=level.code_length,
        level=level,
        actor=actor,
        method=method,
        ordered=ordered,
        areas=areas,
        existing=existing,
        kept_of=kept_of,
        changed_of=changed_of,
        names=names,
        grid_type=grid_type,
        source=source,
        describe=describe,
        target_area_m2=target_area_m2,
        count=count,
    )
    say("reporting")
    result.sources = [s.name for s in sources]
    result.tolerance = tolerance
    result.keep_blocks = keep_blocks
    summary_features = features if features is not None else CityFeatures.none()
    result.summary, figures = summarise(method, ordered, shape, summary_features, sources)
    # Figures in the children's code order (kept grids sort among the new ones).
    position = {id(piece): i for i, piece in enumerate(ordered)}
    order = [position[id(p)] for p in result.shapes]
    result.figures = GridFigures(
        areas_m2=figures.areas_m2[order],
        workload_index=None if figures.workload_index is None else figures.workload_index[order],
        amounts={k: v[order] for k, v in figures.amounts.items()},
    )
    if compare:
        for other in METHODS:
            if other == method or (other == "features" and not len(summary_features.lines)):
                continue
            other_pieces = _pieces(
                shape,
                method=other,
                features=summary_features,
                target_area_m2=target_area_m2,
                count=count if count is not None else len(ordered),
                seed=seed,
                level_bounds=(level.min_area_m2, level.max_area_m2),
                sources=sources,
                previous=[],
                tolerance=tolerance,
                keep_blocks=keep_blocks,
            )
            result.compared.append(
                summarise(other, other_pieces, shape, summary_features, sources)[0]
            )
    return result


def _pieces(
    shape: Any,
    *,
    method: str,
    features: CityFeatures | None,
    target_area_m2: float | None,
    count: int | None,
    seed: int,
    level_bounds: tuple[float | None, float | None],
    sources: list[Any],
    previous: list[Any],
    tolerance: float,
    keep_blocks: bool = False,
) -> list[Any]:
    if method == "features":
        assert features is not None
        division = divide_along_features(
            shape,
            features=features,
            target_area_m2=target_area_m2,
            count=count,
            min_area_m2=level_bounds[0],
            max_area_m2=level_bounds[1],
            workload=sources,
            previous=previous,
            tolerance=tolerance,
            keep_blocks=keep_blocks,
        )
        return division.pieces
    target = target_area_m2
    if count is not None:
        target = float(area_m2(shape)) / count
    assert target is not None
    try:
        return divide(shape, target_area_m2=target, method=method, seed=seed, count=count)
    except ValueError as exc:
        raise GridError(str(exc), reason="bad_target") from exc


def match_previous(pieces: list[Any], olds: list[Any]) -> tuple[dict[int, int], dict[int, int]]:
    """Which piece is an old grid unchanged (piece → old), and which mostly is one (it overlaps
    the old grid by at least CHANGED_OVERLAP of both; each old grid at most once)."""
    kept: dict[int, int] = {}
    changed: dict[int, int] = {}
    if not pieces or not olds:
        return kept, changed
    news = np.array(pieces, dtype=object)
    old_array = np.array(olds, dtype=object)
    new_index, old_index = shapely.STRtree(old_array).query(news, predicate="intersects")
    new_area = shapely.area(news[new_index])
    old_area = shapely.area(old_array[old_index])
    overlap = shapely.area(shapely.intersection(news[new_index], old_array[old_index]))
    differ = new_area + old_area - 2 * overlap
    used: set[int] = set()
    for k in np.argsort(differ):
        n, o = int(new_index[k]), int(old_index[k])
        if n in kept or o in used:
            continue
        if differ[k] < SAME_SHARE * new_area[k]:
            kept[n] = o
            used.add(o)
    share = np.minimum(overlap / new_area, overlap / old_area)
    for k in np.argsort(-share):
        n, o = int(new_index[k]), int(old_index[k])
        if n in kept or n in changed or o in used:
            continue
        if share[k] >= CHANGED_OVERLAP:
            changed[n] = o
            used.add(o)
    return kept, changed


def _write(
    *,
    parent: Grid,
    level_code_length: int,
    level: Any,
    actor: Actor | None,
    method: str,
    ordered: list[Any],
    areas: np.ndarray,
    existing: list[Grid],
    kept_of: dict[int, int],
    changed_of: dict[int, int],
    names: Sequence[str] | None,
    grid_type: str,
    source: str,
    describe: Callable[[str, float], dict[str, Any]] | None,
    target_area_m2: float | None,
    count: int | None,
) -> DivisionResult:
    kept = [existing[kept_of[i]] for i in sorted(kept_of)]
    changed_pairs = [(i, existing[changed_of[i]]) for i in sorted(changed_of)]
    staying = {g.pk for g in kept} | {g.pk for _, g in changed_pairs}
    retired = [g for g in existing if g.pk not in staying]
    new_positions = [i for i in range(len(ordered)) if i not in kept_of and i not in changed_of]
    close_replaced(retired)
    # Changed grids get their new boundary as a new version, like a reshape; their contents are
    # moved after the new grids exist, by the impact providers.
    now = timezone.now()
    changed = [g for _, g in changed_pairs]
    if changed:
        GridBoundary.objects.filter(grid__in=changed, valid_to__isnull=True).update(valid_to=now)
    for position, grid in changed_pairs:
        grid.geom = to_geos(ordered[position])
        grid.area_m2 = round(float(areas[position]), 2)
        grid.version += 1
        grid.save(update_fields=["geom", "area_m2", "version", "updated_at"])
    GridBoundary.objects.bulk_create(
        GridBoundary(
            grid=g,
            version=g.version,
            geom=g.geom,
            area_m2=g.area_m2,
            valid_from=now,
            changed_by=actor,
            reason=f"re-division of {parent.code}",
        )
        for g in changed
    )
    sequence = next_sequence(parent)
    candidates = []
    for offset, position in enumerate(new_positions):
        code = child_code(parent.code, sequence + offset, level_code_length)
        name = names[position] if names and position < len(names) else ""
        candidate = Candidate(geom=ordered[position], code=code, name=name or code)
        candidate.attrs = {"grid_type": grid_type}
        if describe is not None:
            candidate.attrs.update(describe(code, float(areas[position])))
        candidates.append(candidate)
    created = (
        create_grids(
            actor=actor,
            level=level,
            parent=parent,
            candidates=candidates,
            source=source,
            check=False,
            event_details={"replaces": [g.code for g in retired]} if retired else None,
        )
        if candidates
        else []
    )
    applied = apply_impact(changed, actor) if changed else {}
    GridEvent.objects.bulk_create(
        GridEvent(
            grid=g,
            action=GridAction.RESHAPED,
            actor=actor,
            details={
                "version": g.version,
                "area_m2": g.area_m2,
                "reason": f"re-division of {parent.code}",
                "by": GridAction.DIVIDED,
            },
        )
        for g in changed
    )
    record_replaced(
        retired,
        created,
        actor=actor,
        reason=f"re-division of {parent.code}",
        by=GridAction.DIVIDED,
    )
    GridEvent.objects.create(
        grid=parent,
        action=GridAction.DIVIDED,
        actor=actor,
        details={
            "method": method,
            "target_area_m2": target_area_m2,
            "count": count,
            "children": len(ordered),
            "first_code": created[0].code if created else None,
            "kept": [g.code for g in kept],
            "changed": [g.code for g in changed],
            "replaced": [g.code for g in retired],
            "moved_into_changed": applied,
        },
    )
    log_on_commit(
        logger,
        "grid edit",
        op="divided",
        codes=[parent.code],
        method=method,
        children=len(ordered),
        kept=len(kept),
        changed=len(changed),
        replaced=len(retired),
        actor_id=getattr(actor, "pk", None),
    )
    by_position: dict[int, Grid] = {}
    for i in kept_of:
        by_position[i] = existing[kept_of[i]]
    for i, grid in changed_pairs:
        by_position[i] = grid
    for position, grid in zip(new_positions, created, strict=True):
        by_position[position] = grid
    in_code_order = sorted(by_position, key=lambda i: by_position[i].code)
    return DivisionResult(
        parent=parent,
        method=method,
        children=[by_position[i] for i in in_code_order],
        kept=kept,
        changed=changed,
        created=created,
        retired=retired,
        shapes=[ordered[i] for i in in_code_order],
    )


def _preview(
    *,
    parent: Grid,
    target_area_m2: float,
    method: str,
    seed: int,
    count: int | None,
    names: Sequence[str] | None,
    source: str,
    replace_existing: bool,
) -> list[Grid]:
    """Unsaved children of a square or Voronoi division, for a quick look."""
    level = child_level(parent)
    if parent.children.active().exists() and not replace_existing:
        raise GridError(
            f"Grid {parent.code} already has active child grids; retire them first or "
            "re-divide with replace_existing.",
            reason="has_children",
        )
    shape = shapely.from_wkb(bytes(parent.geom.wkb))
    pieces = _pieces(
        shape,
        method=method,
        features=city.city_features(shape) if method == "features" else None,
        target_area_m2=target_area_m2,
        count=count,
        seed=seed,
        level_bounds=(level.min_area_m2, level.max_area_m2),
        sources=[],
        previous=[],
        tolerance=settings.GEOGRID_DIVISION_TOLERANCE,
    )
    ordered = [pieces[i] for i in reading_order(pieces)]
    sequence = next_sequence(parent)
    areas = area_m2(np.array(ordered, dtype=object))
    preview = []
    for i, (piece, area) in enumerate(zip(ordered, areas, strict=True)):
        code = child_code(parent.code, sequence + i, level.code_length)
        preview.append(
            Grid(
                code=code,
                name=(names[i] if names and i < len(names) else "") or code,
                level=level,
                parent=parent,
                geom=to_geos(piece),
                area_m2=round(float(area), 2),
                source=source,
                district_code=parent.district_code,
            )
        )
    return preview
