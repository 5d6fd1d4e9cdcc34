"""Open cases follow grid edits; closed ones keep the grid they were handled in.

A case stores the grid path found at intake. When a planner reshapes, splits, merges or retires
unit grids, an open case whose point now lies in another unit grid is moved there (grid, grid
code, street and community) in the edit's transaction, with a 'regridded' case event; its
department, deadline and area class stay as they were (they were decided at intake). A case
whose point is left in no active grid keeps its old, retired grid and is counted as left.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import psycopg
import shapely
from django.db import connection
from shapely.geometry.base import BaseGeometry

from geogrid.cases.models import CaseEvent
from geogrid.cases.workflow import OPEN_STATUSES
from geogrid.components.assignment import assign_geometries, grid_index_near, leaf_level_slug
from geogrid.grids.assignment import GridIndex
from geogrid.grids.models import Grid
from geogrid.grids.services import ImpactProvider

# Open cases that a change of these grids may move: those in them, and those inside their
# (new) boundaries. The GiST index on cases.geom answers the second half.
AFFECTED_SQL = """
SELECT c.id, c.grid_id, ST_AsBinary(c.geom)
FROM cases_case c
WHERE c.status = ANY(%(open)s)
  AND (c.grid_id = ANY(%(ids)s) OR ST_Intersects(c.geom, ST_GeomFromWKB(%(area)s, 4490)))
"""

MOVE_SQL = """
UPDATE cases_case c
SET grid_id = v.grid_id, grid_code = g.code, updated_at = now(),
    street_code = CASE WHEN length(g.code) >= 9 THEN left(g.code, 9) ELSE c.street_code END,
    community_code = CASE WHEN length(g.code) >= 12 THEN left(g.code, 12)
                          ELSE c.community_code END
FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, grid_id)
JOIN grids_grid g ON g.id = v.grid_id
WHERE c.id = v.id
"""


def _affected(grids: Sequence[Grid], extra_area: BaseGeometry | None = None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    areas = [shapely.from_wkb(bytes(g.geom.wkb)) for g in grids if g.is_active]
    if extra_area is not None:
        areas.append(extra_area)
    area = shapely.union_all(areas) if areas else shapely.Polygon()
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        rows = cursor.execute(AFFECTED_SQL, {"open": list(OPEN_STATUSES),
                                             "ids": [g.pk for g in grids],
                                             "area": shapely.to_wkb(area)}).fetchall()
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=object)
    ids, grid_ids, wkb = zip(*rows, strict=True)
    return (np.array(ids, dtype=np.int64), np.array(grid_ids, dtype=np.int64),
            shapely.from_wkb(list(wkb)))


def _is_leaf(grid: Grid) -> bool:
    return grid.level.slug == leaf_level_slug()


def preview_case_moves(grid: Grid, new_geom: BaseGeometry | None) -> dict[str, Any]:
    """How many open cases a reshape (new_geom) or retirement (None) of `grid` would move."""
    if not _is_leaf(grid):
        return {}
    ids, current, points = _affected([grid], new_geom)
    if len(ids) == 0:
        return {"open_cases_moved": 0}
    index = grid_index_near(np.concatenate([points, [new_geom]]) if new_geom else points)
    keep = index.ids != grid.pk
    grid_ids, codes, shapes = index.ids[keep], index.codes[keep], index.geoms[keep]
    if new_geom is not None:
        grid_ids = np.append(grid_ids, grid.pk)
        codes = np.append(codes, grid.code)
        shapes = np.append(shapes, np.array([new_geom], dtype=object))
    future = assign_geometries(points, GridIndex(grid_ids, codes, shapes))
    moved = (future >= 0) & (future != current)
    return {"open_cases_moved": int(moved.sum()),
            "open_cases_left": int(((future < 0) & (current == grid.pk)).sum())}


def move_open_cases(grids: Sequence[Grid], actor: Any = None) -> dict[str, Any]:
    """Move the open cases these (just changed) unit grids gained or lost; one UPDATE and a
    'regridded' event per moved case, in the caller's transaction."""
    grids = [g for g in grids if _is_leaf(g)]
    if not grids:
        return {}
    ids, current, points = _affected(grids)
    if len(ids) == 0:
        return {"open_cases_moved": 0}
    future = assign_geometries(points)
    moved = np.flatnonzero((future >= 0) & (future != current))
    left = int(((future < 0) & np.isin(current, [g.pk for g in grids if not g.is_active])).sum())
    if len(moved):
        with connection.cursor() as cursor:
            cursor.execute(MOVE_SQL, [ids[moved].tolist(), future[moved].tolist()])
        codes = dict(Grid.objects.filter(pk__in={*current[moved].tolist(),
                                                 *future[moved].tolist()})
                     .values_list("pk", "code"))
        CaseEvent.objects.bulk_create(
            CaseEvent(case_id=int(c), action="regridded", actor=actor,
                      details={"from": codes.get(int(o)), "to": codes.get(int(n))},
                      reason="grid edit")
            for c, o, n in zip(ids[moved], current[moved], future[moved], strict=True)
        )
    return {"open_cases_moved": int(len(moved)), "open_case_ids": ids[moved][:50].tolist(),
            "open_cases_left": left}


CASE_IMPACT = ImpactProvider(name="cases", preview=preview_case_moves, apply=move_open_cases)
