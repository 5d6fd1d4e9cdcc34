"""The tiled layers: Mapbox Vector Tiles straight from PostGIS (`ST_AsMVT`), one prepared
statement per layer and tile. Points (components, cases) stay in EPSG:4490: the tile envelope
is transformed to 4490 for the GiST-indexed `&&`, the rows found are projected to EPSG:3857 for
the tile. Grids are read from `tiles_grid`, a trigger-kept copy of the active grids already in
EPSG:3857 (migrations/0002), so polygons skip PROJ on every request.

Point layers (components, cases) are thinned below THIN_BELOW_ZOOM: one feature per cell of
THIN_PIXELS screen pixels (the lowest id in the cell, with `n` = how many it stands for), so a
zoomed-out tile of a dense city stays small; at THIN_BELOW_ZOOM and above every feature is
sent. Every layer stops at GEOGRID_TILE_MAX_FEATURES features (the view says so in a header).

Tracks (patrols, docs/architecture.md §11.1) are lines: an ended patrol's stored line, and for a
patrol still walking a line drawn from its accepted points, split where the phone went quiet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from django.conf import settings

from geogrid.accounts.models import CITY_WIDE_ROLES, Role

THIN_BELOW_ZOOM = 16
THIN_PIXELS = 4
EXTENT = 4096
WORLD_M = 40_075_016.685578488  # EPSG:3857 width of the world
HEAT_BINS = 16  # bins per tile side


def pixel_metres(z: int) -> float:
    """EPSG:3857 metres in one pixel of a 256-pixel tile at zoom z."""
    return WORLD_M / 256.0 / (2**z)


ENVELOPE = "ST_TileEnvelope(%(z)s, %(x)s, %(y)s)"
# Web Mercator of a lon/lat point by its formula: ~20× cheaper than ST_Transform through PROJ,
# which dominated dense point tiles (CGCS2000 and WGS84 are the same here to well under a
# pixel). Lines and polygons still go through ST_Transform.
MERCATOR_X = "(ST_X(c.geom) * 111319.49079327357)"
MERCATOR_Y = "(ln(tan(radians(45.0 + ST_Y(c.geom) / 2.0))) * 6378137.0)"
# Components may be lines or polygons: their thinning cell is that of a point on them.
# (GeometryType rather than ST_GeometryType: measured a few ms cheaper per z14 tile.)
ANY_POINT = (
    "CASE WHEN GeometryType(c.geom) = 'POINT' THEN c.geom ELSE ST_PointOnSurface(c.geom) END"
)
TO_3857 = (
    f"CASE WHEN GeometryType(c.geom) = 'POINT' "
    f"THEN ST_SetSRID(ST_MakePoint({MERCATOR_X}, {MERCATOR_Y}), 3857) "
    f"ELSE ST_Transform(c.geom, 3857) END"
)
IN_TILE = f"ST_Transform({ENVELOPE}, 4490)"

# Every feature of the tile as itself (at THIN_BELOW_ZOOM and above).
_POINT_TILE = """
SELECT ST_AsMVT(t, %(layer)s, 4096, 'geom', 'id'), count(*)
FROM (
    SELECT {columns}, 1 AS n, ST_AsMVTGeom({to_3857}, {envelope}, 4096, 64, true) AS geom
    {rows}
    ORDER BY c.id
    LIMIT %(cap)s
) t
WHERE t.geom IS NOT NULL
"""
# Thinned: the rows' cells counted by one hash aggregate that keeps only (cell, count, lowest id),
# then the lowest id of each cell read back by primary key: a window count with DISTINCT ON would
# sort every wide row twice (figures in bench/README.md, "Measured on this machine"). The class code
# is a subquery per kept row (a primary-key probe each): as a join, the planner's one-row guess for
# the cells puts a scan of the class table inside a nested loop. Cells are integer indexes of the
# point's Mercator coordinates; the point is computed once per row (OFFSET 0 keeps the planner from
# copying the expression into each use).
_THINNED_TILE = """
WITH cells AS (
    SELECT floor(q.mx / %(cell)s) AS cx, floor(q.my / %(cell)s) AS cy, count(*) AS n,
           min(q.id) AS id
    FROM (
        SELECT r.id, ST_X(r.pt) * 111319.49079327357 AS mx,
               ln(tan(radians(45.0 + ST_Y(r.pt) / 2.0))) * 6378137.0 AS my
        FROM (SELECT c.id, {point} AS pt {rows} OFFSET 0) r
    ) q
    GROUP BY 1, 2
)
SELECT ST_AsMVT(t, %(layer)s, 4096, 'geom', 'id'), count(*)
FROM (
    SELECT {columns}, cells.n, ST_AsMVTGeom({to_3857}, {envelope}, 4096, 64, true) AS geom
    FROM cells
    JOIN {table} c ON c.id = cells.id
    ORDER BY cells.n DESC, c.id
    LIMIT %(cap)s
) t
WHERE t.geom IS NOT NULL
"""

# The rows of a tile, with their filters (the class by its id set: no join per row).
COMPONENTS_ROWS = f"""
    FROM components_component c
    WHERE c.geom && {IN_TILE}
      AND c.currency = 'in_use'
      AND (%(class)s::text IS NULL OR c.component_class_id IN (
           SELECT cc.id FROM components_componentclass cc WHERE cc.code = %(class)s::text))
      AND (%(status)s::text[] IS NULL OR c.status = ANY(%(status)s::text[]))
"""
COMPONENTS_COLUMNS = (
    "c.id, c.code, (SELECT cc.code FROM components_componentclass cc "
    "WHERE cc.id = c.component_class_id) AS class_code, c.status"
)

CASES_ROWS = f"""
    FROM cases_case c
    WHERE c.geom && {IN_TILE}
      AND (%(class)s::text IS NULL OR c.case_class_id IN (
           SELECT cc.id FROM cases_caseclass cc WHERE cc.service_code = %(class)s::text))
      AND (%(status)s::text[] IS NULL OR c.status = ANY(%(status)s::text[]))
      AND (%(since)s::timestamptz IS NULL OR c.reported_at >= %(since)s::timestamptz)
      AND (%(until)s::timestamptz IS NULL OR c.reported_at < %(until)s::timestamptz)
"""
CASES_COLUMNS = (
    "c.id, (SELECT cc.service_code FROM cases_caseclass cc "
    "WHERE cc.id = c.case_class_id) AS service_code, c.status, c.overdue, c.kind"
)
CASE_TO_3857 = f"ST_SetSRID(ST_MakePoint({MERCATOR_X}, {MERCATOR_Y}), 3857)"

# Both grid statements: the level's grids touching the tile, in code order, up to the cap.
_GRIDS_FILTER = f"""
    WHERE g.geom && {ENVELOPE}
      AND g.level_id = (SELECT l.id FROM grids_gridlevel l WHERE l.slug = %(level)s)
    ORDER BY g.code COLLATE "C"
    LIMIT %(cap)s
) t
WHERE t.geom IS NOT NULL
"""

# Codes are digits: "C" order is their order, without the locale's collation per comparison.
# The envelope as a sub-select is computed once, not once per polygon.
GRIDS_TILE = f"""
SELECT ST_AsMVT(t, %(layer)s, 4096, 'geom', 'id'), count(*)
FROM (
    SELECT g.id, g.code, g.name, %(level)s::text AS level, g.grid_type, g.area_class,
           ST_AsMVTGeom(g.geom, (SELECT {ENVELOPE}::box2d), 4096, 64, true) AS geom
    FROM tiles_grid g{_GRIDS_FILTER}"""

# From FAST_POLYGON_ZOOM on, a grid lying wholly inside the tile and its buffer skips
# ST_AsMVTGeom: the same affine transform to tile units, snap to whole units and removal of
# collinear vertices, with the rings oriented as MVT wants them (clockwise in Mercator, so
# clockwise on screen once y points down), in plain liblwgeom calls instead of a GEOS clip
# and validation per polygon. Grids crossing the tile's edge still go through ST_AsMVTGeom.
# Compared over the synthetic city's z14 and z16 tiles: every polygon equal (ST_Equals), same
# orientation and vertex count, only the ring's starting vertex may differ; the raw z14 SQL is
# about three times faster (bench/README.md). Below z14 a unit grid spans few pixels and snapping can collapse it,
# which only ST_AsMVTGeom's validation handles. "Wholly inside" is judged by `@` on boxes kept
# in single precision (1 m steps at Mercator's magnitudes, rounded outwards), hence 2 m less
# than the buffer: a grid that reaches past the buffer is always clipped.
FAST_POLYGON_ZOOM = 14
GRIDS_TILE_FAST = f"""
SELECT ST_AsMVT(t, %(layer)s, 4096, 'geom', 'id'), count(*)
FROM (
    SELECT g.id, g.code, g.name, %(level)s::text AS level, g.grid_type, g.area_class,
           CASE WHEN g.geom @ f.inner
                THEN ST_Simplify(ST_SnapToGrid(ST_Affine(ST_ForcePolygonCW(g.geom),
                                                         f.fx, 0, 0, f.fy, f.dx, f.dy), 1), 0, true)
                ELSE ST_AsMVTGeom(g.geom, f.box, 4096, 64, true) END AS geom
    FROM tiles_grid g,
         (SELECT e.box, ST_SetSRID(ST_Expand(e.box, (ST_XMax(e.box) - ST_XMin(e.box)) * 64 / 4096
                                             - 2.0)::geometry, 3857) AS inner,
                 4096 / (ST_XMax(e.box) - ST_XMin(e.box)) AS fx,
                 -4096 / (ST_YMax(e.box) - ST_YMin(e.box)) AS fy,
                 -ST_XMin(e.box) * 4096 / (ST_XMax(e.box) - ST_XMin(e.box)) AS dx,
                 ST_YMax(e.box) * 4096 / (ST_YMax(e.box) - ST_YMin(e.box)) AS dy
          FROM (SELECT {ENVELOPE}::box2d AS box) e) f{_GRIDS_FILTER}"""

# Report density: cases counted in square bins of a world-aligned grid (HEAT_BINS per tile
# side), so bins line up across tiles; each bin a polygon with its count `n`. A bin at z22 is
# under a metre: the reader's case scope (cases.querysets.case_scope) limits the rows.
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
              AND (%(everything)s::boolean
                   OR c.grid_code LIKE ANY(%(prefixes)s::text[])
                   OR c.department_id = ANY(%(departments)s::bigint[])
                   OR c.reporter_id = %(reporter)s::bigint)
        ) p
        GROUP BY 1, 2
        ORDER BY n DESC
        LIMIT %(cap)s
    ) b
) t
WHERE t.geom IS NOT NULL
"""

# Patrol tracks of one local day ([day_start, day_end)), city-wide or of one inspector
# (`viewer`: the reader's own when they are an inspector; `inspector`: a filter). Ended patrols
# by their stored line through the GiST index; patrols still walking (a handful at a time) by
# a line made from their accepted points, a new piece after each silence longer than the gap,
# as patrols/services.py draws an ended one, and only when one of their points is in the tile.
_TRACKS_FILTER = """
      AND pa.started_at < %(day_end)s::timestamptz
      AND (pa.ended_at IS NULL OR pa.ended_at >= %(day_start)s::timestamptz)
      AND (%(inspector)s::bigint IS NULL OR pa.inspector_id = %(inspector)s::bigint)
      AND (%(viewer)s::bigint IS NULL OR pa.inspector_id = %(viewer)s::bigint)
"""
_TRACK_COLUMNS = """pa.id, pa.inspector_id AS inspector, pa.status,
               extract(epoch FROM pa.started_at)::bigint AS started,
               extract(epoch FROM pa.ended_at)::bigint AS ended,
               round(pa.distance_m)::int AS distance_m"""
_WALKING_LINE = """(
            SELECT ST_Collect(s.line) FROM (
                SELECT ST_MakeLine(q.geom ORDER BY q.recorded_at) AS line
                FROM (
                    SELECT b.geom, b.recorded_at,
                           sum(b.brk) OVER (ORDER BY b.recorded_at) AS piece
                    FROM (
                        SELECT tp.geom, tp.recorded_at,
                               CASE WHEN tp.recorded_at - lag(tp.recorded_at)
                                         OVER (ORDER BY tp.recorded_at)
                                         > make_interval(secs => %(gap)s)
                                    THEN 1 ELSE 0 END AS brk
                        FROM patrols_trackpoint tp
                        WHERE tp.patrol_id = pa.id AND tp.status = 'ok'
                    ) b
                ) q
                GROUP BY q.piece
                HAVING count(*) >= 2
            ) s
        )"""
TRACKS_TILE = f"""
SELECT ST_AsMVT(t, %(layer)s, 4096, 'geom', 'id'), count(*)
FROM (
    SELECT l.id, l.inspector, l.status, l.started, l.ended, l.distance_m,
           ST_AsMVTGeom(ST_Transform(l.geom, 3857), {ENVELOPE}, 4096, 64, true) AS geom
    FROM (
        SELECT {_TRACK_COLUMNS}, pa.geom
        FROM patrols_patrol pa
        WHERE pa.status = 'ended' AND pa.geom && {IN_TILE}{_TRACKS_FILTER}
        UNION ALL
        SELECT {_TRACK_COLUMNS}, {_WALKING_LINE} AS geom
        FROM patrols_patrol pa
        WHERE pa.status = 'active'{_TRACKS_FILTER}
          AND EXISTS (SELECT 1 FROM patrols_trackpoint tp
                      WHERE tp.patrol_id = pa.id AND tp.status = 'ok' AND tp.geom && {IN_TILE})
    ) l
    ORDER BY l.id
    LIMIT %(cap)s
) t
WHERE t.geom IS NOT NULL
"""

# The offline basemap (docs/operations.md, "The offline basemap"): the reference features
# from `tiles_reference`, their trigger-kept EPSG:3857 copy (migrations/0007), one MVT layer
# per kind. `minzoom` (set by the copy's trigger, per class and, for areas, per size) keeps a
# zoomed-out tile to main roads and large water; the statement names the zoom as a literal so
# the planner can use the partial indexes of the rows drawn below z13 and z15. Geometries are
# simplified to half a pixel of the zoom before ST_AsMVTGeom (which only snaps to its grid), so
# a zoomed-out tile carries no vertices nobody can see. Within a kind, features go out the least
# important first (lanes before main roads): the renderer draws in that order, main roads on top.
REFERENCE_KINDS = ("green", "water", "buildings", "walls", "roads")
REFERENCE_LABEL_ZOOM = 14  # road names from here (main and secondary; streets z15, lanes z17)
_REFERENCE_ROWS = f"""
WITH f AS MATERIALIZED (
    SELECT r.id, r.kind, r.feature_class AS class, NULLIF(r.name, '') AS name, r.minzoom,
           ST_AsMVTGeom(ST_Simplify(r.geom, %(tolerance)s), (SELECT {ENVELOPE}::box2d),
                        4096, 64, true) AS geom
    FROM tiles_reference r
    WHERE r.geom && {ENVELOPE} AND r.minzoom <= {{z}}
    ORDER BY r.minzoom, r.id
    LIMIT %(cap)s
)"""
_REFERENCE_KIND = """coalesce((SELECT ST_AsMVT(t, '{kind}', 4096, 'geom') FROM (
    SELECT f.class, f.name, f.geom FROM f
    WHERE f.kind = '{kind}' AND f.geom IS NOT NULL ORDER BY f.minzoom DESC, f.id) t), '')"""
# Road names: per name, its pieces in the tile merged (OpenStreetMap cuts a street into many
# ways), and on its longest merged line the midpoint (tile units, y down) and the direction
# there, turned so that text never reads upside down. Only lines long enough for the name
# (~6 px a Latin character, twice that a Chinese one) and points away from the tile's edge,
# where the text would be cut.
_REFERENCE_LABELS = """coalesce((SELECT ST_AsMVT(l, 'labels', 4096, 'geom') FROM (
    SELECT DISTINCT ON (p.name) p.name, p.class,
           round(CASE WHEN p.angle > 90 THEN p.angle - 180
                      WHEN p.angle <= -90 THEN p.angle + 180 ELSE p.angle END)::int AS angle,
           p.geom
    FROM (
        SELECT m.name, m.class, ST_Length(d.geom) AS len,
               ST_SnapToGrid(ST_LineInterpolatePoint(d.geom, 0.5), 1) AS geom,
               degrees(atan2(ST_Y(ST_LineInterpolatePoint(d.geom, 0.55))
                             - ST_Y(ST_LineInterpolatePoint(d.geom, 0.45)),
                             ST_X(ST_LineInterpolatePoint(d.geom, 0.55))
                             - ST_X(ST_LineInterpolatePoint(d.geom, 0.45)))) AS angle
        FROM (
            SELECT f.name, (array_agg(f.class ORDER BY f.minzoom))[1] AS class,
                   ST_LineMerge(ST_Collect(f.geom)) AS geom
            FROM f
            WHERE f.kind = 'roads' AND f.name IS NOT NULL AND f.minzoom <= {z} - 2
              AND f.geom IS NOT NULL
            GROUP BY f.name
        ) m, LATERAL ST_Dump(m.geom) d
        WHERE GeometryType(d.geom) = 'LINESTRING'
    ) p
    WHERE p.len >= 100 * (char_length(p.name) + (octet_length(p.name) - char_length(p.name)) / 2)
      AND ST_X(p.geom) BETWEEN 192 AND 3904 AND ST_Y(p.geom) BETWEEN 192 AND 3904
    ORDER BY p.name, p.len DESC) l), '')"""


def reference_tile_sql(z: int) -> str:
    """The reference layer's statement at zoom z: every kind, and road names from
    REFERENCE_LABEL_ZOOM, concatenated (an MVT is a sequence of layers)."""
    parts = [_REFERENCE_KIND.format(kind=kind) for kind in REFERENCE_KINDS]
    if z >= REFERENCE_LABEL_ZOOM:
        parts.append(_REFERENCE_LABELS.format(z=z))
    body = "\n    || ".join(parts)
    rows = _REFERENCE_ROWS.format(z=z)
    return f"{rows}\nSELECT {body},\n    (SELECT count(*) FROM f WHERE f.geom IS NOT NULL)"


# The tracks' data version: the sum of the buckets' versions (tiles/migrations/0005). Every
# committed write to patrols or their points raises at least one bucket, so the sum only grows.
TRACKS_VERSION_SQL = "SELECT sum(version)::bigint FROM tiles_track_version"


@dataclass(frozen=True)
class Layer:
    name: str
    table_version: str  # tiles_version_<layer>: names its version row (migrations/0003)
    filters: tuple[str, ...]  # query parameters it understands
    fields: dict[str, str] = field(default_factory=dict)  # TileJSON vector_layers fields
    public: bool = True  # readable without login when GEOGRID_PUBLIC_READ_API is on
    city_wide_only: bool = False  # individual features only for city-wide roles
    # Rendered ahead of time by `seed_tiles` (geogrid.tiles.seeding), without filters: a
    # public layer that changes only when planners edit it.
    seedable: bool = False
    # The roles that may read it (None: any role); the view narrows a reader who is not
    # city-wide to their own features (tracks: an inspector their own patrols).
    readers: frozenset[str] | None = None
    # Layers of several MVT layers (the basemap): (id, first zoom, fields) of each, for the
    # TileJSON.
    sublayers: tuple[tuple[str, int, tuple[str, ...]], ...] = ()

    def sql(self, z: int) -> str:
        if self.name == "reference":
            return reference_tile_sql(z)
        if self.name == "grids":
            return GRIDS_TILE_FAST if z >= FAST_POLYGON_ZOOM else GRIDS_TILE
        if self.name == "heat":
            return HEAT_TILE
        if self.name == "tracks":
            return TRACKS_TILE
        if self.name == "components":
            parts = {
                "rows": COMPONENTS_ROWS,
                "columns": COMPONENTS_COLUMNS,
                "to_3857": TO_3857,
                "point": ANY_POINT,
                "table": "components_component",
            }
        else:
            parts = {
                "rows": CASES_ROWS,
                "columns": CASES_COLUMNS,
                "to_3857": CASE_TO_3857,
                "point": "c.geom",
                "table": "cases_case",
            }
        template = _THINNED_TILE if z < THIN_BELOW_ZOOM else _POINT_TILE
        return template.format(envelope=ENVELOPE, **parts)

    @property
    def version_row(self) -> str:
        """The layer's row in tiles_layer_version (migrations/0003): VERSION_SQL's parameter."""
        return self.table_version.removeprefix("tiles_version_")

    def version_query(self) -> tuple[str, tuple]:
        """The statement reading the layer's data version, and its parameters."""
        if self.name == "tracks":
            return TRACKS_VERSION_SQL, ()
        return VERSION_SQL, (self.version_row,)

    def values(self, z: int, x: int, y: int, filters: dict, *, cap: int) -> dict:
        """The parameters of `sql(z)` for this tile: the request's filters (DEFAULT_FILTERS
        when it has none), the zoom's own figures, the tile and the feature cap."""
        return {
            **filters,
            **self.parameters(z),
            "z": z,
            "x": x,
            "y": y,
            "layer": self.name,
            "cap": cap,
        }

    def parameters(self, z: int) -> dict[str, float]:
        if self.name == "heat":
            return {"bin": WORLD_M / (2**z) / HEAT_BINS}
        if self.name in ("components", "cases"):
            return {"cell": THIN_PIXELS * pixel_metres(z)}
        if self.name == "tracks":
            return {"gap": float(settings.GEOGRID_PATROL_GAP_S)}
        if self.name == "reference":
            return {"tolerance": pixel_metres(z) / 2}
        return {}


VERSION_SQL = "SELECT version FROM tiles_layer_version WHERE layer = %s"

# A request's filters when it names none: unit grids; every class, status and date.
DEFAULT_FILTERS: dict = {
    "class": None,
    "status": None,
    "since": None,
    "until": None,
    "level": "unit",
    "day_start": None,
    "day_end": None,
    "inspector": None,
    "viewer": None,
}

LAYERS = {
    "components": Layer(
        "components",
        "tiles_version_components",
        ("class", "status"),
        {
            "code": "部件标识码 (component code)",
            "class_code": "类别代码",
            "status": "状态",
            "n": "features this one stands for (thinned tiles)",
        },
    ),
    "cases": Layer(
        "cases",
        "tiles_version_cases",
        ("class", "status", "since", "until"),
        {
            "service_code": "案件类别",
            "status": "状态",
            "overdue": "已超期",
            "kind": "部件/事件",
            "n": "features this one stands for (thinned tiles)",
        },
        public=False,
        city_wide_only=True,
    ),
    "grids": Layer(
        "grids",
        "tiles_version_grids",
        ("level",),
        {
            "code": "网格编码",
            "name": "名称",
            "level": "层级",
            "grid_type": "类型",
            "area_class": "区域类别",
        },
        seedable=True,
    ),
    "heat": Layer(
        "heat",
        "tiles_version_cases",
        ("class", "status", "since", "until"),
        {"n": "reports in the bin"},
        public=False,
    ),
    "tracks": Layer(
        "tracks",
        "tiles_version_tracks",
        ("day", "inspector"),
        {
            "inspector": "监督员 (user id)",
            "status": "巡查状态 (active, ended)",
            "started": "开始时间 (Unix seconds)",
            "ended": "结束时间 (Unix seconds; empty while walking)",
            "distance_m": "里程 (m)",
        },
        public=False,
        readers=frozenset({*CITY_WIDE_ROLES, Role.INSPECTOR}),
    ),
    # Public reference data (roads, water, buildings…: no personal data), read by every map.
    "reference": Layer(
        "reference",
        "tiles_version_reference",
        (),
        {
            "class": "等级 (main, secondary, street, lane, river, stream, wall, railway, "
            "building, park)",
            "name": "名称",
            "angle": "labels: the road's direction at the label, degrees clockwise (-90…90]",
        },
        sublayers=(
            ("green", 8, ("class", "name")),
            ("water", 8, ("class", "name")),
            ("buildings", 15, ("class", "name")),
            ("walls", 12, ("class", "name")),
            ("roads", 10, ("class", "name")),
            ("labels", REFERENCE_LABEL_ZOOM, ("class", "name", "angle")),
        ),
    ),
}


def tile_in_range(z: int, x: int, y: int, max_zoom: int) -> bool:
    return 0 <= z <= max_zoom and 0 <= x < 2**z and 0 <= y < 2**z


def lonlat_of_tile(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(west, south, east, north) in degrees."""
    n = 2**z

    def lat(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y)
