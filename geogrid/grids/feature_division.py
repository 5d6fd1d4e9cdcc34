"""Division along the city's features (docs/domain.md §2.7): pure geometry, no database.

The way planners divide (CJ/T 213, DB11/T 2157): boundaries follow streets, lanes, walls and
rivers; no boundary runs through a building; grids are balanced by workload as well as by area;
and a re-division keeps what still fits. The steps:

1. **Blocks.** The parent's outline and every road centreline, wall, railway and water line
   inside it are noded and polygonised: each face is a block bounded by features. Lines are
   first cut where they pass through a building (a passage or a data error), so no face edge
   can cross one.
2. **Splits.** A block heavier than the target (by area or workload) is cut in two, recursively,
   by a straight line across its long axis at the point that halves the load; among nearby
   positions the one crossing the least building area wins, and buildings (joined into
   clusters where they touch) that the line still crosses go whole to the side holding most of
   them, so the cut steps around them.
3. **Slivers** (below `sliver_fraction` of the target, or the level's minimum) join the
   neighbour with which they share the longest edge, never across a main road, a river or a
   railway when another neighbour exists.
4. **Balance.** The lightest region joins the neighbour that brings the pair closest to the
   target without exceeding it by more than the tolerance: first only across lanes, walls and
   cuts, then across streets, then across anything. With a fixed count, merging goes on until
   the count is reached.

Boundaries are the features' own centrelines: every face edge is a piece of a feature line, of
the parent's outline, or of a cut. Topology is built in the storage CRS, so the pieces tile the
parent exactly; areas, lengths and cut positions are measured in the metric CRS.
"""

from __future__ import annotations

import dataclasses
import functools
import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.errors import GEOSException
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from geogrid.core.gis import as_multipolygon, from_metric, to_metric

# How a boundary ranks by the feature it lies on. Merging prefers low ranks; BARRIER (main road,
# river, railway) is crossed only when a region has no other neighbour.
RANK_NONE, RANK_MINOR, RANK_STREET, RANK_BARRIER = 0, 1, 2, 3
RANKS = 4
# A shared edge counts as lying on a rank when at least this share of its length does.
RANK_SHARE = 0.3
# An edge lies on a feature when its middle is within this many metres of the feature line.
ON_FEATURE_M = 0.5
# Buildings are shrunk by this much (degrees, ~0.1 m) before lines are cut out of them, so a
# road drawn along a wall is kept.
BUILDING_SHRINK_DEG = 1e-6
# Noding falls back to snap-rounding on this grid (degrees, ~0.1 mm) when exact noding fails.
SNAP_GRID_DEG = 1e-9
# A boundary follows a feature (or the parent's outline) within this many metres of it.
FOLLOWS_M = 1.0
# The parent's outline is densified to this step (degrees, ~1 m) before it is projected: a
# long straight edge in lon/lat bows in metres.
OUTLINE_STEP_DEG = 1e-5
# Boundaries are examined in stretches of at most this many metres.
STRETCH_M = 5.0
# Line ends are pushed this far (m) so that near-miss junctions meet.
EXTEND_M = 1.0
# A dead-end lane is continued straight to the next line ahead when that is this close (m).
DEAD_END_REACH_M = 40.0
# ... if its last piece is longer than this (degrees, ~10 m).
DEAD_END_MIN_DEG = 1e-4
# Faces smaller than this (m²) are noise between nearly coincident lines.
NOISE_M2 = 1.0
# A piece is a previous grid kept when they differ by less than this share of its area.
SAME_SHARE = 1e-3
# Lines are clipped to the parent's bounding box grown by this much (degrees, ~100 m).
CLIP_MARGIN_DEG = 1e-3
# Cut lines are drawn with a vertex at least every this many metres (at most this many).
CUT_STEP_M = 2.0
MAX_CUT_VERTICES = 5_000
# The pieces drop vertices that lie within about this many degrees (~1 cm) of the straight line
# through their neighbours: a densified cut, straight in metres, bows by a few millimetres in
# lon/lat, far less than the building margin (BUILDING_SHRINK_DEG); and a grid with a vertex
# every 2 m weighs on everything that reads it later (the map, point-in-grid lookups, the
# demo's patrols walking the grid edges).
STRAIGHT_DEG = 1e-7
# Cut positions tried around the balanced one, as shares of the block's length.
# Positions tried at once along a block's axis to find its balanced cut (then interpolated).
BALANCE_STEPS = 17
BALANCE_ROUNDS = 3
CUT_OFFSETS = (0.0, 0.03, -0.03, 0.06, -0.06, 0.09, -0.09, 0.12, -0.12, 0.15, -0.15)
# Rounds of cutting again a piece a cut left near or above the level's maximum area (above this
# share of it: buildings given whole to one side later may still add a little).
OVERSIZE_ROUNDS = 3
OVERSIZE_SHARE = 0.95
# With keep_blocks and no maximum area for the level, a block heavier than this many targets is
# still cut.
KEEP_BLOCKS_LOAD = 4.0
# A block is cut along a line inside it (a lane, path, track or wall that stops short of
# crossing it), continued straight to the block's edges, when those continuations are shorter
# than this share of the straight cut and each side's load per grid is within the tolerance.
LINE_CUT_GAIN = 0.7
# The longest chains of lines inside a block are tried, this many at most, each at least this
# long (m).
LINE_CUT_CANDIDATES = 8
LINE_CUT_MIN_M = 15.0
# Lines within this many degrees (~0.2–0.3 m) of a block's edge are its edge, not inside it.
INNER_MARGIN_DEG = 3e-6
# A continuation may run along a building's wall, not this far (m) into it.
LINE_CUT_BUILDING_M = 0.25


@dataclass(frozen=True)
class CityFeatures:
    """The reference features over a parent, in the storage CRS."""

    lines: np.ndarray  # LineStrings / MultiLineStrings: centrelines, walls, outlines of water
    ranks: np.ndarray  # one RANK_* per line
    buildings: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))

    @classmethod
    def none(cls) -> CityFeatures:
        return cls(lines=np.empty(0, dtype=object), ranks=np.empty(0, dtype=np.int8))


@dataclass(frozen=True)
class WorkloadSource:
    """One measure of work: weighted points (components, reports) or valued areas (population
    carried by existing grids, spread by area)."""

    name: str
    points: np.ndarray | None = None  # (n, 2) storage lon/lat
    weights: np.ndarray | None = None  # (n,)
    areas: np.ndarray | None = None  # polygons, storage CRS
    values: np.ndarray | None = None  # (n,)


@dataclass
class FeatureDivision:
    pieces: list[BaseGeometry]  # MultiPolygons, storage CRS, in no particular order
    areas_m2: np.ndarray
    # Per piece, per source: the piece's share of the parent's total (sums to 1 over pieces).
    workload: dict[str, np.ndarray]
    # Combined workload index per piece, 1.0 = the average piece (None without sources).
    workload_index: np.ndarray | None
    # Per piece: index into `previous` of the grid it keeps unchanged, else -1.
    kept: np.ndarray
    blocks: int  # faces formed by the features before splitting
    cuts: int  # straight cuts made


def divide_along_features(
    parent: BaseGeometry,
    *,
    features: CityFeatures,
    target_area_m2: float | None = None,
    count: int | None = None,
    min_area_m2: float | None = None,
    max_area_m2: float | None = None,
    workload: Sequence[WorkloadSource] = (),
    previous: Sequence[BaseGeometry] = (),
    tolerance: float = 0.25,
    sliver_fraction: float = 0.3,
    keep_blocks: bool = False,
) -> FeatureDivision:
    """Divide a storage-CRS (multi)polygon along `features` into `count` pieces, or pieces of
    about `target_area_m2`, balanced by area and, when `workload` has sources, by workload.

    `previous`: the grids the parent has now; each one that is still a union of blocks and
    still within the bounds is kept as it is (`FeatureDivision.kept`).
    `keep_blocks`: a block bounded by features is cut only when it is larger than
    `max_area_m2` (the level's maximum; without one, heavier than KEEP_BLOCKS_LOAD targets),
    not whenever it is heavier than the tolerance allows: grids follow the features more
    closely and vary more in size. Small blocks are still joined towards the target.
    """
    if count is None and not (target_area_m2 and target_area_m2 > 0):
        raise ValueError("Give a positive target area or a number of grids.")
    if count is not None and count < 1:
        raise ValueError("The number of grids must be at least 1.")
    run = functools.partial(
        _divide,
        parent,
        features=features,
        target_area_m2=target_area_m2,
        count=count,
        min_area_m2=min_area_m2,
        max_area_m2=max_area_m2,
        workload=workload,
        tolerance=tolerance,
        sliver_fraction=sliver_fraction,
        keep_blocks=keep_blocks,
    )
    aware = run(previous=previous)
    if not len(previous) or (len(aware.pieces) == len(previous) and bool((aware.kept >= 0).all())):
        return aware
    # Some previous grids could not be held (one the first division left over the tolerance
    # because no cut avoided its buildings is split afresh). The division is deterministic, so
    # on an unchanged parent the plain division reproduces the grids there are: whichever of
    # the two keeps more of them is the stable answer.
    fresh = run(previous=())
    fresh.kept = _same_as_previous(fresh.pieces, previous)
    return fresh if (fresh.kept >= 0).sum() > (aware.kept >= 0).sum() else aware


def _divide(
    parent: BaseGeometry,
    *,
    features: CityFeatures,
    target_area_m2: float | None,
    count: int | None,
    min_area_m2: float | None,
    max_area_m2: float | None,
    workload: Sequence[WorkloadSource],
    previous: Sequence[BaseGeometry],
    tolerance: float,
    sliver_fraction: float,
    keep_blocks: bool,
) -> FeatureDivision:
    parent = as_multipolygon(parent)
    parent_area = float(shapely.area(to_metric(parent)))
    n_target = count if count is not None else max(1, round(parent_area / target_area_m2))

    linework = _clip_lines(parent, features)
    faces = _polygonise(parent, linework[0], None, features.buildings)
    blocks = len(faces)

    measure = _Measure(parent_area, n_target, workload)
    loads = measure.loads(faces)
    limit = 1.0 + tolerance
    area_limit = max_area_m2 or math.inf
    # How heavy a block may be and stay whole (keep_blocks: any weight within the area bound).
    whole_up_to = (math.inf if max_area_m2 else KEEP_BLOCKS_LOAD) if keep_blocks else limit

    def too_big() -> np.ndarray:
        return (loads > whole_up_to) | (measure.face_areas > area_limit)

    # A previous grid may stay only if it still follows the city: wherever its boundary leaves
    # the features it must run through a block too heavy to stay whole (it was a cut there).
    # Those grids' outlines then join the linework, so that they are unions of faces.
    following = _still_following(previous, faces, too_big())
    if following:
        extra = [shapely.get_parts(shapely.boundary(previous[i])) for i in following]
        faces = _polygonise(parent, linework[0], np.concatenate(extra), features.buildings)
        loads = measure.loads(faces)
    # 2. split heavy blocks
    cuts = 0
    heavy = np.flatnonzero(too_big())
    if len(heavy):
        clusters = _building_clusters(features.buildings)
        cutter = _Cutter(measure, clusters, _InnerLines(linework[0]), tolerance)
        new_faces: list[BaseGeometry] = []
        for index in heavy:
            parts = _parts_needed(
                float(loads[index]),
                float(measure.face_areas[index]),
                area_limit,
                whole_up_to if keep_blocks else None,
                limit,
            )
            pieces = _split(faces[index], parts, cutter)
            cuts += parts - 1
            # A cut that had to step around buildings may leave a piece above the level's
            # maximum: such a piece is cut again.
            for _ in range(OVERSIZE_ROUNDS):
                sizes = shapely.area(to_metric(np.array(pieces, dtype=object)))
                over = sizes > OVERSIZE_SHARE * area_limit
                if not over.any():
                    break
                again: list[BaseGeometry] = []
                for piece, size, too_large in zip(pieces, sizes, over, strict=True):
                    if not too_large:
                        again.append(piece)
                        continue
                    more = math.ceil(size * limit / area_limit)
                    again.extend(_split(piece, more, cutter))
                    cuts += more - 1
                pieces = again
            new_faces.extend(pieces)
        keep = np.ones(len(faces), dtype=bool)
        keep[heavy] = False
        faces = np.concatenate([faces[keep], np.array(new_faces, dtype=object)])
        loads = measure.loads(faces)

    graph = _Graph.build(faces, measure.face_areas, loads, linework)
    graph.max_area = area_limit
    # Faces of no size, between lines that nearly coincide (a road drawn along a wall, a new
    # road along an old boundary), join a neighbour before anything is measured by region.
    graph.merge_slivers(NOISE_M2, barriers=False)
    # With a fixed number of grids, a previous grid must also be heavy enough to be one of them.
    floor = 1.0 - tolerance if count is not None else 0.0
    _fix_previous(
        graph, faces, [previous[i] for i in following], (floor, limit), min_area_m2, max_area_m2
    )
    sliver_area = max(sliver_fraction * parent_area / n_target, min_area_m2 or 0.0)
    graph.merge_slivers(sliver_area, high=limit)
    for max_rank in (RANK_MINOR, RANK_STREET, RANK_BARRIER):
        graph.balance(max_rank, 1.0 - tolerance, limit)
    if count is not None:
        graph.reduce_to(count)
    if min_area_m2:
        graph.merge_slivers(min_area_m2)

    regions = graph.regions()
    pieces = _keep_buildings_whole(_union_regions(faces, regions), features.buildings, parent)
    pieces = _drop_straight_vertices(pieces)
    kept = _same_as_previous(pieces, previous)
    piece_areas = shapely.area(to_metric(np.array(pieces, dtype=object)))
    shares = measure.shares(np.array(pieces, dtype=object))
    index = measure.index(shares)
    return FeatureDivision(
        pieces=pieces,
        areas_m2=piece_areas,
        workload=shares,
        workload_index=index,
        kept=kept,
        blocks=blocks,
        cuts=cuts,
    )


# --- 1. blocks ---------------------------------------------------------------------------------


def _clip_lines(parent: BaseGeometry, features: CityFeatures) -> tuple[np.ndarray, np.ndarray]:
    """The feature lines inside the parent, cut out of buildings; with their ranks."""
    lines = np.asarray(features.lines, dtype=object)
    ranks = np.asarray(features.ranks, dtype=np.int8)
    if len(lines) == 0:
        return lines, ranks
    shapely.prepare(parent)
    inside = shapely.intersects(parent, lines)
    lines, ranks = lines[inside], ranks[inside]
    # Clipped to a box a little larger than the parent, not to the parent itself: a line
    # clipped at the outline ends a hair off it in floating point and would not be noded there.
    west, south, east, north = parent.bounds
    margin = CLIP_MARGIN_DEG
    lines = shapely.clip_by_rect(
        lines, west - margin, south - margin, east + margin, north + margin
    )
    parts, owner = shapely.get_parts(lines, return_index=True)
    linear = (shapely.get_type_id(parts) == 1) & (shapely.get_num_coordinates(parts) >= 2)
    lines, ranks = _extend_ends(parts[linear], EXTEND_M), ranks[owner[linear]]
    # Cut out of buildings after extending, so that no extended end reaches into one.
    if len(features.buildings) and len(lines):
        tree = shapely.STRtree(features.buildings)
        line_index, building_index = tree.query(lines, predicate="intersects")
        if len(line_index):
            touched = np.unique(line_index)
            cores = shapely.buffer(
                features.buildings[np.unique(building_index)], -BUILDING_SHRINK_DEG
            )
            lines[touched] = shapely.difference(lines[touched], shapely.union_all(cores))
    parts, owner = shapely.get_parts(lines, return_index=True)
    linear = (shapely.get_type_id(parts) == 1) & (shapely.get_num_coordinates(parts) >= 2)
    return parts[linear], ranks[owner[linear]]


def _extend_ends(lines: np.ndarray, metres: float) -> np.ndarray:
    """Each line with both ends pushed `metres` further along its end segments, so that a lane
    drawn up to a street but stopping a hair short of it (or ending on it in floating point)
    still meets it. An end that overshoots is a dangle, which polygonising ignores."""
    if not len(lines):
        return lines
    coords, owner = shapely.get_coordinates(lines, return_index=True)
    counts = np.bincount(owner, minlength=len(lines))
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    last = first + counts - 1
    # Degrees to metres, locally: a degree of longitude shrinks with the cosine of latitude.
    scale = np.column_stack(
        [
            np.full(len(lines), 111_320.0) * np.cos(np.radians(coords[first, 1])),
            np.full(len(lines), 110_574.0),
        ]
    )
    for end, inner in ((first, first + 1), (last, last - 1)):
        step = (coords[end] - coords[inner]) * scale
        length = np.hypot(step[:, 0], step[:, 1])
        ok = length > 0
        push = np.zeros_like(step)
        push[ok] = step[ok] / length[ok, None] * metres / scale[ok]
        coords[end] += push
    return shapely.linestrings(coords, indices=owner)


def _polygonise(
    parent: BaseGeometry,
    lines: np.ndarray,
    extra: np.ndarray | None,
    buildings: np.ndarray | None = None,
) -> np.ndarray:
    outline = shapely.get_parts(shapely.boundary(parent))
    pieces = [lines, outline] + ([extra] if extra is not None else [])
    work = np.concatenate([np.asarray(p, dtype=object) for p in pieces])
    noded = _node(shapely.get_parts(work))
    reaches = _reach_from_dead_ends(noded, buildings)
    if len(reaches):
        noded = _node(np.concatenate([noded, reaches]))
    faces = shapely.get_parts(shapely.polygonize(noded))
    if len(faces) == 0:
        return np.array(list(as_multipolygon(parent).geoms), dtype=object)
    return faces[_inside(parent, faces)]


def _inside(parent: BaseGeometry, faces: np.ndarray) -> np.ndarray:
    """Which faces lie in the parent: faces in its holes, or between its outline and a line
    just outside it, are formed too. A face's interior point decides; GEOS can miss the
    interior of a face with a near-degenerate part (a sliver where a feature line nearly follows
    the outline, such as a community outline drawn along the same moat), and then the share of
    the face's area inside the parent decides."""
    shapely.prepare(parent)
    points = shapely.point_on_surface(faces)
    inside = shapely.covers(parent, points)
    doubtful = ~shapely.contains(faces, points)
    if doubtful.any():
        share = shapely.area(shapely.intersection(faces[doubtful], parent)) / np.maximum(
            shapely.area(faces[doubtful]), 1e-300
        )
        inside[doubtful] = share > 0.5
    return inside


def _node(parts: np.ndarray) -> np.ndarray:
    try:
        # The union nodes the lines and dissolves duplicates (a road along the outline).
        noded = shapely.union_all(parts)
    except GEOSException:
        # Nearly coincident lines can defeat exact noding; snap-rounding is robust.
        noded = shapely.union_all(parts, grid_size=SNAP_GRID_DEG)
    return shapely.get_parts(noded)


def _reach_from_dead_ends(noded: np.ndarray, buildings: np.ndarray | None) -> np.ndarray:
    """Straight continuations of dead-end lanes to the nearest line ahead, up to
    DEAD_END_REACH_M, and never through a building: a lane that stops short of the next street
    still splits its block there (the standards' "split along interior lanes")."""
    segments = noded[shapely.get_type_id(noded) == 1]
    if len(segments) < 2:
        return np.empty(0, dtype=object)
    coords, owner = shapely.get_coordinates(segments, return_index=True)
    counts = np.bincount(owner, minlength=len(segments))
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    last = first + counts - 1
    ends = np.concatenate([first, last])
    inner = np.concatenate([first + 1, last - 1])
    # An end no other segment shares is a dead end.
    points = coords[ends]
    _, inverse, multiplicity = np.unique(
        np.round(points, 10), axis=0, return_inverse=True, return_counts=True
    )
    # A dead end of a lane, not the metre a junction's line was pushed past the street.
    long_enough = np.tile(shapely.length(segments), 2) > DEAD_END_MIN_DEG
    dead = (multiplicity[inverse.ravel()] == 1) & long_enough
    if not dead.any():
        return np.empty(0, dtype=object)
    tips, before = coords[ends[dead]], coords[inner[dead]]
    scale = np.column_stack(
        [111_320.0 * np.cos(np.radians(tips[:, 1])), np.full(len(tips), 110_574.0)]
    )
    step = (tips - before) * scale
    length = np.hypot(step[:, 0], step[:, 1])
    ok = length > 0
    tips, step, length, scale = tips[ok], step[ok], length[ok], scale[ok]
    far = tips + step / length[:, None] * DEAD_END_REACH_M / scale
    rays = shapely.linestrings(np.stack([tips, far], axis=1))
    ray_index, hit_index = shapely.STRtree(segments).query(rays, predicate="intersects")
    if not len(ray_index):
        return np.empty(0, dtype=object)
    crossings = shapely.intersection(rays[ray_index], segments[hit_index])
    start = shapely.points(tips[ray_index])
    distance = shapely.distance(start, crossings)
    # The lane itself touches its own tip: only hits beyond a few centimetres count.
    ahead = distance > 1e-6
    ray_index, crossings, distance = ray_index[ahead], crossings[ahead], distance[ahead]
    if not len(ray_index):
        return np.empty(0, dtype=object)
    order = np.lexsort((distance, ray_index))
    nearest = order[np.r_[True, ray_index[order][1:] != ray_index[order][:-1]]]
    targets = shapely.shortest_line(shapely.points(tips[ray_index[nearest]]), crossings[nearest])
    reaches = targets[~shapely.is_empty(targets)]
    if buildings is not None and len(buildings) and len(reaches):
        blocked, _ = shapely.STRtree(buildings).query(reaches, predicate="intersects")
        keep = np.ones(len(reaches), dtype=bool)
        keep[blocked] = False
        reaches = reaches[keep]
    return reaches


# --- measures ----------------------------------------------------------------------------------


class _Measure:
    """Loads in units of the target: area and, with sources, workload, half each."""

    def __init__(self, parent_area: float, n_target: int, sources: Sequence[WorkloadSource]):
        self.parent_area = parent_area
        self.n_target = n_target
        self.sources = [s for s in sources if source_total(s) > 0]
        self.face_areas = np.empty(0)

    def shares(self, geoms: np.ndarray) -> dict[str, np.ndarray]:
        return {s.name: source_amounts(s, geoms) / source_total(s) for s in self.sources}

    def loads(self, faces: np.ndarray) -> np.ndarray:
        self.face_areas = shapely.area(to_metric(faces))
        return self._load(self.face_areas, self.shares(faces))

    def loads_of_areas(self, areas_m2: np.ndarray) -> np.ndarray:
        """Loads by area alone (the measure has no workload sources)."""
        return self._load(np.asarray(areas_m2, dtype=float), {})

    def loads_metric(self, geoms_metric: np.ndarray) -> np.ndarray:
        """Loads of geometries already in the metric CRS (their workload is counted in the
        storage CRS, so they go back there only when there are sources)."""
        areas = shapely.area(geoms_metric)
        shares = self.shares(from_metric(geoms_metric)) if self.sources else {}
        return self._load(areas, shares)

    def _load(self, areas: np.ndarray, shares: dict[str, np.ndarray]) -> np.ndarray:
        by_area = areas / self.parent_area
        if not shares:
            return by_area * self.n_target
        work = np.mean(np.stack(list(shares.values())), axis=0)
        return (by_area + work) / 2 * self.n_target

    def index(self, shares: dict[str, np.ndarray]) -> np.ndarray | None:
        if not shares:
            return None
        work = np.mean(np.stack(list(shares.values())), axis=0)
        return work * len(work)


def source_total(source: WorkloadSource) -> float:
    values = source.weights if source.points is not None else source.values
    return float(np.sum(values)) if values is not None and len(values) else 0.0


def source_amounts(source: WorkloadSource, geoms: np.ndarray) -> np.ndarray:
    """Each geometry's amount of the source: weights of the points inside it, or values of the
    source's areas in proportion to the area overlapping it."""
    amounts = np.zeros(len(geoms))
    if len(geoms) == 0:
        return amounts
    tree = shapely.STRtree(geoms)
    if source.points is not None and source.weights is not None:
        points = shapely.points(source.points)
        point_index, geom_index = tree.query(points, predicate="within")
        # A point on a shared edge falls in both; count it once, in the first.
        first = np.unique(point_index, return_index=True)[1]
        np.add.at(amounts, geom_index[first], source.weights[point_index[first]])
    elif source.areas is not None and source.values is not None:
        area_index, geom_index = tree.query(source.areas, predicate="intersects")
        if len(area_index):
            overlap = shapely.area(
                to_metric(shapely.intersection(source.areas[area_index], geoms[geom_index]))
            )
            whole = shapely.area(to_metric(source.areas))[area_index]
            share = np.divide(overlap, whole, out=np.zeros_like(overlap), where=whole > 0)
            np.add.at(amounts, geom_index, source.values[area_index] * share)
    return amounts


# --- 2. splits ---------------------------------------------------------------------------------


class _Clusters:
    """The buildings a cut must step around. Each building crossing a cut goes whole to one
    side, so in a row of touching houses the cut follows a party wall; buildings that overlap
    (a building and its parts, as often mapped) move together."""

    def __init__(self, buildings: np.ndarray):
        self.storage = np.asarray(buildings, dtype=object)
        self.metric = to_metric(self.storage) if len(self.storage) else self.storage
        self.tree = shapely.STRtree(self.metric) if len(self.storage) else None

    def crossed_by(self, blade: BaseGeometry) -> np.ndarray:
        """Indices of the buildings the blade crosses."""
        if self.tree is None:
            return np.empty(0, dtype=int)
        return np.unique(self.tree.query(blade, predicate="intersects"))

    def groups(self, indices: np.ndarray) -> np.ndarray:
        """The given buildings (storage CRS), those overlapping each other joined."""
        metric = self.metric[indices]
        left, right = shapely.STRtree(metric).query(metric, predicate="intersects")
        pair = left < right
        left, right = left[pair], right[pair]
        overlapping = shapely.area(shapely.intersection(metric[left], metric[right])) > 0.01
        owner = np.arange(len(indices))
        for a, b in zip(left[overlapping], right[overlapping], strict=True):
            root_a, root_b = _root(owner, int(a)), _root(owner, int(b))
            owner[max(root_a, root_b)] = min(root_a, root_b)
        roots = np.array([_root(owner, i) for i in range(len(indices))])
        return np.array(
            [shapely.union_all(self.storage[indices[roots == r]]) for r in np.unique(roots)],
            dtype=object,
        )


def _root(owner: np.ndarray, item: int) -> int:
    while owner[item] != item:
        item = int(owner[item])
    return item


def _building_clusters(buildings: np.ndarray) -> _Clusters:
    return _Clusters(buildings)


@dataclass(frozen=True)
class _Cutter:
    """What a cut needs to know: how loads are measured, the buildings to step around, the
    feature lines inside blocks to follow, and how far from balanced a cut along them may be."""

    measure: _Measure
    clusters: _Clusters
    inner: _InnerLines
    tolerance: float


def _split(face: BaseGeometry, parts: int, cutter: _Cutter) -> list[BaseGeometry]:
    """Cut a face into `parts` pieces of about equal load, recursively in two."""
    if parts <= 1:
        return [p for p in shapely.get_parts(face) if not p.is_empty]
    # The pieces' inner lines are among the face's: the search narrows as the cuts go down.
    cutter = dataclasses.replace(cutter, inner=cutter.inner.narrowed_to(face))
    first = parts // 2
    side_a, side_b = _cut(face, first, parts, cutter)
    if side_a.is_empty or side_b.is_empty:
        return [p for p in shapely.get_parts(face) if not p.is_empty]
    return _split(side_a, first, cutter) + _split(side_b, parts - first, cutter)


def _areas_before(
    shape_metric: BaseGeometry,
    origin: np.ndarray,
    axis: np.ndarray,
    across: np.ndarray,
    positions: np.ndarray,
) -> np.ndarray:
    """The area of `shape_metric` before each position along `axis`, exactly: with rings
    oriented consistently (holes against their shell), area = ∮ y dx, and the part of each
    edge beyond the position adds nothing (the closing line along the cut has dx = 0)."""
    rings = shapely.get_rings(shapely.get_parts(shapely.normalize(shape_metric)))
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    x, y = (coords - origin) @ axis, (coords - origin) @ across
    same = ring[1:] == ring[:-1]
    x1, y1, x2, y2 = x[:-1][same], y[:-1][same], x[1:][same], y[1:][same]
    dx = x2 - x1
    slope = np.divide(y2 - y1, dx, out=np.zeros_like(dx), where=dx != 0)
    t = positions[:, None]
    a, b = np.minimum(x1, t), np.minimum(x2, t)
    signed = np.sum((b - a) * (2 * y1 + (a - x1 + b - x1) * slope) / 2, axis=1)
    return np.abs(signed)


def _parts_needed(
    load: float, area: float, area_limit: float, whole_up_to: float | None, limit: float
) -> int:
    """Into how many pieces a block too big to stay whole is cut: pieces of about the target,
    and within the level's maximum area; when blocks are kept whole (`whole_up_to` given), as
    few pieces as the bounds allow, aimed a tolerance (`limit`) below them since a cut may miss
    its mark by that much."""
    if whole_up_to is None:
        by_area = math.ceil(area / area_limit) if area_limit < math.inf else 2
        return max(2, round(load), by_area)
    by_area = math.ceil(area * limit / area_limit) if area_limit < math.inf else 2
    by_load = math.ceil(load * limit / whole_up_to) if whole_up_to < math.inf else 2
    return max(2, by_area, by_load)


def _cut(
    face: BaseGeometry, first: int, parts: int, cutter: _Cutter
) -> tuple[BaseGeometry, BaseGeometry]:
    """Cut a face in two, `first` of `parts` shares of its load on one side: along a line
    inside it when one serves (see _cut_along_lines), else straight across its long axis."""
    measure, clusters = cutter.measure, cutter.clusters
    fraction = first / parts
    face_metric = to_metric(face)
    rectangle = shapely.get_coordinates(shapely.minimum_rotated_rectangle(face_metric))
    edges = np.diff(rectangle[:3], axis=0)
    axis = edges[int(np.argmax(np.hypot(edges[:, 0], edges[:, 1])))]
    axis = axis / np.hypot(*axis)
    across = np.array([-axis[1], axis[0]])
    coords = shapely.get_coordinates(face_metric)
    origin = coords.mean(axis=0)
    along = (coords - origin) @ axis
    low, high = float(along.min()), float(along.max())
    sideways = (coords - origin) @ across
    side_low, side_high = float(sideways.min()) - 1.0, float(sideways.max()) + 1.0
    reach = (high - low) + (side_high - side_low) + 10.0

    def half(position: float) -> BaseGeometry:
        """The half-plane before `position` along the axis, in the storage CRS, its cut edge
        densified where it crosses the face: a straight metric edge a kilometre long bows by
        metres in lon/lat, and the cut must run where the building check looked."""
        start = origin + axis * (low - reach)
        end = origin + axis * position
        steps = int(min(MAX_CUT_VERTICES, max(2, math.ceil((side_high - side_low) / CUT_STEP_M))))
        t = np.concatenate([[-reach], np.linspace(side_low, side_high, steps), [reach]])
        edge = end + across * t[:, None]
        corners = np.vstack([[start - across * reach], edge, [start + across * reach]])
        return from_metric(Polygon(corners))

    # The balanced position: the load before a cut grows with its position along the axis, so
    # it is bracketed among BALANCE_STEPS positions at once (by area alone, exactly and without
    # GEOS; with workload, one vectorised intersection in metres) and interpolated inside.
    def loads_before(positions: np.ndarray) -> np.ndarray:
        if not measure.sources:
            return measure.loads_of_areas(
                _areas_before(face_metric, origin, axis, across, positions)
            )
        # Disjoint strips between consecutive positions (the first from far behind the face),
        # summed: nested half-planes would count a point once only, in the first that holds it.
        edges = np.concatenate([[low - reach], positions])
        near, far = origin + axis * edges[:-1, None], origin + axis * edges[1:, None]
        strips = shapely.polygons(
            np.stack(
                [
                    near - across * reach,
                    far - across * reach,
                    far + across * reach,
                    near + across * reach,
                ],
                axis=1,
            )
        )
        return np.cumsum(measure.loads_metric(shapely.intersection(face_metric, strips)))

    # Workload is a step at each point (a building, a report), so its bracket is narrowed
    # three times (to 1/4096 of the block); area grows smoothly and interpolates well sooner.
    lo, hi = low, high
    goal = None
    for _ in range(BALANCE_ROUNDS if measure.sources else 2):
        positions = np.linspace(lo, hi, BALANCE_STEPS)
        before = loads_before(positions)
        if goal is None:
            goal = fraction * before[-1]  # the whole face lies before its far end
        k = int(np.clip(np.searchsorted(before, goal), 1, len(positions) - 1))
        rise = before[k] - before[k - 1]
        share = float(np.clip((goal - before[k - 1]) / rise, 0.0, 1.0)) if rise > 0 else 0.5
        lo, hi = float(positions[k - 1]), float(positions[k])
        if rise <= 0:
            break
    balanced = lo + share * (hi - lo)
    if len(cutter.inner.lines):
        straight = shapely.LineString(
            [origin + axis * balanced - across * reach, origin + axis * balanced + across * reach]
        )
        along_line = _cut_along_lines(
            face,
            face_metric,
            first,
            parts,
            cutter,
            shapely.length(shapely.intersection(straight, face_metric)),
        )
        if along_line is not None:
            return along_line
    if clusters.tree is None:
        chosen, crossing = balanced, np.empty(0, dtype=int)
    else:
        best: tuple[float, float, np.ndarray] | None = None
        for offset in CUT_OFFSETS:
            position = balanced + offset * (high - low)
            if not low < position < high:
                continue
            line = shapely.LineString(
                [
                    origin + axis * position - across * reach,
                    origin + axis * position + across * reach,
                ]
            )
            blade = shapely.intersection(line, face_metric)
            hits = clusters.crossed_by(blade)
            crossed = float(np.sum(shapely.area(clusters.metric[hits]))) if len(hits) else 0.0
            if best is None or crossed < best[0]:
                best = (crossed, position, hits)
            if crossed == 0.0:
                break
        assert best is not None  # offset 0 lies strictly inside (low, high)
        _, chosen, crossing = best
    side = half(chosen)
    if len(crossing):
        # Whole clusters to the side holding most of each.
        buildings = clusters.groups(crossing)
        inside = shapely.area(shapely.intersection(buildings, side)) >= shapely.area(buildings) / 2
        if inside.any():
            side = shapely.union(side, shapely.union_all(buildings[inside]))
        if (~inside).any():
            side = shapely.difference(side, shapely.union_all(buildings[~inside]))
    return (
        as_multipolygon(shapely.intersection(face, side)),
        as_multipolygon(shapely.difference(face, side)),
    )


class _InnerLines:
    """The feature lines (storage CRS) that blocks may hold inside without being split by them:
    lanes, paths and tracks that end in the block, walls that stop short of its edge."""

    def __init__(self, lines: np.ndarray):
        self.lines = np.asarray(lines, dtype=object)
        self.tree = shapely.STRtree(self.lines) if len(self.lines) else None

    def narrowed_to(self, face: BaseGeometry) -> _InnerLines:
        return _InnerLines(self.chains(face))

    def chains(self, face: BaseGeometry) -> np.ndarray:
        """The lines inside `face`, off its edges, merged into chains between junctions."""
        empty = np.empty(0, dtype=object)
        if self.tree is None:
            return empty
        index = self.tree.query(face, predicate="intersects")
        if not len(index):
            return empty
        core = shapely.buffer(face, -INNER_MARGIN_DEG)
        if core.is_empty:
            return empty
        inner = shapely.intersection(self.lines[index], core)
        inner = inner[~shapely.is_empty(inner)]
        if not len(inner):
            return empty
        merged = shapely.get_parts(shapely.line_merge(shapely.union_all(inner)))
        return merged[
            (shapely.get_type_id(merged) == 1) & (shapely.get_num_coordinates(merged) >= 2)
        ]


def _cut_along_lines(
    face: BaseGeometry,
    face_metric: BaseGeometry,
    first: int,
    parts: int,
    cutter: _Cutter,
    straight_m: float,
) -> tuple[BaseGeometry, BaseGeometry] | None:
    """Cut `face` along a chain of feature lines inside it, each loose end continued straight
    to the block's edge (never into a building): the planner's "split along interior lanes" for
    a lane that does not quite cross its block. The chain whose continuations are shortest
    wins among those that leave each side's load per grid within the tolerance; None when no
    chain beats the straight cut (`straight_m` long) by LINE_CUT_GAIN."""
    chains = cutter.inner.lines  # narrowed to this face's chains by _split
    if not len(chains):
        return None
    chains_metric = to_metric(chains)
    lengths = shapely.length(chains_metric)
    order = np.argsort(-lengths)[:LINE_CUT_CANDIDATES]
    order = order[lengths[order] >= LINE_CUT_MIN_M]
    if not len(order):
        return None
    edge = shapely.boundary(face_metric)
    shapely.prepare(edge)
    west, south, east, north = face_metric.bounds
    reach = math.hypot(east - west, north - south) + 10.0
    total = float(cutter.measure.loads_metric(np.array([face_metric], dtype=object))[0])
    per_grid = total / parts
    best: tuple[float, BaseGeometry, BaseGeometry] | None = None
    for k in order:
        continuations = _continuations(chains_metric[k], edge, reach, cutter.clusters)
        if continuations is None:
            continue
        off_feature = float(np.sum(shapely.length(continuations)))
        if off_feature >= LINE_CUT_GAIN * straight_m or (best and off_feature >= best[0]):
            continue
        # Drawn from the chain's own ends (storage CRS), so that chain and continuations meet.
        ends = shapely.get_coordinates(chains[k])[[-1, 0]]
        far = shapely.get_coordinates(from_metric(shapely.get_point(continuations, -1)))
        drawn = shapely.linestrings(np.stack([ends, far], axis=1))
        blade = shapely.union_all(np.concatenate([[chains[k]], drawn]))
        pieces = shapely.get_parts(
            shapely.polygonize(
                shapely.get_parts(shapely.union_all([shapely.boundary(face), blade]))
            )
        )
        if len(pieces):
            pieces = pieces[_inside(face, pieces)]
        if len(pieces) != 2:
            continue
        loads = cutter.measure.loads_metric(to_metric(pieces))
        for a, b in ((0, 1), (1, 0)):
            spread = max(
                abs(loads[a] / first / per_grid - 1.0),
                abs(loads[b] / (parts - first) / per_grid - 1.0),
            )
            if spread <= cutter.tolerance:
                best = (off_feature, pieces[a], pieces[b])
                break
    if best is None:
        return None
    return as_multipolygon(best[1]), as_multipolygon(best[2])


def _continuations(
    chain: BaseGeometry, edge: BaseGeometry, reach: float, clusters: _Clusters
) -> np.ndarray | None:
    """Straight continuations (metric) of a chain's two ends to the nearest point ahead on the
    block's `edge`, each a metre past it so that it is noded there; None when an end has no
    edge ahead or its continuation would enter a building."""
    coords = shapely.get_coordinates(chain)
    result = []
    for tip, before in ((coords[-1], coords[-2]), (coords[0], coords[1])):
        step = tip - before
        length = float(np.hypot(*step))
        if length == 0:
            return None
        direction = step / length
        ray = shapely.LineString([tip, tip + direction * reach])
        hits = shapely.get_parts(shapely.intersection(ray, edge))
        points = shapely.get_coordinates(hits)
        if not len(points):
            return None
        ahead = np.hypot(*(points - tip).T)
        distance = float(ahead.min())
        continuation = shapely.LineString([tip, tip + direction * (distance + 1.0)])
        if clusters.tree is not None:
            inside = clusters.tree.query(
                shapely.LineString([tip, tip + direction * distance]), predicate="intersects"
            )
            if len(inside):
                crossing = shapely.intersection(
                    shapely.LineString([tip, tip + direction * distance]),
                    shapely.buffer(clusters.metric[inside], -LINE_CUT_BUILDING_M),
                )
                if float(np.sum(shapely.length(crossing))) > 0:
                    return None
        result.append(continuation)
    return np.array(result, dtype=object)


# --- 3–4. merging ------------------------------------------------------------------------------


class _Graph:
    """Regions of faces and the edges between them (length by rank); merges are bookkeeping,
    geometry is unioned once at the end."""

    def __init__(self, areas: np.ndarray, loads: np.ndarray):
        count = len(areas)
        self.face_area = np.asarray(areas, dtype=float)
        self.area = {i: float(areas[i]) for i in range(count)}
        self.load = {i: float(loads[i]) for i in range(count)}
        self.members: dict[int, list[int]] = {i: [i] for i in range(count)}
        self.edges: dict[int, dict[int, np.ndarray]] = {i: {} for i in range(count)}
        self.fixed: set[int] = set()
        # No merge makes a region larger than this (m²) when another neighbour would do.
        self.max_area = math.inf

    @classmethod
    def build(
        cls,
        faces: np.ndarray,
        areas: np.ndarray,
        loads: np.ndarray,
        linework: tuple[np.ndarray, np.ndarray],
    ) -> _Graph:
        graph = cls(areas, loads)
        if len(faces) < 2:
            return graph
        tree = shapely.STRtree(faces)
        left, right = tree.query(faces, predicate="intersects")
        pair = left < right
        left, right = left[pair], right[pair]
        outlines = to_metric(shapely.boundary(faces))
        shared = shapely.intersection(outlines[left], outlines[right])
        parts, owner = shapely.get_parts(shared, return_index=True)
        linear = shapely.get_type_id(parts) == 1
        parts, owner = parts[linear], owner[linear]
        lengths = shapely.length(parts)
        part_ranks = np.zeros(len(parts), dtype=np.int8)
        lines, ranks = linework
        if len(lines) and len(parts):
            middles = shapely.line_interpolate_point(parts, 0.5, normalized=True)
            feature_tree = shapely.STRtree(to_metric(lines))
            middle_index, line_index = feature_tree.query(
                middles, predicate="dwithin", distance=ON_FEATURE_M
            )
            np.maximum.at(part_ranks, middle_index, ranks[line_index])
        by_rank = np.zeros((len(left), RANKS))
        np.add.at(by_rank, (owner, part_ranks), lengths)
        for k in np.flatnonzero(by_rank.sum(axis=1) > 0):
            a, b = int(left[k]), int(right[k])
            graph.edges[a][b] = by_rank[k]
            graph.edges[b][a] = by_rank[k]
        graph._link_islands(faces)
        return graph

    def _link_islands(self, faces: np.ndarray) -> None:
        """A parent in several parts (an exclave, a crumb its outline leaves behind) has faces no
        other face touches: each such group is linked to the nearest face outside it by an edge
        of no length, which ranks as a barrier, so that a crumb below the sliver size or the
        level's minimum still has a neighbour to join (it then makes a grid of two parts, as a
        Voronoi division of the same parent does)."""
        owner = np.arange(len(faces))
        for a, neighbours in self.edges.items():
            for b in neighbours:
                ra, rb = _root(owner, a), _root(owner, b)
                if ra != rb:
                    owner[max(ra, rb)] = min(ra, rb)
        groups = np.array([_root(owner, i) for i in range(len(faces))])
        if len(np.unique(groups)) < 2:
            return
        for group in np.unique(groups):
            inside = np.flatnonzero(groups == group)
            outside = np.flatnonzero(groups != group)
            other = int(
                outside[
                    shapely.STRtree(faces[outside]).query_nearest(shapely.union_all(faces[inside]))[
                        0
                    ]
                ]
            )
            own = int(inside[shapely.STRtree(faces[inside]).query_nearest(faces[other])[0]])
            if other not in self.edges[own]:
                self.edges[own][other] = np.zeros(RANKS)
                self.edges[other][own] = self.edges[own][other]

    @staticmethod
    def crossing_rank(lengths: np.ndarray) -> int:
        total = lengths.sum()
        for rank in range(RANKS - 1, -1, -1):
            if lengths[rank] >= RANK_SHARE * total:
                return rank
        return RANK_NONE

    def merge(self, keep: int, gone: int) -> None:
        self.area[keep] += self.area.pop(gone)
        self.load[keep] += self.load.pop(gone)
        self.members[keep].extend(self.members.pop(gone))
        # A kept grid that takes in a sliver stays put: balancing does not move it further.
        self.fixed.discard(gone)
        for neighbour, lengths in self.edges.pop(gone).items():
            del self.edges[neighbour][gone]
            if neighbour == keep:
                continue
            joined = self.edges[keep].get(neighbour, np.zeros(RANKS)) + lengths
            self.edges[keep][neighbour] = joined
            self.edges[neighbour][keep] = joined

    def merge_slivers(
        self, threshold: float, *, barriers: bool = True, high: float = math.inf
    ) -> None:
        """Each region below `threshold` m² joins its longest-edge neighbour, not across a
        barrier when it has another (with `barriers`), and not into one it would take above
        `high` when another would stay below; the smallest first."""
        queue = [(area, region) for region, area in self.area.items() if area < threshold]
        heapq.heapify(queue)
        while queue:
            area, region = heapq.heappop(queue)
            if self.area.get(region) != area or not self.edges[region]:
                continue
            neighbours = self.edges[region]
            load = self.load[region]
            open_ = {
                n: lengths
                for n, lengths in neighbours.items()
                if barriers and self.crossing_rank(lengths) < RANK_BARRIER
            }
            choice = open_ or neighbours
            within = {n: v for n, v in choice.items() if area + self.area[n] <= self.max_area}
            fitting = {n: v for n, v in within.items() if load + self.load[n] <= high}
            choice = fitting or within or choice
            target = max(choice, key=lambda n: (choice[n].sum(), -n))
            self.merge(target, region)
            if self.area[target] < threshold:
                heapq.heappush(queue, (self.area[target], target))

    def balance(self, max_rank: int, low: float, high: float) -> None:
        """The lightest region below `low` joins the neighbour across an edge of rank ≤
        `max_rank` that brings the pair nearest the target (1.0), up to `high`."""
        queue = [(load, region) for region, load in self.load.items() if load < low]
        heapq.heapify(queue)
        while queue:
            load, region = heapq.heappop(queue)
            if self.load.get(region) != load or region in self.fixed:
                continue
            best: tuple[float, float, int] | None = None
            for neighbour, lengths in self.edges[region].items():
                if neighbour in self.fixed or self.crossing_rank(lengths) > max_rank:
                    continue
                joined = load + self.load[neighbour]
                if joined > high or self.area[region] + self.area[neighbour] > self.max_area:
                    continue
                key = (abs(joined - 1.0), -float(lengths.sum()), neighbour)
                if best is None or key < best:
                    best = key
            if best is None:
                continue
            target = best[2]
            self.merge(target, region)
            if self.load[target] < low:
                heapq.heappush(queue, (self.load[target], target))

    def reduce_to(self, count: int) -> None:
        """Merge the lightest regions until `count` remain (a fixed number of grids)."""
        queue = [(load, region) for region, load in self.load.items()]
        heapq.heapify(queue)
        while len(self.load) > count and queue:
            load, region = heapq.heappop(queue)
            if self.load.get(region) != load or not self.edges[region]:
                continue
            target = min(
                self.edges[region],
                key=lambda n: (
                    self.crossing_rank(self.edges[region][n]) == RANK_BARRIER,
                    self.load[n],
                    n,
                ),
            )
            self.merge(target, region)
            heapq.heappush(queue, (self.load[target], target))

    def regions(self) -> list[list[int]]:
        return [sorted(members) for _, members in sorted(self.members.items())]


def _fix_previous(
    graph: _Graph,
    faces: np.ndarray,
    previous: Sequence[BaseGeometry],
    band: tuple[float, float],
    min_area_m2: float | None,
    max_area_m2: float | None,
) -> None:
    """Join the regions of each previous grid that still fits into one region that balancing
    leaves alone. A region belongs to the previous grid holding its largest face."""
    if not previous or not graph.members:
        return
    olds = np.array([as_multipolygon(g) for g in previous], dtype=object)
    old_areas = shapely.area(to_metric(olds))
    regions = list(graph.members)
    largest = [max(graph.members[r], key=lambda f: graph.face_area[f]) for r in regions]
    tree = shapely.STRtree(olds)
    region_index, old_index = tree.query(
        shapely.point_on_surface(faces[largest]), predicate="within"
    )
    for old in np.unique(old_index):
        members = [regions[i] for i in region_index[old_index == old]]
        area = sum(graph.area[r] for r in members)
        # Still a union of blocks: its regions fill the old grid (to a part in a thousand).
        if abs(area - old_areas[old]) > SAME_SHARE * old_areas[old]:
            continue
        if not band[0] <= sum(graph.load[r] for r in members) <= band[1]:
            continue
        if (min_area_m2 and area < min_area_m2) or (max_area_m2 and area > max_area_m2):
            continue
        for member in members[1:]:
            graph.merge(members[0], member)
        graph.fixed.add(members[0])


def _still_following(
    previous: Sequence[BaseGeometry],
    blocks: np.ndarray,
    heavy: np.ndarray,
) -> list[int]:
    """Indices of the previous grids whose boundary, off the blocks' edges (the features, the
    parent's outline and the lanes' reaches to the next line), runs only through blocks heavy
    enough to be cut."""
    if not previous:
        return []
    olds = to_metric(np.array([as_multipolygon(g) for g in previous], dtype=object))
    stretches, owner = _stretches(shapely.boundary(olds))
    middles = shapely.line_interpolate_point(stretches, 0.5, normalized=True)
    metric_blocks = to_metric(blocks)
    near, _ = shapely.STRtree(shapely.boundary(metric_blocks)).query(
        middles, predicate="dwithin", distance=FOLLOWS_M
    )
    off = np.ones(len(middles), dtype=bool)
    off[near] = False
    ok = np.ones(len(previous), dtype=bool)
    if off.any():
        inside, block = shapely.STRtree(metric_blocks).query(middles[off], predicate="within")
        light = np.ones(int(off.sum()), dtype=bool)
        light[inside[heavy[block]]] = False
        ok[np.unique(owner[off][light])] = False
    return [int(i) for i in np.flatnonzero(ok)]


def _stretches(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lines cut into two-point stretches at most STRETCH_M long, with the index of their line."""
    dense = shapely.segmentize(lines, STRETCH_M)
    coords, owner = shapely.get_coordinates(dense, return_index=True)
    same = owner[1:] == owner[:-1]
    pairs = np.stack([coords[:-1][same], coords[1:][same]], axis=1)
    return shapely.linestrings(pairs), owner[:-1][same]


def _same_as_previous(pieces: list[BaseGeometry], previous: Sequence[BaseGeometry]) -> np.ndarray:
    """Per piece, the index of the previous grid it equals (to SAME_SHARE of its area), else -1."""
    kept = np.full(len(pieces), -1, dtype=int)
    if not previous or not pieces:
        return kept
    news = np.array(pieces, dtype=object)
    olds = np.array([as_multipolygon(g) for g in previous], dtype=object)
    new_index, old_index = shapely.STRtree(olds).query(news, predicate="intersects")
    differ = shapely.area(shapely.symmetric_difference(news[new_index], olds[old_index]))
    same = differ < SAME_SHARE * shapely.area(news[new_index])
    kept[new_index[same]] = old_index[same]
    return kept


def _keep_buildings_whole(
    pieces: list[BaseGeometry], buildings: np.ndarray, parent: BaseGeometry
) -> list[BaseGeometry]:
    """Give each building that two pieces share wholly to the piece holding most of it.

    The cuts step around buildings already; this is the guarantee behind them, for the few a
    cut through a multipart block or a line meeting a wall at a corner can still clip.
    """
    if not len(buildings) or len(pieces) < 2:
        return pieces
    shapes = np.array(pieces, dtype=object)
    cores = shapely.buffer(buildings, -BUILDING_SHRINK_DEG)
    building_index, piece_index = shapely.STRtree(shapes).query(cores, predicate="intersects")
    shared = np.unique(building_index[np.diff(np.r_[-1, building_index]) == 0])
    if not len(shared):
        return pieces
    for building in shared:
        holders = piece_index[building_index == building]
        whole = shapely.intersection(buildings[building], parent)
        overlap = shapely.area(shapely.intersection(shapes[holders], whole))
        keeper = holders[int(np.argmax(overlap))]
        for holder in holders:
            if holder == keeper:
                shapes[holder] = shapely.union(shapes[holder], whole)
            else:
                shapes[holder] = shapely.difference(shapes[holder], whole)
    return [as_multipolygon(shapely.make_valid(s) if not s.is_valid else s) for s in shapes]


def _drop_straight_vertices(pieces: list[BaseGeometry]) -> list[BaseGeometry]:
    """The pieces without vertices on straight runs, simplified as one coverage (a shared edge
    changes alike on both sides, so they still tile the parent) with the parent's outline kept."""
    if len(pieces) < 2:
        return pieces
    shapes = np.array(pieces, dtype=object)
    try:
        simpler = shapely.coverage_simplify(shapes, STRAIGHT_DEG, simplify_boundary=False)
    except GEOSException:
        return pieces
    good = shapely.is_valid(simpler) & ~shapely.is_empty(simpler)
    if not good.all():
        return pieces
    return [as_multipolygon(g) for g in simpler]


def _union_regions(faces: np.ndarray, regions: list[list[int]]) -> list[BaseGeometry]:
    pieces = []
    for members in regions:
        if len(members) == 1:
            union = faces[members[0]]
        else:
            try:
                # Faces from polygonising share their edges exactly: the fast coverage union.
                union = shapely.coverage_union_all(faces[members])
            except GEOSException:
                # Pieces of a cut meet along computed intersections, not shared vertices.
                union = shapely.union_all(faces[members])
        pieces.append(as_multipolygon(union))
    shapes = np.array(pieces, dtype=object)
    # A cut that steps around a building can meet the block's outline at a single point, which
    # the storage constraint refuses as a self-touching ring: repair those.
    invalid = ~shapely.is_valid(shapes)
    if invalid.any():
        for index in np.flatnonzero(invalid):
            shapes[index] = as_multipolygon(shapely.make_valid(shapes[index]))
    return list(shapes)
