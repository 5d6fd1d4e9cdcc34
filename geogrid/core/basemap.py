"""The basemap under every map: a setting, never a dependency.

GEOGRID_BASEMAP chooses it: "local" (the offline basemap: the city's reference layers —
roads, water, walls, buildings, green space, docs/architecture.md §12 — served by GeoGrid
itself as vector tiles, /tiles/reference/, and drawn by static/js/core/basemap.js; the
default when no internet basemap is configured), "osm" (OpenStreetMap), "tianditu" (天地图,
the national service: vector map plus its Chinese label layer, needs GEOGRID_TIANDITU_KEY, the
`tk` from console.tianditu.gov.cn), "custom" (GEOGRID_BASEMAP_URL, any XYZ template), or
"none". An internet basemap chosen without its key or address falls back to the local one, so
a misconfigured server never sends its users' browsers to a third party it did not name.
Pages draw grids, components and cases as vector layers over it, so they still work — on a
plain background — when the basemap cannot be reached. 天地图's "_w" layers are Web Mercator on
CGCS2000, which matches the storage CRS to well under a metre (unlike GCJ-02 maps).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks
from django.urls import get_script_prefix

OSM = {
    "url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    "attribution": "© OpenStreetMap contributors",
    "maxZoom": 19,
}
TIANDITU = (
    "https://t{s}.tianditu.gov.cn/%(layer)s_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
    "&VERSION=1.0.0&LAYER=%(layer)s&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
    "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=%(key)s"
)
TIANDITU_ATTRIBUTION = "© 天地图 国家地理信息公共服务平台"
CHOICES = ("local", "osm", "tianditu", "custom", "none")
# Vector tiles are made up to GEOGRID_TILE_MAX_ZOOM; the basemap's own stop at z18, beyond
# which Leaflet enlarges them (a z18 tile already holds every feature of its ground).
LOCAL_MAX_NATIVE_ZOOM = 18


def local_basemap() -> dict[str, Any]:
    """The offline basemap as static/js/core/basemap.js reads it: a vector layer of the
    `reference` tiles, and its TileJSON (the sources' attribution, the data's bounds)."""
    # The tiles app's paths (geogrid/urls.py) under the site's prefix, not reverse(): every
    # page renders this, the error pages too, whatever URLconf the request was resolved by.
    tiles = get_script_prefix() + "tiles/reference"
    return {
        "type": "vector",
        "url": tiles + "/{z}/{x}/{y}.pbf",
        "tilejson": tiles + ".json",
        "attribution": "",
        "maxZoom": 19,
        "maxNativeZoom": min(LOCAL_MAX_NATIVE_ZOOM, settings.GEOGRID_TILE_MAX_ZOOM),
    }


def basemap_layers() -> list[dict[str, Any]]:
    """Tile layers (Leaflet options) of the configured basemap, bottom first."""
    choice = settings.GEOGRID_BASEMAP
    if choice == "none":
        return []
    if choice == "osm":
        return [OSM]
    if choice == "tianditu" and settings.GEOGRID_TIANDITU_KEY:
        key = settings.GEOGRID_TIANDITU_KEY
        return [
            {
                "url": TIANDITU % {"layer": layer, "key": key},
                "subdomains": "01234567",
                "attribution": TIANDITU_ATTRIBUTION if layer == "vec" else "",
                "maxZoom": 18,
            }
            for layer in ("vec", "cva")
        ]
    if choice == "custom" and settings.GEOGRID_BASEMAP_URL:
        return [
            {
                "url": settings.GEOGRID_BASEMAP_URL,
                "attribution": settings.GEOGRID_BASEMAP_ATTRIBUTION,
                "maxZoom": 19,
            }
        ]
    return [local_basemap()]


def tile_sources() -> list[str]:
    """The origins the browser may load basemap tiles from: the Content-Security-Policy's img-src.

    Every layer of the configured basemap, plus the admin map widget's tiles (LEAFLET_CONFIG),
    each `{s}` expanded over the layer's subdomains (Leaflet's default "abc" when it names none),
    so the policy lists exact hosts rather than a wildcard."""
    templates = [(layer["url"], layer.get("subdomains", "abc")) for layer in basemap_layers()]
    templates += [
        (tiles[1], tiles[2].get("subdomains", "abc") if len(tiles) > 2 else "abc")
        for tiles in getattr(settings, "LEAFLET_CONFIG", {}).get("TILES", [])
    ]
    sources: list[str] = []
    for template, subdomains in templates:
        hosts = (
            [template.replace("{s}", s) for s in subdomains] if "{s}" in template else [template]
        )
        for url in hosts:
            parts = urlsplit(url)
            if parts.scheme in ("http", "https") and parts.netloc:
                origin = f"{parts.scheme}://{parts.netloc}"
                if origin not in sources:
                    sources.append(origin)
    return sources


def basemap_context(request: Any) -> dict[str, Any]:
    """Template context: what every map starts from, for base.html to hand to
    static/js/core/page.js (GeoGrid.createMap): LEAFLET_CONFIG's centre and zoom, the basemap
    layers and the city's time zone (read per request, so a test's settings apply)."""
    leaflet = getattr(settings, "LEAFLET_CONFIG", {})
    return {
        "map_config": {
            "center": list(leaflet.get("DEFAULT_CENTER", (0, 0))),
            "zoom": leaflet.get("DEFAULT_ZOOM", 12),
            "maxZoom": leaflet.get("MAX_ZOOM", 19),
            "timeZone": settings.TIME_ZONE,
            "basemap": basemap_layers(),
        }
    }


@checks.register()
def check_basemap(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    choice = settings.GEOGRID_BASEMAP
    if choice not in CHOICES:
        return [
            checks.Error(
                f"GEOGRID_BASEMAP={choice!r} is not one of {', '.join(CHOICES)}.", id="geogrid.E001"
            )
        ]
    if choice == "tianditu" and not settings.GEOGRID_TIANDITU_KEY:
        return [
            checks.Warning(
                "GEOGRID_BASEMAP=tianditu needs GEOGRID_TIANDITU_KEY (the tk of "
                "your 天地图 account); the local basemap is used meanwhile.",
                id="geogrid.W001",
            )
        ]
    if choice == "custom" and not settings.GEOGRID_BASEMAP_URL:
        return [
            checks.Warning(
                "GEOGRID_BASEMAP=custom needs GEOGRID_BASEMAP_URL; "
                "the local basemap is used meanwhile.",
                id="geogrid.W002",
            )
        ]
    return []
