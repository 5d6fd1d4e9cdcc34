"""Bulk point-in-grid assignment for imports (components, cases): many points, one pass.

`locate()` answers one point per database round trip (a few hundred µs). An import of a million
points needs set-based work instead. This module does it in-process: the active grids of one
level are loaded once (one raw query, WKB), and shapely/GEOS tests every point against them with
the grids prepared, vectorised, no Python loop over points (~0.7–1.2M points/s, bench/).

Semantics match `locate()` and docs/domain.md §2.4:
  - a grid holds a point when it covers it (ST_Covers): points on a grid's boundary count, so a
    point on an edge or vertex shared by several grids is found in all of them;
  - among several grids holding a point, the lowest code wins (deterministic tie-break);
  - unlike `locate()`, which returns the finest level holding the point, only grids of the one
    requested level are considered: a point in no grid of that level gets -1 / None.

Why the point tree: an STRtree over the points queried with each grid (prepared, predicate
"covers") runs each grid's prepared point-in-polygon test over the points in its bounding box.
The reverse (a tree over the grids, queried with each point) prepares a geometry per point and
measured ~1.7× slower; PostGIS with the grids as the outer side of the join measured 3× slower
(serial) and needs the points in a table first, so there is no SQL variant here (bench/).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geogrid.core.db import raw_cursor
from geogrid.grids.models import Grid, GridLevel

# Active grids of one level, ordered by code: a grid's position is then its rank by code, and
# "lowest code wins" becomes "lowest position wins", a plain integer minimum.
GRIDS_OF_LEVEL_SQL = """
SELECT g.id, g.code, ST_AsBinary(g.geom)
FROM grids_grid g
JOIN grids_gridlevel l ON l.id = g.level_id
WHERE l.slug = %(level)s AND g.valid_to IS NULL
  AND (%(district)s::text IS NULL OR g.district_code = %(district)s::text)
  AND (%(west)s::float8 IS NULL OR g.geom && ST_MakeEnvelope(
        %(west)s::float8, %(south)s::float8, %(east)s::float8, %(north)s::float8, 4490))
ORDER BY g.code
"""

# Points per STRtree: bounds the transient memory (~200 bytes a point object) of huge imports;
# each extra chunk costs one bounding-box pass of the grids over its tree (a few ms).
DEFAULT_CHUNK_SIZE = 500_000

_NO_GRID = np.iinfo(np.int64).max


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while point objects are created by the hundred
    thousand: each allocation burst otherwise triggers full collections that rescan every live
    object (measured: ~15–20 % of an assignment). The points hold no reference cycles."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass(frozen=True)
class AssignmentResult:
    """Per input point: `grid_id` (int64, -1 where no grid) and `grid_code` (object array of
    str, None where no grid), in the order of the input arrays."""

    grid_id: np.ndarray
    grid_code: np.ndarray

    def __len__(self) -> int:
        return len(self.grid_id)

    @property
    def found(self) -> np.ndarray:
        """Boolean mask of the points that lie in a grid."""
        return self.grid_id >= 0


class GridIndex:
    """The active grids of one level, in memory and prepared, for repeated bulk assignment.

    Load it once per import and call `assign()` per batch: grids changed after `load()` are not
    seen (the index is a snapshot, like any read in one transaction).
    """

    def __init__(self, ids: np.ndarray, codes: np.ndarray, geoms: np.ndarray):
        order = np.argsort(codes, kind="stable")
        self.ids = np.asarray(ids, dtype=np.int64)[order]
        self.codes = np.asarray(codes, dtype=object)[order]
        self.geoms = np.asarray(geoms, dtype=object)[order]
        # Prepared once here, not once per assign() call: the per-grid preparation (an indexed
        # edge set) is what makes each point test cheap.
        shapely.prepare(self.geoms)

    @classmethod
    def load(
        cls,
        *,
        level: str = "unit",
        district_code: str | None = None,
        bbox: tuple[float, float, float, float] | None = None,
    ) -> GridIndex:
        """Load the active grids of `level` (a GridLevel slug), optionally of one district.

        One raw query on the Django connection (same transaction); geometries travel as WKB
        in binary format. Raises ValueError for an unknown level slug.
        """
        # A plain psycopg cursor on Django's connection: binary results (Django's cursor asks
        # for text, doubling the bytes of every geometry).
        with raw_cursor() as cursor:
            cursor.execute("SELECT 1 FROM grids_gridlevel WHERE slug = %s", (level,))
            if cursor.fetchone() is None:
                raise ValueError(f"Unknown grid level {level!r}.")
            cursor.execute(
                GRIDS_OF_LEVEL_SQL,
                {
                    "level": level,
                    "district": district_code,
                    "west": bbox[0] if bbox else None,
                    "south": bbox[1] if bbox else None,
                    "east": bbox[2] if bbox else None,
                    "north": bbox[3] if bbox else None,
                },
                binary=True,
            )
            rows = cursor.fetchall()
        if not rows:
            return cls(np.zeros(0, np.int64), np.zeros(0, object), np.zeros(0, object))
        ids, codes, wkb = zip(*rows, strict=True)
        return cls(
            np.fromiter(ids, np.int64, len(ids)),
            np.array(codes, dtype=object),
            shapely.from_wkb(list(wkb)),
        )

    def __len__(self) -> int:
        return len(self.ids)

    def positions(
        self, lon: np.ndarray, lat: np.ndarray, *, chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> np.ndarray:
        """Position in this index of the grid holding each point (lowest code on ties), -1
        where none. `lon`/`lat`: equal-length 1-D arrays in the storage CRS (EPSG:4490);
        non-finite coordinates are in no grid."""
        lon = np.ascontiguousarray(lon, dtype=np.float64)
        lat = np.ascontiguousarray(lat, dtype=np.float64)
        if lon.ndim != 1 or lon.shape != lat.shape:
            raise ValueError(
                f"lon and lat must be 1-D arrays of one length, not {lon.shape} and {lat.shape}."
            )
        best = np.full(len(lon), _NO_GRID, dtype=np.int64)
        if len(lon) == 0 or len(self) == 0:
            return np.full(len(lon), -1, dtype=np.int64)
        finite = np.flatnonzero(np.isfinite(lon) & np.isfinite(lat))
        for start in range(0, len(finite), chunk_size):
            chunk = finite[start : start + chunk_size]
            with _gc_paused():
                tree = shapely.STRtree(shapely.points(lon[chunk], lat[chunk]))
                # Pairs (grid position, point in chunk) where the prepared grid covers the
                # point: boundary included, so a shared edge or vertex matches every grid on it.
                grid_pos, point_pos = tree.query(self.geoms, predicate="covers")
                del tree  # free the chunk's points before the next chunk allocates its own
            # Tie-break without sorting: positions are code ranks, so keep the minimum.
            np.minimum.at(best, chunk[point_pos], grid_pos)
        best[best == _NO_GRID] = -1
        return best

    def shape_positions(self, geoms: np.ndarray) -> np.ndarray:
        """Position of the grid holding each geometry, -1 where none (design: a point goes to
        the grid covering it; a line to the grid holding the longest part of it; a polygon to the
        grid holding the largest part; ties to the lowest code). Vectorised per geometry kind."""
        geoms = np.asarray(geoms, dtype=object)
        result = np.full(len(geoms), -1, dtype=np.int64)
        if len(geoms) == 0 or len(self) == 0:
            return result
        kinds = shapely.get_type_id(geoms)
        points = np.flatnonzero(kinds == 0)
        if len(points):
            xy = shapely.get_coordinates(geoms[points])
            result[points] = self.positions(xy[:, 0], xy[:, 1])
        others = np.flatnonzero((kinds != 0) & ~shapely.is_empty(geoms))
        if len(others):
            tree = shapely.STRtree(self.geoms)
            shape_pos, grid_pos = tree.query(geoms[others], predicate="intersects")
            pieces = shapely.intersection(geoms[others][shape_pos], self.geoms[grid_pos])
            linear = np.isin(kinds[others][shape_pos], (1, 2, 5))  # (multi)linestrings, rings
            measure = np.where(linear, shapely.length(pieces), shapely.area(pieces))
            # Per shape: the largest measure, then the lowest position (code rank).
            order = np.lexsort((grid_pos, -measure, shape_pos))
            first = np.ones(len(order), dtype=bool)
            first[1:] = shape_pos[order][1:] != shape_pos[order][:-1]
            chosen = order[first]
            result[others[shape_pos[chosen]]] = grid_pos[chosen]
        return result

    def assign(
        self, lon: np.ndarray, lat: np.ndarray, *, chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> AssignmentResult:
        """The grid (id and code) holding each point; see `positions()` for the contract."""
        position = self.positions(lon, lat, chunk_size=chunk_size)
        found = position >= 0
        grid_id = np.full(len(position), -1, dtype=np.int64)
        grid_id[found] = self.ids[position[found]]
        grid_code = np.full(len(position), None, dtype=object)
        grid_code[found] = self.codes[position[found]]
        return AssignmentResult(grid_id=grid_id, grid_code=grid_code)


def assign_points(
    lon: np.ndarray, lat: np.ndarray, *, level: str = "unit", district_code: str | None = None
) -> AssignmentResult:
    """Assign each point (storage CRS lon/lat arrays) to the active grid of `level` covering
    it, lowest code on ties; -1 / None where no grid of that level covers it.

    Read-only: loads the grids once (one query, see GridIndex.load) and writes nothing; the
    caller stores the result (at ingest, or with COPY into a side table: a mass UPDATE of 1M
    rows costs ~20 s, docs/architecture.md §4.4). Imports in several batches should load a
    GridIndex once and call its `assign()` per batch.
    """
    return GridIndex.load(level=level, district_code=district_code).assign(lon, lat)


# --- The unit grid of components and open cases ------------------------------------------------
# Components and open cases belong to unit grids (the finest level). These helpers answer for
# geometries of any kind, and for a grid edit before it is written; the impact providers of
# components and cases use them (grids/impact.py).
def leaf_level_slug() -> str | None:
    return GridLevel.objects.order_by("-depth").values_list("slug", flat=True).first()


def grid_index_near(geoms: np.ndarray) -> GridIndex:
    """The active unit grids around some geometries (bounding box, grown by ~100 m)."""
    west, south, east, north = shapely.total_bounds(geoms)
    margin = 0.001
    return GridIndex.load(
        level=leaf_level_slug() or "unit",
        bbox=(west - margin, south - margin, east + margin, north + margin),
    )


def assign_geometries(geoms: np.ndarray, index: GridIndex | None = None) -> np.ndarray:
    """Grid id for each geometry (-1 where no unit grid holds it)."""
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return np.zeros(0, dtype=np.int64)
    index = index if index is not None else grid_index_near(geoms)
    positions = index.shape_positions(geoms)
    ids = np.full(len(geoms), -1, dtype=np.int64)
    found = positions >= 0
    ids[found] = index.ids[positions[found]]
    return ids


def is_leaf(grid: Grid) -> bool:
    # Components and cases belong to unit grids (the finest level); coarser edits move none.
    return grid.level.slug == leaf_level_slug()


def assignment_after(geoms: np.ndarray, grid: Grid, new_geom: BaseGeometry | None) -> np.ndarray:
    """Grid ids for `geoms` as they would be if `grid` took `new_geom` (None: were retired),
    before anything is written."""
    index = grid_index_near(np.concatenate([geoms, [new_geom]]) if new_geom else geoms)
    keep = index.ids != grid.pk
    grid_ids, codes, shapes = index.ids[keep], index.codes[keep], index.geoms[keep]
    if new_geom is not None:
        grid_ids = np.append(grid_ids, grid.pk)
        codes = np.append(codes, grid.code)
        shapes = np.append(shapes, np.array([new_geom], dtype=object))
    return assign_geometries(geoms, GridIndex(grid_ids, codes, shapes))
