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
from django.db import connection
from shapely.geometry.base import BaseGeometry

from geogrid.accounts.actors import Actor
from geogrid.cases.models import CaseAction, CaseEvent
from geogrid.cases.workflow import OPEN_STATUSES
from geogrid.grids.assignment import assign_geometries, assignment_after, is_leaf
from geogrid.grids.impact import ImpactProvider, affected_rows
from geogrid.grids.models import Grid

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


def preview_case_moves(grid: Grid, new_geom: BaseGeometry | None) -> dict[str, Any]:
    """How many open cases a reshape (new_geom) or retirement (None) of `grid` would move."""
    if not is_leaf(grid):
        return {}
    ids, current, points = affected_rows(AFFECTED_SQL, [grid], new_geom, open=list(OPEN_STATUSES))
    if len(ids) == 0:
        return {"open_cases_moved": 0}
    future = assignment_after(points, grid, new_geom)
    moved = (future >= 0) & (future != current)
    return {
        "open_cases_moved": int(moved.sum()),
        "open_cases_left": int(((future < 0) & (current == grid.pk)).sum()),
    }


def move_open_cases(grids: Sequence[Grid], actor: Actor | None = None) -> dict[str, Any]:
    """Move the open cases these (just changed) unit grids gained or lost; one UPDATE and a
    'regridded' event per moved case, in the caller's transaction."""
    grids = [g for g in grids if is_leaf(g)]
    if not grids:
        return {}
    ids, current, points = affected_rows(AFFECTED_SQL, grids, open=list(OPEN_STATUSES))
    if len(ids) == 0:
        return {"open_cases_moved": 0}
    future = assign_geometries(points)
    moved = np.flatnonzero((future >= 0) & (future != current))
    left = int(((future < 0) & np.isin(current, [g.pk for g in grids if not g.is_active])).sum())
    if len(moved):
        with connection.cursor() as cursor:
            cursor.execute(MOVE_SQL, [ids[moved].tolist(), future[moved].tolist()])
        codes = dict(
            Grid.objects.filter(
                pk__in={*current[moved].tolist(), *future[moved].tolist()}
            ).values_list("pk", "code")
        )
        CaseEvent.objects.bulk_create(
            CaseEvent(
                case_id=int(c),
                action=CaseAction.REGRIDDED,
                actor=actor,
                details={"from": codes.get(int(o)), "to": codes.get(int(n))},
                reason="grid edit",
            )
            for c, o, n in zip(ids[moved], current[moved], future[moved], strict=True)
        )
    return {
        "open_cases_moved": int(len(moved)),
        "open_case_ids": ids[moved][:50].tolist(),
        "open_cases_left": left,
    }


CASE_IMPACT = ImpactProvider(name="cases", preview=preview_case_moves, apply=move_open_cases)
