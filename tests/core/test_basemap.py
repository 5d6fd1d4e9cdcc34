"""The basemap is a setting: GeoGrid's own offline basemap by default, OpenStreetMap, 天地图 with a
key, a custom template, none at all."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from django.test import override_settings

from geogrid.core.basemap import basemap_layers, check_basemap, tile_sources


def test_the_local_basemap_is_a_vector_layer_of_the_reference_tiles():
    with override_settings(GEOGRID_BASEMAP="local", GEOGRID_TILE_MAX_ZOOM=22):
        (layer,) = basemap_layers()
        assert check_basemap() == []
    assert layer["type"] == "vector"
    assert layer["url"] == "/tiles/reference/{z}/{x}/{y}.pbf"
    assert layer["tilejson"] == "/tiles/reference.json"
    assert layer["maxNativeZoom"] == 18


def _default_basemap(**environment: str) -> str:
    """GEOGRID_BASEMAP as geogrid/settings.py sets it from this environment (a fresh process:
    the settings read the environment once, on import)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GEOGRID_BASEMAP", "GEOGRID_TIANDITU"))
    }
    env.update(GEOGRID_DEBUG="1", **environment)
    code = "import geogrid.settings as s; print(s.GEOGRID_BASEMAP)"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_the_default_is_the_local_basemap_unless_an_internet_one_is_configured():
    assert _default_basemap() == "local"
    assert _default_basemap(GEOGRID_BASEMAP_URL="https://tiles.example.cn/{z}/{x}/{y}.png") == (
        "custom"
    )
    assert _default_basemap(GEOGRID_TIANDITU_KEY="abc123") == "tianditu"
    assert _default_basemap(GEOGRID_BASEMAP="OSM") == "osm"


def test_openstreetmap_stays_selectable():
    with override_settings(GEOGRID_BASEMAP="osm"):
        (layer,) = basemap_layers()
    assert layer["url"].startswith("https://tile.openstreetmap.org/")


def test_tianditu_with_a_key_gives_its_map_and_label_layers():
    with override_settings(GEOGRID_BASEMAP="tianditu", GEOGRID_TIANDITU_KEY="abc123"):
        vector, labels = basemap_layers()
        assert check_basemap() == []
    assert "LAYER=vec" in vector["url"] and "LAYER=cva" in labels["url"]
    assert vector["url"].endswith("tk=abc123") and vector["subdomains"] == "01234567"
    assert "天地图" in vector["attribution"]


def test_tianditu_without_a_key_warns_and_falls_back_to_the_local_basemap():
    with override_settings(GEOGRID_BASEMAP="tianditu", GEOGRID_TIANDITU_KEY=""):
        (layer,) = basemap_layers()
        (warning,) = check_basemap()
    assert layer["type"] == "vector" and "openstreetmap" not in layer["url"]
    assert "GEOGRID_TIANDITU_KEY" in warning.msg and "local basemap" in warning.msg


def test_the_local_basemap_loads_nothing_from_another_origin():
    with override_settings(GEOGRID_BASEMAP="local", LEAFLET_CONFIG={}):
        assert tile_sources() == []


def test_an_unknown_choice_is_a_configuration_error():
    with override_settings(GEOGRID_BASEMAP="google"):
        (error,) = check_basemap()
    assert error.level >= 40 and "local, osm, tianditu, custom, none" in error.msg


def _map_config(page: str) -> dict:
    start = page.index('<script id="geogrid-map" type="application/json">')
    body = page[page.index(">", start) + 1 : page.index("</script>", start)]
    return json.loads(body)


def test_pages_carry_the_basemap_and_the_map_defaults_for_their_maps(client, db, settings):
    settings.LEAFLET_CONFIG = {**settings.LEAFLET_CONFIG, "DEFAULT_CENTER": (31.23, 121.47)}
    with override_settings(GEOGRID_BASEMAP="none"):
        config = _map_config(client.get("/").content.decode())
    assert config["basemap"] == []
    assert config["center"] == [31.23, 121.47]
    assert config["zoom"] == settings.LEAFLET_CONFIG["DEFAULT_ZOOM"]
    assert config["timeZone"] == settings.TIME_ZONE


def test_tile_sources_are_the_openstreetmap_origin_by_default():
    with override_settings(GEOGRID_BASEMAP="osm"):
        assert tile_sources() == ["https://tile.openstreetmap.org"]


def test_tile_sources_expand_tianditu_subdomains_into_exact_hosts():
    with override_settings(GEOGRID_BASEMAP="tianditu", GEOGRID_TIANDITU_KEY="abc123"):
        sources = tile_sources()
    tianditu = [s for s in sources if "tianditu" in s]
    assert tianditu == [f"https://t{n}.tianditu.gov.cn" for n in range(8)]
    assert not any("{" in s or "*" in s for s in sources)


def test_tile_sources_of_a_custom_template_use_leaflets_default_subdomains():
    template = "https://{s}.tiles.example.cn:8443/base/{z}/{x}/{y}.png?key=k"
    with override_settings(GEOGRID_BASEMAP="custom", GEOGRID_BASEMAP_URL=template):
        sources = tile_sources()
    assert sources[:3] == [f"https://{s}.tiles.example.cn:8443" for s in "abc"]


def test_tile_sources_without_a_basemap_keep_only_the_admin_maps_tiles():
    admin_tiles = {"TILES": [("Basemap", "http://tiles.internal/{z}/{x}/{y}.png", {})]}
    with override_settings(GEOGRID_BASEMAP="none", LEAFLET_CONFIG=admin_tiles):
        assert tile_sources() == ["http://tiles.internal"]
