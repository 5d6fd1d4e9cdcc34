"""Importing components from GeoJSON, GeoPackage, Shapefile (also zipped) or CSV; exporting them.

The import follows the grid importer (grids/importing.py): read the file once with a size limit
and plain errors, bring coordinates to EPSG:4490 (the file's CRS or --crs, GCJ-02/BD-09 through
geogrid.core.crs), report per row, dry run unless `commit=True`, commit all or nothing.

It is vectorised for inventories of a million components: no Python loop per row does geometry
or database work. One `ImportRun` (run.py) holds the file's rows as arrays, and each stage, in
its own module, reads and fills them:

- reading.py: the file read once (size limit, CSV encodings) and its columns as text/numbers;
- coordinates.py: coordinates checked and converted as arrays;
- checks.py: classes and attributes, then the unit grid of every row from one GridIndex (points
  via `positions`, lines and polygons via `shape_positions`);
- codes.py: codes checked with string and set operations and one query for the codes already
  stored; serials from one `allocate_serials(count=n)` per (district, class) on commit;
- writing.py: on commit, one transaction with one audit record and one binary COPY, encoded
  with numpy (geogrid/core/pgcopy.py) while a writer thread sends it;
- report.py: the report and its text; export.py: exports; fields.py: field names and labels.

Python loops run only over rejected rows (to word their messages), classes, departments and
groups. What the import takes for a million points, beside ogr2ogr, and what each design step
saved is measured in bench/README.md (`import_components`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from geogrid.accounts.actors import Actor
from geogrid.components.importing.checks import assign_grids, check_attributes, check_classes
from geogrid.components.importing.codes import check_codes
from geogrid.components.importing.coordinates import check_coordinates
from geogrid.components.importing.export import EXPORT_FORMATS, export_components, export_frame
from geogrid.components.importing.fields import STATUS_INPUT
from geogrid.components.importing.report import ImportReport, RowReport, format_report
from geogrid.components.importing.run import ImportRun
from geogrid.components.importing.writing import write
from geogrid.core.vectorfiles import ImportFileError

logger = logging.getLogger(__name__)

__all__ = [
    "ImportFileError",
    "ImportReport",
    "RowReport",
    "EXPORT_FORMATS",
    "STATUS_INPUT",
    "export_components",
    "export_frame",
    "format_report",
    "import_components",
]


def import_components(
    *,
    path: str | Path,
    actor: Actor | None,
    class_field: str | None = None,
    class_code: str | None = None,
    crs: str | int | None = None,
    code_field: str | None = None,
    name_field: str | None = None,
    lon_field: str | None = None,
    lat_field: str | None = None,
    commit: bool = False,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> ImportReport:
    """Check every row of a file as components; create the accepted ones on commit.

    The class comes from `class_code` (all rows), `class_field` (LBDM by default) or, failing
    both, the codes. Codes come from `code_field` (checked: format, class, district, unused)
    or are allocated on commit. Geometry: the file's, or for CSV lon/lat columns (auto-detected
    or `lon_field`/`lat_field`) or a WKT column. Raises ImportFileError for a file that cannot be
    used at all; everything about single rows goes into the report. `progress` wraps the list
    of stages (e.g. tqdm).
    """
    run = ImportRun(
        path=Path(path),
        actor=actor,
        class_field=class_field,
        class_code=class_code,
        crs=crs,
        code_field=code_field,
        name_field=name_field,
        lon_field=lon_field,
        lat_field=lat_field,
    )
    started = time.perf_counter()
    report = _run_stages(run, commit=commit, progress=progress)
    logger.info(
        "component import",
        extra={
            "file": Path(path).name,
            "scheme": report.scheme,
            "committed": report.committed,
            **report.counts,
            "written": report.created,
            "duration_s": round(time.perf_counter() - started, 2),
            "actor_id": getattr(actor, "pk", None),
        },
    )
    return report


def _run_stages(
    run: ImportRun, *, commit: bool, progress: Callable[[Iterable], Iterable] | None
) -> ImportReport:
    """The stages in order, each timed into the report (for the operator and the benchmark)."""
    steps: list[tuple[str, Callable[[ImportRun], None]]] = [
        ("Reading", ImportRun.read),
        ("Checking coordinates", check_coordinates),
        ("Checking classes", check_classes),
        ("Checking attributes", check_attributes),
        ("Assigning unit grids", assign_grids),
        ("Checking codes", check_codes),
        ("Reporting", ImportRun.finish_report),
    ]
    if commit:
        steps.append(("Writing", write))
    bar = progress(steps) if progress else steps
    for label, step in bar:
        if hasattr(bar, "set_description"):
            bar.set_description(label)
        started = time.perf_counter()
        step(run)
        run.report.timings[label] = round(time.perf_counter() - started, 3)
    return run.report
