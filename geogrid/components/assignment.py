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
import shapely
from shapely.geometry.base import BaseGeometry

from geogrid.core.db import raw_cursor
from geogrid.grids.assignment import GridIndex
from geogrid.grids.models import Grid, GridLevel
from geogrid.grids.services import ImpactProvider

# Components that a change of these grids may move: those now in them, and those touching
# their (new) boundaries. One indexed query: the GiST index on components.geom.
AFFECTED_SQL = """
SELECT c.id, c.grid_id, ST_AsBinary(c.geom)
FROM components_component c
WHERE c.currency = 'in_use'
  AND (c.grid_id = ANY(%(ids)s)
       OR ST_Intersects(c.geom, ST_GeomFromWKB(%(area)s, 4490)))
"""


def leaf_level_slug() -> str | None:
    return GridLevel.objects.order_by("-depth").values_list("slug", flat=True).first()


def grid_index_near(geoms: np.ndarray) -> GridIndex:
    """The active unit grids around some geometries (bounding box, grown by ~100 m)."""
    west, south, east, north = shapely.total_bounds(geoms)
    margin = 0.001
    return GridIndex.load(
        level=leaf_level_slug() or "unit",
        bbox=(west - margin, south - margin, east + margin, north + margin),
    )


def assign_geometries(geoms: np.ndarray, index: GridIndex | None = None) -> np.ndarray:
    """Grid id for each geometry (-1 where no unit grid holds it)."""
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return np.zeros(0, dtype=np.int64)
    index = index if index is not None else grid_index_near(geoms)
    positions = index.shape_positions(geoms)
    ids = np.full(len(geoms), -1, dtype=np.int64)
    found = positions >= 0
    ids[found] = index.ids[positions[found]]
    return ids


def affected_rows(
    sql: str, grids: Sequence[Grid], extra_area: BaseGeometry | None = None, **params: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ids, current grid ids (-1: none), geometries) of the rows `sql` finds for a change of
    `grids`: the query gets `ids` (the grids) and `area` (WKB of their active boundaries and
    `extra_area`, a boundary they are about to take), plus `params`. Shared by every impact
    provider that keeps things in unit grids (components here, open cases in cases)."""
    areas = [shapely.from_wkb(bytes(g.geom.wkb)) for g in grids if g.is_active]
    if extra_area is not None:
        areas.append(extra_area)
    area = shapely.union_all(areas) if areas else shapely.Polygon()
    with raw_cursor() as cursor:
        rows = cursor.execute(
            sql, {"ids": [g.pk for g in grids], "area": shapely.to_wkb(area), **params}, binary=True
        ).fetchall()
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=object)
    ids, grid_ids, wkb = zip(*rows, strict=True)
    current = np.array([g if g is not None else -1 for g in grid_ids], dtype=np.int64)
    return np.array(ids, dtype=np.int64), current, shapely.from_wkb(list(wkb))


def is_leaf(grid: Grid) -> bool:
    # Components and cases belong to unit grids (the finest level); coarser edits move none.
    return grid.level.slug == leaf_level_slug()


def assignment_after(geoms: np.ndarray, grid: Grid, new_geom: BaseGeometry | None) -> np.ndarray:
    """Grid ids for `geoms` as they would be if `grid` took `new_geom` (None: were retired),
    before anything is written."""
    index = grid_index_near(np.concatenate([geoms, [new_geom]]) if new_geom else geoms)
    keep = index.ids != grid.pk
    grid_ids, codes, shapes = index.ids[keep], index.codes[keep], index.geoms[keep]
    if new_geom is not None:
        grid_ids = np.append(grid_ids, grid.pk)
        codes = np.append(codes, grid.code)
        shapes = np.append(shapes, np.array([new_geom], dtype=object))
    return assign_geometries(geoms, GridIndex(grid_ids, codes, shapes))


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


def reassign_for(grids: Sequence[Grid], actor: Any = None) -> dict[str, Any]:
    """Re-assign the components these (just changed) grids gained or lost; write the changes
    and a 'regridded' event per moved component. Runs inside the caller's transaction."""
    from geogrid.components.services import record_regridding

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
