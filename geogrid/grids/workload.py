"""What a grid's workload is made of, for dividing by workload (docs/domain.md §2.7).

grids knows nothing of components or cases (docs/architecture.md §2.3): those apps register a
source here in their AppConfig.ready(); grids registers its own, population, carried by the
grids below the one being divided. A source answers, for a parent's boundary, weighted points or
valued areas (feature_division.WorkloadSource).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geogrid.core.db import raw_cursor
from geogrid.grids.errors import GridError
from geogrid.grids.feature_division import WorkloadSource


@dataclass(frozen=True)
class WorkloadProvider:
    name: str  # what --balance names: components, reports, population
    label: str  # in the report: 部件, 案件, 人口
    read: Callable[[BaseGeometry], WorkloadSource]


_providers: dict[str, WorkloadProvider] = {}


def register_workload_source(provider: WorkloadProvider) -> None:
    _providers.setdefault(provider.name, provider)


def available_sources() -> list[str]:
    return sorted(_providers)


def label_of(name: str) -> str:
    return _providers[name].label if name in _providers else name


def read_sources(parent: BaseGeometry, names: Sequence[str]) -> list[WorkloadSource]:
    """The named sources over `parent` (storage CRS); an unknown name is refused."""
    unknown = [n for n in names if n not in _providers]
    if unknown:
        raise GridError(
            f"Unknown workload source {', '.join(unknown)}; use any of: "
            f"{', '.join(available_sources()) or 'none is registered'}.",
            reason="bad_balance",
        )
    return [_providers[name].read(parent) for name in dict.fromkeys(names)]


_POPULATION_SQL = """
WITH parent AS (SELECT ST_GeomFromWKB(%(parent)s, 4490) AS geom),
inside AS (
    SELECT l.depth, g.population, g.geom
    FROM grids_grid g JOIN grids_gridlevel l ON l.id = g.level_id, parent p
    WHERE g.valid_to IS NULL AND g.population IS NOT NULL
      AND g.geom && p.geom AND ST_Intersects(g.geom, p.geom)
)
SELECT population, ST_AsBinary(geom) FROM inside
WHERE depth = (SELECT max(depth) FROM inside)
"""


def read_population(parent: BaseGeometry) -> WorkloadSource:
    """Population recorded by the deepest active grids over the parent, spread over each
    grid's area (a community's population alone says nothing about where in it people live)."""
    with raw_cursor() as cursor:
        rows = cursor.execute(
            _POPULATION_SQL, {"parent": shapely.to_wkb(parent)}, binary=True
        ).fetchall()
    return WorkloadSource(
        name="population",
        areas=shapely.from_wkb([bytes(r[1]) for r in rows]) if rows else np.empty(0, dtype=object),
        values=np.array([float(r[0]) for r in rows]),
    )


POPULATION = WorkloadProvider(name="population", label="人口", read=read_population)
