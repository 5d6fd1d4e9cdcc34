"""Grid use cases: the only code that changes grids (docs/architecture.md §3.1).

Every function here is transactional, takes keyword-only arguments and an explicit actor, checks
topology before writing (grids/validation.py), keeps the boundary history (GridBoundary), has
the registered impact providers move what the edit moves (grids/impact.py) and writes a
GridEvent. The errors are in grids/errors.py, the shapely helpers in grids/geometry.py, and the
read-only topology report in grids/topology.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import shapely
import shapely.ops
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone

from geogrid.core.codes import CodeError, child_code
from geogrid.core.gis import area_m2, as_multipolygon, to_metric
from geogrid.core.logs import log_on_commit
from geogrid.grids import topology
from geogrid.grids.division import divide
from geogrid.grids.errors import GridError, TopologyError, VersionConflict
from geogrid.grids.geometry import cutting_line, reading_order, to_geos
from geogrid.grids.impact import apply_impact, edit_impact
from geogrid.grids.levels import DEFAULT_LEVELS
from geogrid.grids.models import (
    Grid,
    GridBoundary,
    GridEvent,
    GridLevel,
    GridSource,
    GridType,
)
from geogrid.grids.validation import (
    Candidate,
    check_candidates,
    first_message,
    validate_new_grids,
    validate_reshape,
)

logger = logging.getLogger(__name__)
# Grid codes per log line at most (a division can create hundreds).
LOGGED_CODES = 20


def _next_sequence(parent: Grid) -> int:
    """The next child sequence number of a parent: after every code ever used, never reused.

    The caller holds the parent's row lock, so two concurrent creations cannot take the same one.
    """
    used = Grid.objects.filter(parent=parent).aggregate(last=Max("code"))["last"]
    return int(used[len(parent.code) :]) + 1 if used else 1


def child_level(parent: Grid) -> GridLevel:
    level = GridLevel.objects.filter(depth=parent.level.depth + 1).first()
    if level is None:
        raise GridError(f"{parent.level.name} is the finest level: it has no child grids.")
    return level


# Namespace of GeoGrid's boundary-edit advisory locks (the two-key form of pg_advisory_xact_lock;
# the second key is a hash of the parent's code).
EDIT_LOCK_NAMESPACE = 4490


def serialise_edits_under(*parent_codes: str) -> None:
    """Wait until no other transaction is editing the children of these grids, then hold them
    for the rest of this transaction ("" stands for the top level, which has no parent).

    Why: the overlap and coverage checks read the siblings as they are committed. Two
    transactions reshaping (or creating) neighbours under one parent each lock only their own
    rows, so both could check against the old siblings and commit overlapping grids. Every
    boundary write therefore first takes the transaction-scoped advisory lock of the parent
    whose children it changes, and - for a reshape - of the grid itself, whose own children
    check their coverage against it. Locks are taken in code order, before any row lock, so
    two editors cannot deadlock. Advisory locks are re-entrant: a service that calls another
    takes the same lock again at no cost.
    """
    with connection.cursor() as cursor:
        for code in sorted(set(parent_codes)):
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [EDIT_LOCK_NAMESPACE, code]
            )


def _parent_code(grid: Grid) -> str:
    if grid.parent_id is None:
        return ""
    return Grid.objects.values_list("code", flat=True).get(pk=grid.parent_id)


def _lock(grid: Grid) -> Grid:
    return (
        Grid.objects.select_for_update(of=("self",))
        .select_related("level", "parent")
        .get(pk=grid.pk)
    )


@transaction.atomic
def create_grids(
    *,
    actor: Any,
    level: GridLevel,
    parent: Grid | None,
    candidates: Sequence[Candidate],
    source: str = GridSource.DRAWN,
    action: str = "created",
    check: bool = True,
    event_details: dict[str, Any] | None = None,
) -> list[Grid]:
    """Create several grids under one parent in one transaction, all or none.

    Locks the parent row (serialises code allocation), checks every candidate (geometry,
    parent coverage, overlaps, area bounds) unless `check` is False because the caller has just
    run `check_candidates` itself, allocates codes west→east then north→south for candidates
    without one, and writes each grid, its first GridBoundary and a GridEvent (with
    `event_details` added, e.g. the grids a split or merge replaces).
    """
    serialise_edits_under(parent.code if parent is not None else "")
    if parent is not None:
        parent = _lock(parent)
    validate_new_grids(level=level, parent=parent, candidates=candidates, topology_checks=check)
    unnamed = [c for c in candidates if not c.code]
    if unnamed:
        if parent is None:
            raise CodeError(f"A {level.name} grid without a parent needs an explicit code.")
        sequence = _next_sequence(parent)
        for offset, index in enumerate(reading_order([c.geom for c in unnamed])):
            unnamed[index].code = child_code(parent.code, sequence + offset, level.code_length)
    now = timezone.now()
    grids = [
        Grid(
            code=c.code,
            name=c.name or c.code,
            level=level,
            parent=parent,
            district_code=c.code[:6],
            source=source,
            geom=to_geos(c.geom),
            area_m2=round(c.area_m2, 2),
            valid_from=now,
            grid_type=c.attrs.pop("grid_type", GridType.OTHER),
            **c.attrs,
        )
        for c in candidates
    ]
    try:
        Grid.objects.bulk_create(grids)
    except IntegrityError as exc:
        raise GridError(f"The grids could not be stored: {exc}") from exc
    GridBoundary.objects.bulk_create(
        GridBoundary(
            grid=g,
            version=1,
            geom=g.geom,
            area_m2=g.area_m2,
            valid_from=now,
            changed_by=actor,
            reason=action,
        )
        for g in grids
    )
    applied = apply_impact(grids, actor)
    GridEvent.objects.bulk_create(
        GridEvent(
            grid=g,
            action=action,
            actor=actor,
            details={
                "code": g.code,
                "area_m2": g.area_m2,
                "source": source,
                **({"applied": applied} if len(grids) == 1 else {}),
                **(event_details or {}),
            },
        )
        for g in grids
    )
    # A split, merge or division logs here too, with the codes it replaced; a large division
    # lists its first codes only (the events hold them all).
    log_on_commit(
        logger,
        "grid edit",
        op=action,
        count=len(grids),
        codes=[g.code for g in grids[:LOGGED_CODES]],
        replaces=(event_details or {}).get("replaces", [])[:LOGGED_CODES],
        parent_code=parent.code if parent is not None else None,
        source=source,
        actor_id=getattr(actor, "pk", None),
    )
    return grids


def create_grid(
    *,
    actor: Any,
    level: GridLevel,
    geom: Any,
    parent: Grid | None = None,
    code: str = "",
    name: str = "",
    source: str = GridSource.DRAWN,
    **attrs: Any,
) -> Grid:
    """Create one grid (see create_grids for the checks, locks and rows written)."""
    candidate = Candidate(geom=geom, code=code, name=name, attrs=attrs)
    return create_grids(
        actor=actor, level=level, parent=parent, candidates=[candidate], source=source
    )[0]


@transaction.atomic
def reshape_grid(
    *, grid: Grid, geom: Any, expected_version: int, actor: Any, reason: str = ""
) -> Grid:
    """Give a grid a new boundary.

    Locks the grid row; a stale `expected_version` raises VersionConflict and changes nothing.
    The new boundary must pass the same checks as a new grid, and must still cover the grid's
    own active children. Closes the current GridBoundary, opens a new one, bumps `version`, and
    writes a 'reshaped' GridEvent with the impact reported by the registered providers.
    Serialised with every other boundary edit under the same parent (serialise_edits_under).
    """
    serialise_edits_under(_parent_code(grid), grid.code)
    grid = _lock(grid)
    if grid.version != expected_version:
        raise VersionConflict(grid, expected_version)
    candidate = validate_reshape(grid=grid, geom=geom)
    shape = candidate.geom
    impact = edit_impact(grid=grid, new_geom=shape)
    now = timezone.now()
    GridBoundary.objects.filter(grid=grid, valid_to__isnull=True).update(valid_to=now)
    grid.geom = to_geos(shape)
    grid.area_m2 = round(candidate.area_m2, 2)
    grid.version += 1
    grid.save(update_fields=["geom", "area_m2", "version", "updated_at"])
    GridBoundary.objects.create(
        grid=grid,
        version=grid.version,
        geom=grid.geom,
        area_m2=grid.area_m2,
        valid_from=now,
        changed_by=actor,
        reason=reason,
    )
    applied = apply_impact([grid], actor)
    GridEvent.objects.create(
        grid=grid,
        action="reshaped",
        actor=actor,
        details={
            "version": grid.version,
            "area_m2": grid.area_m2,
            "reason": reason,
            "impact": impact,
            "applied": applied,
        },
    )
    log_on_commit(
        logger,
        "grid edit",
        op="reshaped",
        codes=[grid.code],
        version=grid.version,
        actor_id=getattr(actor, "pk", None),
    )
    return grid


EDITABLE_ATTRIBUTES = (
    "name",
    "grid_type",
    "area_class",
    "households",
    "population",
    "officer_name",
    "officer_phone",
    "responsible_department",
)


@transaction.atomic
def update_grid_attributes(*, grid: Grid, actor: Any, **changes: Any) -> Grid:
    """Change a grid's descriptive attributes (not its code, level, parent or boundary).

    Locks the grid, writes only the fields that really change, and records them (old and new
    values) in an 'updated' GridEvent. The boundary version is not bumped: history is about
    boundaries.
    """
    unknown = set(changes) - set(EDITABLE_ATTRIBUTES)
    if unknown:
        raise GridError(f"These grid fields cannot be edited here: {', '.join(sorted(unknown))}.")
    grid = _lock(grid)
    diff = {
        name: [getattr(grid, name), value]
        for name, value in changes.items()
        if getattr(grid, name) != value
    }
    if not diff:
        return grid
    for name, (_old, value) in diff.items():
        setattr(grid, name, value)
    grid.save(update_fields=[*diff, "updated_at"])
    GridEvent.objects.create(grid=grid, action="updated", actor=actor, details={"changes": diff})
    # The names of the fields only: the values include the officer's phone.
    log_on_commit(
        logger,
        "grid edit",
        op="updated",
        codes=[grid.code],
        fields=sorted(diff),
        actor_id=getattr(actor, "pk", None),
    )
    return grid


@transaction.atomic
def retire_grid(*, grid: Grid, expected_version: int, actor: Any, reason: str = "") -> Grid:
    """Retire a grid: it stays in the database with valid_to set, and its code is never reused.

    Locks the grid; refuses while it has active children; closes its current boundary.
    """
    serialise_edits_under(grid.code)  # no child may be created under it meanwhile
    grid = _lock(grid)
    if grid.version != expected_version:
        raise VersionConflict(grid, expected_version)
    if not grid.is_active:
        raise GridError(f"Grid {grid.code} is already retired.", reason="retired")
    active_children = grid.children.active().count()
    if active_children:
        raise GridError(
            f"Grid {grid.code} still has {active_children} active child grids; retire or "
            "re-divide them first.",
            reason="has_children",
        )
    impact = edit_impact(grid=grid, new_geom=None)
    now = timezone.now()
    GridBoundary.objects.filter(grid=grid, valid_to__isnull=True).update(valid_to=now)
    grid.valid_to = now
    grid.version += 1
    grid.save(update_fields=["valid_to", "version", "updated_at"])
    applied = apply_impact([grid], actor)
    GridEvent.objects.create(
        grid=grid,
        action="retired",
        actor=actor,
        details={"reason": reason, "impact": impact, "applied": applied},
    )
    log_on_commit(
        logger, "grid edit", op="retired", codes=[grid.code], actor_id=getattr(actor, "pk", None)
    )
    return grid


# --- Split and merge: old grids retired, new grids (new codes) in their place ---------------
# Codes are never reused, and a code names an area: a grid that is cut in two or merged with a
# neighbour becomes new grids with new codes, and the old ones are retired into the history.
INHERITED_ATTRIBUTES = (
    "grid_type",
    "area_class",
    "officer_name",
    "officer_phone",
    "responsible_department",
)


def _lock_for_replacement(grids: Sequence[Grid], expected_versions: dict[str, int]) -> list[Grid]:
    """Lock grids (in code order, so two editors cannot deadlock) and check that each is
    active, childless and at the version the editor read. Serialised with every other boundary
    edit under their parents (serialise_edits_under)."""
    serialise_edits_under(*(_parent_code(g) for g in grids))
    locked = [_lock(g) for g in sorted(grids, key=lambda g: g.code)]
    for grid in locked:
        if not grid.is_active:
            raise GridError(f"Grid {grid.code} is retired; it cannot be edited.", reason="retired")
        expected = expected_versions.get(grid.code)
        if expected is None:
            raise GridError(f"Give the version of grid {grid.code} you edited.")
        if grid.version != expected:
            raise VersionConflict(grid, expected)
        children = grid.children.active().count()
        if children:
            raise GridError(
                f"Grid {grid.code} has {children} active child grids; re-divide it instead, or "
                "edit its children first.",
                reason="has_children",
            )
    return locked


def _close_replaced(old: Sequence[Grid]) -> None:
    """Retire grids that new ones replace in the same transaction. Their contents are not
    re-assigned here: creating the replacements does that once (a retire-then-create would
    first strip every component and case of its grid and count each move twice)."""
    now = timezone.now()
    GridBoundary.objects.filter(grid__in=old, valid_to__isnull=True).update(valid_to=now)
    for grid in old:
        grid.valid_to = now
        grid.version += 1
        grid.save(update_fields=["valid_to", "version", "updated_at"])


def _record_replaced(
    old: Sequence[Grid], created: Sequence[Grid], *, actor: Any, reason: str, by: str
) -> None:
    new_codes = [g.code for g in created]
    GridEvent.objects.bulk_create(
        GridEvent(
            grid=g,
            action="retired",
            actor=actor,
            details={"reason": reason, "by": by, "replaced_by": new_codes},
        )
        for g in old
    )


def _replace_grids(
    *, old: Sequence[Grid], candidates: Sequence[Candidate], actor: Any, action: str, reason: str
) -> list[Grid]:
    """Retire `old` and create `candidates` in their place, in the caller's transaction."""
    level, parent = old[0].level, old[0].parent
    problems = check_candidates(
        level=level, parent=parent, candidates=candidates, exclude_ids=[g.pk for g in old]
    )
    if problems:
        raise TopologyError(first_message(problems), [p for v in problems.values() for p in v])
    _close_replaced(old)
    # Creating the new grids re-assigns what lay in the old ones (the impact providers look at
    # everything inside the new boundaries).
    # The creation events say what each new grid replaces (its history's lineage).
    created = create_grids(
        actor=actor,
        level=level,
        parent=parent,
        candidates=candidates,
        source=GridSource.DRAWN,
        action=action,
        check=False,
        event_details={"reason": reason, "replaces": [g.code for g in old]},
    )
    _record_replaced(old, created, actor=actor, reason=reason, by=action)
    return created


@transaction.atomic
def split_grid(
    *, grid: Grid, line: Any, expected_version: int, actor: Any, reason: str = ""
) -> list[Grid]:
    """Cut a childless grid along a line into two (or more) new sibling grids.

    The line must cross the grid from outside to outside. The pieces share the cut exactly, so
    together they cover the old grid with no gap or overlap; each must still meet the level's
    area bounds. The old grid is retired; the pieces get new codes and the old grid's type,
    area class, officer and department.
    """
    (grid,) = _lock_for_replacement([grid], {grid.code: expected_version})
    blade = cutting_line(line)
    shape = shapely.from_wkb(bytes(grid.geom.wkb))
    pieces = [
        p
        for p in shapely.get_parts(shapely.ops.split(shape, blade))
        if p.geom_type == "Polygon" and not p.is_empty
    ]
    if len(pieces) < 2:
        raise GridError(
            f"The line does not cut grid {grid.code} in two: draw it right across the grid, "
            "starting and ending outside it.",
            reason="line_does_not_cut",
        )
    attrs = {name: getattr(grid, name) for name in INHERITED_ATTRIBUTES}
    candidates = [
        Candidate(geom=as_multipolygon(pieces[i]), attrs=dict(attrs)) for i in reading_order(pieces)
    ]
    return _replace_grids(
        old=[grid], candidates=candidates, actor=actor, action="split", reason=reason
    )


@transaction.atomic
def merge_grids(
    *, grids: Sequence[Grid], expected_versions: dict[str, int], actor: Any, reason: str = ""
) -> Grid:
    """Merge adjacent childless sibling grids into one new grid (a new code).

    The grids must share a parent and level and touch along an edge: the union must be one
    polygon. The new grid keeps the attributes of the largest one; households and population
    are summed when every grid has them.
    """
    if len({g.code for g in grids}) < 2:
        raise GridError("Select at least two grids to merge.", reason="merge_needs_two")
    locked = _lock_for_replacement(grids, expected_versions)
    if len({(g.level_id, g.parent_id) for g in locked}) > 1:
        raise GridError(
            "Only grids of the same level under the same parent can be merged.",
            reason="mixed_parents",
        )
    shapes = shapely.from_wkb([bytes(g.geom.wkb) for g in locked])
    merged = shapely.union_all(shapes)
    if merged.geom_type != "Polygon":
        raise GridError(
            "These grids do not form one area (they must share edges, not only corners): "
            + ", ".join(g.code for g in locked)
            + ".",
            reason="not_adjacent",
        )
    largest = max(locked, key=lambda g: g.area_m2)
    attrs = {name: getattr(largest, name) for name in INHERITED_ATTRIBUTES}
    if len({g.grid_type for g in locked}) > 1:
        attrs["grid_type"] = GridType.MIXED
    for counted in ("households", "population"):
        values = [getattr(g, counted) for g in locked]
        if all(v is not None for v in values):
            attrs[counted] = sum(values)
    candidate = Candidate(geom=as_multipolygon(merged), attrs=attrs)
    return _replace_grids(
        old=locked, candidates=[candidate], actor=actor, action="merged", reason=reason
    )[0]


@transaction.atomic
def ensure_default_levels() -> list[GridLevel]:
    """Create the standard levels if missing (idempotent; edited rows are kept as they are).

    Migration grids.0002 creates them too; this serves databases flushed by tests."""
    for slug, name, name_en, depth, length, min_area, max_area in DEFAULT_LEVELS:
        GridLevel.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "name_en": name_en,
                "depth": depth,
                "code_length": length or settings.GEOGRID_UNIT_GRID_CODE_LENGTH,
                "min_area_m2": min_area,
                "max_area_m2": max_area,
            },
        )
    return list(GridLevel.objects.all())


@transaction.atomic
def divide_grid(
    *,
    parent: Grid,
    actor: Any,
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
    """Split `parent` into compact children of about `target_area_m2` covering it exactly.

    Methods: "square" (a lattice of squares anchored on the parent's north-west corner) and
    "voronoi" (jittered, relaxed Voronoi cells; `count` fixes the number of cells). Children are
    coded west→east then north→south after every code the parent ever used. Locks the parent;
    refuses if it already has active children unless `replace_existing`, which retires them in
    the same transaction. With commit=False nothing is written and unsaved Grid objects are
    returned (a preview). `describe(code, area_m2)` may return attributes (type, households,
    officer...) for each child. Writes the children, their boundaries, a 'created' event each
    and a 'divided' event on the parent.
    """
    serialise_edits_under(parent.code)
    parent = _lock(parent)
    if not parent.is_active:
        raise GridError(f"Grid {parent.code} is retired; it cannot be divided.", reason="retired")
    level = child_level(parent)
    existing = list(parent.children.active())
    if existing and not replace_existing:
        raise GridError(
            f"Grid {parent.code} already has {len(existing)} active child grids; retire them "
            "first or re-divide with replace_existing.",
            reason="has_children",
        )
    shapes = divide(
        shapely.from_wkb(bytes(parent.geom.wkb)),
        target_area_m2=target_area_m2,
        method=method,
        seed=seed,
        count=count,
    )
    ordered = [shapes[i] for i in reading_order(shapes)]
    candidates = [
        Candidate(
            geom=shape,
            name=(names[i] if names and i < len(names) else ""),
            attrs={"grid_type": grid_type},
        )
        for i, shape in enumerate(ordered)
    ]
    if not commit:
        sequence = _next_sequence(parent)
        areas = area_m2(np.array([c.geom for c in candidates], dtype=object))
        transaction.set_rollback(True)
        return [
            Grid(
                code=child_code(parent.code, sequence + i, level.code_length),
                name=c.name or child_code(parent.code, sequence + i, level.code_length),
                level=level,
                parent=parent,
                geom=to_geos(c.geom),
                area_m2=round(a, 2),
                source=source,
                district_code=parent.district_code,
            )
            for i, (c, a) in enumerate(zip(candidates, areas, strict=True))
        ]
    for child in existing:
        active_children = child.children.active().count()
        if active_children:
            raise GridError(
                f"Grid {child.code} still has {active_children} active child grids; re-divide "
                f"it first, or divide {parent.code} at its own level.",
                reason="has_children",
            )
    _close_replaced(existing)
    sequence = _next_sequence(parent)
    for offset, candidate in enumerate(candidates):
        candidate.code = child_code(parent.code, sequence + offset, level.code_length)
        if not candidate.name:
            candidate.name = candidate.code
    # The pieces tile the parent by construction, so the pairwise overlap search would find
    # nothing; the level's area bounds still apply (a custom target can break them).
    metric = to_metric(np.array([c.geom for c in candidates], dtype=object))
    area_issues = topology.area_problems(
        [c.code for c in candidates],
        shapely.area(metric),
        level.min_area_m2,
        level.max_area_m2,
        metric,
    )
    if area_issues:
        raise TopologyError(area_issues[0].message + " Choose another target area.", area_issues)
    if describe is not None:
        for candidate, area in zip(candidates, shapely.area(metric), strict=True):
            candidate.attrs.update(describe(candidate.code, float(area)))
    children = create_grids(
        actor=actor,
        level=level,
        parent=parent,
        candidates=candidates,
        source=source,
        check=False,
        event_details={"replaces": [g.code for g in existing]} if existing else None,
    )
    _record_replaced(
        existing, children, actor=actor, reason=f"re-division of {parent.code}", by="divided"
    )
    GridEvent.objects.create(
        grid=parent,
        action="divided",
        actor=actor,
        details={
            "method": method,
            "target_area_m2": target_area_m2,
            "children": len(children),
            "first_code": children[0].code if children else None,
            "replaced": [g.code for g in existing],
        },
    )
    log_on_commit(
        logger,
        "grid edit",
        op="divided",
        codes=[parent.code],
        method=method,
        children=len(children),
        replaced=len(existing),
        actor_id=getattr(actor, "pk", None),
    )
    return children
