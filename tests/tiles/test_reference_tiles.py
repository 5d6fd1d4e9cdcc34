"""The offline basemap's tiles (`reference`): the reference features by kind with their names
and classes, the minimum zoom per class, road labels, the trigger-kept EPSG:3857 copy, the
data version and the TileJSON."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from shapely.geometry import box

from geogrid.reference.models import ReferenceFeature, ReferenceLayer
from geogrid.reference.services import delete_layer
from geogrid.tiles.layers import LAYERS, lonlat_of_tile
from geogrid.tiles.views import data_version
from tests import factories
from tests.geometry import square
from tests.tiles.test_tiles import features, get, tile_of


@pytest.fixture
def street_map(db) -> dict:
    return factories.street_map()


def _names(client: Client, zxy: tuple[int, int, int], layer: str) -> dict[str, str]:
    return {
        f["properties"]["name"]: f["properties"]["class"]
        for f in features(get(client, "reference", zxy), layer)
    }


def _touching(shapes: dict, zxy: tuple[int, int, int]) -> set[str]:
    """The names of the shapes that reach into the tile."""
    return {name for name, shape in shapes.items() if shape.intersects(box(*lonlat_of_tile(*zxy)))}


def test_a_z16_tile_carries_the_roads_and_buildings_in_it_with_names_and_classes(street_map):
    client = Client()
    zxy = tile_of(100, 100, 16)
    roads = _names(client, zxy, "roads")
    buildings = _names(client, zxy, "buildings")
    expected = _touching(street_map, zxy)
    assert {"东长安街", "小胡同"} <= expected
    assert set(roads) | set(buildings) == expected
    assert roads["东长安街"] == "main" and roads["小胡同"] == "lane"
    assert all(cls == "building" for cls in buildings.values())


def test_zoomed_out_tiles_leave_out_lanes_and_buildings(street_map):
    client = Client()
    z11 = tile_of(100, 100, 11)
    assert _names(client, z11, "roads") == {"东长安街": "main"}
    assert _names(client, z11, "buildings") == {}
    # Streets come at z13, lanes and buildings at z15.
    assert set(_names(client, tile_of(300, 100, 13), "roads")) == {"东长安街", "南河沿大街"}
    assert "小胡同" not in _names(client, tile_of(100, 100, 14), "roads")
    assert "小胡同" in _names(client, tile_of(100, 100, 15), "roads")


def test_road_names_are_points_along_the_road_from_z14(street_map):
    client = Client()
    zxy = tile_of(100, 100, 16)
    labels = {f["properties"]["name"]: f for f in features(get(client, "reference", zxy), "labels")}
    main = labels["东长安街"]
    assert main["geometry"]["type"] == "Point" and main["properties"]["class"] == "main"
    # The road runs west–east: its label lies flat.
    assert abs(main["properties"]["angle"]) <= 3
    assert features(get(client, "reference", tile_of(100, 100, 13)), "labels") == []


def test_the_3857_copy_follows_imports_replacements_and_deletions(street_map):
    def copy() -> dict[int, tuple[str, int]]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, feature_class, minzoom FROM tiles_reference")
            return {row[0]: (row[1], row[2]) for row in cursor.fetchall()}

    stored = dict(ReferenceFeature.objects.values_list("id", "feature_class"))
    assert {pk: cls for pk, (cls, _) in copy().items()} == stored
    assert sorted(set(copy().values())) == [
        ("building", 15),
        ("lane", 15),
        ("main", 10),
        ("street", 13),
    ]
    before = data_version(LAYERS["reference"])
    delete_layer(actor=None, layer=ReferenceLayer.objects.get(name="测试建筑"))
    assert data_version(LAYERS["reference"]) > before
    assert set(copy()) == set(ReferenceFeature.objects.values_list("id", flat=True))
    assert all(cls != "building" for cls, _ in copy().values())
    assert _names(Client(), tile_of(40, 140, 16), "buildings") == {}
    # Importing the roads again replaces their features in the copy too.
    factories.street_map()
    assert set(copy()) == set(ReferenceFeature.objects.values_list("id", flat=True))
    assert len(copy()) == len(factories.STREET_MAP_ROADS) + len(factories.STREET_MAP_BUILDINGS)


def test_reference_tiles_are_public_and_cached_by_their_version(street_map):
    client = Client()  # anonymous
    response = get(client, "reference", tile_of(100, 100, 16))
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, no-cache"
    assert "Cookie" not in response.get("Vary", "")
    again = get(client, "reference", tile_of(100, 100, 16), {"If-None-Match": response["ETag"]})
    assert again.status_code == 304


def test_the_tilejson_lists_the_kinds_and_credits_the_sources(street_map):
    body = Client().get("/tiles/reference.json").json()
    layers = {layer["id"]: layer for layer in body["vector_layers"]}
    assert list(layers) == ["green", "water", "buildings", "walls", "roads", "labels"]
    assert layers["roads"]["minzoom"] == 10 and layers["buildings"]["minzoom"] == 15
    assert set(layers["roads"]["fields"]) == {"class", "name"}
    assert body["attribution"] == "© 测试测绘"
    assert body["tiles"][0].endswith("/tiles/reference/{z}/{x}/{y}.pbf")
    west, south, east, north = body["bounds"]
    lon, lat = street_map["东长安街"].coords[0]
    assert west <= lon <= east and south <= lat <= north
    # Once analysed, the bounds come from the statistics, without reading the features.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tiles_reference")
    estimated = Client().get("/tiles/reference.json").json()["bounds"]
    assert estimated == pytest.approx(body["bounds"], abs=1e-3)


def test_areas_are_drawn_from_a_zoom_that_follows_their_size(db):
    # 1 km² and more from z8, 10 ha from z11, 1 ha from z13, smaller from z14.
    sizes = {1_100: 8, 400: 11, 150: 13, 50: 14}
    factories.reference_features("green", "park", *(square(0, 0, side).geoms[0] for side in sizes))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT round(sqrt(ST_Area(f.geom::geography))), t.minzoom FROM tiles_reference t "
            "JOIN reference_referencefeature f ON f.id = t.id"
        )
        found = {round(side, -1): minzoom for side, minzoom in cursor.fetchall()}
    assert found == {float(side): minzoom for side, minzoom in sizes.items()}
