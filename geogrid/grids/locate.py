"""Point-in-grid lookup: the full grid path (district → … → unit grid) of a point.

This is a hot path (every report at intake), so it bypasses the ORM: one prepared statement on
the raw psycopg connection, which lets PostgreSQL reuse its plan (GeoDjango inlines geometries
as literals, costing ~500 µs a lookup; docs/architecture.md §4.1). `ST_Covers` finds points on
shared edges and vertices; among several grids covering the point, the finest level wins, then
the lowest code (deterministic tie-break, docs/domain.md §2.4).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from geogrid.core.crs import point_to_storage
from geogrid.core.db import raw_cursor

# The common case in one round trip: the lowest-coded active grid of the finest level covering
# the point, then its ancestors by code prefix (codes carry their ancestry; unique index). Only
# the finest level is tested with ST_Covers, so large district polygons cost nothing here.
LOCATE_SQL = """
WITH hit AS (
    SELECT g.code
    FROM grids_grid g
    WHERE g.valid_to IS NULL
      AND g.level_id = (SELECT id FROM grids_gridlevel ORDER BY depth DESC LIMIT 1)
      AND ST_Covers(g.geom, ST_SetSRID(ST_MakePoint(%s, %s), 4490))
    ORDER BY g.code
    LIMIT 1
)
SELECT g.id, g.code, g.name, l.slug, l.name, l.depth
FROM hit
JOIN grids_gridlevel l ON l.code_length <= length(hit.code)
JOIN grids_grid g ON g.code = left(hit.code, l.code_length) AND g.level_id = l.id
ORDER BY l.depth
"""

# The path of a hit (id, parent_id) through `parent_id`, appended to the two queries below.
_PATH_OF_HIT = """
), path AS (
    SELECT id, parent_id FROM hit
    UNION ALL
    SELECT g.id, g.parent_id FROM grids_grid g JOIN path p ON g.id = p.parent_id
)
SELECT g.id, g.code, g.name, l.slug, l.name, l.depth
FROM path JOIN grids_grid g ON g.id = path.id JOIN grids_gridlevel l ON l.id = g.level_id
ORDER BY l.depth
"""

# Where no finest-level grid covers the point (a community not yet divided): the deepest active
# grid of any level that does, then its ancestors.
LOCATE_ANY_LEVEL_SQL = (
    """
WITH RECURSIVE hit AS (
    SELECT g.id, g.parent_id
    FROM grids_grid g
    JOIN grids_gridlevel l ON l.id = g.level_id
    WHERE g.valid_to IS NULL
      AND ST_Covers(g.geom, ST_SetSRID(ST_MakePoint(%s, %s), 4490))
    ORDER BY l.depth DESC, g.code
    LIMIT 1"""
    + _PATH_OF_HIT
)

# The same question for a moment in the past, answered from the boundary history.
LOCATE_AT_SQL = (
    """
WITH RECURSIVE hit AS (
    SELECT b.grid_id AS id, g.parent_id
    FROM grids_gridboundary b
    JOIN grids_grid g ON g.id = b.grid_id
    JOIN grids_gridlevel l ON l.id = g.level_id
    WHERE b.valid_from <= %s AND (b.valid_to IS NULL OR b.valid_to > %s)
      AND ST_Covers(b.geom, ST_SetSRID(ST_MakePoint(%s, %s), 4490))
    ORDER BY l.depth DESC, g.code
    LIMIT 1"""
    + _PATH_OF_HIT
)


class OutsideAllGrids(ValueError):
    """The point lies in no grid; the message gives the point back."""


@dataclass(frozen=True)
class PathStep:
    id: int
    code: str
    name: str
    level: str
    level_name: str
    depth: int


@dataclass(frozen=True)
class Location:
    lon: float  # storage CRS (CGCS2000)
    lat: float
    path: tuple[PathStep, ...]

    @property
    def grid(self) -> PathStep:
        """The finest grid found (normally the unit grid)."""
        return self.path[-1]

    def as_dict(self) -> dict:
        return {
            "lon": round(self.lon, 8),
            "lat": round(self.lat, 8),
            "grid": asdict(self.grid),
            "path": [asdict(step) for step in self.path],
        }


def locate_storage(lon: float, lat: float, *, at: datetime | None = None) -> Location:
    """Locate a point already in the storage CRS (EPSG:4490). Raises OutsideAllGrids."""
    # Django wraps psycopg with client-side binding, which cannot prepare; a plain psycopg
    # cursor on the same connection (same transaction) can (geogrid/core/db.py).
    with raw_cursor() as cursor:
        if at is None:
            rows = cursor.execute(LOCATE_SQL, (lon, lat), prepare=True).fetchall()
            if not rows:
                rows = cursor.execute(LOCATE_ANY_LEVEL_SQL, (lon, lat), prepare=True).fetchall()
        else:
            rows = cursor.execute(LOCATE_AT_SQL, (at, at, lon, lat), prepare=True).fetchall()
    if not rows:
        raise OutsideAllGrids(
            f"The point lon {lon:.6f}, lat {lat:.6f} lies outside every grid"
            + (f" valid on {at.isoformat()}" if at else "")
            + ". Check the coordinates and their coordinate system (crs)."
        )
    return Location(lon=lon, lat=lat, path=tuple(PathStep(*row) for row in rows))


def locate(
    x: float, y: float, crs: str | int | None = None, *, at: datetime | None = None
) -> Location:
    """Locate a point given in any supported CRS (see geogrid.core.crs.parse_crs).

    Raises CRSError, CoordinateError or OutsideAllGrids (all ValueErrors with plain messages).
    """
    lon, lat = point_to_storage(x, y, crs)
    return locate_storage(lon, lat, at=at)
