"""What a grid edit moves: the impact registry, and the query its providers share.

grids knows nothing of components or cases (docs/architecture.md §2.3). Those apps register an
ImpactProvider in their AppConfig.ready(); the write services (grids/services/) ask every
provider what a boundary change would move before it is made (`edit_impact`), and have them move
it after the change is written, in the same transaction (`apply_impact`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geogrid.accounts.actors import Actor
from geogrid.core.db import raw_cursor
from geogrid.grids.models import Grid


# A provider says what a boundary change would move ("37 components change grid") before it is
# made, and moves it after the change is written, in the same transaction.
@dataclass(frozen=True)
class ImpactProvider:
    name: str
    # (grid, new boundary or None for a retirement) -> counts, before anything is written
    preview: Callable[[Grid, BaseGeometry | None], dict[str, Any]]
    # (grids just created, reshaped or retired, actor) -> counts, after they are written
    apply: Callable[..., dict[str, Any]]


_impact_providers: list[ImpactProvider] = []


def register_impact_provider(provider: ImpactProvider) -> None:
    if all(p.name != provider.name for p in _impact_providers):
        _impact_providers.append(provider)


def edit_impact(*, grid: Grid, new_geom: BaseGeometry | None) -> dict[str, Any]:
    """What other data a reshape (new_geom) or retirement (None) of `grid` would move."""
    impact: dict[str, Any] = {}
    for provider in _impact_providers:
        impact.update(provider.preview(grid, new_geom))
    return impact


_impact_log: ContextVar[list[dict[str, Any]] | None] = ContextVar("grid_impact_log", default=None)


@contextmanager
def collect_impact() -> Iterator[list[dict[str, Any]]]:
    """Collect what the providers moved during the edits made inside the block (the editor's
    preview runs an edit in a rolled-back transaction and reports these counts)."""
    log: list[dict[str, Any]] = []
    token = _impact_log.set(log)
    try:
        yield log
    finally:
        _impact_log.reset(token)


def apply_impact(grids: Sequence[Grid], actor: Actor | None) -> dict[str, Any]:
    """Have every provider move what these (just created, reshaped or retired) grids gained or
    lost, in the caller's transaction; returns their counts."""
    applied: dict[str, Any] = {}
    for provider in _impact_providers:
        applied.update(provider.apply(grids, actor))
    log = _impact_log.get()
    if log is not None:
        log.append(applied)
    return applied


def affected_rows(
    sql: str, grids: Sequence[Grid], extra_area: BaseGeometry | None = None, **params: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ids, current grid ids (-1: none), geometries) of the rows `sql` finds for a change of
    `grids`: the query gets `ids` (the grids) and `area` (WKB of their active boundaries and
    `extra_area`, a boundary they are about to take), plus `params`. Shared by every impact
    provider that keeps things in unit grids (components/assignment.py, cases/regridding.py)."""
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
