"""Checks of new and reshaped grid boundaries, without writing (docs/domain.md §2.2, §2.5): the
level and parent fit, the geometry, the codes, and the topology against the parent and the
siblings. The write services run them before every boundary change; the admin's forms and the
grid import run them to show the problems before anything is saved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geogrid.core.codes import CodeError, validate_grid_code
from geogrid.core.gis import (
    GeometryError,
    as_multipolygon,
    describe_invalidity,
    invalidity,
    to_metric,
    to_shapely,
)
from geogrid.grids import topology
from geogrid.grids.errors import GridError, TopologyError
from geogrid.grids.geometry import geoms_of, to_geos
from geogrid.grids.models import Grid, GridLevel
from geogrid.grids.topology import tolerance_m


@dataclass
class Candidate:
    """A new or reshaped boundary awaiting its checks (storage CRS)."""

    geom: BaseGeometry
    code: str = ""
    name: str = ""
    attrs: dict[str, Any] = field(default_factory=dict)
    area_m2: float = 0.0


def clean_polygon(geom: Any) -> BaseGeometry:
    """Check a grid boundary before any topology: polygonal, non-empty, valid, in range."""
    shape = to_shapely(geom)
    if shape.is_empty:
        raise GeometryError("The boundary is empty.")
    if shape.geom_type not in ("Polygon", "MultiPolygon"):
        raise GeometryError(f"A grid boundary must be a polygon, not a {shape.geom_type}.")
    coords = shapely.get_coordinates(shape)
    if not np.isfinite(coords).all():
        raise GeometryError("The boundary has coordinates that are not numbers.")
    lon, lat = coords[:, 0], coords[:, 1]
    if (np.abs(lon) > 180).any() or (np.abs(lat) > 90).any():
        raise GeometryError(
            "The boundary's coordinates are outside longitude −180…180 / latitude −90…90: "
            "it is probably in a projected CRS. Give lon/lat (EPSG:4490/4326) or name its CRS."
        )
    problem = describe_invalidity(shape)
    if problem:
        where = invalidity(shape)
        raise GeometryError(problem, location=where[1] if where else None)
    return as_multipolygon(shape)


def check_candidates(
    *,
    level: GridLevel,
    parent: Grid | None,
    candidates: Sequence[Candidate],
    exclude_ids: Sequence[int] = (),
    labels: Sequence[str] | None = None,
) -> dict[int, list[topology.Problem]]:
    """Topology problems of candidate boundaries, by candidate index (empty dict: all fine).

    Checks each candidate against the parent (must cover it), the parent's other active children
    and the other candidates (no overlaps beyond the tolerance), and the level's area bounds.
    Candidate areas are filled in as a side result.
    """
    tolerance = tolerance_m()
    codes = [
        c.code or (labels[i] if labels else f"new grid {i + 1}") for i, c in enumerate(candidates)
    ]
    metric = to_metric(np.array([c.geom for c in candidates], dtype=object))
    areas = shapely.area(metric)
    for candidate, area in zip(candidates, areas, strict=True):
        candidate.area_m2 = float(area)
    problems: dict[int, list[topology.Problem]] = {}

    def add(index: int, problem: topology.Problem) -> None:
        problems.setdefault(index, []).append(problem)

    for problem in topology.area_problems(
        codes, areas, level.min_area_m2, level.max_area_m2, metric
    ):
        add(codes.index(problem.codes[0]), problem)
    if parent is not None:
        parent_metric = to_metric(shapely.from_wkb(bytes(parent.geom.wkb)))
        for problem in topology.escape_problems(
            codes, metric, parent_metric, parent.code, tolerance
        ):
            add(codes.index(problem.codes[0]), problem)
    # Existing active siblings near the candidates (one bbox query), then pairwise overlaps.
    envelope = shapely.envelope(shapely.union_all([c.geom for c in candidates]))
    siblings = Grid.objects.active().filter(level=level, geom__bboverlaps=to_geos(envelope))
    if parent is not None:
        siblings = siblings.filter(parent=parent)
    siblings = siblings.exclude(id__in=list(exclude_ids))
    sibling_codes, sibling_geoms = geoms_of(siblings)
    all_codes = codes + sibling_codes
    all_geoms = np.concatenate([metric, to_metric(sibling_geoms)]) if sibling_codes else metric
    for problem in topology.overlap_problems(all_codes, all_geoms, tolerance):
        involved = [all_codes.index(c) for c in problem.codes]
        for position in involved:
            if position < len(codes):
                add(position, problem)
    return problems


def first_message(problems: dict[int, list[topology.Problem]]) -> str:
    flat = [p for plist in problems.values() for p in plist]
    more = f" (and {len(flat) - 1} more problems)" if len(flat) > 1 else ""
    return flat[0].message + more


def check_level_and_parent(level: GridLevel, parent: Grid | None) -> None:
    if parent is None:
        if level.depth != 0:
            raise GridError(f"A {level.name} grid needs a parent grid.")
        return
    if not parent.is_active:
        raise GridError(f"Parent grid {parent.code} is retired; choose an active parent.")
    if parent.level.depth != level.depth - 1:
        raise GridError(
            f"A {level.name} grid cannot sit directly under {parent.level.name} {parent.code}."
        )


def check_code(code: str, level: GridLevel, parent: Grid | None) -> str:
    """Check a new grid's code against the standard, its level and its parent (not whether it
    is taken: callers check all their codes in one query)."""
    validate_grid_code(code)
    if len(code) != level.code_length:
        raise CodeError(
            f"Code {code} has {len(code)} digits; {level.name} codes have {level.code_length}."
        )
    if parent is not None and not code.startswith(parent.code):
        raise CodeError(f"Code {code} must start with its parent's code {parent.code}.")
    return code


def validate_new_grids(
    *,
    level: GridLevel,
    parent: Grid | None,
    candidates: Sequence[Candidate],
    topology_checks: bool = True,
) -> None:
    """Check new grids without writing: level/parent fit, geometry, codes, topology.

    Raises GeometryError, CodeError, GridError or TopologyError with a plain message; fills in
    each candidate's cleaned geometry and area. Used by create_grids and by forms that want to
    show the problems before saving.
    """
    check_level_and_parent(level, parent)
    for candidate in candidates:
        candidate.geom = clean_polygon(candidate.geom)
    seen: set[str] = set()
    for candidate in candidates:
        if candidate.code:
            check_code(candidate.code, level, parent)
            if candidate.code in seen:
                raise CodeError(f"Code {candidate.code} is given twice.")
            seen.add(candidate.code)
    taken = sorted(Grid.objects.filter(code__in=seen).values_list("code", flat=True))
    if taken:
        raise CodeError(f"Code {taken[0]} is already used (grid codes are never reused).")
    if topology_checks:
        problems = check_candidates(level=level, parent=parent, candidates=candidates)
        if problems:
            raise TopologyError(first_message(problems), [p for v in problems.values() for p in v])
    else:
        areas = shapely.area(to_metric(np.array([c.geom for c in candidates], dtype=object)))
        for candidate, area in zip(candidates, areas, strict=True):
            candidate.area_m2 = float(area)


def validate_reshape(*, grid: Grid, geom: Any) -> Candidate:
    """Check a new boundary for an existing grid without writing (same checks as a new grid,
    plus: the grid's own active children must stay covered). Returns the cleaned candidate."""
    if not grid.is_active:
        raise GridError(f"Grid {grid.code} is retired; it cannot be reshaped.", reason="retired")
    candidate = Candidate(geom=clean_polygon(geom), code=grid.code)
    problems = check_candidates(
        level=grid.level, parent=grid.parent, candidates=[candidate], exclude_ids=[grid.pk]
    )
    child_codes, child_geoms = geoms_of(grid.children.active())
    if child_codes:
        escaping = topology.escape_problems(
            child_codes,
            to_metric(child_geoms),
            to_metric(candidate.geom),
            grid.code,
            tolerance_m(),
        )
        if escaping:
            problems.setdefault(0, []).extend(escaping)
    if problems:
        raise TopologyError(first_message(problems), [p for v in problems.values() for p in v])
    return candidate
