"""Splitting a polygon into compact cells that cover it exactly (pure geometry, no database).

Cells are laid out in the metric CRS (squares or a jittered, Lloyd-relaxed Voronoi diagram),
transformed back to the storage CRS, and only then intersected with the parent there, so the
pieces tile the parent up to floating-point noise: neighbours share the cell edges exactly, and
the outer edges are the parent's own. Pieces too small to stand alone (less than
`min_fraction` of the target, typically slivers along the parent's edge) are merged into the
neighbour with which they share the longest border.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.geometry import MultiPoint
from shapely.geometry.base import BaseGeometry

from geogrid.core.gis import as_multipolygon, from_metric, to_metric

METHODS = ("square", "voronoi")


def square_cells(parent_metric: BaseGeometry, target_area_m2: float) -> np.ndarray:
    side = math.sqrt(target_area_m2)
    west, south, east, north = parent_metric.bounds
    # Anchor the lattice on the parent's north-west corner: rows then read north→south.
    xs = np.arange(west, east, side)
    ys = np.arange(north, south, -side)
    x0, y1 = np.meshgrid(xs, ys)
    return shapely.box(x0.ravel(), (y1 - side).ravel(), (x0 + side).ravel(), y1.ravel())


def voronoi_cells(
    parent_metric: BaseGeometry,
    target_area_m2: float,
    *,
    seed: int = 0,
    iterations: int = 2,
    count: int | None = None,
) -> np.ndarray:
    """Voronoi cells of seeds on a jittered hexagonal lattice inside the parent.

    With `count`, seeds are chosen to give that many cells (k-means-like relaxation makes them
    balanced); otherwise the lattice spacing follows the target area.
    """
    rng = np.random.default_rng(seed)  # fixed seed: the same parent divides the same way
    area = parent_metric.area
    if count is None:
        count = max(1, round(area / target_area_m2))
    spacing = math.sqrt(area / count * 2 / math.sqrt(3))
    west, south, east, north = parent_metric.bounds
    xs = np.arange(west + spacing / 2, east, spacing)
    ys = np.arange(north - spacing / 2, south, -spacing * math.sqrt(3) / 2)
    points = [(x + (spacing / 2 if row % 2 else 0), y) for row, y in enumerate(ys) for x in xs]
    candidates = np.array(points) + rng.uniform(-0.25, 0.25, (len(points), 2)) * spacing
    inside = shapely.contains_xy(parent_metric, candidates[:, 0], candidates[:, 1])
    seeds = candidates[inside]
    if len(seeds) == 0:
        seeds = np.array([shapely.get_coordinates(parent_metric.point_on_surface())[0]])
    if len(seeds) < count:
        # A narrow or ragged parent holds fewer lattice points than grids asked for: the rest
        # are drawn uniformly inside it (still seeded), and relaxation spreads them out.
        seeds = np.concatenate([seeds, _points_inside(parent_metric, count - len(seeds), rng)])
    if len(seeds) > count:
        seeds = seeds[np.sort(rng.choice(len(seeds), count, replace=False))]
    envelope = parent_metric.envelope.buffer(spacing * 2)
    for _ in range(iterations + 1):
        cells = shapely.get_parts(shapely.voronoi_polygons(MultiPoint(seeds), extend_to=envelope))
        clipped = shapely.intersection(cells, parent_metric)
        keep = ~shapely.is_empty(clipped)
        # Lloyd relaxation: move each seed to the centre of its clipped cell.
        seeds = shapely.get_coordinates(shapely.point_on_surface(clipped[keep]))
    return shapely.get_parts(shapely.voronoi_polygons(MultiPoint(seeds), extend_to=envelope))


def _points_inside(shape: BaseGeometry, n: int, rng: np.random.Generator) -> np.ndarray:
    """`n` random points inside `shape` (fewer only if it has no area to hold them)."""
    west, south, east, north = shape.bounds
    found = np.empty((0, 2))
    for _ in range(20):
        batch = rng.uniform((west, south), (east, north), (max(4 * n, 64), 2))
        found = np.concatenate([found, batch[shapely.contains_xy(shape, batch[:, 0], batch[:, 1])]])
        if len(found) >= n:
            break
    return found[:n]


def divide(
    parent: BaseGeometry,
    *,
    target_area_m2: float,
    method: str = "square",
    min_fraction: float = 0.3,
    seed: int = 0,
    count: int | None = None,
) -> list[BaseGeometry]:
    """Divide a storage-CRS (multi)polygon into pieces of about `target_area_m2`.

    Returns MultiPolygons in the storage CRS, unordered; together they cover the parent.
    """
    if method not in METHODS:
        raise ValueError(f"Unknown division method {method!r}; use one of: {', '.join(METHODS)}.")
    if not target_area_m2 or target_area_m2 <= 0:
        raise ValueError("The target area must be a positive number of square metres.")
    parent_metric = to_metric(parent)
    if method == "square":
        cells = square_cells(parent_metric, target_area_m2)
    else:
        cells = voronoi_cells(parent_metric, target_area_m2, seed=seed, count=count)
    shapely.prepare(parent_metric)
    cells = cells[shapely.intersects(parent_metric, cells)]
    clipped = shapely.intersection(from_metric(cells), parent)
    # A concave parent can cut one cell in two, and a clip can leave stray lines or points:
    # keep each polygon as a piece of its own.
    pieces = [
        polygon
        for piece in clipped
        for polygon in as_multipolygon(piece).geoms
        if not polygon.is_empty
    ]
    return [as_multipolygon(p) for p in merge_small(pieces, target_area_m2 * min_fraction)]


def merge_small(pieces: list[BaseGeometry], min_area_m2: float) -> list[BaseGeometry]:
    """Merge every piece below `min_area_m2` into the neighbour sharing its longest border.

    Smallest first, so slivers join real cells rather than each other. Only the few small
    pieces are visited one by one; the neighbour search uses an STRtree. A small piece with no
    neighbour (an island of a multipart parent) joins the nearest piece, which becomes a
    multipart grid: a grid of a few square metres is of no use to anyone.
    """
    pieces = list(pieces)
    while len(pieces) > 1:
        areas = shapely.area(to_metric(np.array(pieces, dtype=object)))
        small = [int(i) for i in np.argsort(areas) if areas[i] < min_area_m2]
        if not small:
            break
        index = small[0]
        piece = pieces[index]
        positions = [i for i in range(len(pieces)) if i != index]
        others = [pieces[i] for i in positions]
        tree = shapely.STRtree(others)
        neighbours = [int(n) for n in tree.query(piece, predicate="intersects")]
        if neighbours:
            shared = [
                shapely.length(shapely.intersection(piece.boundary, others[n].boundary))
                for n in neighbours
            ]
            nearest = neighbours[int(np.argmax(shared))]
        else:
            nearest = int(tree.nearest(piece))
        target = positions[nearest]
        pieces[target] = shapely.union(pieces[target], piece)
        del pieces[index]
    return pieces
