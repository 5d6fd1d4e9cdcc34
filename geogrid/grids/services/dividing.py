"""Divide a grid into children of about a target area, or re-divide it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import shapely
from django.db import transaction

from geogrid.accounts.actors import Actor
from geogrid.core.codes import child_code
from geogrid.core.gis import area_m2, to_metric
from geogrid.core.logs import log_on_commit
from geogrid.grids import topology
from geogrid.grids.division import divide
from geogrid.grids.errors import GridError, TopologyError
from geogrid.grids.geometry import reading_order, to_geos
from geogrid.grids.models import Grid, GridAction, GridEvent, GridSource, GridType
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
    parent = lock_grid(parent)
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
        sequence = next_sequence(parent)
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
    close_replaced(existing)
    sequence = next_sequence(parent)
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
    record_replaced(
        existing,
        children,
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
