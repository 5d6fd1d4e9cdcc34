"""Seeding: rendering a layer's tiles ahead of time, so a request reads a stored tile instead
of running ST_AsMVT on a core that other requests need.

Only layers marked `seedable` (the grids), only without filters, and only up to
GEOGRID_TILE_SEED_MAX_ZOOM: that is what the public map asks for most and what changes only
when planners edit grids. A tile is stored with the layer's data version (tiles_layer_version)
it was rendered at, read in the same REPEATABLE READ snapshot as the tile; the tile view serves
it only while that is still the layer's version, so a grid edit makes every seeded tile stale
in the edit's own transaction and stale tiles are rendered on request as before: seeding can
make a tile faster, never older. Empty tiles are not stored (they render in well under a
millisecond). `seed_tiles --if-stale` from a timer (deploy/geogrid-seed-tiles.timer) re-seeds
after edits; docs/operations.md.

Work is done in chunks of CHUNK_TILES tiles, one short transaction each, so a long seeding
neither holds back vacuum nor loses its work to one failure; one seeding at a time per database
(an advisory lock).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from geogrid.core.db import raw_cursor
from geogrid.tiles.layers import DEFAULT_FILTERS, EXTENT, LAYERS, VERSION_SQL, WORLD_M, Layer

log = logging.getLogger(__name__)

CHUNK_TILES = 200
BUFFER_UNITS = 64  # the tile buffer of every layer's ST_AsMVTGeom (layers.py)
# pg_try_advisory_lock key: one seeding at a time ("GGseed" as an integer).
SEED_LOCK = 0x4747_7365_6564

SEEDED_TILE_SQL = """
SELECT v.version, s.body, s.features
FROM tiles_layer_version v
LEFT JOIN tiles_seededtile s
       ON s.layer = %(layer)s AND s.z = %(z)s AND s.x = %(x)s AND s.y = %(y)s
      AND s.version = v.version
WHERE v.layer = %(version_layer)s
"""

UPSERT_SQL = """
INSERT INTO tiles_seededtile (layer, z, x, y, version, body, features, seeded_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (layer, z, x, y) DO UPDATE
SET version = EXCLUDED.version, body = EXCLUDED.body, features = EXCLUDED.features,
    seeded_at = EXCLUDED.seeded_at
"""


class SeedingError(Exception):
    """Seeding cannot start; the message says why."""


@dataclass
class SeedReport:
    layer: str
    version: int
    skipped: bool = False  # --if-stale and every seeded tile was current
    considered: int = 0  # tiles covering the layer's features, zoom by zoom
    stored: int = 0  # non-empty tiles written
    removed: int = 0  # stale tiles deleted at the end
    seconds: float = 0.0


def _version(cursor, layer: Layer) -> int:
    return cursor.execute(VERSION_SQL, (layer.version_row,)).fetchone()[0]


def _feature_boxes(cursor) -> np.ndarray:
    """(n, 4) EPSG:3857 boxes (xmin, ymin, xmax, ymax) of the unit grids the default grids
    tile shows."""
    rows = cursor.execute(
        "SELECT ST_XMin(g.geom), ST_YMin(g.geom), ST_XMax(g.geom), ST_YMax(g.geom) "
        "FROM tiles_grid g WHERE g.level_id = (SELECT l.id FROM grids_gridlevel l "
        "WHERE l.slug = %s)",
        (DEFAULT_FILTERS["level"],),
    ).fetchall()
    return np.array(rows, dtype=np.float64).reshape(-1, 4)


def covering_tiles(boxes: np.ndarray, z: int) -> np.ndarray:
    """(m, 2) distinct (x, y) of the zoom-z tiles whose buffered envelope meets a box: every
    tile that can show one of them (tiles not listed render empty)."""
    if len(boxes) == 0:
        return np.empty((0, 2), dtype=np.int64)
    size = WORLD_M / 2**z
    pad = size * BUFFER_UNITS / EXTENT
    half = WORLD_M / 2
    last = 2**z - 1
    x0 = np.clip(np.floor((boxes[:, 0] - pad + half) / size), 0, last).astype(np.int64)
    x1 = np.clip(np.floor((boxes[:, 2] + pad + half) / size), 0, last).astype(np.int64)
    y0 = np.clip(np.floor((half - boxes[:, 3] - pad) / size), 0, last).astype(np.int64)
    y1 = np.clip(np.floor((half - boxes[:, 1] + pad) / size), 0, last).astype(np.int64)
    widths, heights = x1 - x0 + 1, y1 - y0 + 1
    counts = widths * heights
    owner = np.repeat(np.arange(len(boxes)), counts)
    # Position of each generated tile inside its box's rectangle of tiles.
    offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    xs = x0[owner] + offset % widths[owner]
    ys = y0[owner] + offset // widths[owner]
    return np.unique(np.column_stack([xs, ys]), axis=0)


def seed_layer(
    *,
    layer: str = "grids",
    min_zoom: int = 0,
    max_zoom: int | None = None,
    if_stale: bool = False,
    progress: Callable[[Iterable, int], Iterable] | None = None,
) -> SeedReport:
    """Render and store the layer's non-empty tiles from min_zoom to max_zoom (default
    GEOGRID_TILE_SEED_MAX_ZOOM) at its current data version, then delete the tiles of older
    versions. With if_stale, do nothing when some tiles are stored and all are current.
    `progress(chunks, total_tiles)` may wrap the chunk iterator (a progress bar)."""
    spec = LAYERS.get(layer)
    if spec is None or not spec.seedable:
        seedable = ", ".join(name for name, s in LAYERS.items() if s.seedable)
        raise SeedingError(f"The {layer!r} layer is not seeded; seedable: {seedable}.")
    top = settings.GEOGRID_TILE_SEED_MAX_ZOOM if max_zoom is None else max_zoom
    if not 0 <= min_zoom <= top <= settings.GEOGRID_TILE_MAX_ZOOM:
        raise SeedingError(
            f"Zooms must run 0 ≤ min ({min_zoom}) ≤ max ({top}) ≤ "
            f"{settings.GEOGRID_TILE_MAX_ZOOM} (GEOGRID_TILE_MAX_ZOOM)."
        )
    started = time.perf_counter()
    with raw_cursor(for_write=True) as cursor:
        if not cursor.execute("SELECT pg_try_advisory_lock(%s)", (SEED_LOCK,)).fetchone()[0]:
            raise SeedingError(
                "Another seed_tiles is running on this database; try again when it has finished."
            )
    try:
        return _seed(spec, min_zoom, top, if_stale, progress, started)
    finally:
        with raw_cursor(for_write=True) as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", (SEED_LOCK,))


def _seed(
    spec: Layer,
    min_zoom: int,
    max_zoom: int,
    if_stale: bool,
    progress: Callable[[Iterable, int], Iterable] | None,
    started: float,
) -> SeedReport:
    with raw_cursor(for_write=True) as cursor:
        start_version = _version(cursor, spec)
        stored, current = cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE version = %s) FROM tiles_seededtile "
            "WHERE layer = %s",
            (start_version, spec.name),
        ).fetchone()
        report = SeedReport(layer=spec.name, version=start_version)
        if if_stale and stored and stored == current:
            report.skipped = True
            return report
        boxes = _feature_boxes(cursor)
    tiles = [
        (z, int(x), int(y))
        for z in range(min_zoom, max_zoom + 1)
        for x, y in covering_tiles(boxes, z)
    ]
    report.considered = len(tiles)
    chunks = [tiles[i : i + CHUNK_TILES] for i in range(0, len(tiles), CHUNK_TILES)]
    cap = settings.GEOGRID_TILE_MAX_FEATURES
    # Called inside a caller's transaction (a test, a script), the chunks are savepoints of it
    # and read its snapshot; on their own, each is a transaction of its own.
    own_transactions = not transaction.get_connection().in_atomic_block
    for chunk in progress(chunks, len(tiles)) if progress else chunks:
        with transaction.atomic(), raw_cursor(for_write=True) as cursor:
            if own_transactions:
                # The version and the tiles from one snapshot: each stored tile is exactly
                # the data of the version stored with it.
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            version = _version(cursor, spec)
            now = timezone.now()
            rows = []
            for z, x, y in chunk:
                body, count = cursor.execute(
                    spec.sql(z), spec.values(z, x, y, DEFAULT_FILTERS, cap=cap), prepare=True
                ).fetchone()
                if count:
                    rows.append((spec.name, z, x, y, version, bytes(body), count, now))
            if rows:
                cursor.executemany(UPSERT_SQL, rows)
            report.stored += len(rows)
    with transaction.atomic(), raw_cursor(for_write=True) as cursor:
        # Tiles rendered before this run (older versions), including those now empty.
        report.removed = cursor.execute(
            "DELETE FROM tiles_seededtile WHERE layer = %s AND version < %s",
            (spec.name, start_version),
        ).rowcount
    report.seconds = round(time.perf_counter() - started, 2)
    log.info(
        "tiles seeded",
        extra={
            "layer": spec.name,
            "version": report.version,
            "zooms": f"{min_zoom}-{max_zoom}",
            "tiles_considered": report.considered,
            "tiles_stored": report.stored,
            "tiles_removed": report.removed,
            "duration_s": report.seconds,
        },
    )
    return report
