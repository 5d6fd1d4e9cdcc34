"""Deterministic shapes for tests, drawn in metres and stored as lon/lat (EPSG:4490).

Shapes are drawn in the metric CRS (CGCS2000 GK EPSG:4548, Beijing) relative to ORIGIN, so a
`square(0, 0, 100)` really measures 10,000 m².
"""

from __future__ import annotations

import shapely
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Point, Polygon, box

ORIGIN = (450_000.0, 4_416_000.0)  # easting, northing near Dongcheng, Beijing
_TO_LONLAT = Transformer.from_crs(4548, 4490, always_xy=True)


def to_lonlat(geom):
    def convert(xy):
        import numpy as np

        lon, lat = _TO_LONLAT.transform(xy[:, 0] + ORIGIN[0], xy[:, 1] + ORIGIN[1])
        return np.column_stack([lon, lat])

    return shapely.transform(geom, convert)


def square(x: float, y: float, size: float) -> MultiPolygon:
    """A size×size square whose south-west corner is (x, y) metres from ORIGIN."""
    return MultiPolygon([to_lonlat(box(x, y, x + size, y + size))])


def rect(x0: float, y0: float, x1: float, y1: float) -> MultiPolygon:
    return MultiPolygon([to_lonlat(box(x0, y0, x1, y1))])


def point(x: float, y: float) -> Point:
    return to_lonlat(Point(x, y))


def bowtie(x: float, y: float, size: float) -> Polygon:
    """A self-intersecting polygon crossing itself at the square's centre."""
    return to_lonlat(Polygon([(x, y), (x + size, y + size), (x + size, y), (x, y + size), (x, y)]))
