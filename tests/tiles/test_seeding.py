"""Seeded grid tiles: byte for byte what rendering gives, never older than the data (a grid
edit makes them stale in its own transaction), only for the unfiltered grids layer, re-seeded
only when stale, and plain errors."""

from __future__ import annotations

import io

import mapbox_vector_tile
import numpy as np
import psycopg
import pytest
from django.core.management import call_command
from django.test import Client

from geogrid.grids.models import Grid
from geogrid.tiles.layers import WORLD_M
from geogrid.tiles.models import SeededTile
from geogrid.tiles.seeding import SEED_LOCK, SeedingError, covering_tiles, seed_layer

# As a module: a test_* function imported by name would be collected as a test here.
from tests import gunicorn as test_server
from tests.tiles.test_tiles import get, tile_of


def test_a_seeded_grid_tile_is_served_byte_for_byte_as_it_renders(city):
    zxy = tile_of(50, 150, 16)
    rendered = get(Client(), "grids", zxy)
    assert rendered["X-Tile-Source"] == "rendered"
    report = seed_layer(max_zoom=16)
    assert report.stored == SeededTile.objects.count() > 0
    seeded = get(Client(), "grids", zxy)
    assert seeded["X-Tile-Source"] == "seeded"
    assert seeded.content == rendered.content
    assert seeded["ETag"] == rendered["ETag"]
    assert seeded["X-Tile-Features"] == rendered["X-Tile-Features"] != "0"
    # A client holding the tag is still answered 304.
    assert get(Client(), "grids", zxy, headers={"If-None-Match": seeded["ETag"]}).status_code == 304


def test_a_grid_edit_makes_every_seeded_tile_stale_at_once(city):
    zxy = tile_of(50, 150, 16)
    seed_layer(max_zoom=16)
    Grid.objects.filter(code="110101001001001").update(name="新名字")
    response = get(Client(), "grids", zxy)
    assert response["X-Tile-Source"] == "rendered"
    names = {
        f["properties"]["code"]: f["properties"]["name"]
        for f in mapbox_vector_tile.decode(response.content)["grids"]["features"]
    }
    assert names["110101001001001"] == "新名字"


def test_filtered_grid_tiles_are_always_rendered(city):
    seed_layer(max_zoom=16)
    zxy = tile_of(50, 150, 16)
    assert get(Client(), "grids", zxy, level="street")["X-Tile-Source"] == "rendered"
    assert get(Client(), "grids", zxy, v="7")["X-Tile-Source"] == "seeded"  # v only busts caches


def test_if_stale_reseeds_only_after_an_edit_and_drops_the_old_tiles(city):
    first = seed_layer(max_zoom=15)
    again = seed_layer(max_zoom=15, if_stale=True)
    assert again.skipped and again.stored == 0
    Grid.objects.filter(code="110101001001001").update(name="新名字")
    after_edit = seed_layer(max_zoom=15, if_stale=True)
    assert not after_edit.skipped and after_edit.version > first.version
    assert after_edit.stored == first.stored
    assert set(SeededTile.objects.values_list("version", flat=True)) == {after_edit.version}


def test_tiles_that_became_empty_are_removed(city):
    seed_layer(max_zoom=14)
    # A tile far from the city, stored by an earlier version: nothing shows there now.
    SeededTile.objects.create(
        layer="grids",
        z=14,
        x=0,
        y=0,
        version=0,
        body=b"x",
        features=1,
        seeded_at="2026-01-01T00:00:00Z",
    )
    Grid.objects.filter(code="110101001001001").update(name="新名字")
    report = seed_layer(max_zoom=14)
    assert report.removed == 1
    assert not SeededTile.objects.filter(z=14, x=0, y=0).exists()


def test_covering_tiles_are_those_a_brute_force_search_finds():
    rng = np.random.default_rng(5)
    centre = rng.uniform(-2e6, 2e6, (40, 2)) + [12_950_000, 4_850_000]
    size = rng.uniform(10, 4_000, (40, 2))
    boxes = np.column_stack([centre - size, centre + size])
    for z in (8, 12, 14):
        tile = WORLD_M / 2**z
        pad = tile * 64 / 4096
        expected = set()
        for xmin, ymin, xmax, ymax in boxes:
            for x in range(2**z):
                left = -WORLD_M / 2 + x * tile
                if left - pad > xmax or left + tile + pad < xmin:
                    continue
                for y in range(
                    int((WORLD_M / 2 - ymax - pad) / tile) - 1,
                    int((WORLD_M / 2 - ymin + pad) / tile) + 2,
                ):
                    top = WORLD_M / 2 - y * tile
                    if top + pad >= ymin and top - tile - pad <= ymax:
                        expected.add((x, y))
        assert {tuple(map(int, t)) for t in covering_tiles(boxes, z)} == expected


def test_seeding_refuses_unknown_layers_bad_zooms_and_a_second_run(city, settings):
    with pytest.raises(SeedingError, match="'components' layer is not seeded; seedable: grids"):
        seed_layer(layer="components")
    with pytest.raises(SeedingError, match="Zooms must run"):
        seed_layer(min_zoom=15, max_zoom=14)
    settings.GEOGRID_TILE_MAX_ZOOM = 18
    with pytest.raises(SeedingError, match="≤ 18"):
        seed_layer(max_zoom=19)
    with psycopg.connect(
        test_server.test_database_url().replace("postgis://", "postgresql://"), autocommit=True
    ) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (SEED_LOCK,))
        with pytest.raises(SeedingError, match="Another seed_tiles is running"):
            seed_layer(max_zoom=12)
    assert not SeededTile.objects.exists()


def test_seed_tiles_command_reports_what_it_did(city):
    out = io.StringIO()
    call_command("seed_tiles", "--max-zoom", "16", stdout=out, verbosity=0)
    assert f"grids: {SeededTile.objects.count():,} tiles stored of" in out.getvalue()
    out = io.StringIO()
    call_command("seed_tiles", "--max-zoom", "16", "--if-stale", stdout=out, verbosity=0)
    assert "every seeded tile is current" in out.getvalue()
