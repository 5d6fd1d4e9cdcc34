"""Division along features on fixed shapes with known answers (pure geometry, no database)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon, box

from geogrid.core.gis import area_m2, to_metric
from geogrid.grids.feature_division import (
    RANK_BARRIER,
    RANK_MINOR,
    RANK_STREET,
    CityFeatures,
    WorkloadSource,
    divide_along_features,
)
from tests.geometry import ORIGIN, rect, to_lonlat


def lines(*coords, rank=RANK_STREET):
    shapes = np.array([to_lonlat(LineString(c)) for c in coords], dtype=object)
    return shapes, np.full(len(shapes), rank, dtype=np.int8)


def features(*groups, buildings=()):
    shapes = np.concatenate([g[0] for g in groups]) if groups else np.empty(0, dtype=object)
    ranks = np.concatenate([g[1] for g in groups]) if groups else np.empty(0, dtype=np.int8)
    return CityFeatures(
        lines=shapes,
        ranks=ranks,
        buildings=np.array([to_lonlat(b) for b in buildings], dtype=object),
    )


def metric_xy(geom):
    """Coordinates in metres from ORIGIN (the inverse of tests.geometry.to_lonlat)."""
    return shapely.get_coordinates(to_metric(geom)) - np.array(ORIGIN)


def bounds_m(geom):
    xy = metric_xy(geom)
    return tuple(np.round([xy[:, 0].min(), xy[:, 1].min(), xy[:, 0].max(), xy[:, 1].max()], 1))


def assert_tiles(parent, result):
    areas = area_m2(np.array(result.pieces, dtype=object))
    # Pieces have more vertices along the outline than the parent; projected, that shifts the
    # measured total by well under 1e-5.
    assert areas.sum() == pytest.approx(area_m2(parent), rel=1e-5)
    # Exact in the storage CRS, where the topology is built (measured in metres, the slivers of
    # floating-point noise along the outline would gain the projection's curvature).
    union = shapely.union_all(result.pieces)
    assert shapely.area(shapely.symmetric_difference(union, parent)) < 1e-9 * parent.area


def interior_boundary(parent, result):
    """Every piece's outline minus the parent's outline: the boundaries the division drew."""
    outlines = shapely.union_all([p.boundary for p in result.pieces])
    return shapely.difference(outlines, shapely.buffer(parent.boundary, 1e-7))


def test_a_cross_of_roads_gives_four_blocks_bounded_by_the_centrelines():
    parent = rect(0, 0, 400, 400)
    roads = lines([(200, -50), (200, 450)], [(-50, 200), (450, 200)])
    result = divide_along_features(parent, features=features(roads), target_area_m2=40_000)

    assert result.blocks == 4 and result.cuts == 0
    assert sorted(bounds_m(p) for p in result.pieces) == [
        (0, 0, 200, 200),
        (0, 200, 200, 400),
        (200, 0, 400, 200),
        (200, 200, 400, 400),
    ]
    drawn = to_metric(interior_boundary(parent, result))
    centrelines = to_metric(shapely.union_all(roads[0]))
    assert shapely.length(shapely.difference(drawn, shapely.buffer(centrelines, 0.01))) < 0.01
    assert_tiles(parent, result)


def test_a_building_on_the_balanced_cut_is_never_split():
    """One 200 m × 100 m block to halve; the balanced cut (x = 100) would run through a 30 m
    house, and the cut moves beside it."""
    parent = rect(0, 0, 200, 100)
    house = box(85, 30, 115, 60)
    result = divide_along_features(
        parent, features=features(buildings=[house]), target_area_m2=10_000
    )

    assert len(result.pieces) == 2 and result.cuts == 1
    assert sum(p.contains(to_lonlat(house.buffer(-0.01))) for p in result.pieces) == 1
    assert_tiles(parent, result)


def test_a_terrace_longer_than_any_straight_cut_goes_whole_to_one_side():
    """The terrace spans every cut position tried; the cut steps around it instead."""
    parent = rect(0, 0, 200, 100)
    terrace = [box(40 + 20 * i, 20, 60 + 20 * i, 50) for i in range(6)]  # x 40..160, touching
    result = divide_along_features(
        parent, features=features(buildings=terrace), target_area_m2=10_000
    )

    assert len(result.pieces) == 2
    for house in terrace:
        assert sum(p.contains(to_lonlat(house.buffer(-0.01))) for p in result.pieces) == 1
    assert_tiles(parent, result)


def test_a_too_small_block_joins_its_longest_edge_neighbour():
    """A 20 m strip between lanes touches the west block along 100 m and two east blocks along
    55 m and 45 m."""
    parent = rect(0, 0, 320, 100)
    lanes = lines(
        [(100, -10), (100, 110)],
        [(120, -10), (120, 110)],
        [(120, 55), (330, 55)],
        rank=RANK_MINOR,
    )
    result = divide_along_features(parent, features=features(lanes), target_area_m2=10_000)

    assert sorted(bounds_m(p) for p in result.pieces) == [
        (0, 0, 120, 100),
        (120, 0, 320, 55),
        (120, 55, 320, 100),
    ]


def test_a_river_forbids_a_merge_across_it_when_another_neighbour_exists():
    """The same strip, now with a river on its west side: it joins the longer of its east
    neighbours although the west one shares the longest edge."""
    parent = rect(0, 0, 320, 100)
    river = lines([(100, -10), (100, 110)], rank=RANK_BARRIER)
    lanes = lines([(120, -10), (120, 110)], [(120, 55), (330, 55)], rank=RANK_MINOR)
    result = divide_along_features(parent, features=features(river, lanes), target_area_m2=10_000)

    # The strip (x 100–120, full height) and the block south of the lane: 2,000 + 11,000 m².
    assert sorted(bounds_m(p) for p in result.pieces) == [
        (0, 0, 100, 100),
        (100, 0, 320, 100),
        (120, 55, 320, 100),
    ]
    assert sorted(np.round(result.areas_m2)) == [9_000, 10_000, 13_000]


def test_balancing_pairs_each_heavy_block_with_a_light_one():
    """Four equal blocks; the two northern ones hold ten components each, the southern ones one.
    Two grids: each takes a heavy and a light block, so the workloads are equal."""
    parent = rect(0, 0, 200, 200)
    lanes = lines([(100, -10), (100, 210)], [(-10, 100), (210, 100)], rank=RANK_MINOR)
    centres = {"nw": (50, 150), "ne": (150, 150), "sw": (50, 50), "se": (150, 50)}
    weights = {"nw": 10, "ne": 10, "sw": 1, "se": 1}
    xy = np.array([centres[k] for k in centres for _ in range(weights[k])], dtype=float)
    points = shapely.get_coordinates(to_lonlat(shapely.points(xy)))
    source = WorkloadSource(name="components", points=points, weights=np.ones(len(points)))

    result = divide_along_features(
        parent, features=features(lanes), count=2, workload=[source], tolerance=0.1
    )

    assert len(result.pieces) == 2
    counts = sorted(result.workload["components"] * len(points))
    assert counts == [11, 11]
    index = result.workload_index
    assert index is not None and np.std(index) / np.mean(index) < 0.1
    assert sorted(bounds_m(p) for p in result.pieces) == [(0, 0, 100, 200), (100, 0, 200, 200)]


def test_a_block_cut_by_workload_puts_the_cut_where_area_and_work_balance():
    """One block 200 m × 100 m, no lines inside; 100 components spread evenly over its western
    50 m. Two grids, half area and half work each: the cut x satisfies x/200 + x/50 = 1, so it
    runs at x = 40 m with 80 components west of it."""
    parent = rect(0, 0, 200, 100)
    xs = np.linspace(0.25, 49.75, 100)
    points = shapely.get_coordinates(to_lonlat(shapely.points(np.column_stack([xs, xs * 0 + 50]))))
    source = WorkloadSource(name="components", points=points, weights=np.ones(len(points)))

    result = divide_along_features(parent, features=features(), count=2, workload=[source])

    assert len(result.pieces) == 2
    west = min(result.pieces, key=lambda p: bounds_m(p)[0])
    assert bounds_m(west)[2] == pytest.approx(40, abs=1.0)
    assert sorted(np.round(result.workload["components"] * 100)) == [20, 80]


def test_re_dividing_an_unchanged_parent_keeps_every_grid():
    parent = rect(0, 0, 600, 400)
    roads = lines([(300, -10), (300, 410)], [(-10, 200), (610, 200)])
    lanes = lines([(150, -10), (150, 410)], [(450, -10), (450, 410)], rank=RANK_MINOR)
    houses = [box(60 + 100 * i, 90, 80 + 100 * i, 110) for i in range(5)]
    city = features(roads, lanes, buildings=houses)
    first = divide_along_features(parent, features=city, target_area_m2=10_000)

    again = divide_along_features(
        parent, features=city, target_area_m2=10_000, previous=first.pieces
    )

    assert len(again.pieces) == len(first.pieces) >= 20
    assert sorted(again.kept) == list(range(len(first.pieces)))


def test_a_new_road_keeps_the_grids_it_does_not_touch():
    parent = rect(0, 0, 400, 200)
    roads = lines([(200, -10), (200, 210)])
    first = divide_along_features(parent, features=features(roads), target_area_m2=10_000)
    # A new road across the eastern half only.
    new_road = lines([(200, 100), (410, 100)])

    again = divide_along_features(
        parent,
        features=features(roads, new_road),
        target_area_m2=10_000,
        previous=first.pieces,
    )

    west = [i for i, p in enumerate(first.pieces) if bounds_m(p)[2] <= 200]
    assert set(west) <= set(again.kept[again.kept >= 0])
    assert_tiles(parent, again)


def test_the_pieces_tile_an_irregular_parent_with_a_hole():
    outline = shapely.Polygon([(0, 0), (500, 0), (500, 300), (300, 450), (0, 450)])
    parent = to_lonlat(outline.difference(box(200, 150, 260, 210)))
    roads = lines([(-20, 220), (520, 220)], [(250, -20), (250, 470)])
    result = divide_along_features(parent, features=features(roads), target_area_m2=10_000)

    assert_tiles(parent, result)
    assert all(1_000 < a < 20_000 for a in result.areas_m2)


def test_a_crumb_of_a_parent_in_two_parts_joins_the_nearest_grid():
    """A 10 m × 8 m crumb 30 m off a 200 m × 100 m parent (what clipping a street to a ragged
    district outline leaves): no face touches it, yet it is too small to be a grid of its own,
    so it joins the nearest one instead of becoming a grid below the level's minimum."""
    crumb = box(230, 40, 240, 48)
    parent = shapely.MultiPolygon([to_lonlat(box(0, 0, 200, 100)), to_lonlat(crumb)])
    roads = lines([(100, -10), (100, 110)])
    result = divide_along_features(
        parent, features=features(roads), target_area_m2=10_000, min_area_m2=1_000
    )

    assert len(result.pieces) == 2
    assert min(result.areas_m2) > 1_000
    east = next(p for p in result.pieces if p.intersects(to_lonlat(crumb.centroid)))
    assert bounds_m(east) == (100, 0, 240, 100)
    assert_tiles(parent, result)


# From the demo city (community 110101013003 and a face its moat formed): the face is a sliver
# along the outline, where the moat nearly follows it, plus a 1,400 m² triangle outside; GEOS's
# interior point of it falls outside the face, on the parent.
DEMO_COMMUNITY = shapely.from_wkt(
    "POLYGON ((116.4412497785655 39.899146123758115, 116.4412497785655 39.89794450607036, "
    "116.43758555990075 39.89794450607036, 116.43758555990075 39.898672520384245, "
    "116.43468935094944 39.90115498519965, 116.43521701403864 39.90147970094686, "
    "116.43656521871974 39.902309365365994, 116.44921875 39.9033203125, "
    "116.44921875 39.90158806818182, 116.4412497785655 39.902022739350976, "
    "116.4412497785655 39.899146123758115))"
)
MOAT_FACE = shapely.from_wkt(
    "POLYGON ((116.43717460127617 39.89902477063389, 116.43431051591102 39.90147970094686, "
    "116.43521701403864 39.90147970094686, 116.43468935094944 39.90115498519965, "
    "116.43717460127617 39.89902477063389))"
)


def test_a_face_outside_the_parent_is_dropped_even_where_its_interior_point_misleads():
    from geogrid.grids.feature_division import _inside

    point = shapely.point_on_surface(MOAT_FACE)
    assert DEMO_COMMUNITY.covers(point) and not MOAT_FACE.contains(point)  # the trap
    inner = shapely.box(116.438, 39.899, 116.439, 39.900)
    assert _inside(DEMO_COMMUNITY, np.array([MOAT_FACE, inner], dtype=object)).tolist() == [
        False,
        True,
    ]


@pytest.mark.parametrize(
    "kwargs, message",
    [({}, "target area"), ({"count": 0}, "at least 1"), ({"target_area_m2": -5}, "target area")],
)
def test_bad_targets_are_refused_with_a_message(kwargs, message):
    with pytest.raises(ValueError, match=message):
        divide_along_features(rect(0, 0, 100, 100), features=CityFeatures.none(), **kwargs)


def test_the_area_before_a_cut_is_exact_for_rotated_multipolygons_with_holes():
    import shapely.affinity

    from geogrid.grids.feature_division import _areas_before

    shape = MultiPolygon(
        [
            Polygon([(0, 0), (10, 0), (12, 5), (3, 8), (0, 5)], [[(2, 2), (4, 2), (4, 4), (2, 4)]]),
            Polygon([(20, 0), (24, 0), (22, 3)]),
        ]
    )
    positions = np.array([-1.0, 1.0, 3.0, 5.0, 11.0, 13.0, 21.0, 23.0, 25.0])
    expected = [shape.intersection(box(-100, -100, t, 100)).area for t in positions]
    for degrees in (0, 30, 77, 200):
        turned = shapely.affinity.rotate(shape, degrees, origin=(0, 0))
        axis = np.array([np.cos(np.radians(degrees)), np.sin(np.radians(degrees))])
        across = np.array([-axis[1], axis[0]])

        areas = _areas_before(turned, np.zeros(2), axis, across, positions)

        np.testing.assert_allclose(areas, expected, atol=1e-9)


def test_a_lane_that_stops_short_of_the_far_side_is_where_its_block_is_cut():
    # A 200 m × 100 m block, twice the target; a lane comes in from the north at x = 110 and
    # stops halfway, too far from the south side for its straight reach. The straight cut across
    # the long axis would run at x = 100, through the open; the cut follows the lane instead
    # (11,000 / 9,000 m², within the tolerance) and continues it straight to the south side.
    parent = rect(0, 0, 200, 100)
    lane = lines([(110, 100), (110, 50)], rank=RANK_MINOR)
    result = divide_along_features(parent, features=features(lane), target_area_m2=10_000)

    assert sorted(bounds_m(p) for p in result.pieces) == [(0, 0, 110, 100), (110, 0, 200, 100)]
    drawn = to_metric(interior_boundary(parent, result))
    assert shapely.length(drawn) == pytest.approx(100, abs=0.05)  # less ~1 cm at each end
    on_lane = shapely.intersection(drawn, shapely.buffer(to_metric(lane[0][0]), 0.01))
    assert shapely.length(on_lane) == pytest.approx(50, abs=0.01)
    assert_tiles(parent, result)


def test_a_lane_that_would_leave_the_sides_unbalanced_is_not_followed():
    # The same lane at x = 150: 15,000 / 5,000 m² is far outside the tolerance, so the block is
    # cut straight at its balance point instead.
    parent = rect(0, 0, 200, 100)
    lane = lines([(150, 100), (150, 50)], rank=RANK_MINOR)
    result = divide_along_features(parent, features=features(lane), target_area_m2=10_000)

    assert sorted(bounds_m(p) for p in result.pieces) == [(0, 0, 100, 100), (100, 0, 200, 100)]


def test_a_lane_is_not_continued_through_a_building():
    # A house stands where the lane at x = 110 would be continued: the block is cut straight
    # (stepping around nothing, the house is east of x = 100) rather than through the house.
    parent = rect(0, 0, 200, 100)
    lane = lines([(110, 100), (110, 50)], rank=RANK_MINOR)
    house = box(104, 10, 116, 30)
    result = divide_along_features(
        parent, features=features(lane, buildings=[house]), target_area_m2=10_000
    )

    assert sorted(bounds_m(p) for p in result.pieces) == [(0, 0, 100, 100), (100, 0, 200, 100)]


def test_kept_whole_blocks_are_cut_only_above_the_levels_maximum_area():
    # Two blocks of 15,000 m² either side of a street at x = 150; the target is 10,000 m².
    parent = rect(0, 0, 300, 100)
    street = lines([(150, -50), (150, 150)])

    balanced = divide_along_features(
        parent, features=features(street), target_area_m2=10_000, max_area_m2=50_000
    )
    whole = divide_along_features(
        parent,
        features=features(street),
        target_area_m2=10_000,
        max_area_m2=50_000,
        keep_blocks=True,
    )
    bounded = divide_along_features(
        parent,
        features=features(street),
        target_area_m2=10_000,
        max_area_m2=12_000,
        keep_blocks=True,
    )

    # Balanced by area, each block is 1.5 targets: too heavy, cut in two.
    assert len(balanced.pieces) == 4 and balanced.cuts == 2
    # Kept whole, the street is the only boundary.
    assert sorted(bounds_m(p) for p in whole.pieces) == [(0, 0, 150, 100), (150, 0, 300, 100)]
    assert whole.cuts == 0
    # Above a maximum of 12,000 m², each block is cut once more, into pieces within it.
    assert len(bounded.pieces) == 4
    assert all(a <= 12_000 for a in bounded.areas_m2)
    for result in (whole, bounded):
        assert_tiles(parent, result)


def test_kept_whole_blocks_without_a_maximum_are_cut_only_far_above_the_target():
    # One 60,000 m² block (six targets) and no maximum for the level: cut into as few pieces as
    # keep each within KEEP_BLOCKS_LOAD targets (and a tolerance below it).
    parent = rect(0, 0, 600, 100)
    result = divide_along_features(
        parent, features=features(), target_area_m2=10_000, keep_blocks=True
    )

    assert len(result.pieces) == 2
    assert sorted(np.round(result.areas_m2, -2)) == [30_000, 30_000]


def test_kept_whole_blocks_are_not_cut_to_reach_a_number_of_grids():
    # Two blocks either side of a street, four grids asked: the blocks stay whole.
    parent = rect(0, 0, 300, 100)
    street = lines([(150, -50), (150, 150)])
    result = divide_along_features(
        parent, features=features(street), count=4, max_area_m2=50_000, keep_blocks=True
    )

    assert sorted(bounds_m(p) for p in result.pieces) == [(0, 0, 150, 100), (150, 0, 300, 100)]
