"""The demo city's reference layers: GENERATED roads, water and walls for Beijing Dongcheng
(东城区, 110101), so that the demo divides its communities and unit grids along features as a
city with surveyed layers would (docs/domain.md §2.7, §9).

Nothing here is surveyed. The layout imitates the old city's pattern: main roads every ~700 m
north–south and east–west, aligned with the district; the 2nd ring road (二环路) where the old
city wall stood, with the moat (护城河) just outside it; secondary roads between the main roads;
inside the ring, 胡同 lanes running east–west every 70–120 m with short north–south lanes
between them; looser estate streets outside the ring; the walled palace with its moat, the walled
Temple of Heaven and Temple of Earth, a lake, and the railway out of Beijing station. Positions
are arithmetic on the district's lattice plus a seeded generator, so every load draws the same
layers. The layers are clipped to the district boundary shipped in gis_data/ and written by the
reference services (one transaction, one event per layer), labelled generated.

The reference app owns this step and it runs before the grids' step (order 5 < 10), which
divides along these layers. It reads the district boundary from the shipped file, not from the
grids: grids depend on reference, never the reverse.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from django.conf import settings
from shapely.geometry import LineString, Polygon, box
from shapely.geometry.base import BaseGeometry

from geogrid.core.demo import DemoStep
from geogrid.core.gis import repair
from geogrid.reference.models import FeatureClass, LayerKind, ReferenceLayer
from geogrid.reference.services import LayerInput, import_layers

DISTRICT_FILE = Path(settings.BASE_DIR) / "gis_data" / "dongcheng-110101.geojson"
SOURCE = "生成数据 (demo, generated)"
ATTRIBUTION = "GeoGrid 演示用生成数据，非真实测绘 (generated for the demo, not surveyed)"
ROADS_LAYER = "东城区道路（演示生成）"
WATER_LAYER = "东城区水系（演示生成）"
WALLS_LAYER = "东城区围墙与铁路（演示生成）"
DEMO_LAYERS = (ROADS_LAYER, WATER_LAYER, WALLS_LAYER)
SEED = 110101

# Metres to degrees at Dongcheng's latitude (~39.91° N): the layout is drawn in lon/lat, where
# north–south and east–west lines stay straight, with spacings given in metres.
M_PER_DEG_LAT = 110_990.0
M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(39.91))

# The 2nd ring road (the old city wall's line): north side, east side north and south of the
# jog at 东便门, south side. The district outline runs just outside it on the east and south.
RING_NORTH = 39.9490
RING_EAST_NORTH = 116.4335
RING_EAST_SOUTH = 116.4370
RING_JOG = (39.9015, 39.8985)
RING_SOUTH = 39.8712
RING_WEST = 116.3600  # beyond the district: the ring's west side is Xicheng's
# The inner city's south wall, 前三门大街 (a main road), between the inner and outer city.
INNER_SOUTH = 39.9004
MOAT_OFFSET_M = 50.0
# The main-road lattice, counted from the ring: N–S every ~690 m, E–W every ~770 m.
MAIN_STEP_LON_M = 690.0
MAIN_STEP_LAT_M = 770.0
MAIN_JITTER_M = 50.0
SECONDARY_JITTER_M = 40.0
SECONDARY_SHARE = 0.85  # share of secondary-road segments between main roads that exist
# Lanes: E–W spacing range (m), share running the whole block, N–S spacing range along a row
# between two E–W lanes (m), share of those N–S lanes drawn.
OLD_CITY_LANES = ((70.0, 120.0), 0.75, (90.0, 150.0), 0.8)
OUTSIDE_LANES = ((110.0, 160.0), 0.8, (110.0, 170.0), 0.8)
LANE_END_CLEARANCE_M = 50.0  # no lane this close to the block's far edge
SHORTEST_FEATURE_M = 5.0  # clipped pieces shorter than this are dropped

# Walled places (lon/lat boxes) where no road runs: the palace (故宫, with its moat 筒子河), the
# Temple of Heaven (天坛) and the Temple of Earth (地坛).
PALACE = (116.3925, 39.9125, 116.4015, 39.9215)
TEMPLE_OF_HEAVEN = (116.4045, 39.8745, 116.4185, 39.8870)
TEMPLE_OF_EARTH = (116.4115, 39.9505, 116.4185, 39.9560)
LAKE_CENTRE = (116.4432, 39.8772)  # 龙潭湖
LAKE_RADII_M = (300.0, 230.0)
RAILWAY = ((116.4290, 39.9030), (116.4380, 39.9022), (116.4600, 39.9010))
RAILWAY_CLEARANCE_M = 20.0


def _lon(metres: Any) -> Any:
    return np.asarray(metres) / M_PER_DEG_LON


def _lat(metres: Any) -> Any:
    return np.asarray(metres) / M_PER_DEG_LAT


@dataclass(frozen=True)
class DemoLayers:
    """The generated features per layer, as arrays for the reference services."""

    roads: LayerInput
    water: LayerInput
    walls: LayerInput

    def all(self) -> list[LayerInput]:
        return [self.roads, self.water, self.walls]


def district_boundary() -> BaseGeometry:
    """Dongcheng's boundary as shipped, repaired as import_grids repairs it (it self-intersects)."""
    with open(DISTRICT_FILE, encoding="utf-8") as handle:
        feature = json.load(handle)["features"][0]
    return repair(shapely.geometry.shape(feature["geometry"]))


def _segments(x0: Any, y0: Any, x1: Any, y1: Any) -> np.ndarray:
    """Two-point lines, vectorised."""
    starts = np.column_stack([np.ravel(x0), np.ravel(y0)])
    ends = np.column_stack([np.ravel(x1), np.ravel(y1)])
    if len(starts) == 0:
        return np.empty(0, dtype=object)
    lines: np.ndarray = shapely.linestrings(np.stack([starts, ends], axis=1))
    return lines


def _grown_box(bounds: tuple[float, float, float, float], grow_m: float = 0.0) -> Polygon:
    west, south, east, north = bounds
    return box(west - _lon(grow_m), south - _lat(grow_m), east + _lon(grow_m), north + _lat(grow_m))


def ring_road() -> LineString:
    """The 2nd ring's line, corners cut by ~150 m as the interchanges round them."""
    c_lon, c_lat = float(_lon(150.0)), float(_lat(150.0))
    return LineString(
        [
            (RING_WEST, RING_NORTH),
            (RING_EAST_NORTH - c_lon, RING_NORTH),
            (RING_EAST_NORTH, RING_NORTH - c_lat),
            (RING_EAST_NORTH, RING_JOG[0]),
            (RING_EAST_SOUTH, RING_JOG[1]),
            (RING_EAST_SOUTH, RING_SOUTH + c_lat),
            (RING_EAST_SOUTH - c_lon, RING_SOUTH),
            (RING_WEST, RING_SOUTH),
        ]
    )


def old_city() -> Polygon:
    """Inside the 2nd ring (its west side is beyond the district)."""
    return Polygon(list(ring_road().coords))


def moat() -> LineString:
    """The moat, MOAT_OFFSET_M outside the ring road (left of its west→east→west course),
    offset in metres and drawn back in degrees."""
    scale = np.array([M_PER_DEG_LON, M_PER_DEG_LAT])
    metric = LineString(np.array(ring_road().coords) * scale)
    outside = shapely.offset_curve(metric, MOAT_OFFSET_M, join_style="mitre")
    return LineString(np.array(outside.coords) / scale)


def _lattice(rng: np.random.Generator, bounds: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Main-road positions: longitudes of the N–S roads, latitudes of the E–W ones, counted
    from the ring and jittered; the ring itself and 前三门 are drawn apart."""
    west, south, east, north = bounds
    step_x, step_y = float(_lon(MAIN_STEP_LON_M)), float(_lat(MAIN_STEP_LAT_M))
    xs = RING_EAST_NORTH + step_x * np.arange(-8, 4)
    xs = xs[(xs > west) & (xs < east) & (np.abs(xs - RING_EAST_NORTH) > 1e-9)]
    # North of the ring; from the ring down to 前三门 (7 steps); then on south of it.
    ys = np.concatenate(
        [
            RING_NORTH + step_y * np.arange(1, 3),
            RING_NORTH - (RING_NORTH - INNER_SOUTH) / 7 * np.arange(1, 7),
            INNER_SOUTH - step_y * np.arange(1, 6),
        ]
    )
    # Not within 300 m of the ring's south side, which is a main road already.
    ys = ys[(ys > south) & (ys < north) & (np.abs(ys - RING_SOUTH) > float(_lat(300.0)))]
    xs = xs + _lon(rng.uniform(-MAIN_JITTER_M, MAIN_JITTER_M, len(xs)))
    ys = ys + _lat(rng.uniform(-MAIN_JITTER_M, MAIN_JITTER_M, len(ys)))
    return np.sort(xs), np.sort(ys)


def _lanes(
    rng: np.random.Generator,
    cell_x: np.ndarray,
    cell_y: np.ndarray,
    spacing: tuple[float, float],
    whole_share: float,
    along: tuple[float, float],
    connector_share: float,
) -> np.ndarray:
    """Lanes in every block between consecutive street lines (`cell_x`, `cell_y`, sorted):
    east–west lanes from the block's south edge every `spacing` metres, some stopping short
    (dead ends), and short north–south lanes between them."""
    lines: list[np.ndarray] = []
    for x0, x1 in zip(cell_x[:-1], cell_x[1:], strict=True):
        width = x1 - x0
        for y0, y1 in zip(cell_y[:-1], cell_y[1:], strict=True):
            gaps = rng.uniform(*spacing, size=64)
            ys = y0 + np.cumsum(_lat(gaps))
            ys = ys[ys < y1 - float(_lat(LANE_END_CLEARANCE_M))]
            n = len(ys)
            if n == 0:
                continue
            whole = rng.random(n) < whole_share
            from_west = rng.random(n) < 0.5
            reach = rng.uniform(0.55, 0.85, n) * width
            starts = np.where(whole | from_west, x0, x1 - reach)
            ends = np.where(whole | ~from_west, x1, x0 + reach)
            lines.append(_segments(starts, ys, ends, ys))
            # Between each pair of lanes, north–south lanes every `along` metres (staggered:
            # drawn afresh per row), a share of them missing.
            rows = np.concatenate([[y0], ys, [y1]])
            steps = rng.uniform(*along, size=(len(rows) - 1, 32))
            at = (
                x0
                + np.cumsum(_lon(steps), axis=1)
                - _lon(rng.uniform(0, along[0], (len(rows) - 1, 1)))
            )
            has = (at > x0 + float(_lon(30.0))) & (at < x1 - float(_lon(30.0)))
            has &= rng.random(at.shape) < connector_share
            row = np.broadcast_to(np.arange(len(rows) - 1)[:, None], at.shape)[has]
            lines.append(_segments(at[has], rows[row], at[has], rows[row + 1]))
    return np.concatenate(lines) if lines else np.empty(0, dtype=object)


def _clip(
    geoms: Sequence[Any] | np.ndarray,
    classes: Iterable[str] | str,
    names: Iterable[str] | str,
    area: BaseGeometry,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lines cut to `area`, split into parts, pieces shorter than SHORTEST_FEATURE_M dropped."""
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    classes = np.full(n, classes, dtype=object) if isinstance(classes, str) else np.asarray(classes)
    names = np.full(n, names, dtype=object) if isinstance(names, str) else np.asarray(names)
    shapely.prepare(area)
    clipped = shapely.intersection(geoms, area)
    parts, owner = shapely.get_parts(clipped, return_index=True)
    lines = shapely.get_type_id(parts) == 1
    parts, owner = parts[lines], owner[lines]
    # Length in metres of a line along a meridian or a parallel: good enough to drop crumbs.
    extent = shapely.bounds(parts)
    metres = np.hypot(
        (extent[:, 2] - extent[:, 0]) * M_PER_DEG_LON, (extent[:, 3] - extent[:, 1]) * M_PER_DEG_LAT
    )
    keep = metres >= SHORTEST_FEATURE_M
    return parts[keep], classes[owner[keep]], names[owner[keep]]


def _lake() -> Polygon:
    angles = np.linspace(0.0, 2 * math.pi, 48, endpoint=False)
    rx, ry = LAKE_RADII_M
    x = LAKE_CENTRE[0] + _lon(rx * np.cos(angles))
    y = LAKE_CENTRE[1] + _lat(ry * np.sin(angles) * (1 + 0.15 * np.sin(3 * angles)))
    return Polygon(np.column_stack([x, y]))


def generate(boundary: BaseGeometry | None = None, seed: int = SEED) -> DemoLayers:
    """The demo's roads, water and walls over `boundary` (default: Dongcheng as shipped)."""
    district = boundary if boundary is not None else district_boundary()
    rng = np.random.default_rng(seed)
    west, south, east, north = district.bounds
    margin = float(_lon(200.0))
    bounds = (west - margin, south - margin, east + margin, north + margin)

    ring = ring_road()
    inside = old_city()
    palace_moat = _grown_box(PALACE, MOAT_OFFSET_M)
    walled = [_grown_box(PALACE), _grown_box(TEMPLE_OF_HEAVEN), _grown_box(TEMPLE_OF_EARTH)]
    lake = _lake()
    railway = LineString(RAILWAY)
    # No road runs into a walled place, the palace moat, the lake or along the railway.
    closed = shapely.union_all(
        [palace_moat, *walled[1:], lake, railway.buffer(float(_lon(RAILWAY_CLEARANCE_M)))]
    )
    open_area = shapely.difference(district, closed)

    # Main roads, the ring, 前三门大街 and 长安街 (the E–W main road nearest 39.908).
    xs, ys = _lattice(rng, bounds)
    mains = np.concatenate(
        [
            _segments(xs, np.full(len(xs), bounds[1]), xs, np.full(len(xs), bounds[3])),
            _segments(np.full(len(ys), bounds[0]), ys, np.full(len(ys), bounds[2]), ys),
            _segments([bounds[0]], [INNER_SOUTH], [RING_EAST_NORTH], [INNER_SOUTH]),
        ]
    )
    main_names = np.full(len(mains), "", dtype=object)
    main_names[len(xs) + int(np.argmin(np.abs(ys - 39.908)))] = "长安街"
    main_names[-1] = "前三门大街"

    # Street lines that bound lane blocks: main roads, the ring and the secondary roads midway.
    cell_x = np.sort(np.concatenate([[bounds[0]], xs, [RING_EAST_NORTH, bounds[2]]]))
    cell_y = np.sort(
        np.concatenate([[bounds[1]], ys, [RING_NORTH, INNER_SOUTH, RING_SOUTH, bounds[3]]])
    )
    cell_y = cell_y[np.concatenate([[True], np.diff(cell_y) > float(_lat(150.0))])]
    mid_x = (cell_x[:-1] + cell_x[1:]) / 2 + _lon(
        rng.uniform(-SECONDARY_JITTER_M, SECONDARY_JITTER_M, len(cell_x) - 1)
    )
    mid_y = (cell_y[:-1] + cell_y[1:]) / 2 + _lat(
        rng.uniform(-SECONDARY_JITTER_M, SECONDARY_JITTER_M, len(cell_y) - 1)
    )
    # Secondary roads: per block of the main lattice, the N–S one and the E–W one, each present
    # in SECONDARY_SHARE of the blocks (a street that jogs or stops, as they do).
    grid_x, grid_y = np.meshgrid(np.arange(len(mid_x)), np.arange(len(mid_y)), indexing="ij")
    gx, gy = grid_x.ravel(), grid_y.ravel()
    ns = rng.random(len(gx)) < SECONDARY_SHARE
    ew = rng.random(len(gx)) < SECONDARY_SHARE
    secondaries = np.concatenate(
        [
            _segments(mid_x[gx[ns]], cell_y[gy[ns]], mid_x[gx[ns]], cell_y[gy[ns] + 1]),
            _segments(cell_x[gx[ew]], mid_y[gy[ew]], cell_x[gx[ew] + 1], mid_y[gy[ew]]),
        ]
    )
    lane_x = np.sort(np.concatenate([cell_x, mid_x]))
    lane_y = np.sort(np.concatenate([cell_y, mid_y]))
    old_lanes = _lanes(rng, lane_x, lane_y, *OLD_CITY_LANES)
    new_lanes = _lanes(rng, lane_x, lane_y, *OUTSIDE_LANES)

    road_parts = [
        _clip(mains, FeatureClass.MAIN.value, main_names, open_area),
        _clip([ring], FeatureClass.MAIN.value, "二环路", district),
        _clip(secondaries, FeatureClass.SECONDARY.value, "", open_area),
        _clip(old_lanes, FeatureClass.LANE.value, "", shapely.intersection(open_area, inside)),
        _clip(new_lanes, FeatureClass.STREET.value, "", shapely.difference(open_area, inside)),
    ]
    water_parts = [
        _clip([moat()], FeatureClass.RIVER.value, "护城河", district),
        _clip([palace_moat.exterior], FeatureClass.RIVER.value, "筒子河", district),
    ]
    lake_in = shapely.intersection(lake, district)
    wall_parts = [
        _clip(
            [w.exterior for w in walled],
            FeatureClass.WALL.value,
            np.array(["故宫城墙", "天坛围墙", "地坛围墙"], dtype=object),
            district,
        ),
        _clip([railway], FeatureClass.RAILWAY.value, "京哈铁路", district),
    ]

    def layer(
        name: str, kind: str, parts: Sequence[tuple[np.ndarray, ...]], extra: Any = ()
    ) -> LayerInput:
        geoms = np.concatenate([p[0] for p in parts] + [np.asarray(extra, dtype=object)])
        classes = np.concatenate(
            [p[1] for p in parts] + [np.full(len(extra), "river", dtype=object)]
        )
        names = np.concatenate(
            [p[2] for p in parts] + [np.full(len(extra), "龙潭湖", dtype=object)]
        )
        return LayerInput(
            name=name,
            kind=kind,
            geoms=geoms,
            classes=classes,
            names=names,
            source=SOURCE,
            attribution=ATTRIBUTION,
            generated=True,
            details={"seed": seed},
        )

    lake_parts = [p for p in shapely.get_parts(lake_in) if p.geom_type == "Polygon"]
    return DemoLayers(
        roads=layer(ROADS_LAYER, LayerKind.ROADS.value, road_parts),
        water=layer(WATER_LAYER, LayerKind.WATER.value, water_parts, lake_parts),
        walls=layer(WALLS_LAYER, LayerKind.WALLS.value, wall_parts),
    )


def load_demo_layers(actor: Any) -> list[ReferenceLayer] | None:
    """Write the generated layers, unless every one of them is there already (then None)."""
    if ReferenceLayer.objects.filter(name__in=DEMO_LAYERS).count() == len(DEMO_LAYERS):
        return None
    return import_layers(actor=actor, layers=generate().all())


def demo_step(context: dict[str, Any], progress: Any) -> list[str]:
    layers = load_demo_layers(context.get("actor"))
    if layers is None:
        return ["Demo reference layers: already loaded."]
    counts = ", ".join(f"{layer.feature_count:,} {layer.kind}" for layer in layers)
    return [
        f"Demo reference layers for 东城区: {counts} features, GENERATED (labelled {SOURCE}); "
        "the demo's communities and unit grids are divided along them."
    ]


def foreign_layers() -> list[str]:
    others = ReferenceLayer.objects.exclude(name__in=DEMO_LAYERS).count()
    return [f"{others:,} reference layer(s) other than the demo's generated ones"] if others else []


REFERENCE_STEP = DemoStep(name="reference", order=5, run=demo_step, foreign=foreign_layers)
