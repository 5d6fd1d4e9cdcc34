"""The demo's generated reference layers for Dongcheng: the same every time, inside the district,
valid lines of the classes their kind takes, laid out like the old city, labelled generated,
and loaded once by the demo step before the grids divide along them."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geogrid.core.demo import demo_steps
from geogrid.core.gis import to_metric
from geogrid.reference.demo import (
    DEMO_LAYERS,
    REFERENCE_STEP,
    SOURCE,
    district_boundary,
    generate,
    old_city,
)
from geogrid.reference.models import CLASSES_OF_KIND, ReferenceEvent, ReferenceLayer


@pytest.fixture(scope="module")
def layers():
    return generate()


def test_the_generated_layers_are_the_same_on_every_load(layers):
    again = generate()
    for one, other in zip(layers.all(), again.all(), strict=True):
        assert len(one.geoms) == len(other.geoms) > 0
        assert shapely.equals_exact(one.geoms, other.geoms, tolerance=0).all()
        assert (one.classes == other.classes).all() and (one.names == other.names).all()


def test_every_feature_lies_inside_the_district_and_is_a_valid_line_of_its_kind(layers):
    district = district_boundary()
    grown = district.buffer(1e-7)  # clipped on the outline: floating-point noise
    for layer in layers.all():
        geoms = layer.geoms
        assert shapely.covers(grown, geoms).all(), layer.name
        assert shapely.is_valid(geoms).all() and not shapely.is_empty(geoms).any()
        assert set(layer.classes) <= set(CLASSES_OF_KIND[layer.kind])
        lines = shapely.get_type_id(geoms) == 1
        assert shapely.is_simple(geoms[lines]).all()
        # Roads and walls are lines; water is lines and the lake's polygon.
        if layer.kind != "water":
            assert lines.all()
        assert layer.generated and layer.source == SOURCE


def test_the_roads_follow_the_old_city_pattern(layers):
    roads = layers.roads
    metric = to_metric(roads.geoms)
    lengths = shapely.length(metric)
    by_class = {c: lengths[roads.classes == c].sum() for c in set(roads.classes)}
    # Every class is there, lanes the most of them, and the ring road by name.
    assert set(by_class) == {"main", "secondary", "street", "lane"}
    assert by_class["lane"] == max(by_class.values())
    assert "二环路" in set(roads.names) and "长安街" in set(roads.names)
    # Roads run north–south or east–west (the district's lattice); the ring's corners and
    # nothing else slant.
    xy = shapely.get_coordinates(roads.geoms)
    start, end = shapely.get_point(roads.geoms, 0), shapely.get_point(roads.geoms, -1)
    dx = np.abs(shapely.get_x(end) - shapely.get_x(start))
    dy = np.abs(shapely.get_y(end) - shapely.get_y(start))
    straight = (dx < 1e-9) | (dy < 1e-9)
    assert lengths[~straight].sum() < 0.02 * lengths.sum() and len(xy) > 0
    # 胡同 lanes inside the ring: long ones east–west, 70–120 m apart, short ones north–south
    # between them.
    inside = shapely.within(roads.geoms, old_city()) & (roads.classes == "lane")
    east_west = inside & (dy < 1e-9)
    north_south = inside & (dx < 1e-9)
    assert lengths[east_west].sum() > lengths[north_south].sum()
    assert np.median(lengths[east_west]) > 2 * np.median(lengths[north_south])
    # Between two neighbouring lanes of one block (the same west end): their spacing.
    west = np.round(shapely.get_x(start)[east_west & (dx > 0)], 6)
    north = shapely.get_y(start)[east_west & (dx > 0)]
    gaps = [
        np.diff(np.sort(north[west == x])) * 110_990.0
        for x in np.unique(west)
        if (west == x).sum() > 1
    ]
    spacing = np.concatenate(gaps)
    assert 70 <= np.median(spacing) <= 120
    # The moat runs along the ring, just outside it.
    moat = layers.water.geoms[layers.water.names == "护城河"]
    ring = roads.geoms[roads.names == "二环路"]
    assert len(moat) and shapely.hausdorff_distance(
        to_metric(shapely.union_all(moat)), to_metric(shapely.union_all(ring))
    ) == pytest.approx(50, abs=5)


@pytest.mark.django_db
def test_the_demo_step_loads_the_layers_once_before_the_grids_step(admin_user):
    order = [step.name for step in demo_steps()]
    assert order.index(REFERENCE_STEP.name) < order.index("grids")

    lines = REFERENCE_STEP.run({"actor": admin_user}, lambda items, **kwargs: items)
    layers = ReferenceLayer.objects.filter(name__in=DEMO_LAYERS)
    assert layers.count() == 3 and "GENERATED" in lines[0]
    assert all(layer.generated and layer.source == SOURCE for layer in layers)
    assert {layer.kind for layer in layers} == {"roads", "water", "walls"}
    assert ReferenceEvent.objects.filter(actor=admin_user).count() == 3
    assert REFERENCE_STEP.foreign() == []

    again = REFERENCE_STEP.run({"actor": admin_user}, lambda items, **kwargs: items)
    assert again == ["Demo reference layers: already loaded."]
    assert ReferenceEvent.objects.count() == 3


@pytest.mark.django_db
def test_a_layer_the_demo_did_not_make_counts_as_foreign_data(admin_user):
    from tests.reference.test_services import _roads

    _roads(admin_user, name="OSM 北京")
    assert REFERENCE_STEP.foreign() == ["1 reference layer(s) other than the demo's generated ones"]
