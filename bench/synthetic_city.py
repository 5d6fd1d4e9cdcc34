"""The benchmark city: 16,000 non-square unit grids and clustered points, all deterministic.

Geometry (pure, no database):
  - `unit_cells()`: Voronoi cells of a jittered hexagonal lattice (fixed seed), each edge
    bent by a few extra vertices so that cells have 10–40 vertices like real boundaries.
    Neighbours share every vertex bit for bit (each edge is bent once, canonically), so the
    cells form an exact coverage: no gaps, no overlaps, and a point on a shared edge really
    lies on both grids.
  - `clustered_points()`: points in a few dozen Gaussian clusters plus a uniform background,
    some outside the city, a few exactly on grid vertices (the tie-break case).

Database (`ensure_synthetic_city()`): district 110105 → street 110105001 → community
110105001001 (all three the union of the cells, created through the grid services) and the
16,000 unit grids under that ONE community, written with COPY. The services cannot write them:
a 15-digit unit code has a 3-digit sequence (at most 999 children per community), so the units
get 17-digit codes (community + 5 digits) that only the database's `^[0-9]{6,20}$` check
accepts. They are benchmark data, never real codes. The city sits east of Dongcheng (the demo
city), so the two never overlap. Idempotent: an existing, complete synthetic city is reused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from django.db import connection, transaction
from pyproj import Transformer
from shapely.geometry import MultiPoint, MultiPolygon, Polygon

from bench.common import deleting_benchmark_audit_rows

SEED = 20240611
DISTRICT_CODE = "110105"
STREET_CODE = DISTRICT_CODE + "001"
COMMUNITY_CODE = STREET_CODE + "001"
UNIT_SEQUENCE_DIGITS = 5  # see the module docstring: 16,000 children need 5 digits
# Marks the rows this module owns: drop_synthetic_city() refuses to touch anything else.
MARKER = "bench synthetic city"

COLUMNS, ROWS = 160, 100  # 16,000 cells
CELL_AREA_M2 = 12_000.0  # mean; jitter spreads cells over roughly 6,000–19,000 m²
# South-west corner in CGCS2000 / 3° Gauss-Krüger zone 39 (EPSG:4548): lon ~116.51, lat ~39.90,
# east of Dongcheng (whose eastern edge is near easting 453,000).
ORIGIN_M = (458_000.0, 4_418_000.0)
METRIC_EPSG = 4548
STORAGE_EPSG = 4490


@dataclass(frozen=True)
class SyntheticCity:
    cells: np.ndarray  # shapely Polygons, storage CRS, reading order (rows north→south)
    region: MultiPolygon | None  # union of the cells, storage CRS
    vertex_counts: np.ndarray
    areas_m2: np.ndarray


# The grids_grid columns the generated unit grids are copied into (here and in bench/growth.py).
GRID_COPY_COLUMNS = (
    "code",
    "name",
    "level_id",
    "parent_id",
    "district_code",
    "grid_type",
    "area_class",
    "source",
    "officer_name",
    "officer_phone",
    "responsible_department",
    "geom",
    "area_m2",
    "valid_from",
    "version",
    "created_at",
    "updated_at",
)


def _to_storage(geoms):
    transformer = Transformer.from_crs(METRIC_EPSG, STORAGE_EPSG, always_xy=True)
    return shapely.transform(
        geoms, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))
    )


def _lattice_seeds(
    rng: np.random.Generator,
    columns: int = COLUMNS,
    rows: int = ROWS,
    origin: tuple[float, float] = ORIGIN_M,
) -> tuple[np.ndarray, np.ndarray]:
    """Seeds of a jittered hex lattice with one extra ring; returns (seeds, mask of inner ones).

    The extra ring only bounds the inner cells; its own (unbounded) cells are thrown away, so
    no cell is ever clipped and every vertex is a Voronoi vertex shared by its neighbours.
    """
    spacing = math.sqrt(CELL_AREA_M2 * 2 / math.sqrt(3))
    row_height = spacing * math.sqrt(3) / 2
    row_numbers = np.arange(-1, rows + 1)
    cols = np.arange(-1, columns + 1)
    col_grid, row_grid = np.meshgrid(cols, row_numbers)
    # Row 0 is the northernmost, so cells come out in reading order (west→east, north→south).
    x = origin[0] + (col_grid + 0.5 * (row_grid % 2)) * spacing
    y = origin[1] + (rows - 1 - row_grid) * row_height
    jitter = rng.uniform(-0.22, 0.22, (2, *x.shape)) * spacing
    seeds = np.column_stack([(x + jitter[0]).ravel(), (y + jitter[1]).ravel()])
    inner = (row_grid >= 0) & (row_grid < rows) & (col_grid >= 0) & (col_grid < columns)
    return seeds, inner.ravel()


def _hash01(a: np.ndarray, b: np.ndarray, salt: float) -> np.ndarray:
    """A deterministic pseudo-random number in [0, 1) from an edge's two end points."""
    value = (
        np.sin(a[:, 0] * 0.0127 + a[:, 1] * 0.0311 + b[:, 0] * 0.0173 + b[:, 1] * 0.0229 + salt)
        * 43758.5453
    )
    return value - np.floor(value)


def _bend_edges(cells: np.ndarray) -> list[Polygon]:
    """Insert 1–5 slightly offset vertices into every edge, identically for both neighbours.

    An edge is identified by its end points in canonical (sorted) order, so the two cells that
    share it compute the same extra vertices from the same bits, just walked the other way.
    """
    coords, owner = shapely.get_coordinates(shapely.get_exterior_ring(cells), return_index=True)
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    ends = np.r_[starts[1:], len(coords)]
    bent: list[Polygon] = []
    for start, end in zip(starts, ends, strict=True):
        ring = coords[start:end]  # closed: first == last
        a, b = ring[:-1], ring[1:]
        swap = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
        p = np.where(swap[:, None], b, a)
        q = np.where(swap[:, None], a, b)
        count = 1 + (_hash01(p, q, 1.0) * 5).astype(int)
        # A half-sine bump of at most 6 % of the edge's length: it leaves the end points at an
        # angle under 11°, too little to cross the neighbouring edges of a Voronoi cell.
        amplitude = (_hash01(p, q, 2.0) - 0.5) * 0.12
        direction = q - p
        normal = np.column_stack([-direction[:, 1], direction[:, 0]])
        points: list[np.ndarray] = []
        for i in range(len(a)):
            t = np.arange(1, count[i] + 1) / (count[i] + 1)
            extra = (
                p[i]
                + t[:, None] * direction[i]
                + (amplitude[i] * np.sin(np.pi * t))[:, None] * normal[i]
            )
            points.append(a[i : i + 1])
            points.append(extra[::-1] if swap[i] else extra)
        points.append(a[:1])
        bent.append(Polygon(np.concatenate(points)))
    return bent


def unit_cells(
    seed: int = SEED,
    *,
    columns: int = COLUMNS,
    rows: int = ROWS,
    origin: tuple[float, float] = ORIGIN_M,
    union: bool = True,
) -> SyntheticCity:
    """The 16,000 unit-grid polygons (storage CRS) and their union; deterministic for a seed.
    Other sizes (`columns` × `rows` cells from `origin`, metres in EPSG:4548) make the growth
    benchmark's larger city (bench/growth.py), which unions its parts itself (`union=False`:
    `region` is then None)."""
    rng = np.random.default_rng(seed)
    seeds, inner = _lattice_seeds(rng, columns, rows, origin)
    frame = shapely.box(*MultiPoint(seeds).bounds).buffer(1_000)
    voronoi = shapely.voronoi_polygons(MultiPoint(seeds), extend_to=frame, ordered=True)
    cells_m = np.asarray(shapely.get_parts(voronoi))[inner]
    cells_m = np.asarray(_bend_edges(cells_m), dtype=object)
    if not shapely.is_valid(cells_m).all():
        raise RuntimeError("synthetic city: a bent cell is invalid; change the bend amplitude")
    areas = shapely.area(cells_m)
    cells = np.asarray(_to_storage(cells_m), dtype=object)
    vertex_counts = shapely.get_num_coordinates(cells) - 1  # the closing vertex is a repeat
    region = shapely.coverage_union_all(cells) if union else None
    if region is not None and region.geom_type == "Polygon":
        region = MultiPolygon([region])
    return SyntheticCity(cells=cells, region=region, vertex_counts=vertex_counts, areas_m2=areas)


def clustered_points(
    n: int,
    bounds: tuple[float, float, float, float],
    *,
    seed: int = SEED,
    vertices: np.ndarray | None = None,
    vertex_share: float = 0.005,
) -> tuple[np.ndarray, np.ndarray]:
    """`n` points (lon, lat arrays, storage CRS) clustered like reports in a city.

    70 % in 40 Gaussian clusters of 150–1,500 m, 30 % uniform over `bounds` grown by 3 % (so a
    few fall outside every grid) and, when `vertices` (an (m, 2) lon/lat array) is given,
    `vertex_share` of them exactly on those vertices, where several grids touch.
    """
    rng = np.random.default_rng(seed)
    to_metric = Transformer.from_crs(STORAGE_EPSG, METRIC_EPSG, always_xy=True)
    to_storage = Transformer.from_crs(METRIC_EPSG, STORAGE_EPSG, always_xy=True)
    x0, y0 = to_metric.transform(bounds[0], bounds[1])
    x1, y1 = to_metric.transform(bounds[2], bounds[3])
    grow_x, grow_y = (x1 - x0) * 0.03, (y1 - y0) * 0.03
    n_vertex = int(n * vertex_share) if vertices is not None and len(vertices) else 0
    n_cluster = int((n - n_vertex) * 0.7)
    n_uniform = n - n_vertex - n_cluster
    centres = np.column_stack([rng.uniform(x0, x1, 40), rng.uniform(y0, y1, 40)])
    sigma = rng.uniform(150, 1_500, 40)
    weights = rng.dirichlet(np.ones(40))
    which = rng.choice(40, n_cluster, p=weights)
    clustered = centres[which] + rng.standard_normal((n_cluster, 2)) * sigma[which, None]
    uniform = np.column_stack(
        [
            rng.uniform(x0 - grow_x, x1 + grow_x, n_uniform),
            rng.uniform(y0 - grow_y, y1 + grow_y, n_uniform),
        ]
    )
    metric = np.concatenate([clustered, uniform])
    lon, lat = to_storage.transform(metric[:, 0], metric[:, 1])
    if n_vertex:
        picked = vertices[rng.integers(0, len(vertices), n_vertex)]
        lon = np.concatenate([lon, picked[:, 0]])
        lat = np.concatenate([lat, picked[:, 1]])
    order = rng.permutation(n)  # interleave the kinds, as an import file would
    return np.ascontiguousarray(lon[order]), np.ascontiguousarray(lat[order])


# --- Database ---------------------------------------------------------------------------------
def _unit_code(sequence: int) -> str:
    return f"{COMMUNITY_CODE}{sequence:0{UNIT_SEQUENCE_DIGITS}d}"


def synthetic_status() -> tuple[int | None, int]:
    """(id of the synthetic community or None, its number of active unit grids)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM grids_grid WHERE code = %s AND name LIKE %s AND valid_to IS NULL",
            [COMMUNITY_CODE, f"%{MARKER}%"],
        )
        row = cursor.fetchone()
        if row is None:
            return None, 0
        cursor.execute(
            "SELECT count(*) FROM grids_grid WHERE parent_id = %s AND valid_to IS NULL", [row[0]]
        )
        return row[0], cursor.fetchone()[0]


def ensure_synthetic_city(progress=print) -> tuple[int, bool]:
    """Create the synthetic city if absent; returns (community id, created now?).

    Raises RuntimeError when a district 110105 exists that is not (a complete) synthetic city:
    the benchmark never overwrites data it does not own.
    """
    community_id, units = synthetic_status()
    expected = COLUMNS * ROWS
    if community_id is not None and units == expected:
        return community_id, False
    if community_id is not None:
        raise RuntimeError(
            f"The synthetic community {COMMUNITY_CODE} has {units} unit grids, not {expected}; "
            "drop it (python -m bench --drop-synthetic) and run again."
        )
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM grids_grid WHERE code LIKE %s LIMIT 1", [DISTRICT_CODE + "%"])
        if cursor.fetchone():
            raise RuntimeError(
                f"District {DISTRICT_CODE} already holds grids that are not the benchmark's "
                "synthetic city; the benchmark leaves them alone. Remove them or change "
                "bench.synthetic_city.DISTRICT_CODE."
            )
    progress("generating 16,000 synthetic unit grids (jittered Voronoi, fixed seed)…")
    city = unit_cells()
    progress(
        f"  vertices per grid {city.vertex_counts.min()}–{city.vertex_counts.max()}, "
        f"areas {city.areas_m2.min():,.0f}–{city.areas_m2.max():,.0f} m²; writing…"
    )
    return _write(city), True


@transaction.atomic
def _write(city: SyntheticCity) -> int:
    from django.utils import timezone

    from geogrid.grids.models import Grid, GridEvent, GridLevel, GridSource, GridType
    from geogrid.grids.services.editing import create_grids, ensure_default_levels
    from geogrid.grids.validation import Candidate

    ensure_default_levels()
    levels = {level.depth: level for level in GridLevel.objects.all()}
    parent = None
    # The three administrative levels go through the services: valid codes, full checks.
    for depth, code in enumerate((DISTRICT_CODE, STREET_CODE, COMMUNITY_CODE)):
        (parent,) = create_grids(
            actor=None,
            level=levels[depth],
            parent=parent,
            source=GridSource.GENERATED,
            candidates=[
                Candidate(
                    geom=city.region,
                    code=code,
                    name=f"{code} ({MARKER})",
                    attrs={"grid_type": GridType.ADMINISTRATIVE},
                )
            ],
        )
    community = parent
    unit_level = levels[3]
    now = timezone.now()
    wkb = shapely.to_wkb(
        shapely.set_srid(
            np.asarray([MultiPolygon([cell]) for cell in city.cells], dtype=object), STORAGE_EPSG
        ),
        hex=True,
        include_srid=True,
    )
    columns = GRID_COPY_COLUMNS
    raw = connection.connection  # psycopg: COPY is ~20× faster than bulk_create here
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY grids_grid ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for sequence, (geom_hex, area) in enumerate(zip(wkb, city.areas_m2, strict=True), 1):
            code = _unit_code(sequence)
            copy.write_row(
                (
                    code,
                    code,
                    unit_level.id,
                    community.id,
                    DISTRICT_CODE,
                    GridType.OTHER,
                    "",
                    GridSource.GENERATED,
                    "",
                    "",
                    "",
                    geom_hex,
                    round(float(area), 2),
                    now,
                    1,
                    now,
                    now,
                )
            )
    with connection.cursor() as cursor:
        # The first boundary version of each unit grid, as the services would have written.
        cursor.execute(
            "INSERT INTO grids_gridboundary (grid_id, version, geom, area_m2, valid_from, reason)"
            " SELECT id, 1, geom, area_m2, valid_from, %s FROM grids_grid WHERE parent_id = %s",
            [MARKER, community.id],
        )
    GridEvent.objects.create(
        grid=community,
        action="created",
        actor=None,
        details={
            "source": MARKER,
            "children": len(city.cells),
            "note": "unit grids written with COPY",
        },
    )
    Grid.objects.filter(pk=community.pk).update(updated_at=now)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE grids_grid")
    return community.id


@transaction.atomic
def drop_synthetic_city() -> int:
    """Delete the synthetic city (and only it); returns the number of grids deleted."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, name FROM grids_grid WHERE code = %s", [DISTRICT_CODE])
        row = cursor.fetchone()
        if row is None:
            return 0
        if MARKER not in row[1]:
            raise RuntimeError(
                f"District {DISTRICT_CODE} is not the benchmark's synthetic city; it is left alone."
            )
        with deleting_benchmark_audit_rows(
            cursor, "components_componentevent", "cases_caseevent", "grids_gridevent"
        ):
            return _delete_synthetic_rows(cursor)


def _delete_synthetic_rows(cursor: Any) -> int:
    subtree = "SELECT id FROM grids_grid WHERE code LIKE %s"
    pattern = [DISTRICT_CODE + "%"]
    # Components and cases placed in it by the tile and intake benchmarks go first (their
    # grid is a PROTECT foreign key).
    for table in ("components_componentevent", "components_componentphoto"):
        cursor.execute(
            f"DELETE FROM {table} WHERE component_id IN (SELECT id FROM "
            "components_component WHERE district_code = %s)",
            [DISTRICT_CODE],
        )
    cursor.execute("DELETE FROM components_component WHERE district_code = %s", [DISTRICT_CODE])
    cursor.execute(
        "DELETE FROM cases_caseevent WHERE case_id IN (SELECT id FROM "
        "cases_case WHERE district_code = %s)",
        [DISTRICT_CODE],
    )
    cursor.execute("DELETE FROM cases_case WHERE district_code = %s", [DISTRICT_CODE])
    for table in ("grids_gridevent", "grids_gridboundary", "grids_gridscope"):
        cursor.execute(f"DELETE FROM {table} WHERE grid_id IN ({subtree})", pattern)
    deleted = 0
    # Children before parents (parent_id is a PROTECT foreign key).
    for length in (len(_unit_code(1)), 12, 9, 6):
        cursor.execute(
            "DELETE FROM grids_grid WHERE code LIKE %s AND length(code) = %s",
            [DISTRICT_CODE + "%", length],
        )
        deleted += cursor.rowcount
    return deleted
