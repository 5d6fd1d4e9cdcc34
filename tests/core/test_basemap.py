"""The basemap is a setting: OpenStreetMap by default, 天地图 with a key, none at all."""

from __future__ import annotations

import json

from django.test import override_settings

from geogrid.core.basemap import basemap_layers, check_basemap, tile_sources


def test_openstreetmap_is_the_default():
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


def test_tianditu_without_a_key_warns_and_falls_back_to_openstreetmap():
    with override_settings(GEOGRID_BASEMAP="tianditu", GEOGRID_TIANDITU_KEY=""):
        (layer,) = basemap_layers()
        (warning,) = check_basemap()
    assert "openstreetmap" in layer["url"]
    assert "GEOGRID_TIANDITU_KEY" in warning.msg


def test_an_unknown_choice_is_a_configuration_error():
    with override_settings(GEOGRID_BASEMAP="google"):
        (error,) = check_basemap()
    assert error.level >= 40 and "osm, tianditu, custom, none" in error.msg


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
