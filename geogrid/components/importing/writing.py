"""Writing an import (commit), in one transaction (docs/architecture.md §3.1, §4.3).

First one ComponentImport audit record (who, when, which file, what it created), then one
binary COPY straight into components_component, every row pointing at that record
(Component.import_batch: its history starts there, as a drawn component's starts with a
'created' event). The COPY's columns are prepared and encoded with numpy
(geogrid/core/pgcopy.py) in slices of COPY_SLICE_ROWS rows (points' EWKB included) while a
writer thread sends the previous slice, so the server starts on the first rows at once and
preparing overlaps its inserting. Rows are written, and new serials numbered, grid by grid and
north→south, west→east inside a grid: the GiST and code indexes then fill page by page.

A superuser skips the foreign-key triggers for the COPY (as pg_restore --disable-triggers does):
every reference has been checked by the import already. Other roles keep them, checked at
commit. What each of these choices costs or saves is measured in bench/README.md
(`import_components`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import psycopg
import shapely
from django.db import DatabaseError, transaction
from django.utils import timezone
from psycopg.copy import QueuedLibpqWriter

from geogrid.components.importing.codes import assign_codes
from geogrid.components.importing.fields import DATA_SOURCE_ORDER, STATUS_ORDER
from geogrid.components.importing.run import ImportRun
from geogrid.components.models import ComponentAction, ComponentImport, Currency
from geogrid.core.codes import CodeError
from geogrid.core.db import raw_cursor
from geogrid.core.pgcopy import (
    COPY_HEADER,
    COPY_TRAILER,
    binary_copy_rows,
    digit_matrix,
    point_ewkb,
    timestamptz,
)
from geogrid.core.srid import STORAGE_SRID
from geogrid.core.vectorfiles import ImportFileError

# Rows per encoded slice of the COPY: the server inserts one slice while the next is encoded.
COPY_SLICE_ROWS = 50_000


def write(run: ImportRun) -> None:
    """Create the accepted rows, in one transaction: serials allocated, one audit record, one
    COPY. ImportFileError (nothing written) if the database refuses any of it."""
    accepted = np.flatnonzero(~run.bad)
    if len(accepted) == 0:
        run.report.committed = True
        return
    # Grid by grid (in code order), then north→south, west→east inside each grid: serials
    # follow that order, like grid sequence numbers, and so does the insert, which keeps
    # the GiST and code indexes filling page by page (bench/README.md: half the insert time).
    y_band = np.floor(np.nan_to_num(run.y[accepted]) * 1e4)
    order = np.lexsort((run.x[accepted], -y_band, run.grid_pos[accepted]))
    rows = accepted[order]
    file_order: dict[str, np.ndarray] = {}

    def codes_in_file_order() -> None:
        in_file_order = np.empty_like(codes)
        in_file_order[order] = codes
        file_order["codes"] = in_file_order.astype(str).astype(object)

    try:
        with transaction.atomic():
            codes = assign_codes(run, rows)
            # The report's codes are worked out while the server is still inserting.
            _insert(run, rows, codes, meanwhile=codes_in_file_order)
    except (psycopg.Error, DatabaseError, CodeError) as exc:
        # Rolled back: e.g. a code taken by someone else since the check.
        raise ImportFileError(
            f"The database refused the import; nothing was written: {exc}".strip()
        ) from exc
    run.report.committed = True
    run.report.created = len(accepted)
    run.report.codes = file_order["codes"]


def _insert(
    run: ImportRun,
    rows: np.ndarray,
    codes: np.ndarray,
    *,
    meanwhile: Callable[[], None] | None = None,
) -> None:
    """Write these rows with these codes, in this order (see `write`): one audit record
    for the import, then one binary COPY straight into components_component. `meanwhile`
    runs once every row has been handed to the writer thread, while the server is still
    inserting them."""
    batch = ComponentImport.objects.create(
        action=ComponentAction.IMPORTED,
        actor=run.actor if getattr(run.actor, "pk", None) else None,
        file_name=run.path.name[:255],
        scheme=run.scheme,
        created_count=len(rows),
        details={
            "rows": run.report.total,
            "accepted": len(rows),
            "rejected": len(run.report.rejected),
            "source_crs": run.report.source_crs,
            "accepted_by_class": run.report.accepted_by_class,
        },
    )
    length = run.spec["length"]
    class_names = np.array([r["name"] for r in run.class_rows], dtype=object)
    statuses = np.array(STATUS_ORDER, dtype=object)
    sources = np.array(DATA_SOURCE_ORDER, dtype=object)
    stamp = timestamptz(timezone.now())

    def columns(part: slice) -> list[tuple[str, str, np.ndarray, np.ndarray | None]]:
        """The COPY columns of rows[part]: built slice by slice, so the server starts on
        the first rows while the later ones are still being prepared."""
        these = rows[part]
        n = len(these)
        code_digits = digit_matrix(codes[part], length)
        class_idx = run.class_idx[these]
        names = run.names[these]
        names = np.where(names == "", class_names[class_idx], names)
        shapes = run.shapes[these]
        is_shape = ~shapely.is_missing(shapes)
        if is_shape.any():
            geoms = np.where(is_shape, shapes, None)
            geoms[~is_shape] = shapely.points(run.x[these][~is_shape], run.y[these][~is_shape])
            geom = (
                "geom",
                "bytea",
                shapely.to_wkb(shapely.set_srid(geoms, STORAGE_SRID), include_srid=True),
                None,
            )
        else:  # points only (the usual inventory): their EWKB written with numpy
            geom = ("geom", "char", point_ewkb(run.x[these], run.y[these]), None)
        owner = run.departments["owner"][these]
        maintainer = run.departments["maintainer"][these]
        change_date = run.change_date[these]
        now = np.full(n, stamp, dtype=np.int64)
        return [
            ("code", "char", code_digits, None),
            ("district_code", "char", np.ascontiguousarray(code_digits[:, :6]), None),
            ("component_class_id", "int8", run.class_ids[class_idx], None),
            ("name", "text", names, None),
            ("competent_department_id", "int8", run.departments["competent"][these], None),
            ("owner_department_id", "int8", owner, owner < 0),
            ("maintainer_department_id", "int8", maintainer, maintainer < 0),
            ("status", "text", statuses[run.status[these] - 1], None),
            ("currency", "text", np.full(n, Currency.IN_USE.value, dtype=object), None),
            geom,
            ("grid_id", "int8", run.grid_ids[these], None),
            ("location_description", "text", run.texts["location_description"][these], None),
            ("data_source", "text", sources[run.source[these] - 1], None),
            ("initial_date", "date", run.initial_date[these], None),
            ("change_date", "date", change_date, np.isnat(change_date)),
            ("material", "text", run.texts["material"][these], None),
            ("notes", "text", run.texts["notes"][these], None),
            ("version", "int4", np.ones(n, dtype=np.int32), None),
            ("created_at", "int8", now, None),  # timestamptz: µs since 2000-01-01 UTC
            ("updated_at", "int8", now, None),
            ("import_batch_id", "int8", np.full(n, batch.pk, dtype=np.int64), None),
        ]

    with raw_cursor(for_write=True) as cursor:
        # Every reference written here (class, departments, grid, import record) was read
        # and checked by this import in this transaction, so the row-by-row foreign-key
        # triggers only repeat that work (their cost: bench/README.md). A superuser may skip
        # them for this statement, as pg_restore --disable-triggers does; others keep the
        # checks (deferred to the commit).
        superuser = cursor.execute(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone()[0]
        if superuser:
            cursor.execute("SET LOCAL session_replication_role = replica")
        # The column names, from an empty slice.
        names_sql = ", ".join(name for name, _, _, _ in columns(slice(0, 0)))
        # Encoded in slices while a writer thread sends the previous ones, so the server
        # inserts while numpy encodes (both release the GIL): the encoding costs little
        # more than the COPY itself.
        with cursor.copy(
            f"COPY components_component ({names_sql}) FROM STDIN (FORMAT binary)",
            writer=QueuedLibpqWriter(cursor),
        ) as copy:
            copy.write(COPY_HEADER)
            for start in range(0, len(rows), COPY_SLICE_ROWS):
                copy.write(
                    binary_copy_rows(
                        [
                            (kind, data, nulls)
                            for _, kind, data, nulls in columns(
                                slice(start, start + COPY_SLICE_ROWS)
                            )
                        ]
                    )
                )
            copy.write(COPY_TRAILER)
            if meanwhile is not None:
                meanwhile()
        if superuser:
            cursor.execute("SET LOCAL session_replication_role = origin")
