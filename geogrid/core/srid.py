"""The one place that names the coordinate systems GeoGrid uses (docs/architecture.md §5;
why these systems: docs/domain.md §7)."""

from django.conf import settings

# Every stored `geom`: CGCS2000 geographic lon/lat, the national datum of the standards.
STORAGE_SRID = 4490
# GeoJSON, Open311 and Leaflet speak WGS84 lon/lat; numerically within a metre of CGCS2000.
WEB_SRID = 4326
# Web Mercator, for vector tiles.
TILE_SRID = 3857


def metric_srid() -> int:
    """CGCS2000 3° Gauss-Krüger zone of the city: areas, buffers and tolerances in metres."""
    return settings.GEOGRID_METRIC_SRID
