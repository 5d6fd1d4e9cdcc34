"""Importing components from GeoJSON, GeoPackage, Shapefile (also zipped) or CSV; exporting them.

The import follows the grid importer (grids/importing.py): read the file once with a size limit
and plain errors, bring coordinates to EPSG:4490 (the file's CRS or --crs, GCJ-02/BD-09 through
geogrid.core.crs), report per row, dry run unless `commit=True`, commit all or nothing.

It is vectorised for inventories of a million components: no Python loop per row does geometry
or database work. The file is read once; coordinates are checked and converted as arrays; the
unit grid of every row comes from one GridIndex (points via `positions`, lines and polygons via
`shape_positions`); codes are checked with string and set operations and one query for the codes
already stored; serials come from one `allocate_serials(count=n)` per (district, class). Python
loops run only over rejected rows (to word their messages), classes, departments and groups.

Writing (commit), in one transaction: one ComponentImport audit record (who, when, which file,
what it created), then one binary COPY straight into components_component, every row pointing
at that record (Component.import_batch: its history starts there, as a drawn component's starts
with a 'created' event). The COPY's columns are prepared and encoded with numpy in slices of
50,000 rows (points' EWKB included) while a writer thread sends the previous slice, so the
server starts on the first rows at once and preparing overlaps its inserting. Rows are
written, and new serials numbered, grid by grid and north→south, west→east inside a grid: the
GiST and code indexes then fill page by page (measured: half the insert time of file order).

Measured on 1,000,000 points (2 shared cores, embedded PostGIS, `make bench`): 15–17 s end to
end for a CSV (20 s for a GeoPackage) beside ogr2ogr's 5–7 s for the same file into a new table —
reading and checks ~2.5 s, the COPY 12–15 s (the table's five live indexes and two check
constraints: ~3 s without them; the GiST index alone ~5 s; bench/README.md). Earlier designs and what they cost: a staging table plus
INSERT … SELECT with one 'imported' event per row, 36 s; the same with foreign-key triggers
re-checking every reference this import has already checked, 54–58 s. A superuser skips those
triggers for the COPY (as pg_restore --disable-triggers does); other roles keep them, checked
at commit (~10 s more per million rows). 100,000 points take ~3 s.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import shapely
from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from psycopg.copy import QueuedLibpqWriter

from geogrid.components.assignment import grid_index_near
from geogrid.components.models import (
    ComponentClass,
    ComponentImport,
    ComponentSerial,
    ComponentStatus,
    Currency,
    DataSource,
    Department,
)
from geogrid.components.services import (
    KIND_OF_TYPE,
    active_scheme,
    allocate_serials,
    reserve_existing_serials,
)
from geogrid.core import crs as crs_module
from geogrid.core.codes import COMPONENT_SCHEMES, CodeError, district_names, parse_component_code
from geogrid.core.db import raw_cursor
from geogrid.core.gis import describe_invalidity
from geogrid.core.srid import STORAGE_SRID, WEB_SRID
from geogrid.grids.importing import READABLE_SUFFIXES, ImportFileError, read_file, to_storage_crs
from geogrid.grids.models import Grid

logger = logging.getLogger(__name__)

__all__ = [
    "ImportFileError",
    "ImportReport",
    "RowReport",
    "EXPORT_FORMATS",
    "export_components",
    "export_frame",
    "format_report",
    "import_components",
]

CSV_SUFFIXES = {".csv"}

# Attribute columns: GB/T 47678.5 table 2 names first, then plain names (case-insensitive).
ATTRIBUTE_FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("GLBJMC", "name"),
    "status": ("GLBJZT", "status"),
    "competent": ("ZGBMDM", "competent_department"),
    "owner": ("QSDWDM", "owner_department"),
    "maintainer": ("YHDWDM", "maintainer_department"),
    "initial_date": ("CSRQ", "initial_date"),
    "change_date": ("BGRQ", "change_date"),
    "data_source": ("SJLY", "data_source"),
    "notes": ("BZ", "notes"),
    "location_description": ("location_description",),
    "material": ("material",),
}
CLASS_FIELDS = ("LBDM", "class_code", "class")
LON_FIELDS = ("lon", "lng", "longitude", "x", "经度")
LAT_FIELDS = ("lat", "latitude", "y", "纬度")
WKT_FIELDS = ("WKT", "geometry", "geom")

# Chinese labels and stored values, both ways: exports write the labels, imports take either.
STATUS_LABELS = {
    "intact": "完好",
    "damaged": "破损",
    "lost": "丢失",
    "occupied": "占用",
    "abandoned": "废弃",
}
DATA_SOURCE_LABELS = {
    "surveyed": "实测",
    "map": "地形图",
    "base_data": "基础地理数据",
    "other": "其他",
}
STATUS_ORDER = list(ComponentStatus.values)
DATA_SOURCE_ORDER = list(DataSource.values)
STATUS_INPUT = {**{v: v for v in STATUS_ORDER}, **{z: v for v, z in STATUS_LABELS.items()}}
DATA_SOURCE_INPUT = {
    **{v: v for v in DATA_SOURCE_ORDER},
    **{z: v for v, z in DATA_SOURCE_LABELS.items()},
    "其它": "other",
    "调绘": "other",
}  # legacy CJ/T 214 values
TEXT_LIMITS = {"name": 100, "location_description": 256, "material": 50}
ATTRIBUTE_LABELS = {
    "competent": "competent department (主管部门, ZGBMDM)",
    "owner": "owner (权属单位, QSDWDM)",
    "maintainer": "maintainer (养护单位, YHDWDM)",
    "initial_date": "initial date (CSRQ)",
    "change_date": "change date (BGRQ)",
}

REASONS = {
    "bad_coordinates": "bad coordinates",
    "invalid_geometry": "invalid geometry",
    "wrong_geometry": "geometry type wrong for the class",
    "unknown_class": "unknown class",
    "outside_grids": "outside every unit grid",
    "bad_code": "malformed code, or code of another class or district",
    "duplicate_code": "duplicate code",
    "unknown_department": "unknown department code",
    "missing_department": "no competent department",
    "bad_value": "bad attribute value",
}

KIND_BITS = {"point": 1, "line": 2, "polygon": 4}
# Shapely type id (0…7) → kind bit; 0 for geometry collections.
TYPE_BITS = np.array([KIND_BITS.get(KIND_OF_TYPE.get(t, ""), 0) for t in range(8)], np.int64)
# More failed conversions than this (and than 1 % of the rows) means the CRS is wrong.
MAX_CONVERSION_FAILURES = 1000
_POSTGRES_EPOCH = np.datetime64("2000-01-01", "D")


@dataclass
class RowReport:
    """A rejected row: 1-based row number in the file, what it said, and every reason."""

    row: int
    code: str | None
    name: str | None
    class_code: str | None
    status: str = "rejected"
    reasons: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    """What an import found (and did). Rejected rows are listed one by one; accepted rows are
    kept as arrays (`accepted_rows`, and after a commit `codes`, both in file order)."""

    path: str
    scheme: str
    source_crs: str = ""
    transformed: bool = False
    total: int = 0
    rejected: list[RowReport] = field(default_factory=list)
    accepted_by_class: dict[str, int] = field(default_factory=dict)
    committed: bool = False
    created: int = 0
    notes: list[str] = field(default_factory=list)
    # Seconds per stage ("Reading", …, "Writing"), for the operator and the benchmark.
    timings: dict[str, float] = field(default_factory=dict)
    accepted_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    codes: np.ndarray = field(default_factory=lambda: np.zeros(0, object), repr=False)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "rows": self.total,
            "accepted": self.total - len(self.rejected),
            "rejected": len(self.rejected),
        }

    @property
    def reason_counts(self) -> dict[str, int]:
        counter = Counter(reason for row in self.rejected for reason in row.reasons)
        return {reason: counter[reason] for reason in REASONS if counter[reason]}

    def row(self, number: int) -> RowReport | None:
        """The report of rejected row `number` (1-based), None if it was accepted."""
        return next((r for r in self.rejected if r.row == number), None)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: everything but the per-row arrays of accepted rows."""
        data = {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in ("accepted_rows", "codes", "rejected")
        }
        data["rejected"] = [asdict(row) for row in self.rejected]
        data["counts"] = self.counts
        data["reason_counts"] = self.reason_counts
        return data


# --- Reading ------------------------------------------------------------------------------------
def _read_csv(path: Path) -> pd.DataFrame:
    """A CSV as text columns (codes keep their leading zeros); UTF-8 (with or without BOM), or
    GB18030 as Excel writes it on Chinese Windows."""
    limit = settings.GEOGRID_MAX_IMPORT_MB
    size_mb = path.stat().st_size / 1024 / 1024
    if size_mb > limit:
        raise ImportFileError(
            f"{path.name} is {size_mb:.0f} MB, over the {limit} MB limit "
            "(GEOGRID_MAX_IMPORT_MB); split the file or raise the limit."
        )
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return pd.read_csv(
                path, dtype=str, keep_default_na=False, encoding=encoding, skipinitialspace=True
            )
        except UnicodeDecodeError:
            continue
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
            raise ImportFileError(f"{path.name} could not be read as CSV: {exc}") from exc
    raise ImportFileError(f"{path.name} is neither UTF-8 nor GB18030 text; save it as UTF-8.")


def _numbers(series: pd.Series) -> np.ndarray:
    """A column as float64, NaN where a cell is not a number (text columns of a CSV included;
    surrounding spaces are allowed)."""
    if series.dtype.kind in "iuf":
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    values = pd.to_numeric(series, errors="coerce")
    if values.isna().any():  # " 116.4" and the like: strip, then try once more
        retry = values.isna()
        values[retry] = pd.to_numeric(series[retry].astype(str).str.strip(), errors="coerce")
    return values.to_numpy(dtype=np.float64, na_value=np.nan)


def _find(columns: Iterable[str], names: Iterable[str]) -> str | None:
    """The first column named like one of `names` (exactly, else ignoring case)."""
    columns = [c for c in columns if isinstance(c, str)]
    by_lower = {}
    for column in columns:
        by_lower.setdefault(column.lower(), column)
    for name in names:
        if name in columns:
            return name
        if name.lower() in by_lower:
            return by_lower[name.lower()]
    return None


def _text(series: pd.Series, *, pad: int = 0) -> np.ndarray:
    """A column as stripped text, '' where empty (object array). Whole numbers read as numbers
    lose their '.0'; with `pad`, numbers are zero-padded back to that width (class codes read
    from numeric fields lose their leading zeros)."""
    if series.dtype.kind in "iuf":
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        text = np.full(len(values), "", dtype=object)
        whole = np.isfinite(values) & (np.floor(values) == values)
        text[whole] = values[whole].astype(np.int64).astype(str)
        other = np.isfinite(values) & ~whole
        text[other] = values[other].astype(str)
        if pad:
            text[whole] = pd.Series(text[whole], dtype=object).str.zfill(pad).to_numpy(object)
        return text
    if series.dtype.kind == "M":
        stamps = pd.to_datetime(series)
        return stamps.dt.strftime("%Y-%m-%d").fillna("").to_numpy(object)
    # Stripped once per distinct value: attribute columns repeat a few values many times.
    labels, uniques = pd.factorize(series.astype(object), use_na_sentinel=True)
    stripped = np.append(
        pd.Series(uniques, dtype=object).astype(str).str.strip().to_numpy(dtype=object), ""
    )
    return stripped[labels]  # the sentinel -1 picks the trailing '' (empty cells)


# --- The import ---------------------------------------------------------------------------------
class _ComponentImport:
    """One run: arrays over the file's rows, filled stage by stage."""

    def __init__(
        self,
        *,
        path: Path,
        actor: Any,
        class_field: str | None,
        class_code: str | None,
        crs: str | int | None,
        code_field: str | None,
        name_field: str | None,
        lon_field: str | None,
        lat_field: str | None,
    ) -> None:
        self.path, self.actor, self.declared_crs = path, actor, crs
        self.options = {
            "class_field": class_field,
            "code_field": code_field,
            "name_field": name_field,
            "lon_field": lon_field,
            "lat_field": lat_field,
        }
        self.class_code = class_code
        self.scheme = active_scheme()
        self.spec = COMPONENT_SCHEMES[self.scheme]
        self.report = ImportReport(path=str(path), scheme=self.scheme)
        self.problems: dict[int, list[tuple[str, str]]] = {}
        self._texts: dict[tuple[str, int], np.ndarray] = {}  # column text, converted once

    # Problems ------------------------------------------------------------------------------
    def reject(self, rows: np.ndarray, reason: str, message: str | Callable[[int], str]) -> None:
        """Mark rows (indexes or a mask) rejected; `message` is a text or words one row's."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        self.bad[rows] = True
        problems = self.problems
        for index in rows.tolist():  # rejected rows only
            text = message(index) if callable(message) else message
            if index in problems:
                problems[index].append((reason, text))
            else:
                problems[index] = [(reason, text)]

    # Stage 1: read ---------------------------------------------------------------------------
    def read(self) -> None:
        path = self.path
        if not path.exists():
            raise ImportFileError(f"File not found: {path}")
        suffix = path.suffix.lower()
        if suffix not in READABLE_SUFFIXES | CSV_SUFFIXES:
            raise ImportFileError(
                f"{path.name}: unsupported file type {suffix or '(none)'}; use GeoJSON "
                "(.geojson/.json), GeoPackage (.gpkg), Shapefile (.shp), a zipped Shapefile "
                "(.zip) or CSV with lon/lat columns (.csv)."
            )
        self.is_csv = suffix in CSV_SUFFIXES
        if self.is_csv:
            self.frame = _read_csv(path)
            self.attributes = self.frame
        else:
            self.frame = read_file(path)
            self.attributes = self.frame.drop(columns=self.frame.geometry.name)
        self.n = len(self.frame)
        self.report.total = self.n
        self.bad = np.zeros(self.n, dtype=bool)
        columns = list(self.attributes.columns)
        fields = ", ".join(str(c) for c in columns) or "(none)"
        for option, name in self.options.items():
            if name and _find(columns, [name]) is None:
                flag = "--" + option.replace("_", "-")
                raise ImportFileError(
                    f"{flag} {name!r} is not a field of {path.name}; its fields are: {fields}."
                )
        if self.options["class_field"] and self.class_code:
            raise ImportFileError("Give either --class-field or --class, not both.")

    def column(
        self, option: str | None, names: Iterable[str], *, pad: int = 0
    ) -> np.ndarray | None:
        """The text of the field named by `option`, or else of the fields called `names`: where
        a file has several (GLBJMC and name), the first non-empty value per row."""
        if option and self.options[option]:
            found = [_find(self.attributes.columns, [self.options[option]])]
        else:
            found = [
                c
                for c in dict.fromkeys(_find(self.attributes.columns, [name]) for name in names)
                if c is not None
            ]
        if not found:
            return None
        text = self._text_of(found[0], pad)
        for name in found[1:]:
            empty = text == ""
            if empty.any():
                text = np.where(empty, self._text_of(name, pad), text)
        return text

    def _text_of(self, name: str, pad: int) -> np.ndarray:
        key = (name, pad)
        if key not in self._texts:
            self._texts[key] = _text(self.attributes[name], pad=pad)
        return self._texts[key]

    # Stage 2: coordinates --------------------------------------------------------------------
    def coordinates(self) -> None:
        """x/y (storage lon/lat) of point rows, shapes (storage CRS) of the others; rows without
        usable coordinates rejected."""
        n = self.n
        self.x = np.full(n, np.nan)
        self.y = np.full(n, np.nan)
        self.shapes = np.full(n, None, dtype=object)
        if self.is_csv:
            self._csv_coordinates()
        else:
            shapes = np.asarray(self.frame.geometry.values, dtype=object)
            self._shape_coordinates(shapes, np.arange(n), file_crs=self.frame.crs)
        types = np.full(n, -1, dtype=np.int64)
        has_shape = np.flatnonzero(~shapely.is_missing(self.shapes))
        types[has_shape] = shapely.get_type_id(self.shapes[has_shape])
        types[np.isfinite(self.x)] = 0
        self.kind_bits = np.where(types >= 0, TYPE_BITS[np.clip(types, 0, 7)], 0)
        self.types = types
        # Valid geometry: points always are; other shapes are checked once, here.
        if len(has_shape):
            invalid = has_shape[~shapely.is_valid(self.shapes[has_shape])]
            self.reject(
                invalid,
                "invalid_geometry",
                lambda i: describe_invalidity(self.shapes[i]) or "The geometry is invalid.",
            )
        self.geom_ok = (types >= 0) & ~self.bad

    def _declared(self) -> crs_module.InputCRS | None:
        if self.declared_crs in (None, ""):
            return None
        try:
            return crs_module.parse_crs(self.declared_crs)
        except ValueError as exc:
            raise ImportFileError(f"--crs {self.declared_crs}: {exc}") from exc

    def _source(self, file_crs: Any) -> tuple[Any, bool]:
        """(declared or file CRS, whether it is lon/lat)."""
        parsed = self._declared()
        if parsed is not None:
            return self.declared_crs, not parsed.is_projected
        if file_crs is None:
            return None, True  # GeoJSON (RFC 7946) or CSV: lon/lat; others refused later
        return None, bool(file_crs.is_geographic)

    def _csv_coordinates(self) -> None:
        columns = self.attributes.columns
        lon_name = (
            _find(columns, [self.options["lon_field"]])
            if self.options["lon_field"]
            else _find(columns, LON_FIELDS)
        )
        lat_name = (
            _find(columns, [self.options["lat_field"]])
            if self.options["lat_field"]
            else _find(columns, LAT_FIELDS)
        )
        wkt_name = _find(columns, WKT_FIELDS)
        if (lon_name is None or lat_name is None) and wkt_name is None:
            raise ImportFileError(
                f"{self.path.name} has no longitude/latitude columns (lon/lng/longitude/x and "
                "lat/latitude/y) and no WKT column; name them with --lon-field and --lat-field. "
                f"Its fields are: {', '.join(map(str, columns))}."
            )
        declared = self._declared()
        self.report.source_crs = (
            declared.label
            if declared is not None
            else "EPSG:4490 (CSV lon/lat; give --crs if it is not)"
        )
        wkt = self.column(None, [wkt_name]) if wkt_name else np.full(self.n, "", dtype=object)
        use_wkt = wkt != ""
        if use_wkt.any():
            rows = np.flatnonzero(use_wkt)
            shapes = shapely.from_wkt(wkt[rows].astype(str), on_invalid="ignore")
            unreadable = shapely.is_missing(shapes)
            self.reject(
                rows[unreadable],
                "bad_coordinates",
                lambda i: f"Its WKT could not be read: {wkt[i][:60]!r}.",
            )
            self._shape_coordinates(shapes[~unreadable], rows[~unreadable], file_crs=None, csv=True)
        point_rows = np.flatnonzero(~use_wkt)
        if lon_name is None or lat_name is None:
            self.reject(point_rows, "bad_coordinates", "It has no coordinates (no WKT).")
            return
        # Numbers first, straight from the column (fast); the text of a cell is looked at only
        # where that gave no number, to say why.
        lon = _numbers(self.attributes[lon_name])[point_rows]
        lat = _numbers(self.attributes[lat_name])[point_rows]
        empty = np.zeros(len(point_rows), dtype=bool)
        unparseable = np.zeros(len(point_rows), dtype=bool)
        failed = np.flatnonzero(np.isnan(lon) | np.isnan(lat))
        if len(failed):
            lon_text = self.column(None, [lon_name])[point_rows[failed]]
            lat_text = self.column(None, [lat_name])[point_rows[failed]]
            empty[failed] = (lon_text == "") | (lat_text == "")
            # "nan" is a number to pandas; it goes on to the range check, which names it.
            nan_text = (np.char.lower(lon_text.astype(str)) == "nan") | (
                np.char.lower(lat_text.astype(str)) == "nan"
            )
            unparseable[failed] = ~empty[failed] & ~nan_text
        self.reject(
            point_rows[empty],
            "bad_coordinates",
            f"It has no coordinates: {lon_name}/{lat_name} are empty.",
        )
        self.reject(
            point_rows[unparseable],
            "bad_coordinates",
            lambda i: (
                f"Its coordinates are not numbers: {lon_name} "
                f"{self._cell(lon_name, i)!r}, {lat_name} "
                f"{self._cell(lat_name, i)!r}."
            ),
        )
        candidates = ~empty & ~unparseable
        self._points_to_storage(point_rows[candidates], lon[candidates], lat[candidates])

    def _cell(self, column: str, index: int) -> str:
        return str(self.attributes[column].iloc[index])[:40]

    def _check_numbers(
        self, rows: np.ndarray, x: np.ndarray, y: np.ndarray, geographic: bool
    ) -> np.ndarray:
        """Reject rows with non-finite (or, for lon/lat, out-of-range) values; mask of the rest
        (per position in `rows`)."""
        finite = np.isfinite(x) & np.isfinite(y)
        self.reject(
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

            self.reject(rows[out], "bad_coordinates", message)
            ok = finite & ~out
        return ok

    def _points_to_storage(self, rows: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> None:
        source, geographic = self._source(None)
        ok = self._check_numbers(rows, lon, lat, geographic)
        rows, lon, lat = rows[ok], lon[ok], lat[ok]
        if source is None:  # CSV without --crs: CGCS2000 lon/lat, stored as they are
            self.x[rows], self.y[rows] = lon, lat
            return
        self.report.transformed = crs_module.parse_crs(source).key not in ("epsg:4490", "epsg:4326")

        def convert(positions: np.ndarray) -> None:
            x, y = crs_module.to_storage(lon[positions], lat[positions], source)
            self.x[rows[positions]], self.y[rows[positions]] = x, y

        self._convert_in_parts(rows, convert)
        self._check_storage_range(rows)

    def _shape_coordinates(
        self, shapes: np.ndarray, rows: np.ndarray, *, file_crs: Any, csv: bool = False
    ) -> None:
        present = ~shapely.is_missing(shapes) & ~shapely.is_empty(shapes)
        self.reject(rows[~present], "bad_coordinates", "It has no geometry.")
        rows, shapes = rows[present], shapely.force_2d(shapes[present])
        source, geographic = self._source(file_crs)
        if len(shapes):
            coords, owner = shapely.get_coordinates(shapes, return_index=True)
            bad_positions = self._bad_coordinate_positions(coords, owner, geographic, rows)
            keep = np.ones(len(shapes), dtype=bool)
            keep[bad_positions] = False
            rows, shapes = rows[keep], shapes[keep]
        frame_crs = STORAGE_SRID if csv else file_crs
        declared = source if source is not None else (STORAGE_SRID if csv else None)
        frame = gpd.GeoDataFrame(geometry=gpd.GeoSeries(shapes, crs=frame_crs))
        try:
            _, label, transformed = to_storage_crs(frame.iloc[:0], declared, path=self.path)
        except ValueError as exc:  # CRSError for an unknown --crs
            raise ImportFileError(str(exc)) from exc
        if not csv:
            self.report.source_crs, self.report.transformed = label, transformed
        elif source is not None:
            self.report.transformed = transformed

        def convert(positions: np.ndarray) -> None:
            converted, _, _ = to_storage_crs(frame.iloc[positions], declared, path=self.path)
            self.shapes[rows[positions]] = np.asarray(converted.values, dtype=object)

        self._convert_in_parts(rows, convert)
        self._check_storage_range(rows)
        # Plain points travel as x/y from here on (cheaper to check, assign and write).
        done = rows[~shapely.is_missing(self.shapes[rows])]
        points = done[shapely.get_type_id(self.shapes[done]) == 0]
        if len(points):
            xy = shapely.get_coordinates(self.shapes[points])
            self.x[points], self.y[points] = xy[:, 0], xy[:, 1]
            self.shapes[points] = None

    def _bad_coordinate_positions(
        self, coords: np.ndarray, owner: np.ndarray, geographic: bool, rows: np.ndarray
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

        self.reject(rows[positions], "bad_coordinates", message)
        return positions

    def _convert_in_parts(self, rows: np.ndarray, convert: Callable[[np.ndarray], None]) -> None:
        """Run `convert` on all positions; where geogrid.core.crs refuses a coordinate (only
        Gauss-Krüger input outside its zone gets here), split in halves until the offending
        rows are found, and reject those."""
        pending = [np.arange(len(rows))]
        failures = 0
        limit = max(MAX_CONVERSION_FAILURES, self.n // 100)
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
                self.reject(rows[positions], "bad_coordinates", f"{text[:1].upper()}{text[1:]}")
                if failures > limit:
                    raise ImportFileError(
                        f"More than {limit:,} rows cannot be converted from "
                        f"{self.declared_crs} (e.g. row {int(rows[positions[0]]) + 1}: {exc}); "
                        "the coordinate system is probably wrong: check --crs."
                    ) from exc

    def _check_storage_range(self, rows: np.ndarray) -> None:
        """After conversion: every coordinate a finite lon/lat (a file CRS that PROJ could not
        convert gives inf)."""
        rows = rows[~self.bad[rows]]
        points = rows[np.isfinite(self.x[rows])]
        ok = (np.abs(self.x[points]) <= 180) & (np.abs(self.y[points]) <= 90)
        self.reject(
            points[~ok],
            "bad_coordinates",
            "Its coordinates cannot be converted to longitude/latitude; check the "
            "coordinate system (--crs).",
        )
        shapes = rows[~shapely.is_missing(self.shapes[rows])]
        if len(shapes):
            coords, owner = shapely.get_coordinates(self.shapes[shapes], return_index=True)
            wrong = (
                ~np.isfinite(coords).all(axis=1)
                | (np.abs(coords[:, 0]) > 180)
                | (np.abs(coords[:, 1]) > 90)
            )
            self.reject(
                shapes[np.unique(owner[wrong])],
                "bad_coordinates",
                "Its coordinates cannot be converted to longitude/latitude; check the "
                "coordinate system (--crs).",
            )
        missing = rows[~np.isfinite(self.x[rows]) & shapely.is_missing(self.shapes[rows])]
        self.reject(
            missing[~self.bad[missing]], "bad_coordinates", "Its coordinates cannot be converted."
        )

    # Stage 3: classes and attributes ---------------------------------------------------------
    def classes(self) -> None:
        rows = list(
            ComponentClass.objects.filter(scheme=self.scheme).values(
                "id", "code", "name", "geometry", "default_department_id", "active"
            )
        )
        self.class_rows = rows
        self.class_ids = np.array([r["id"] for r in rows], dtype=np.int64)
        self.class_codes = np.array([r["code"] for r in rows], dtype=object)
        self.class_nums = np.array([int(r["code"]) for r in rows] or [0], dtype=np.int64)
        self.class_bits = np.array(
            [sum(KIND_BITS.get(k, 0) for k in r["geometry"].split("/")) for r in rows],
            dtype=np.int64,
        )
        self.class_default = np.array(
            [r["default_department_id"] or -1 for r in rows], dtype=np.int64
        )
        width = 2 + self.spec["minor"]
        if self.class_code:
            match = [r for r in rows if r["code"] == self.class_code]
            if not match or not match[0]["active"]:
                raise ImportFileError(
                    f"--class {self.class_code}: no {'enabled ' if match else ''}class has this "
                    f"code in {self.spec['label']} (the active scheme)."
                )
            text = np.full(self.n, self.class_code, dtype=object)
        else:
            text = self.column("class_field", CLASS_FIELDS, pad=width)
            if text is None:
                codes = self.column("code_field", ())
                if codes is None:
                    raise ImportFileError(
                        f"{self.path.name}: say which class the components are: --class CODE "
                        "for all rows, or --class-field FIELD (e.g. LBDM), or --code-field with "
                        "full component codes."
                    )
                text = np.where(
                    pd.Series(codes).str.len() == self.spec["length"],
                    pd.Series(codes).str.slice(6, 6 + width),
                    codes,
                ).astype(object)
                self.report.notes.append("Classes taken from the component codes.")
        self.class_text = text
        index = {r["code"]: i for i, r in enumerate(rows) if r["active"]}
        self.class_idx = pd.Series(text, dtype=object).map(index).fillna(-1).to_numpy(np.int64)
        unknown = np.flatnonzero(self.class_idx < 0)
        if len(unknown):
            disabled = {r["code"] for r in rows if not r["active"]}
            other = dict(
                ComponentClass.objects.exclude(scheme=self.scheme).values_list("code", "scheme")
            )

            def message(i: int) -> str:
                code = text[i]
                if not code:
                    return "It has no class code."
                if code in disabled:
                    return f"Class {code} is disabled."
                if code in other:
                    return (
                        f"Class {code} belongs to {COMPONENT_SCHEMES[other[code]]['label']}; "
                        f"this deployment codes components with {self.spec['label']}."
                    )
                return f"Unknown class {code}: not a class of {self.spec['label']}."

            self.reject(unknown, "unknown_class", message)
        known = np.flatnonzero((self.class_idx >= 0) & self.geom_ok)
        allowed = self.class_bits[self.class_idx[known]]
        wrong = known[(allowed & self.kind_bits[known]) == 0]

        def kind_message(i: int) -> str:
            klass = rows[self.class_idx[i]]
            kinds = " or ".join(k for k in klass["geometry"].split("/") if k)
            shape = "Point" if self.types[i] == 0 else self.shapes[i].geom_type
            return f"A {klass['name']} ({klass['code']}) is captured as a {kinds}, not a {shape}."

        self.reject(wrong, "wrong_geometry", kind_message)

    def attributes_check(self) -> None:
        n = self.n
        names = self.column("name_field", ATTRIBUTE_FIELDS["name"])
        self.names = names if names is not None else np.full(n, "", dtype=object)
        texts = {
            key: self.column(None, ATTRIBUTE_FIELDS[key])
            for key in ("location_description", "material", "notes")
        }
        self.texts = {
            k: v if v is not None else np.full(n, "", dtype=object) for k, v in texts.items()
        }
        self.texts["name"] = self.names
        for key, limit in TEXT_LIMITS.items():
            lengths = _text_lengths(self.texts[key])
            self.reject(
                lengths > limit,
                "bad_value",
                f"Its {key.replace('_', ' ')} is longer than {limit} characters.",
            )
        self.status = self._choice(
            "status",
            STATUS_INPUT,
            STATUS_ORDER,
            "intact",
            "完好/破损/丢失/占用/废弃 or " + "/".join(STATUS_ORDER),
        )
        self.source = self._choice(
            "data_source",
            DATA_SOURCE_INPUT,
            DATA_SOURCE_ORDER,
            "surveyed",
            "实测/地形图/基础地理数据/其他 or " + "/".join(DATA_SOURCE_ORDER),
        )
        today = np.datetime64(timezone.localdate(), "D")
        self.initial_date = self._dates("initial_date", default=today)
        self.change_date = self._dates("change_date", default=np.datetime64("NaT", "D"))
        departments = dict(Department.objects.values_list("code", "id"))
        self.departments = {}
        competent_given = np.zeros(n, dtype=bool)
        for role in ("competent", "owner", "maintainer"):
            codes = self.column(None, ATTRIBUTE_FIELDS[role])
            ids = np.full(n, -1, dtype=np.int64)
            if codes is not None:
                ids = np.array(
                    pd.Series(codes, dtype=object).map(departments).fillna(-1), dtype=np.int64
                )
                unknown = (ids < 0) & (codes != "")
                self.reject(
                    unknown,
                    "unknown_department",
                    lambda i, c=codes, r=role: (
                        f"No department has the code {c[i]!r} ({ATTRIBUTE_LABELS[r]})."
                    ),
                )
                if role == "competent":
                    competent_given = codes != ""
            self.departments[role] = ids
        competent = self.departments["competent"]
        known = self.class_idx >= 0
        use_default = known & (competent < 0)
        competent[use_default] = self.class_default[self.class_idx[use_default]]
        missing = known & (competent < 0) & ~competent_given

        def message(i: int) -> str:
            klass = self.class_rows[self.class_idx[i]]
            return (
                f"Class {klass['code']} {klass['name']} has no default department; give the "
                "competent department's code (ZGBMDM)."
            )

        self.reject(missing, "missing_department", message)

    def _choice(
        self, key: str, accepted: dict[str, str], order: list[str], default: str, allowed: str
    ) -> np.ndarray:
        """1-based position in `order` of each row's value (the default where empty)."""
        values = self.column(None, ATTRIBUTE_FIELDS[key])
        if values is None:
            return np.full(self.n, order.index(default) + 1, dtype=np.int16)
        mapped = pd.Series(values, dtype=object).str.lower().map(accepted)
        mapped = mapped.where(pd.Series(values) != "", default)
        position = mapped.map({v: i + 1 for i, v in enumerate(order)}).fillna(0)
        result = position.to_numpy(np.int16)
        self.reject(
            result == 0,
            "bad_value",
            lambda i: f"Unknown {key.replace('_', ' ')} {values[i]!r}; use {allowed}.",
        )
        return result

    def _dates(self, key: str, *, default: np.datetime64) -> np.ndarray:
        """Dates from YYYYMMDD or ISO text (datetime64[D]); `default` where empty."""
        values = self.column(None, ATTRIBUTE_FIELDS[key])
        result = np.full(self.n, default, dtype="datetime64[D]")
        if values is None:
            return result
        text = pd.Series(values, dtype=object)
        compact = text.str.fullmatch(r"[0-9]{8}").fillna(False).to_numpy(bool)
        given = values != ""
        days = np.full(self.n, np.datetime64("NaT"), dtype="datetime64[D]")
        for mask, pattern in ((compact, "%Y%m%d"), (given & ~compact, "ISO8601")):
            if mask.any():
                parsed = pd.to_datetime(text[mask], format=pattern, errors="coerce")
                days[mask] = parsed.to_numpy().astype("datetime64[D]")
        bad = given & np.isnat(days)
        self.reject(
            bad,
            "bad_value",
            lambda i: (
                f"Its {ATTRIBUTE_LABELS[key]} {values[i]!r} is not a date; use "
                "YYYYMMDD or YYYY-MM-DD."
            ),
        )
        result[given & ~bad] = days[given & ~bad]
        return result

    # Stage 4: unit grids ---------------------------------------------------------------------
    def grids(self) -> None:
        """The unit grid of every row with a usable geometry (one GridIndex for the file)."""
        n = self.n
        self.grid_pos = np.full(n, -1, dtype=np.int64)
        self.grid_ids = np.full(n, -1, dtype=np.int64)
        self.districts = np.full(n, "", dtype=object)
        self.district_nums = np.zeros(n, dtype=np.int64)
        located = np.flatnonzero(self.geom_ok)
        if len(located) == 0:
            return
        points = located[self.types[located] == 0]
        others = located[self.types[located] != 0]
        # The index covers the points' bounding box (two corners) and the other shapes.
        corners = (
            shapely.points(
                [
                    [self.x[points].min(), self.y[points].min()],
                    [self.x[points].max(), self.y[points].max()],
                ]
            )
            if len(points)
            else np.zeros(0, dtype=object)
        )
        index = grid_index_near(np.concatenate([corners, self.shapes[others]]))
        if len(points):
            self.grid_pos[points] = index.positions(self.x[points], self.y[points])
        if len(others):
            self.grid_pos[others] = index.shape_positions(self.shapes[others])
        outside = located[self.grid_pos[located] < 0]

        def message(i: int) -> str:
            if self.types[i] == 0:
                lon, lat = self.x[i], self.y[i]
            else:
                lon, lat = shapely.get_coordinates(shapely.point_on_surface(self.shapes[i]))[0]
            return (
                f"It lies outside every unit grid (lon {lon:.6f}, lat {lat:.6f}); check its "
                "coordinates and coordinate system."
            )

        self.reject(outside, "outside_grids", message)
        found = self.grid_pos >= 0
        self.grid_ids[found] = index.ids[self.grid_pos[found]]
        hit = np.unique(self.grid_ids[found])
        district_of = dict(
            Grid.objects.filter(pk__in=hit.tolist()).values_list("pk", "district_code")
        )
        mapped = pd.Series(self.grid_ids).map(district_of).astype(object)
        self.districts = mapped.where(mapped.notna(), "").to_numpy(object)
        numbers = {pk: int(code) for pk, code in district_of.items()}
        self.district_nums = np.array(
            pd.Series(self.grid_ids).map(numbers).fillna(0), dtype=np.int64
        )

    # Stage 5: codes --------------------------------------------------------------------------
    def codes(self) -> None:
        """Given codes: well formed, of the row's class and grid district, once in the file,
        not yet stored; rows without one get a serial on commit (checked: serials left).
        Codes are handled as int64 (17 digits fit; the district never starts with 0)."""
        n = self.n
        length, minor = self.spec["length"], self.spec["minor"]
        column = (
            _find(self.attributes.columns, [self.options["code_field"]])
            if self.options["code_field"]
            else None
        )
        given = self.column("code_field", ()) if column else None
        self.given_codes = given = given if given is not None else np.full(n, "", dtype=object)
        has = given != ""
        lossy = np.zeros(n, dtype=bool)
        if column and self.attributes[column].dtype.kind == "f":
            # Codes stored as floating-point numbers lose digits beyond 2**53.
            numbers = pd.to_numeric(pd.Series(given).where(has, "0"), errors="coerce")
            lossy = has & (numbers.to_numpy(float) >= 2**53)
            self.reject(
                lossy,
                "bad_code",
                lambda i: (
                    f"Code {given[i]} was stored as a floating-point number and "
                    "may have lost digits; store codes as text."
                ),
            )
        # Only the rows that give a code are looked at (most files give none).
        digits, numbers = np.zeros(n, dtype=bool), np.zeros(n, dtype=np.int64)
        coded = np.flatnonzero(has)
        digits[coded], numbers[coded] = _digits(given[coded], length)
        self.code_numbers = numbers
        district = numbers // 10 ** (length - 6)
        class_part = (numbers // 10**6) % 10 ** (2 + minor)
        known_districts = np.fromiter(map(int, district_names()), dtype=np.int64)
        well_formed = (
            has & ~lossy & digits & (numbers % 10**6 != 0) & np.isin(district, known_districts)
        )

        def malformed(i: int) -> str:
            try:
                parse_component_code(given[i], self.scheme)
            except CodeError as exc:
                return str(exc)
            return f"Code {given[i]} is malformed."

        self.reject(has & ~lossy & ~well_formed, "bad_code", malformed)
        checkable = np.flatnonzero(well_formed & (self.class_idx >= 0))
        other_class = checkable[class_part[checkable] != self.class_nums[self.class_idx[checkable]]]

        def class_message(i: int) -> str:
            klass = self.class_rows[self.class_idx[i]]
            return (
                f"Code {given[i]} is of class {class_part[i]:0{2 + minor}d}, not "
                f"{klass['code']} ({klass['name']})."
            )

        self.reject(other_class, "bad_code", class_message)
        located = np.flatnonzero(well_formed & (self.grid_pos >= 0))
        elsewhere = located[district[located] != self.district_nums[located]]
        self.reject(
            elsewhere,
            "bad_code",
            lambda i: (
                f"Code {given[i]} belongs to district {district[i]:06d}, but the "
                f"component lies in district {self.districts[i]}."
            ),
        )
        # Repeated codes among the rows still accepted: the first row keeps the code.
        candidates = np.flatnonzero(has & ~self.bad)
        repeated = pd.Series(numbers[candidates]).duplicated(keep=False).to_numpy(bool)
        if repeated.any():
            rows = candidates[repeated]
            first = pd.Series(rows).groupby(numbers[rows]).transform("min").to_numpy(np.int64)
            first_of = dict(zip(rows.tolist(), first.tolist(), strict=True))
            self.reject(
                rows[rows != first],
                "duplicate_code",
                lambda i: f"Code {given[i]} also belongs to row {first_of[i] + 1}.",
            )
        candidates = np.flatnonzero(has & ~self.bad)
        taken = _existing_codes(numbers[candidates], length)
        self.reject(
            candidates[np.isin(numbers[candidates], taken)],
            "duplicate_code",
            lambda i: f"Code {given[i]} is already used (component codes are never reused).",
        )
        self._check_serials()

    def _prefixes(self, rows: np.ndarray) -> np.ndarray:
        """District + class of these rows as one number (a code without its serial): from the
        grid's district and the row's class."""
        return (
            self.district_nums[rows] * 10 ** (2 + self.spec["minor"])
            + self.class_nums[self.class_idx[rows]]
        )

    def _check_serials(self) -> None:
        """Rows needing a serial in a (district, class) whose 999,999 are used up: rejected."""
        allocate = np.flatnonzero(~self.bad & (self.given_codes == ""))
        if len(allocate) == 0:
            return
        prefixes = self._prefixes(allocate)
        wanted = pd.Series(prefixes).value_counts()
        last = {
            int(d) * 10 ** (2 + self.spec["minor"]) + int(c): serial
            for d, c, serial in ComponentSerial.objects.filter(scheme=self.scheme).values_list(
                "district_code", "class_code", "last_serial"
            )
        }
        highest = self._explicit_highest()
        full = [
            prefix
            for prefix, count in wanted.items()
            if max(last.get(prefix, 0), highest.get(prefix, 0)) + count > 999_999
        ]
        if full:
            self.reject(
                allocate[np.isin(prefixes, full)],
                "bad_code",
                lambda i: (
                    f"District {self.districts[i]} has no serial numbers left "
                    f"for class {self.class_text[i]} (999,999 used)."
                ),
            )

    def _explicit_highest(self) -> dict[int, int]:
        """Highest explicit serial per code prefix (district + class) among accepted rows."""
        rows = np.flatnonzero(~self.bad & (self.given_codes != ""))
        if len(rows) == 0:
            return {}
        numbers = self.code_numbers[rows]
        return pd.Series(numbers % 10**6).groupby(numbers // 10**6).max().to_dict()

    # Report ----------------------------------------------------------------------------------
    def finish_report(self) -> None:
        report = self.report
        codes, names, classes = (
            self.given_codes.tolist(),
            self.names.tolist(),
            self.class_text.tolist(),
        )
        for index in sorted(self.problems):  # rejected rows only
            problems = self.problems[index]
            reasons = [r for r, _ in problems]
            report.rejected.append(
                RowReport(
                    row=index + 1,
                    code=codes[index] or None,
                    name=names[index] or None,
                    class_code=classes[index] or None,
                    reasons=reasons if len(reasons) == 1 else list(dict.fromkeys(reasons)),
                    messages=[m for _, m in problems],
                )
            )
        accepted = np.flatnonzero(~self.bad)
        report.accepted_rows = accepted + 1
        report.codes = self.given_codes[accepted]
        per_class = pd.Series(self.class_idx[accepted]).value_counts()
        report.accepted_by_class = {
            f"{self.class_rows[i]['code']} {self.class_rows[i]['name']}": int(c)
            for i, c in per_class.items()
        }

    # Stage 6: write --------------------------------------------------------------------------
    def write(self) -> None:
        accepted = np.flatnonzero(~self.bad)
        if len(accepted) == 0:
            self.report.committed = True
            return
        # Grid by grid (in code order), then north→south, west→east inside each grid: serials
        # follow that order, like grid sequence numbers, and so does the insert, which keeps
        # the GiST and code indexes filling page by page (on 1M points this halves the insert).
        y_band = np.floor(np.nan_to_num(self.y[accepted]) * 1e4)
        order = np.lexsort((self.x[accepted], -y_band, self.grid_pos[accepted]))
        rows = accepted[order]
        file_order: dict[str, np.ndarray] = {}

        def codes_in_file_order() -> None:
            in_file_order = np.empty_like(codes)
            in_file_order[order] = codes
            file_order["codes"] = in_file_order.astype(str).astype(object)

        try:
            with transaction.atomic():
                codes = self._assign_codes(rows)
                # The report's codes are worked out while the server is still inserting.
                self._insert(rows, codes, meanwhile=codes_in_file_order)
        except (psycopg.Error, DatabaseError, CodeError) as exc:
            # Rolled back: e.g. a code taken by someone else since the check.
            raise ImportFileError(
                f"The database refused the import; nothing was written: {exc}".strip()
            ) from exc
        self.report.committed = True
        self.report.created = len(accepted)
        self.report.codes = file_order["codes"]

    def _assign_codes(self, rows: np.ndarray) -> np.ndarray:
        """Codes of these rows (int64, in their order): the explicit ones (their serials
        reserved first, so allocation cannot hand them out), then one allocation per (district,
        class) for the rest, numbered in the order of the rows."""
        width = 2 + self.spec["minor"]
        for prefix, highest in self._explicit_highest().items():
            district, class_code = divmod(int(prefix), 10**width)
            reserve_existing_serials(
                district_code=f"{district:06d}",
                scheme=self.scheme,
                class_code=f"{class_code:0{width}d}",
                highest=int(highest),
            )
        codes = self.code_numbers[rows].copy()
        rest = np.flatnonzero(self.given_codes[rows] == "")
        if len(rest):
            prefixes = self._prefixes(rows[rest])
            group, labels = pd.factorize(prefixes)
            rank = pd.Series(group).groupby(group).cumcount().to_numpy(np.int64)
            sizes = np.bincount(group, minlength=len(labels))
            first = np.zeros(len(labels), dtype=np.int64)
            for position, prefix in enumerate(labels.tolist()):  # one per (district, class)
                district, class_code = divmod(prefix, 10**width)
                first[position] = allocate_serials(
                    district_code=f"{district:06d}",
                    scheme=self.scheme,
                    class_code=f"{class_code:0{width}d}",
                    count=int(sizes[position]),
                )
            codes[rest] = prefixes * 10**6 + first[group] + rank
        return codes

    def _insert(
        self, rows: np.ndarray, codes: np.ndarray, *, meanwhile: Callable[[], None] | None = None
    ) -> None:
        """Write these rows with these codes, in this order (see `write`): one audit record
        for the import, then one binary COPY straight into components_component. `meanwhile`
        runs once every row has been handed to the writer thread, while the server is still
        inserting them."""
        batch = ComponentImport.objects.create(
            action="imported",
            actor=self.actor if getattr(self.actor, "pk", None) else None,
            file_name=self.path.name[:255],
            scheme=self.scheme,
            created_count=len(rows),
            details={
                "rows": self.report.total,
                "accepted": len(rows),
                "rejected": len(self.report.rejected),
                "source_crs": self.report.source_crs,
                "accepted_by_class": self.report.accepted_by_class,
            },
        )
        length = self.spec["length"]
        class_names = np.array([r["name"] for r in self.class_rows], dtype=object)
        statuses = np.array(STATUS_ORDER, dtype=object)
        sources = np.array(DATA_SOURCE_ORDER, dtype=object)
        stamp = _timestamp(timezone.now())

        def columns(part: slice) -> list[tuple[str, str, np.ndarray, np.ndarray | None]]:
            """The COPY columns of rows[part]: built slice by slice, so the server starts on
            the first rows while the later ones are still being prepared."""
            these = rows[part]
            n = len(these)
            code_digits = _digit_matrix(codes[part], length)
            class_idx = self.class_idx[these]
            names = self.names[these]
            names = np.where(names == "", class_names[class_idx], names)
            shapes = self.shapes[these]
            is_shape = ~shapely.is_missing(shapes)
            if is_shape.any():
                geoms = np.where(is_shape, shapes, None)
                geoms[~is_shape] = shapely.points(
                    self.x[these][~is_shape], self.y[these][~is_shape]
                )
                geom = (
                    "geom",
                    "bytea",
                    shapely.to_wkb(shapely.set_srid(geoms, STORAGE_SRID), include_srid=True),
                    None,
                )
            else:  # points only (the usual inventory): their EWKB written with numpy
                geom = ("geom", "char", _point_ewkb(self.x[these], self.y[these]), None)
            owner = self.departments["owner"][these]
            maintainer = self.departments["maintainer"][these]
            change_date = self.change_date[these]
            now = np.full(n, stamp, dtype=np.int64)
            return [
                ("code", "char", code_digits, None),
                ("district_code", "char", np.ascontiguousarray(code_digits[:, :6]), None),
                ("component_class_id", "int8", self.class_ids[class_idx], None),
                ("name", "text", names, None),
                ("competent_department_id", "int8", self.departments["competent"][these], None),
                ("owner_department_id", "int8", owner, owner < 0),
                ("maintainer_department_id", "int8", maintainer, maintainer < 0),
                ("status", "text", statuses[self.status[these] - 1], None),
                ("currency", "text", np.full(n, Currency.IN_USE.value, dtype=object), None),
                geom,
                ("grid_id", "int8", self.grid_ids[these], None),
                ("location_description", "text", self.texts["location_description"][these], None),
                ("data_source", "text", sources[self.source[these] - 1], None),
                ("initial_date", "date", self.initial_date[these], None),
                ("change_date", "date", change_date, np.isnat(change_date)),
                ("material", "text", self.texts["material"][these], None),
                ("notes", "text", self.texts["notes"][these], None),
                ("version", "int4", np.ones(n, dtype=np.int32), None),
                ("created_at", "int8", now, None),  # timestamptz: µs since 2000-01-01 UTC
                ("updated_at", "int8", now, None),
                ("import_batch_id", "int8", np.full(n, batch.pk, dtype=np.int64), None),
            ]

        with raw_cursor(for_write=True) as cursor:
            # Every reference written here (class, departments, grid, import record) was read
            # and checked by this import in this transaction, so the row-by-row foreign-key
            # triggers only repeat that work: ~17 s per million rows. A superuser may skip
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
                        _binary_copy_rows(
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

    def run(self, *, commit: bool, progress: Callable[[Iterable], Iterable] | None) -> ImportReport:
        steps: list[tuple[str, Callable[[], None]]] = [
            ("Reading", self.read),
            ("Checking coordinates", self.coordinates),
            ("Checking classes", self.classes),
            ("Checking attributes", self.attributes_check),
            ("Assigning unit grids", self.grids),
            ("Checking codes", self.codes),
            ("Reporting", self.finish_report),
        ]
        if commit:
            steps.append(("Writing", self.write))
        bar = progress(steps) if progress else steps
        for label, step in bar:
            if hasattr(bar, "set_description"):
                bar.set_description(label)
            started = time.perf_counter()
            step()
            self.report.timings[label] = round(time.perf_counter() - started, 3)
        return self.report


def _timestamp(moment: datetime) -> int:
    """A timestamptz in PostgreSQL's binary form: microseconds since 2000-01-01 UTC."""
    return int((moment - datetime(2000, 1, 1, tzinfo=UTC)).total_seconds() * 1_000_000)


def _existing_codes(numbers: np.ndarray, length: int) -> np.ndarray:
    """Which of these codes (as numbers) are already stored: one query, the codes sent as one
    bigint array."""
    if len(numbers) == 0:
        return np.zeros(0, dtype=np.int64)
    with raw_cursor() as cursor:
        cursor.execute(
            "SELECT c.code::bigint FROM components_component c "
            "JOIN unnest(%s::bigint[]) AS t(n) ON c.code = lpad(t.n::text, %s, '0')",
            (numbers.tolist(), length),
        )
        return np.array([row[0] for row in cursor.fetchall()], dtype=np.int64)


def _text_lengths(texts: np.ndarray) -> np.ndarray:
    """Characters in each text (0 for None), measured once per distinct value: a column
    repeats a few values (often only '') over a million rows."""
    labels, uniques = pd.factorize(pd.Series(texts, dtype=object), use_na_sentinel=True)
    lengths = np.array([len(str(u)) for u in uniques] + [0], dtype=np.int64)
    return lengths[labels]  # the sentinel -1 picks the trailing 0


def _digits(texts: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """(mask of texts made of exactly `length` ASCII digits, their values as int64; 0 where
    not), computed on the characters as a numpy array."""
    if len(texts) == 0:
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int64)
    # One character more than allowed: a longer text keeps a non-zero character there.
    chars = np.asarray(texts, dtype=f"U{length + 1}").view(np.uint32).reshape(-1, length + 1)
    digits = chars[:, :length]
    ok = (chars[:, length] == 0) & ((digits >= 48) & (digits <= 57)).all(axis=1)
    powers = 10 ** np.arange(length - 1, -1, -1, dtype=np.int64)
    values = (np.where(ok[:, None], digits, 48).astype(np.int64) - 48) @ powers
    return ok, values


# --- Binary COPY, encoded with numpy ------------------------------------------------------------
_FIXED = {"int2": ">i2", "int4": ">i4", "int8": ">i8", "float8": ">f8", "date": ">i4"}


def _variable_bytes(kind: str, data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lengths with -1 for NULL, concatenated bytes) of a text or bytea column; None is NULL,
    '' an empty text. Text is encoded once per distinct value."""
    if kind == "bytea":
        present = np.array([v is not None for v in data], dtype=bool)
        blobs = [bytes(v) for v in data[present]]
        lengths = np.full(len(data), -1, dtype=np.int64)
        lengths[present] = [len(b) for b in blobs]
        return lengths, np.frombuffer(b"".join(blobs), dtype=np.uint8)
    labels, uniques = pd.factorize(pd.Series(data, dtype=object))  # None → label -1
    encoded = [str(u).encode("utf-8") for u in uniques]
    unique_len = np.array([len(e) for e in encoded] + [-1], dtype=np.int64)
    unique_start = np.concatenate([[0], np.cumsum(unique_len[:-1])])
    pool = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    lengths = unique_len[labels]  # label -1 picks the trailing -1 (NULL)
    sizes = np.maximum(lengths, 0)
    if sizes.sum() == 0:
        return lengths, np.zeros(0, dtype=np.uint8)
    starts = unique_start[np.maximum(labels, 0)]
    out_start = np.concatenate([[0], np.cumsum(sizes)])[:-1]
    source = np.repeat(starts - out_start, sizes) + np.arange(sizes.sum())
    return lengths, pool[source]


COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8  # signature, flags, extension length
COPY_TRAILER = b"\xff\xff"
COPY_SLICE_ROWS = 50_000


_POINT_EWKB = np.dtype(
    [("order", "u1"), ("type", "<u4"), ("srid", "<u4"), ("x", "<f8"), ("y", "<f8")]
)


def _point_ewkb(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """EWKB of 2D points in the storage SRID as an (n, 25) byte matrix, the bytes
    `shapely.to_wkb(..., include_srid=True)` writes (little-endian, type 1 with the SRID flag),
    without making a million geometry objects first."""
    records = np.empty(len(x), dtype=_POINT_EWKB)
    records["order"] = 1
    records["type"] = 0x20000001
    records["srid"] = STORAGE_SRID
    records["x"], records["y"] = x, y
    return records.view(np.uint8).reshape(len(x), _POINT_EWKB.itemsize)


def _digit_matrix(numbers: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal digits of non-negative int64s as an (n, width) ASCII matrix."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((numbers[:, None] // powers) % 10 + ord("0")).astype(np.uint8)


def _binary_copy_rows(columns: list[tuple[str, np.ndarray, np.ndarray | None]]) -> bytes:
    """Rows of a PostgreSQL binary COPY stream (without header and trailer) from these columns
    (kind, values, NULL mask), built with array operations: per row an int16 field count, then
    per field an int32 length (-1: NULL) and the value in network byte order. Kinds: int2,
    int4, int8, float8, date (datetime64), char (an (n, width) uint8 matrix: fixed-width text,
    or bytea of one length), text, bytea."""
    n = len(columns[0][1])
    encoded = []
    for kind, data, nulls in columns:
        if kind == "char":
            raw = np.ascontiguousarray(data, dtype=np.uint8)
            encoded.append((np.full(n, raw.shape[1], dtype=np.int64), raw, None))
        elif kind in _FIXED:
            nulls = np.zeros(n, dtype=bool) if nulls is None else np.asarray(nulls, dtype=bool)
            if kind == "date":
                values = np.where(
                    nulls, 0, (np.asarray(data, "datetime64[D]") - _POSTGRES_EPOCH).astype(np.int64)
                )
            else:
                values = np.where(nulls, 0, data)
            raw = np.ascontiguousarray(values.astype(_FIXED[kind])).view(np.uint8).reshape(n, -1)
            width = raw.shape[1]
            lengths = np.where(nulls, -1, width)
            encoded.append((lengths, raw, None))
        else:
            lengths, pool = _variable_bytes(kind, np.asarray(data, dtype=object))
            encoded.append((lengths, None, pool))
    sizes = [4 + np.maximum(lengths, 0) for lengths, _, _ in encoded]
    row_size = 2 + np.sum(sizes, axis=0)
    row_start = np.concatenate([[0], np.cumsum(row_size)])[:-1]
    buffer = np.zeros(int(row_size.sum()), dtype=np.uint8)

    def put(positions: np.ndarray, block: np.ndarray) -> None:
        buffer[positions[:, None] + np.arange(block.shape[1])] = block

    put(row_start, np.full(n, len(columns), dtype=">i2").view(np.uint8).reshape(n, 2))
    position = row_start + 2
    for (lengths, raw, pool), size in zip(encoded, sizes, strict=True):
        put(position, lengths.astype(">i4").view(np.uint8).reshape(n, 4))
        if raw is not None:
            present = lengths >= 0
            put(position[present] + 4, raw[present])
        elif len(pool):
            counts = np.maximum(lengths, 0)
            out_start = np.concatenate([[0], np.cumsum(counts)])[:-1]
            target = np.repeat(position + 4 - out_start, counts) + np.arange(counts.sum())
            buffer[target] = pool
        position = position + size
    return buffer.tobytes()


def import_components(
    *,
    path: str | Path,
    actor: Any,
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
    run = _ComponentImport(
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
    report = run.run(commit=commit, progress=progress)
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


def format_report(report: ImportReport, *, limit: int | None = None) -> str:
    """The report as text: header, notes, the problem rows (the first `limit`), counts."""
    lines = [
        f"{report.path}: {report.total:,} rows, {COMPONENT_SCHEMES[report.scheme]['label']}"
        f", source CRS {report.source_crs or '(none)'}"
    ]
    if report.transformed:
        lines.append(f"  note: coordinates transformed from {report.source_crs} to EPSG:4490.")
    lines += [f"  note: {note}" for note in report.notes]
    shown = report.rejected if limit is None else report.rejected[:limit]
    for row in shown:
        label = row.code or row.class_code or ""
        lines.append(
            f"  #{row.row:<7} REJECTED {label}"
            + (f" {row.name}" if row.name else "")
            + " — "
            + " ".join(row.messages)
        )
    if len(shown) < len(report.rejected):
        lines.append(
            f"  … and {len(report.rejected) - len(shown):,} more rejected rows "
            "(--report-json lists them all)."
        )
    if report.reason_counts:
        lines.append("Rejected rows by reason:")
        lines += [
            f"  {REASONS[reason]}: {count:,}" for reason, count in report.reason_counts.items()
        ]
    if report.accepted_by_class:
        lines.append("Accepted by class:")
        lines += [f"  {label}: {count:,}" for label, count in report.accepted_by_class.items()]
    counts = report.counts
    lines.append(f"Accepted {counts['accepted']:,}, rejected {counts['rejected']:,}.")
    if report.timings:
        lines.append(
            "Time: "
            + ", ".join(
                f"{label.lower()} {seconds:.1f} s" for label, seconds in report.timings.items()
            )
            + f" ({sum(report.timings.values()):.1f} s)."
        )
    if report.committed:
        lines.append(f"Committed: {report.created:,} components created in one transaction.")
    else:
        lines.append(
            "Dry run: nothing was written. Add --commit to create the accepted components."
        )
    return "\n".join(lines)


# --- Export -------------------------------------------------------------------------------------
EXPORT_FORMATS = {
    "gpkg": ("GPKG", ".gpkg"),
    "geojson": ("GeoJSON", ".geojson"),
    "csv": ("CSV", ".csv"),
}

EXPORT_SQL = """
SELECT c.code, c.name, cc.code, cd.code, cd.name, od.code, od.name, md.code, md.name, g.code,
       c.status, c.initial_date, c.change_date, c.data_source, c.notes, c.location_description,
       c.material, ST_AsBinary(c.geom)
FROM components_component c
JOIN components_componentclass cc ON cc.id = c.component_class_id
JOIN components_department cd ON cd.id = c.competent_department_id
LEFT JOIN components_department od ON od.id = c.owner_department_id
LEFT JOIN components_department md ON md.id = c.maintainer_department_id
LEFT JOIN grids_grid g ON g.id = c.grid_id
WHERE c.id IN ({ids})
ORDER BY c.district_code, c.code
"""
# Columns of EXPORT_SQL, then the columns written (GB/T 47678.5 table 2 order, LBDM after the
# name, two plain-named extras the standard lacks).
EXPORT_SQL_COLUMNS = [
    "GLBJBSM",
    "GLBJMC",
    "LBDM",
    "ZGBMDM",
    "ZGBMMC",
    "QSDWDM",
    "QSDWMC",
    "YHDWDM",
    "YHDWMC",
    "SZDYWGBSM",
    "status",
    "initial_date",
    "change_date",
    "data_source",
    "BZ",
    "location_description",
    "material",
    "wkb",
]
EXPORT_COLUMNS = [
    "GLBJBSM",
    "GLBJMC",
    "LBDM",
    "ZGBMDM",
    "ZGBMMC",
    "QSDWDM",
    "QSDWMC",
    "YHDWDM",
    "YHDWMC",
    "SZDYWGBSM",
    "GLBJZT",
    "CSRQ",
    "BGRQ",
    "SJLY",
    "BZ",
    "SZJDDM",
    "SZJDMC",
    "SZSQDM",
    "SZSQMC",
    "location_description",
    "material",
]


def _yyyymmdd(values: pd.Series) -> pd.Series:
    text = pd.to_datetime(values).dt.strftime("%Y%m%d").astype(object)
    return text.where(values.notna(), None)


def export_frame(queryset) -> gpd.GeoDataFrame:
    """Components as a GeoDataFrame (EPSG:4490) with the GB/T 47678.5 table 2 attributes and
    LBDM: one query with joins, one more for the street and community names."""
    try:
        ids_sql, params = queryset.order_by().values("pk").query.sql_with_params()
    except EmptyResultSet:  # e.g. Component.objects.none()
        rows = []
    else:
        with connection.cursor() as cursor:
            cursor.execute(EXPORT_SQL.format(ids=ids_sql), params)
            rows = cursor.fetchall()
    frame = pd.DataFrame(rows, columns=EXPORT_SQL_COLUMNS, dtype=object)
    frame["GLBJZT"] = frame["status"].map(STATUS_LABELS)
    frame["SJLY"] = frame["data_source"].map(DATA_SOURCE_LABELS)
    frame["CSRQ"] = _yyyymmdd(frame["initial_date"])
    frame["BGRQ"] = _yyyymmdd(frame["change_date"])
    grid = frame["SZDYWGBSM"].fillna("").astype(str)
    frame["SZJDDM"] = grid.str.slice(0, 9).astype(object).where(grid != "", None)
    frame["SZSQDM"] = grid.str.slice(0, 12).astype(object).where(grid != "", None)
    prefixes = set(frame["SZJDDM"].dropna()) | set(frame["SZSQDM"].dropna())
    names = dict(Grid.objects.active().filter(code__in=prefixes).values_list("code", "name"))
    frame["SZJDMC"] = frame["SZJDDM"].map(names)
    frame["SZSQMC"] = frame["SZSQDM"].map(names)
    geometry = shapely.from_wkb([bytes(w) for w in frame["wkb"]]) if len(frame) else []
    return gpd.GeoDataFrame(
        frame[EXPORT_COLUMNS].astype(object), geometry=gpd.GeoSeries(geometry, crs=STORAGE_SRID)
    )


def export_components(*, queryset, path: str | Path, fmt: str) -> int:
    """Write components to GeoPackage (EPSG:4490, one layer 'components' of the generic
    GEOMETRY type when kinds are mixed), GeoJSON (RFC 7946, labelled WGS84) or CSV (lon/lat of
    the point or a representative point, plus a WKT column, UTF-8 with BOM for Excel). Returns
    the number of components written."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"Unknown format {fmt!r}; use gpkg, geojson or csv.")
    driver, _suffix = EXPORT_FORMATS[fmt]
    frame = export_frame(queryset)
    path = Path(path)
    if path.exists():
        path.unlink()
    if fmt == "csv":
        geoms = np.asarray(frame.geometry.values, dtype=object)
        anchor = shapely.point_on_surface(geoms) if len(geoms) else np.zeros(0, object)
        xy = shapely.get_coordinates(anchor) if len(geoms) else np.zeros((0, 2))
        table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        table["lon"], table["lat"] = xy[:, 0], xy[:, 1]
        table["WKT"] = shapely.to_wkt(geoms, rounding_precision=-1) if len(geoms) else []
        table.to_csv(path, index=False, encoding="utf-8-sig", float_format="%.10f")
    elif fmt == "geojson":
        frame = frame.set_crs(WEB_SRID, allow_override=True)
        frame.to_file(path, driver=driver, engine="pyogrio", RFC7946="YES", COORDINATE_PRECISION=9)
    else:
        frame.to_file(path, driver=driver, engine="pyogrio", layer="components")
    return len(frame)
