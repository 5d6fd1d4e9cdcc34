"""How good a division is (docs/domain.md §2.7): balance of area and workload, how much of the
drawn boundary follows a feature, how many buildings it cuts — for the result and, on the same
parent, for the square and Voronoi methods.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geogrid.core.gis import to_metric
from geogrid.grids.feature_division import (
    CityFeatures,
    WorkloadSource,
    source_amounts,
    source_total,
)

# A stretch of boundary follows a feature when its middle lies within this many metres of one.
FOLLOWS_FEATURE_M = 1.0
# The parent's outline is densified to this step (degrees, ~1 m) before it is projected.
OUTLINE_STEP_DEG = 1e-5
# Boundaries are measured in stretches of at most this many metres.
STRETCH_M = 5.0
# A building counts as cut when a boundary enters it deeper than this (m; more than the division
# leaves between a line and a wall it cuts short, see feature_division.BUILDING_SHRINK_DEG): noise along a
# wall is not a cut.
CUT_DEPTH_M = 0.25


@dataclass(frozen=True)
class DivisionSummary:
    method: str
    grids: int
    area_mean_m2: float
    area_cv: float
    area_min_m2: float
    area_max_m2: float
    workload_cv: float | None  # None: no workload source had anything over the parent
    workload_min: float | None  # the workload index, 1.0 = the average grid
    workload_max: float | None
    on_feature_share: float | None  # None: no feature lines over the parent
    buildings_cut: int | None  # None: no buildings loaded over the parent

    def as_dict(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class GridFigures:
    """Per piece: area, workload index and each source's amount (components, reports, people)."""

    areas_m2: np.ndarray
    workload_index: np.ndarray | None
    amounts: dict[str, np.ndarray]


def figures(pieces: np.ndarray, sources: list[WorkloadSource]) -> GridFigures:
    areas = shapely.area(to_metric(pieces))
    amounts = {s.name: source_amounts(s, pieces) for s in sources}
    useful = [amounts[s.name] / source_total(s) for s in sources if source_total(s) > 0]
    index = np.mean(np.stack(useful), axis=0) * len(pieces) if useful else None
    return GridFigures(areas_m2=areas, workload_index=index, amounts=amounts)


def summarise(
    method: str,
    pieces: list[BaseGeometry],
    parent: BaseGeometry,
    features: CityFeatures,
    sources: list[WorkloadSource],
) -> tuple[DivisionSummary, GridFigures]:
    shapes = np.array(pieces, dtype=object)
    numbers = figures(shapes, sources)
    areas, index = numbers.areas_m2, numbers.workload_index
    on_feature, cut = _boundary_quality(shapes, parent, features)
    summary = DivisionSummary(
        method=method,
        grids=len(shapes),
        area_mean_m2=float(areas.mean()) if len(areas) else 0.0,
        area_cv=_cv(areas),
        area_min_m2=float(areas.min()) if len(areas) else 0.0,
        area_max_m2=float(areas.max()) if len(areas) else 0.0,
        workload_cv=_cv(index) if index is not None else None,
        workload_min=float(index.min()) if index is not None and len(index) else None,
        workload_max=float(index.max()) if index is not None and len(index) else None,
        on_feature_share=on_feature,
        buildings_cut=cut,
    )
    return summary, numbers


def _cv(values: np.ndarray) -> float:
    mean = float(np.mean(values)) if len(values) else 0.0
    return float(np.std(values) / mean) if mean > 0 else 0.0


def drawn_boundaries(pieces: np.ndarray, parent: BaseGeometry) -> np.ndarray:
    """The boundaries a division drew (each shared edge once, the parent's outline left out),
    as metric stretches: (midpoints, lengths, stretch lines)."""
    edges = shapely.get_parts(shapely.union_all(shapely.boundary(pieces)))
    lines = edges[(shapely.get_type_id(edges) == 1) & (shapely.get_num_coordinates(edges) >= 2)]
    metric = to_metric(lines)
    # An edge a few nanodegrees long (where a slanting line was noded against another) can
    # project to two equal points, which segmentize refuses.
    metric = metric[shapely.length(metric) > 0]
    stretches = _stretches(metric)
    # Densified before projecting: a long straight edge in lon/lat bows in metres, and the
    # pieces' vertices along it lie on the bow.
    outline = to_metric(shapely.segmentize(shapely.boundary(parent), OUTLINE_STEP_DEG))
    middles = shapely.line_interpolate_point(stretches, 0.5, normalized=True)
    shapely.prepare(outline)
    inner = ~shapely.dwithin(outline, middles, 0.01)
    return stretches[inner]


def _stretches(lines: np.ndarray) -> np.ndarray:
    """Every line cut at its vertices and at most STRETCH_M apart: two-point lines."""
    dense = shapely.segmentize(lines, STRETCH_M)
    coords, owner = shapely.get_coordinates(dense, return_index=True)
    same = owner[1:] == owner[:-1]
    starts, ends = coords[:-1][same], coords[1:][same]
    return shapely.linestrings(np.stack([starts, ends], axis=1))


def stretches_following(stretches: np.ndarray, lines: np.ndarray) -> np.ndarray:
    """Which metric stretches (drawn_boundaries) have their middle within FOLLOWS_FEATURE_M of
    one of `lines` (storage CRS): a feature line, or any outline such as a building's."""
    middles = shapely.line_interpolate_point(stretches, 0.5, normalized=True)
    near, _ = shapely.STRtree(to_metric(lines)).query(
        middles, predicate="dwithin", distance=FOLLOWS_FEATURE_M
    )
    following = np.zeros(len(stretches), dtype=bool)
    following[near] = True
    return following


def _boundary_quality(
    pieces: np.ndarray, parent: BaseGeometry, features: CityFeatures
) -> tuple[float | None, int | None]:
    if len(pieces) < 2:
        return (1.0 if len(features.lines) else None), (0 if len(features.buildings) else None)
    stretches = drawn_boundaries(pieces, parent)
    lengths = shapely.length(stretches)
    on_feature: float | None = None
    if len(features.lines):
        following = stretches_following(stretches, features.lines)
        total = float(lengths.sum())
        on_feature = float(lengths[following].sum() / total) if total > 0 else 1.0
    cut: int | None = None
    if len(features.buildings):
        cores = shapely.buffer(to_metric(features.buildings), -CUT_DEPTH_M)
        cores = cores[~shapely.is_empty(cores)]
        _, hit = shapely.STRtree(cores).query(stretches, predicate="intersects")
        cut = int(len(np.unique(hit)))
    return on_feature, cut
