"""Create, reshape, re-attribute and retire single grids (docs/architecture.md §3.1)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from geogrid.accounts.actors import Actor
from geogrid.core.codes import CodeError, child_code
from geogrid.core.gis import GeometryValue
from geogrid.core.logs import log_on_commit
from geogrid.grids.errors import GridError, VersionConflict
from geogrid.grids.geometry import reading_order, to_geos
from geogrid.grids.impact import apply_impact, edit_impact
from geogrid.grids.levels import DEFAULT_LEVELS
from geogrid.grids.models import (
    Grid,
    GridAction,
    GridBoundary,
    GridEvent,
    GridLevel,
    GridSource,
    GridType,
)
from geogrid.grids.services.locking import (
    lock_grid,
    next_sequence,
    parent_code,
    serialise_edits_under,
)
from geogrid.grids.validation import Candidate, validate_new_grids, validate_reshape

# The package's name, not the module's: docs/operations.md, "Logs", lists the
# logger as geogrid.grids.services, whichever module writes the line.
logger = logging.getLogger(__package__)
# Grid codes per log line at most (a division can create hundreds).
LOGGED_CODES = 20


@transaction.atomic
def create_grids(
    *,
    actor: Actor | None,
    level: GridLevel,
    parent: Grid | None,
    candidates: Sequence[Candidate],
    source: str = GridSource.DRAWN,
    action: GridAction = GridAction.CREATED,
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
        parent = lock_grid(parent)
    validate_new_grids(level=level, parent=parent, candidates=candidates, topology_checks=check)
    unnamed = [c for c in candidates if not c.code]
    if unnamed:
        if parent is None:
            raise CodeError(f"A {level.name} grid without a parent needs an explicit code.")
        sequence = next_sequence(parent)
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
    actor: Actor | None,
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
    *, grid: Grid, geom: GeometryValue, expected_version: int, actor: Actor | None, reason: str = ""
) -> Grid:
    """Give a grid a new boundary.

    Locks the grid row; a stale `expected_version` raises VersionConflict and changes nothing.
    The new boundary must pass the same checks as a new grid, and must still cover the grid's
    own active children. Closes the current GridBoundary, opens a new one, bumps `version`, and
    writes a 'reshaped' GridEvent with the impact reported by the registered providers.
    Serialised with every other boundary edit under the same parent (serialise_edits_under).
    """
    serialise_edits_under(parent_code(grid), grid.code)
    grid = lock_grid(grid)
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
        action=GridAction.RESHAPED,
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
def update_grid_attributes(*, grid: Grid, actor: Actor | None, **changes: Any) -> Grid:
    """Change a grid's descriptive attributes (not its code, level, parent or boundary).

    Locks the grid, writes only the fields that really change, and records them (old and new
    values) in an 'updated' GridEvent. The boundary version is not bumped: history is about
    boundaries.
    """
    unknown = set(changes) - set(EDITABLE_ATTRIBUTES)
    if unknown:
        raise GridError(f"These grid fields cannot be edited here: {', '.join(sorted(unknown))}.")
    grid = lock_grid(grid)
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
    GridEvent.objects.create(
        grid=grid, action=GridAction.UPDATED, actor=actor, details={"changes": diff}
    )
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
def retire_grid(
    *, grid: Grid, expected_version: int, actor: Actor | None, reason: str = ""
) -> Grid:
    """Retire a grid: it stays in the database with valid_to set, and its code is never reused.

    Locks the grid; refuses while it has active children; closes its current boundary.
    """
    serialise_edits_under(grid.code)  # no child may be created under it meanwhile
    grid = lock_grid(grid)
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
        action=GridAction.RETIRED,
        actor=actor,
        details={"reason": reason, "impact": impact, "applied": applied},
    )
    log_on_commit(
        logger, "grid edit", op="retired", codes=[grid.code], actor_id=getattr(actor, "pk", None)
    )
    return grid


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
