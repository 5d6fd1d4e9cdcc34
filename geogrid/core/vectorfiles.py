"""Vector files in and out: reading GeoJSON, GeoPackage and Shapefiles, bringing their
geometries to the storage CRS, and writing GeoJSON or GeoPackage. Shared by the grid and the
component imports and exports, which keep what is particular to their rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from django.conf import settings

from geogrid.core import crs as crs_module
from geogrid.core.srid import STORAGE_SRID, WEB_SRID

READABLE_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".zip"}


class ImportFileError(ValueError):
    """The file as a whole cannot be read; the message says why and what to do."""


def refuse_oversized(path: Path) -> None:
    """ImportFileError for a file over GEOGRID_MAX_IMPORT_MB (vector files and CSV alike)."""
    limit = settings.GEOGRID_MAX_IMPORT_MB
    size_mb = path.stat().st_size / 1024 / 1024
    if size_mb > limit:
        raise ImportFileError(
            f"{path.name} is {size_mb:.0f} MB, over the {limit} MB limit "
            "(GEOGRID_MAX_IMPORT_MB); split the file or raise the limit."
        )


def read_file(path: str | Path) -> gpd.GeoDataFrame:
    """Read a vector file with pyogrio; raise ImportFileError with a plain message if we can't."""
    path = Path(path)
    if not path.exists():
        raise ImportFileError(f"File not found: {path}")
    if path.suffix.lower() not in READABLE_SUFFIXES:
        raise ImportFileError(
            f"{path.name}: unsupported file type {path.suffix or '(none)'}; use GeoJSON "
            "(.geojson/.json), GeoPackage (.gpkg), Shapefile (.shp) or a zipped Shapefile (.zip)."
        )
    refuse_oversized(path)
    try:
        return gpd.read_file(path, engine="pyogrio")
    except Exception as exc:  # pyogrio raises several types for unreadable data
        raise ImportFileError(
            f"{path.name} could not be read as a vector file: {exc}".strip()
        ) from exc


def to_storage_crs(
    frame: gpd.GeoDataFrame, declared: str | int | None, *, path: Path
) -> tuple[gpd.GeoSeries, str, bool]:
    """Bring geometries to EPSG:4490. `declared` (--crs) overrides the file's own CRS.

    Returns (geometries, label of the source CRS, whether a transformation was applied).
    """
    geoms = frame.geometry
    if declared not in (None, ""):
        source = crs_module.parse_crs(declared)
        if source.epsg in (WEB_SRID, STORAGE_SRID):
            return geoms.set_crs(STORAGE_SRID, allow_override=True), source.label, False

        def convert(xy: Any) -> Any:
            lon, lat = crs_module.to_storage(xy[:, 0], xy[:, 1], source)
            return np.column_stack([lon, lat])

        converted = shapely.transform(np.asarray(geoms.values, dtype=object), convert)
        return gpd.GeoSeries(converted, crs=STORAGE_SRID), source.label, True
    if frame.crs is None:
        if path.suffix.lower() in (".geojson", ".json"):
            # RFC 7946: GeoJSON is WGS84 lon/lat unless it says otherwise.
            return geoms.set_crs(STORAGE_SRID, allow_override=True), "EPSG:4326 (GeoJSON)", False
        raise ImportFileError(
            f"{path.name} does not say which coordinate system it uses (no .prj / CRS); "
            "name it with --crs, e.g. --crs 4490 or --crs 4548."
        )
    epsg = frame.crs.to_epsg()
    label = f"EPSG:{epsg}" if epsg else frame.crs.name
    if epsg in (WEB_SRID, STORAGE_SRID):
        return geoms.set_crs(STORAGE_SRID, allow_override=True), label, False
    return geoms.to_crs(STORAGE_SRID), label, True


def write_frame(
    frame: gpd.GeoDataFrame, path: Path, *, driver: str, layer: str, **geojson_options: Any
) -> None:
    """Write a frame in storage coordinates as GeoJSON (driver "GeoJSON") or GeoPackage,
    replacing the file. `geojson_options` go to GDAL's GeoJSON driver only."""
    if path.exists():
        path.unlink()
    if driver == "GeoJSON":
        # CGCS2000 and WGS84 coordinates agree to well under a metre; GeoJSON readers expect
        # WGS84 (RFC 7946), so the file is labelled as such.
        frame = frame.set_crs(WEB_SRID, allow_override=True)
        frame.to_file(path, driver=driver, engine="pyogrio", RFC7946="YES", **geojson_options)
    else:
        frame.to_file(path, driver=driver, engine="pyogrio", layer=layer)
