"""Shapely helpers for grid boundaries: GEOS values for storage, the geometries of a grid
queryset, the standard numbering order, and the cutting line of a split."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import shapely
from django.contrib.gis.db.models.functions import AsWKB
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from django.db.models import QuerySet
from shapely.geometry.base import BaseGeometry

from geogrid.core.gis import GeometryError, as_multipolygon, from_metric, to_metric, to_shapely
from geogrid.core.srid import STORAGE_SRID
from geogrid.grids.models import Grid


def to_geos(shape: BaseGeometry) -> MultiPolygon:
    """A grid boundary as stored: a GEOS MultiPolygon in the storage CRS."""
    # GEOSGeometry() returns the subclass of what it reads: a MultiPolygon here.
    return cast(
        MultiPolygon,
        GEOSGeometry(memoryview(shapely.to_wkb(as_multipolygon(shape))), srid=STORAGE_SRID),
    )


def geoms_of(queryset: QuerySet[Grid]) -> tuple[list[str], np.ndarray]:
    """Codes and shapely geometries of a grid queryset, as WKB straight from PostGIS (building
    GEOS objects through the ORM first costs ~10× more for a whole district)."""
    rows = list(queryset.annotate(wkb=AsWKB("geom")).values_list("code", "wkb"))
    codes = [code for code, _ in rows]
    geoms = shapely.from_wkb([bytes(wkb) for _, wkb in rows]) if rows else np.array([])
    return codes, np.asarray(geoms)


def reading_order(geoms: Sequence[BaseGeometry]) -> list[int]:
    """Indices in the standard numbering order: west→east along rows, rows north→south.

    Rows are bands as tall as the median grid, counted from the northernmost centroid, so grids
    of one visual row share a band even when their centroids differ by a few metres.
    """
    if not geoms:
        return []
    metric = to_metric(np.array(list(geoms), dtype=object))
    points = shapely.get_coordinates(shapely.point_on_surface(metric))
    bounds = shapely.bounds(metric)
    heights = bounds[:, 3] - bounds[:, 1]
    band = max(float(np.median(heights)), 1.0)
    rows = np.floor((points[:, 1].max() - points[:, 1]) / band + 0.5)
    return list(np.lexsort((points[:, 0], rows)))


BLADE_EXTENSION_M = 1.0


def cutting_line(line: Any) -> BaseGeometry:
    """The cutting line, each end pushed 1 m further along its last segment: a line the editor
    snapped onto a boundary ends exactly on it (in floating point, maybe a hair inside), and
    should still cut."""
    shape = to_shapely(line)
    if shape.is_empty or shape.geom_type != "LineString" or len(shape.coords) < 2:
        raise GeometryError("Draw the cutting line as one line of at least two points.")
    coords = shapely.get_coordinates(shape)
    if (
        not np.isfinite(coords).all()
        or (np.abs(coords[:, 0]) > 180).any()
        or (np.abs(coords[:, 1]) > 90).any()
    ):
        raise GeometryError("The cutting line's coordinates are not longitude/latitude.")
    # Only the two ends move; the drawn (maybe snapped) inner vertices stay bit for bit.
    metric = shapely.get_coordinates(to_metric(shape))
    for end, inner in ((0, 1), (-1, -2)):
        direction = metric[end] - metric[inner]
        length = float(np.hypot(*direction))
        if length > 0:
            pushed = metric[end] + direction / length * BLADE_EXTENSION_M
            coords[end] = shapely.get_coordinates(from_metric(shapely.Point(pushed)))[0]
    return shapely.LineString(coords)
