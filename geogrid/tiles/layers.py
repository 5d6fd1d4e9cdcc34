"""The tiled layers: Mapbox Vector Tiles straight from PostGIS (`ST_AsMVT`), one prepared
statement per layer and tile. Data stays in EPSG:4490; the tile envelope is transformed to
4490 for the GiST-indexed `&&`, the rows found are transformed to EPSG:3857 for the tile.

Point layers (components, cases) are thinned below THIN_BELOW_ZOOM: one feature per cell of
THIN_PIXELS screen pixels (the lowest id in the cell, with `n` = how many it stands for), so a
zoomed-out tile of a dense city stays small; at THIN_BELOW_ZOOM and above every feature is
sent. Every layer stops at GEOGRID_TILE_MAX_FEATURES features (the view says so in a header).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

THIN_BELOW_ZOOM = 16
THIN_PIXELS = 4
EXTENT = 4096
WORLD_M = 40_075_016.685578488  # EPSG:3857 width of the world
HEAT_BINS = 16  # bins per tile side


def pixel_metres(z: int) -> float:
    """EPSG:3857 metres in one pixel of a 256-pixel tile at zoom z."""
    return WORLD_M / 256.0 / (2 ** z)


ENVELOPE = "ST_TileEnvelope(%(z)s, %(x)s, %(y)s)"
# Web Mercator of a lon/lat point by its formula: ~20× cheaper than ST_Transform through PROJ,
# which dominated dense point tiles (CGCS2000 and WGS84 are the same here to well under a
# pixel). Lines and polygons still go through ST_Transform.
MERCATOR_X = "(ST_X(c.geom) * 111319.49079327357)"
MERCATOR_Y = "(ln(tan(radians(45.0 + ST_Y(c.geom) / 2.0))) * 6378137.0)"
# Components may be lines or polygons: their thinning cell is that of a point on them.
_ANY_POINT = ("(CASE WHEN ST_GeometryType(c.geom) = 'ST_Point' THEN c.geom "
              "ELSE ST_PointOnSurface(c.geom) END)")
MERCATOR_X_OF_ANY = f"(ST_X({_ANY_POINT}) * 111319.49079327357)"
MERCATOR_Y_OF_ANY = f"(ln(tan(radians(45.0 + ST_Y({_ANY_POINT}) / 2.0))) * 6378137.0)"
TO_3857 = (f"CASE WHEN ST_GeometryType(c.geom) = 'ST_Point' "
           f"THEN ST_SetSRID(ST_MakePoint({MERCATOR_X}, {MERCATOR_Y}), 3857) "
           f"ELSE ST_Transform(c.geom, 3857) END")
IN_TILE = f"ST_Transform({ENVELOPE}, 4490)"

_POINT_TILE = """
WITH rows AS (
    {select}
), picked AS (
    {pick}
)
SELECT ST_AsMVT(t, %(layer)s, 4096, 'geom', 'id'), count(*)
FROM (
    SELECT {columns}, p.n, ST_AsMVTGeom(p.g, {envelope}, 4096, 64, true) AS geom
    FROM picked p
    ORDER BY p.n DESC, p.id
    LIMIT %(cap)s
) t
WHERE t.geom IS NOT NULL
"""
# Every row as itself; or, thinned, one row per cell: the lowest id of the cell, with the
# cell's count (DISTINCT ON after a window count: one sort; a join back to the rows CTE has no
# index and a generic plan may loop over it). Cells are integer indexes of the point's
# Mercator coordinates (mx, my), computed once per row.
_PICK_ALL = "SELECT r.*, 1 AS n FROM rows r"
_PICK_THINNED = """SELECT DISTINCT ON (q.cx, q.cy) q.*
    FROM (SELECT r.*, floor(r.mx / %(cell)s) AS cx, floor(r.my / %(cell)s) AS cy,
                 count(*) OVER (PARTITION BY floor(r.mx / %(cell)s), floor(r.my / %(cell)s))
                     AS n
          FROM rows r) q
    ORDER BY q.cx, q.cy, q.id"""

COMPONENTS_SELECT = f"""
    SELECT c.id, c.code, cc.code AS class_code, c.status, {TO_3857} AS g,
           {MERCATOR_X_OF_ANY} AS mx, {MERCATOR_Y_OF_ANY} AS my
    FROM components_component c
    JOIN components_componentclass cc ON cc.id = c.component_class_id
    WHERE c.geom && {IN_TILE}
      AND c.currency = 'in_use'
      AND (%(class)s::text IS NULL OR cc.code = %(class)s::text)
      AND (%(status)s::text[] IS NULL OR c.status = ANY(%(status)s::text[]))
"""

CASES_SELECT = f"""
    SELECT c.id, cc.service_code, c.status, c.overdue, c.kind,
           ST_SetSRID(ST_MakePoint({MERCATOR_X}, {MERCATOR_Y}), 3857) AS g,
           {MERCATOR_X} AS mx, {MERCATOR_Y} AS my
    FROM cases_case c
    JOIN cases_caseclass cc ON cc.id = c.case_class_id
    WHERE c.geom && {IN_TILE}
      AND (%(class)s::text IS NULL OR cc.service_code = %(class)s::text)
      AND (%(status)s::text[] IS NULL OR c.status = ANY(%(status)s::text[]))
      AND (%(since)s::timestamptz IS NULL OR c.reported_at >= %(since)s::timestamptz)
      AND (%(until)s::timestamptz IS NULL OR c.reported_at < %(until)s::timestamptz)
"""

GRIDS_TILE = f"""
SELECT ST_AsMVT(t, %(layer)s, 4096, 'geom', 'id'), count(*)
FROM (
    SELECT g.id, g.code, g.name, l.slug AS level, g.grid_type, g.area_class,
           ST_AsMVTGeom(ST_Transform(g.geom, 3857), {ENVELOPE}, 4096, 64, true) AS geom
    FROM grids_grid g
    JOIN grids_gridlevel l ON l.id = g.level_id
    WHERE g.geom && {IN_TILE} AND g.valid_to IS NULL AND l.slug = %(level)s
    ORDER BY g.code
    LIMIT %(cap)s
) t
WHERE t.geom IS NOT NULL
"""

# Report density: cases counted in square bins of a world-aligned grid (HEAT_BINS per tile
# side), so bins line up across tiles; each bin a polygon with its count `n`.
HEAT_TILE = f"""
SELECT ST_AsMVT(t, %(layer)s, 4096, 'geom'), count(*)
FROM (
    SELECT b.n, ST_AsMVTGeom(
               ST_MakeEnvelope(b.bx * %(bin)s, b.by * %(bin)s, (b.bx + 1) * %(bin)s,
                               (b.by + 1) * %(bin)s, 3857),
               {ENVELOPE}, 4096, 0, true) AS geom
    FROM (
        SELECT floor(p.mx / %(bin)s) AS bx, floor(p.my / %(bin)s) AS by, count(*) AS n
        FROM (
            SELECT {MERCATOR_X} AS mx, {MERCATOR_Y} AS my
            FROM cases_case c
            JOIN cases_caseclass cc ON cc.id = c.case_class_id
            WHERE c.geom && {IN_TILE}
              AND (%(class)s::text IS NULL OR cc.service_code = %(class)s::text)
              AND (%(status)s::text[] IS NULL OR c.status = ANY(%(status)s::text[]))
              AND (%(since)s::timestamptz IS NULL OR c.reported_at >= %(since)s::timestamptz)
              AND (%(until)s::timestamptz IS NULL OR c.reported_at < %(until)s::timestamptz)
        ) p
        GROUP BY 1, 2
        ORDER BY n DESC
        LIMIT %(cap)s
    ) b
) t
WHERE t.geom IS NOT NULL
"""


@dataclass(frozen=True)
class Layer:
    name: str
    table_version: str          # the sequence that versions its data
    filters: tuple[str, ...]    # query parameters it understands
    fields: dict[str, str] = field(default_factory=dict)  # TileJSON vector_layers fields
    public: bool = True         # readable without login when GEOGRID_PUBLIC_READ_API is on
    city_wide_only: bool = False  # individual features only for city-wide roles

    def sql(self, z: int) -> str:
        if self.name == "grids":
            return GRIDS_TILE
        if self.name == "heat":
            return HEAT_TILE
        select = COMPONENTS_SELECT if self.name == "components" else CASES_SELECT
        names = (["code", "class_code", "status"] if self.name == "components"
                 else ["service_code", "status", "overdue", "kind"])
        columns = ", ".join(["p.id", *(f"p.{n}" for n in names)])
        pick = _PICK_THINNED if z < THIN_BELOW_ZOOM else _PICK_ALL
        return _POINT_TILE.format(select=select, pick=pick, columns=columns,
                                  envelope=ENVELOPE)

    def parameters(self, z: int) -> dict[str, float]:
        if self.name == "heat":
            return {"bin": WORLD_M / (2 ** z) / HEAT_BINS}
        if self.name in ("components", "cases"):
            return {"cell": THIN_PIXELS * pixel_metres(z)}
        return {}


LAYERS = {
    "components": Layer(
        "components", "tiles_version_components", ("class", "status"),
        {"code": "部件标识码 (component code)", "class_code": "类别代码", "status": "状态",
         "n": "features this one stands for (thinned tiles)"}),
    "cases": Layer(
        "cases", "tiles_version_cases", ("class", "status", "since", "until"),
        {"service_code": "案件类别", "status": "状态", "overdue": "已超期", "kind": "部件/事件",
         "n": "features this one stands for (thinned tiles)"},
        public=False, city_wide_only=True),
    "grids": Layer(
        "grids", "tiles_version_grids", ("level",),
        {"code": "网格编码", "name": "名称", "level": "层级", "grid_type": "类型",
         "area_class": "区域类别"}),
    "heat": Layer(
        "heat", "tiles_version_cases", ("class", "status", "since", "until"),
        {"n": "reports in the bin"}, public=False),
}


def tile_in_range(z: int, x: int, y: int, max_zoom: int) -> bool:
    return 0 <= z <= max_zoom and 0 <= x < 2 ** z and 0 <= y < 2 ** z


def lonlat_of_tile(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(west, south, east, north) in degrees."""
    n = 2 ** z

    def lat(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y)
