"""divide_grid: compact children that cover the parent exactly, coded in reading order."""

from __future__ import annotations

import pytest
import shapely
import shapely.affinity
from shapely.geometry import MultiPolygon, Polygon

from geogrid.grids.errors import GridError
from geogrid.grids.models import Grid, GridEvent
from geogrid.grids.services.dividing import divide_grid
from geogrid.grids.services.editing import create_grid
from geogrid.grids.topology import topology_report
from tests.geometry import to_lonlat


@pytest.fixture
def odd_community(city, levels, admin_user):
    """An irregular 600 m × 500 m pentagon with a notch in its south edge, as community
    110105001001 of its own district (2 km east of the small city)."""
    outline = Polygon([(0, 0), (600, 0), (600, 300), (420, 500), (0, 500), (0, 0)])
    notch = Polygon([(250, 0), (350, 0), (350, 120), (250, 120)])
    shape = to_lonlat(shapely.affinity.translate(outline.difference(notch), xoff=2000))
    district = create_grid(
        actor=admin_user, level=levels["district"], code="110105", geom=shape, name="朝阳区"
    )
    street = create_grid(
        actor=admin_user,
        level=levels["street"],
        parent=district,
        code="110105001",
        geom=shape,
        name="测试街道",
    )
    return create_grid(
        actor=admin_user,
        level=levels["community"],
        parent=street,
        geom=MultiPolygon([shape]),
        name="测试社区",
    )


@pytest.mark.parametrize("method", ["square", "voronoi"])
def test_divided_parent_passes_its_own_topology_report(odd_community, admin_user, method):
    children = divide_grid(
        parent=odd_community, actor=admin_user, target_area_m2=10_000, method=method
    )
    report = topology_report(parent=odd_community)
    assert report["ok"], [p.message for p in report["problems"]]
    assert report["children"] == len(children) >= 20
    # Areas are measured after projecting vertices; the pieces have more vertices along the
    # parent's edges than the parent, which shifts the measured total by well under 1e-5.
    total = sum(c.area_m2 for c in children)
    assert total == pytest.approx(odd_community.area_m2, rel=1e-5)


@pytest.mark.parametrize("method", ["square", "voronoi"])
def test_divided_children_are_near_the_target_area_away_from_the_edge(
    odd_community, admin_user, method
):
    children = divide_grid(
        parent=odd_community, actor=admin_user, target_area_m2=10_000, method=method
    )
    parent_edge = shapely.from_wkb(bytes(odd_community.geom.wkb)).boundary
    inner = [
        c
        for c in children
        if not shapely.intersects(shapely.from_wkb(bytes(c.geom.wkb)), parent_edge)
    ]
    assert inner, "a 30-cell division has interior cells"
    assert all(5_000 <= c.area_m2 <= 15_000 for c in inner), [c.area_m2 for c in inner]


def test_division_codes_follow_reading_order(odd_community, admin_user):
    children = divide_grid(parent=odd_community, actor=admin_user, method="square")
    assert children[0].code == odd_community.code + "001"
    first, second = children[0].geom.centroid, children[1].geom.centroid
    assert first.x < second.x  # same row, west → east
    last = children[-1].geom.centroid
    assert last.y < first.y  # later rows lie further south


def test_division_refuses_a_parent_with_children_unless_replacing(city, admin_user):
    with pytest.raises(GridError, match="already has 4 active child grids"):
        divide_grid(parent=city["west_c"], actor=admin_user)
    children = divide_grid(
        parent=city["west_c"], actor=admin_user, replace_existing=True, target_area_m2=5_000
    )
    # The four old codes are retired, never reused: the new children start at 005.
    assert children[0].code == city["west_c"].code + "005"
    assert Grid.objects.filter(parent=city["west_c"], valid_to__isnull=False).count() == 4
    assert GridEvent.objects.filter(grid=city["west_c"], action="divided").exists()


def test_division_preview_writes_nothing(odd_community, admin_user):
    preview = divide_grid(parent=odd_community, actor=admin_user, commit=False)
    assert len(preview) >= 20 and preview[0].pk is None
    assert not Grid.objects.filter(parent=odd_community).exists()


@pytest.mark.parametrize("count", [2, 3, 4, 5, 7, 9])
def test_voronoi_gives_as_many_grids_as_asked_even_in_a_thin_l_shaped_parent(count):
    from geogrid.grids.division import divide

    # Two arms about 300 m × 35 m and 35 m × 330 m: fewer lattice points than grids fit inside.
    l_shape = MultiPolygon(
        [
            Polygon(
                [
                    (116.40, 39.90),
                    (116.4035, 39.90),
                    (116.4035, 39.9004),
                    (116.4004, 39.9004),
                    (116.4004, 39.903),
                    (116.40, 39.903),
                ]
            )
        ]
    )

    pieces = divide(l_shape, target_area_m2=1_000, method="voronoi", count=count)

    assert len(pieces) == count
    assert shapely.union_all(pieces).symmetric_difference(l_shape).area < 1e-12
