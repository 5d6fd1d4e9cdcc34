"""Which unit grid a component lies in, and keeping that true when grids change.

A point component goes to the unit grid covering it; a line to the grid holding its longest
part; a polygon to the grid holding its largest part; ties go to the lowest code
(GridIndex.shape_positions). The grid is stored on the component and changes only here:
when a unit grid is created, reshaped or retired, the components it gains or loses are
re-assigned in the same transaction, each with a 'regridded' event.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from shapely.geometry.base import BaseGeometry

from geogrid.accounts.actors import Actor
from geogrid.components.services import record_regridding
from geogrid.grids.assignment import assign_geometries, assignment_after, is_leaf
from geogrid.grids.impact import ImpactProvider, affected_rows
from geogrid.grids.models import Grid

# Components that a change of these grids may move: those now in them, and those touching
# their (new) boundaries. One indexed query: the GiST index on components.geom.
AFFECTED_SQL = """
SELECT c.id, c.grid_id, ST_AsBinary(c.geom)
FROM components_component c
WHERE c.currency = 'in_use'
  AND (c.grid_id = ANY(%(ids)s)
       OR ST_Intersects(c.geom, ST_GeomFromWKB(%(area)s, 4490)))
"""


def preview_moves(grid: Grid, new_geom: BaseGeometry | None) -> dict[str, Any]:
    """How many components a reshape (new_geom) or retirement (None) of `grid` would move."""
    if not is_leaf(grid):
        return {}
    ids, current, geoms = affected_rows(AFFECTED_SQL, [grid], new_geom)
    if len(ids) == 0:
        return {"components_moved": 0}
    future = assignment_after(geoms, grid, new_geom)
    moved = current != future
    return {
        "components_moved": int(moved.sum()),
        "components_leaving": int((moved & (current == grid.pk)).sum()),
        "components_joining": int((moved & (future == grid.pk)).sum()),
    }


def reassign_for(grids: Sequence[Grid], actor: Actor | None = None) -> dict[str, Any]:
    """Re-assign the components these (just changed) grids gained or lost; write the changes
    and a 'regridded' event per moved component. Runs inside the caller's transaction."""
    grids = [g for g in grids if is_leaf(g)]
    if not grids:
        return {}
    ids, current, geoms = affected_rows(AFFECTED_SQL, grids)
    if len(ids) == 0:
        return {"components_moved": 0}
    future = assign_geometries(geoms)
    moved = np.flatnonzero(current != future)
    if len(moved):
        record_regridding(
            component_ids=ids[moved], old=current[moved], new=future[moved], actor=actor
        )
    return {"components_moved": int(len(moved))}


COMPONENT_IMPACT = ImpactProvider(name="components", preview=preview_moves, apply=reassign_for)
