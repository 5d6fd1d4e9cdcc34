"""Reading a component file: the table of rows (CSV with size limit and encodings, or any vector
file through the grid importer's reader), the fields asked for, and columns as numbers or text.

Nothing here looks at a row's meaning; the checks do (checks.py, coordinates.py, codes.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geogrid.core.vectorfiles import READABLE_SUFFIXES, ImportFileError, read_file, refuse_oversized

CSV_SUFFIXES = {".csv"}


def read_table(path: Path) -> tuple[pd.DataFrame, pd.DataFrame, bool]:
    """(the file's rows, their attribute columns, whether it is a CSV); ImportFileError for a
    file that cannot be read at all."""
    if not path.exists():
        raise ImportFileError(f"File not found: {path}")
    suffix = path.suffix.lower()
    if suffix not in READABLE_SUFFIXES | CSV_SUFFIXES:
        raise ImportFileError(
            f"{path.name}: unsupported file type {suffix or '(none)'}; use GeoJSON "
            "(.geojson/.json), GeoPackage (.gpkg), Shapefile (.shp), a zipped Shapefile "
            "(.zip) or CSV with lon/lat columns (.csv)."
        )
    if suffix in CSV_SUFFIXES:
        frame = read_csv(path)
        return frame, frame, True
    vector: gpd.GeoDataFrame = read_file(path)
    return vector, vector.drop(columns=vector.geometry.name), False


def check_options(
    path: Path,
    columns: list[str],
    options: dict[str, str | None],
    class_code: str | None,
) -> None:
    """Every field named by an option exists; --class-field and --class are not both given."""
    fields = ", ".join(str(c) for c in columns) or "(none)"
    for option, name in options.items():
        if name and find_column(columns, [name]) is None:
            flag = "--" + option.replace("_", "-")
            raise ImportFileError(
                f"{flag} {name!r} is not a field of {path.name}; its fields are: {fields}."
            )
    if options["class_field"] and class_code:
        raise ImportFileError("Give either --class-field or --class, not both.")


def read_csv(path: Path) -> pd.DataFrame:
    """A CSV as text columns (codes keep their leading zeros); UTF-8 (with or without BOM), or
    GB18030 as Excel writes it on Chinese Windows."""
    refuse_oversized(path)
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


def numbers(series: pd.Series) -> np.ndarray:
    """A column as float64, NaN where a cell is not a number (text columns of a CSV included;
    surrounding spaces are allowed)."""
    if series.dtype.kind in "iuf":
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    values = pd.to_numeric(series, errors="coerce")
    if values.isna().any():  # " 116.4" and the like: strip, then try once more
        retry = values.isna()
        values[retry] = pd.to_numeric(series[retry].astype(str).str.strip(), errors="coerce")
    return values.to_numpy(dtype=np.float64, na_value=np.nan)


def find_column(columns: Iterable[str], names: Iterable[str]) -> str | None:
    """The first column named like one of `names` (exactly, else ignoring case)."""
    columns = [c for c in columns if isinstance(c, str)]
    by_lower: dict[str, str] = {}
    for column in columns:
        by_lower.setdefault(column.lower(), column)
    for name in names:
        if name in columns:
            return name
        if name.lower() in by_lower:
            return by_lower[name.lower()]
    return None


def column_text(series: pd.Series, *, pad: int = 0) -> np.ndarray:
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
