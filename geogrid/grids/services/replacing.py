"""Split and merge: old grids retired, new grids (new codes) in their place.

Codes are never reused, and a code names an area: a grid that is cut in two or merged with a
neighbour becomes new grids with new codes, and the old ones are retired into the history.
"""

from __future__ import annotations

from collections.abc import Sequence

import shapely
import shapely.ops
from django.db import transaction
from django.utils import timezone

from geogrid.accounts.actors import Actor
from geogrid.core.gis import GeometryValue, as_multipolygon
from geogrid.grids.errors import GridError, TopologyError, VersionConflict
from geogrid.grids.geometry import cutting_line, reading_order
from geogrid.grids.models import Grid, GridAction, GridBoundary, GridEvent, GridSource, GridType
from geogrid.grids.services.editing import create_grids
from geogrid.grids.services.locking import lock_grid, parent_code, serialise_edits_under
from geogrid.grids.validation import Candidate, check_candidates, first_message

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
    serialise_edits_under(*(parent_code(g) for g in grids))
    locked = [lock_grid(g) for g in sorted(grids, key=lambda g: g.code)]
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


def close_replaced(old: Sequence[Grid]) -> None:
    """Retire grids that new ones replace in the same transaction. Their contents are not
    re-assigned here: creating the replacements does that once (a retire-then-create would
    first strip every component and case of its grid and count each move twice)."""
    now = timezone.now()
    GridBoundary.objects.filter(grid__in=old, valid_to__isnull=True).update(valid_to=now)
    for grid in old:
        grid.valid_to = now
        grid.version += 1
        grid.save(update_fields=["valid_to", "version", "updated_at"])


def record_replaced(
    old: Sequence[Grid],
    created: Sequence[Grid],
    *,
    actor: Actor | None,
    reason: str,
    by: GridAction,
) -> None:
    new_codes = [g.code for g in created]
    GridEvent.objects.bulk_create(
        GridEvent(
            grid=g,
            action=GridAction.RETIRED,
            actor=actor,
            details={"reason": reason, "by": by, "replaced_by": new_codes},
        )
        for g in old
    )


def _replace_grids(
    *,
    old: Sequence[Grid],
    candidates: Sequence[Candidate],
    actor: Actor | None,
    action: GridAction,
    reason: str,
) -> list[Grid]:
    """Retire `old` and create `candidates` in their place, in the caller's transaction."""
    level, parent = old[0].level, old[0].parent
    problems = check_candidates(
        level=level, parent=parent, candidates=candidates, exclude_ids=[g.pk for g in old]
    )
    if problems:
        raise TopologyError(first_message(problems), [p for v in problems.values() for p in v])
    close_replaced(old)
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
    record_replaced(old, created, actor=actor, reason=reason, by=action)
    return created


@transaction.atomic
def split_grid(
    *, grid: Grid, line: GeometryValue, expected_version: int, actor: Actor | None, reason: str = ""
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
        old=[grid], candidates=candidates, actor=actor, action=GridAction.SPLIT, reason=reason
    )


@transaction.atomic
def merge_grids(
    *,
    grids: Sequence[Grid],
    expected_versions: dict[str, int],
    actor: Actor | None,
    reason: str = "",
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
        old=locked, candidates=[candidate], actor=actor, action=GridAction.MERGED, reason=reason
    )[0]
