"""The basemap is a setting: OpenStreetMap by default, 天地图 with a key, none at all."""

from __future__ import annotations

from django.test import override_settings

from geogrid.core.basemap import basemap_layers, check_basemap


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


def test_pages_carry_the_basemap_for_their_maps(client, db):
    with override_settings(GEOGRID_BASEMAP="none"):
        page = client.get("/").content.decode()
    assert '<script id="geogrid-basemap" type="application/json">[]</script>' in page
