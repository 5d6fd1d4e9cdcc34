"""Geometry helpers shared by the apps: validity with located reasons, metric areas, WKB I/O."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, TypeAlias

import numpy as np
import shapely
import shapely.geometry
from django.contrib.gis.geos import GEOSGeometry
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from geogrid.core.srid import STORAGE_SRID, metric_srid

# A geometry as the services take it: shapely, GEOS, a GeoJSON geometry object or WKT.
GeometryValue: TypeAlias = BaseGeometry | GEOSGeometry | dict[str, Any] | str


class GeometryError(ValueError):
    """A geometry a service cannot accept; the message says what and where."""

    def __init__(self, message: str, *, location: tuple[float, float] | None = None):
        super().__init__(message)
        self.location = location


_REASON_AT = re.compile(r"^(?P<what>[^\[]+)\[(?P<x>[-0-9.eE+]+) (?P<y>[-0-9.eE+]+)\]")


def invalidity(geom: BaseGeometry) -> tuple[str, tuple[float, float] | None] | None:
    """None when valid, else (reason, (lon, lat) of the problem) from GEOS's IsValidReason."""
    if shapely.is_valid(geom):
        return None
    reason = shapely.is_valid_reason(geom)
    match = _REASON_AT.match(reason)
    if match:
        return match["what"].strip(), (float(match["x"]), float(match["y"]))
    return reason, None


def describe_invalidity(geom: BaseGeometry) -> str | None:
    problem = invalidity(geom)
    if problem is None:
        return None
    reason, where = problem
    if where is None:
        return f"The polygon is invalid: {reason}."
    return (
        f"The polygon is invalid: {reason.lower()} at lon {where[0]:.6f}, lat {where[1]:.6f}. "
        "Move the boundary so that it does not cross itself."
    )


def as_multipolygon(geom: BaseGeometry) -> MultiPolygon:
    """Polygonal parts of any geometry as one MultiPolygon (lines and points are dropped)."""
    if isinstance(geom, MultiPolygon):
        return geom
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    polygons: list[Polygon] = []
    for part in shapely.get_parts(geom):  # a collection may hold polygons and multipolygons
        if isinstance(part, Polygon) and not part.is_empty:
            polygons.append(part)
        elif isinstance(part, MultiPolygon):
            polygons.extend(p for p in part.geoms if not p.is_empty)
    return MultiPolygon(polygons)


def repair(geom: BaseGeometry) -> MultiPolygon:
    """Make a polygon valid (GEOS make_valid, structure method) and keep its polygonal parts."""
    fixed = shapely.make_valid(geom, method="structure", keep_collapsed=False)
    return as_multipolygon(fixed)


@lru_cache(maxsize=8)
def _transformer(source: int, target: int) -> Transformer:
    return Transformer.from_crs(source, target, always_xy=True)


def to_metric(geoms: Any, source_srid: int = STORAGE_SRID) -> Any:
    """Transform shapely geometries (scalar or array) to the metric CRS, vectorised."""
    transformer = _transformer(source_srid, metric_srid())
    return shapely.transform(
        geoms, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))
    )


def from_metric(geoms: Any, target_srid: int = STORAGE_SRID) -> Any:
    transformer = _transformer(metric_srid(), target_srid)
    return shapely.transform(
        geoms, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))
    )


def area_m2(geoms: Any) -> Any:
    """Area in square metres in the metric CRS: a float for one geometry, an array for an
    array of them."""
    return shapely.area(to_metric(geoms))


def lonlat_of(point_metric: Any) -> tuple[float, float]:
    lon, lat = _transformer(metric_srid(), STORAGE_SRID).transform(point_metric.x, point_metric.y)
    return float(lon), float(lat)


def to_shapely(geom: GeometryValue) -> BaseGeometry:
    """Accept shapely, GEOS, GeoJSON dicts or WKT; return shapely in the storage CRS."""
    if isinstance(geom, BaseGeometry):
        return geom
    if isinstance(geom, GEOSGeometry):
        if geom.srid not in (None, STORAGE_SRID, 4326):
            geom = geom.transform(STORAGE_SRID, clone=True)
        return shapely.from_wkb(bytes(geom.wkb))
    if isinstance(geom, dict):
        return shapely.geometry.shape(geom)
    if isinstance(geom, str):
        return shapely.from_wkt(geom)
    raise GeometryError(f"Unsupported geometry value of type {type(geom).__name__}.")
