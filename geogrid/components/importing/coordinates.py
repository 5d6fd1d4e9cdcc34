"""Coordinates: every row's geometry checked and brought to the storage CRS (EPSG:4490,
docs/architecture.md §5) from the file's CRS or --crs, GCJ-02/BD-09 through geogrid.core.crs.

Points travel as x/y arrays from here on, other shapes as shapely geometries in `shapes`; rows
without usable coordinates are rejected with a message that names what is wrong (NaN, out of
range, metres given as degrees, a Gauss-Krüger zone left). Everything is converted as arrays;
where a conversion refuses a coordinate, the offending rows are found by halving.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from geogrid.components.importing.fields import LAT_FIELDS, LON_FIELDS, WKT_FIELDS
from geogrid.components.importing.reading import find_column, numbers
from geogrid.components.importing.run import ImportRun
from geogrid.components.services import KIND_OF_TYPE
from geogrid.core import crs as crs_module
from geogrid.core.gis import describe_invalidity
from geogrid.core.srid import STORAGE_SRID
from geogrid.core.vectorfiles import ImportFileError, to_storage_crs

KIND_BITS = {"point": 1, "line": 2, "polygon": 4}
# Shapely type id (0…7) → kind bit; 0 for geometry collections.
TYPE_BITS = np.array([KIND_BITS.get(KIND_OF_TYPE.get(t, ""), 0) for t in range(8)], np.int64)
# More failed conversions than this (and than 1 % of the rows) means the CRS is wrong.
MAX_CONVERSION_FAILURES = 1000


def check_coordinates(run: ImportRun) -> None:
    """x/y (storage lon/lat) of point rows, shapes (storage CRS) of the others; rows without
    usable coordinates rejected."""
    n = run.n
    run.x = np.full(n, np.nan)
    run.y = np.full(n, np.nan)
    run.shapes = np.full(n, None, dtype=object)
    if run.is_csv:
        _csv_coordinates(run)
    else:
        shapes = np.asarray(run.frame.geometry.values, dtype=object)
        _shape_coordinates(run, shapes, np.arange(n), file_crs=run.frame.crs)
    types = np.full(n, -1, dtype=np.int64)
    has_shape = np.flatnonzero(~shapely.is_missing(run.shapes))
    types[has_shape] = shapely.get_type_id(run.shapes[has_shape])
    types[np.isfinite(run.x)] = 0
    run.kind_bits = np.where(types >= 0, TYPE_BITS[np.clip(types, 0, 7)], 0)
    run.types = types
    # Valid geometry: points always are; other shapes are checked once, here.
    if len(has_shape):
        invalid = has_shape[~shapely.is_valid(run.shapes[has_shape])]
        run.reject(
            invalid,
            "invalid_geometry",
            lambda i: describe_invalidity(run.shapes[i]) or "The geometry is invalid.",
        )
    run.geom_ok = (types >= 0) & ~run.bad


def _declared(run: ImportRun) -> crs_module.InputCRS | None:
    if run.declared_crs in (None, ""):
        return None
    try:
        return crs_module.parse_crs(run.declared_crs)
    except ValueError as exc:
        raise ImportFileError(f"--crs {run.declared_crs}: {exc}") from exc


def _source(run: ImportRun, file_crs: Any) -> tuple[Any, bool]:
    """(declared or file CRS, whether it is lon/lat)."""
    parsed = _declared(run)
    if parsed is not None:
        return run.declared_crs, not parsed.is_projected
    if file_crs is None:
        return None, True  # GeoJSON (RFC 7946) or CSV: lon/lat; others refused later
    return None, bool(file_crs.is_geographic)


def _csv_coordinates(run: ImportRun) -> None:
    columns = run.attributes.columns
    lon_name = (
        find_column(columns, [run.options["lon_field"]])
        if run.options["lon_field"]
        else find_column(columns, LON_FIELDS)
    )
    lat_name = (
        find_column(columns, [run.options["lat_field"]])
        if run.options["lat_field"]
        else find_column(columns, LAT_FIELDS)
    )
    wkt_name = find_column(columns, WKT_FIELDS)
    if (lon_name is None or lat_name is None) and wkt_name is None:
        raise ImportFileError(
            f"{run.path.name} has no longitude/latitude columns (lon/lng/longitude/x and "
            "lat/latitude/y) and no WKT column; name them with --lon-field and --lat-field. "
            f"Its fields are: {', '.join(map(str, columns))}."
        )
    declared = _declared(run)
    run.report.source_crs = (
        declared.label
        if declared is not None
        else "EPSG:4490 (CSV lon/lat; give --crs if it is not)"
    )
    wkt = run.column(None, [wkt_name]) if wkt_name else np.full(run.n, "", dtype=object)
    use_wkt = wkt != ""
    if use_wkt.any():
        rows = np.flatnonzero(use_wkt)
        shapes = shapely.from_wkt(wkt[rows].astype(str), on_invalid="ignore")
        unreadable = shapely.is_missing(shapes)
        run.reject(
            rows[unreadable],
            "bad_coordinates",
            lambda i: f"Its WKT could not be read: {wkt[i][:60]!r}.",
        )
        _shape_coordinates(run, shapes[~unreadable], rows[~unreadable], file_crs=None, csv=True)
    point_rows = np.flatnonzero(~use_wkt)
    if lon_name is None or lat_name is None:
        run.reject(point_rows, "bad_coordinates", "It has no coordinates (no WKT).")
        return
    # Numbers first, straight from the column (fast); the text of a cell is looked at only
    # where that gave no number, to say why.
    lon = numbers(run.attributes[lon_name])[point_rows]
    lat = numbers(run.attributes[lat_name])[point_rows]
    empty = np.zeros(len(point_rows), dtype=bool)
    unparseable = np.zeros(len(point_rows), dtype=bool)
    failed = np.flatnonzero(np.isnan(lon) | np.isnan(lat))
    if len(failed):
        lon_text = run.column(None, [lon_name])[point_rows[failed]]
        lat_text = run.column(None, [lat_name])[point_rows[failed]]
        empty[failed] = (lon_text == "") | (lat_text == "")
        # "nan" is a number to pandas; it goes on to the range check, which names it.
        nan_text = (np.char.lower(lon_text.astype(str)) == "nan") | (
            np.char.lower(lat_text.astype(str)) == "nan"
        )
        unparseable[failed] = ~empty[failed] & ~nan_text
    run.reject(
        point_rows[empty],
        "bad_coordinates",
        f"It has no coordinates: {lon_name}/{lat_name} are empty.",
    )
    run.reject(
        point_rows[unparseable],
        "bad_coordinates",
        lambda i: (
            f"Its coordinates are not numbers: {lon_name} "
            f"{run.cell(lon_name, i)!r}, {lat_name} "
            f"{run.cell(lat_name, i)!r}."
        ),
    )
    candidates = ~empty & ~unparseable
    _points_to_storage(run, point_rows[candidates], lon[candidates], lat[candidates])


def _check_numbers(
    run: ImportRun, rows: np.ndarray, x: np.ndarray, y: np.ndarray, geographic: bool
) -> np.ndarray:
    """Reject rows with non-finite (or, for lon/lat, out-of-range) values; mask of the rest
    (per position in `rows`)."""
    finite = np.isfinite(x) & np.isfinite(y)
    run.reject(
        rows[~finite],
        "bad_coordinates",
        "Its coordinates are not finite numbers (NaN or infinite).",
    )
    ok = finite
    if geographic:
        out = finite & ((np.abs(x) > 180) | (np.abs(y) > 90))
        values = dict(
            zip(
                rows[out].tolist(),
                zip(x[out].tolist(), y[out].tolist(), strict=True),
                strict=True,
            )
        )

        def message(i: int) -> str:
            lon, lat = values[i]
            hint = (
                " These look like metres: name the projected coordinate system with "
                "--crs (e.g. --crs 4548)."
                if max(abs(lon), abs(lat)) > 1000
                else " Longitude and latitude may be swapped."
                if abs(lon) <= 90
                else ""
            )
            return (
                f"Its coordinates ({lon:g}, {lat:g}) are outside longitude −180…180 / "
                f"latitude −90…90.{hint}"
            )

        run.reject(rows[out], "bad_coordinates", message)
        ok = finite & ~out
    return ok


def _points_to_storage(run: ImportRun, rows: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> None:
    source, geographic = _source(run, None)
    ok = _check_numbers(run, rows, lon, lat, geographic)
    rows, lon, lat = rows[ok], lon[ok], lat[ok]
    if source is None:  # CSV without --crs: CGCS2000 lon/lat, stored as they are
        run.x[rows], run.y[rows] = lon, lat
        return
    run.report.transformed = crs_module.parse_crs(source).key not in ("epsg:4490", "epsg:4326")

    def convert(positions: np.ndarray) -> None:
        x, y = crs_module.to_storage(lon[positions], lat[positions], source)
        run.x[rows[positions]], run.y[rows[positions]] = x, y

    _convert_in_parts(run, rows, convert)
    _check_storage_range(run, rows)


def _shape_coordinates(
    run: ImportRun, shapes: np.ndarray, rows: np.ndarray, *, file_crs: Any, csv: bool = False
) -> None:
    present = ~shapely.is_missing(shapes) & ~shapely.is_empty(shapes)
    run.reject(rows[~present], "bad_coordinates", "It has no geometry.")
    rows, shapes = rows[present], shapely.force_2d(shapes[present])
    source, geographic = _source(run, file_crs)
    if len(shapes):
        coords, owner = shapely.get_coordinates(shapes, return_index=True)
        bad_positions = _bad_coordinate_positions(run, coords, owner, geographic, rows)
        keep = np.ones(len(shapes), dtype=bool)
        keep[bad_positions] = False
        rows, shapes = rows[keep], shapes[keep]
    frame_crs = STORAGE_SRID if csv else file_crs
    declared = source if source is not None else (STORAGE_SRID if csv else None)
    frame = gpd.GeoDataFrame(geometry=gpd.GeoSeries(shapes, crs=frame_crs))
    try:
        _, label, transformed = to_storage_crs(frame.iloc[:0], declared, path=run.path)
    except ValueError as exc:  # CRSError for an unknown --crs
        raise ImportFileError(str(exc)) from exc
    if not csv:
        run.report.source_crs, run.report.transformed = label, transformed
    elif source is not None:
        run.report.transformed = transformed

    def convert(positions: np.ndarray) -> None:
        converted, _, _ = to_storage_crs(frame.iloc[positions], declared, path=run.path)
        run.shapes[rows[positions]] = np.asarray(converted.values, dtype=object)

    _convert_in_parts(run, rows, convert)
    _check_storage_range(run, rows)
    # Plain points travel as x/y from here on (cheaper to check, assign and write).
    done = rows[~shapely.is_missing(run.shapes[rows])]
    points = done[shapely.get_type_id(run.shapes[done]) == 0]
    if len(points):
        xy = shapely.get_coordinates(run.shapes[points])
        run.x[points], run.y[points] = xy[:, 0], xy[:, 1]
        run.shapes[points] = None


def _bad_coordinate_positions(
    run: ImportRun, coords: np.ndarray, owner: np.ndarray, geographic: bool, rows: np.ndarray
) -> np.ndarray:
    """Positions (in `rows`) of shapes with a non-finite or, for lon/lat input, out-of-range
    coordinate; each rejected, naming its first offending coordinate."""
    bad = ~np.isfinite(coords).all(axis=1)
    if geographic:
        bad |= (np.abs(coords[:, 0]) > 180) | (np.abs(coords[:, 1]) > 90)
    if not bad.any():
        return np.zeros(0, dtype=np.int64)
    first: dict[int, tuple[float, float]] = {}  # by row, over the bad coordinates only
    for position, (x, y) in zip(owner[bad].tolist(), coords[bad].tolist(), strict=True):
        first.setdefault(int(rows[position]), (x, y))
    positions = np.unique(owner[bad])

    def message(i: int) -> str:
        x, y = first[i]
        if not (np.isfinite(x) and np.isfinite(y)):
            return "Its coordinates are not finite numbers (NaN or infinite)."
        hint = (
            " These look like metres: name the projected coordinate system with --crs "
            "(e.g. --crs 4548)."
            if max(abs(x), abs(y)) > 1000
            else ""
        )
        return (
            f"Its coordinates ({x:g}, {y:g}) are outside longitude −180…180 / latitude "
            f"−90…90.{hint}"
        )

    run.reject(rows[positions], "bad_coordinates", message)
    return positions


def _convert_in_parts(
    run: ImportRun, rows: np.ndarray, convert: Callable[[np.ndarray], None]
) -> None:
    """Run `convert` on all positions; where geogrid.core.crs refuses a coordinate (only
    Gauss-Krüger input outside its zone gets here), split in halves until the offending
    rows are found, and reject those."""
    pending = [np.arange(len(rows))]
    failures = 0
    limit = max(MAX_CONVERSION_FAILURES, run.n // 100)
    while pending:
        positions = pending.pop()
        if len(positions) == 0:
            continue
        try:
            convert(positions)
        except crs_module.CoordinateError as exc:
            if len(positions) > 1:
                middle = len(positions) // 2
                pending += [positions[middle:], positions[:middle]]
                continue
            failures += 1
            text = re.sub(r"^Coordinate [0-9(), ]+: ", "", str(exc))
            run.reject(rows[positions], "bad_coordinates", f"{text[:1].upper()}{text[1:]}")
            if failures > limit:
                raise ImportFileError(
                    f"More than {limit:,} rows cannot be converted from "
                    f"{run.declared_crs} (e.g. row {int(rows[positions[0]]) + 1}: {exc}); "
                    "the coordinate system is probably wrong: check --crs."
                ) from exc


def _check_storage_range(run: ImportRun, rows: np.ndarray) -> None:
    """After conversion: every coordinate a finite lon/lat (a file CRS that PROJ could not
    convert gives inf)."""
    rows = rows[~run.bad[rows]]
    points = rows[np.isfinite(run.x[rows])]
    ok = (np.abs(run.x[points]) <= 180) & (np.abs(run.y[points]) <= 90)
    run.reject(
        points[~ok],
        "bad_coordinates",
        "Its coordinates cannot be converted to longitude/latitude; check the "
        "coordinate system (--crs).",
    )
    shapes = rows[~shapely.is_missing(run.shapes[rows])]
    if len(shapes):
        coords, owner = shapely.get_coordinates(run.shapes[shapes], return_index=True)
        wrong = (
            ~np.isfinite(coords).all(axis=1)
            | (np.abs(coords[:, 0]) > 180)
            | (np.abs(coords[:, 1]) > 90)
        )
        run.reject(
            shapes[np.unique(owner[wrong])],
            "bad_coordinates",
            "Its coordinates cannot be converted to longitude/latitude; check the "
            "coordinate system (--crs).",
        )
    missing = rows[~np.isfinite(run.x[rows]) & shapely.is_missing(run.shapes[rows])]
    run.reject(
        missing[~run.bad[missing]], "bad_coordinates", "Its coordinates cannot be converted."
    )
