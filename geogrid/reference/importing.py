"""Importing reference layers: read a file, check every feature, plan the layers (nothing
written), then write the plan through the services in one transaction (docs/architecture.md §12,
docs/domain.md §9).

Files: GeoPackage, GeoJSON, Shapefile (plain or zipped) through geogrid.core.vectorfiles, one
kind per file; OpenStreetMap extracts through geogrid.reference.osm, any of the five kinds.

Every check is an array operation over all features (a city has 100,000s of buildings): a
feature that cannot be used is skipped with a reason, never the file; the report lists the first
ones and counts them all. What is kept is clipped to the city (GEOGRID_CITY_BBOX, or --clip).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import shapely
from django.conf import settings
from django.db import DatabaseError
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from geogrid.accounts.actors import Actor
from geogrid.core.coordinates import CoordinateError
from geogrid.core.vectorfiles import ImportFileError, read_file, refuse_oversized, to_storage_crs
from geogrid.reference import osm
from geogrid.reference.models import CLASSES_OF_KIND, FeatureClass, LayerKind, ReferenceLayer
from geogrid.reference.osm import is_none
from geogrid.reference.services import LayerInput, import_layers

logger = logging.getLogger(__name__)

KINDS = tuple(k.value for k in LayerKind)
DEFAULT_CLASS = {
    LayerKind.ROADS.value: FeatureClass.STREET.value,
    LayerKind.WATER.value: FeatureClass.RIVER.value,
    LayerKind.WALLS.value: FeatureClass.WALL.value,
    LayerKind.BUILDINGS.value: FeatureClass.BUILDING.value,
    LayerKind.GREEN.value: FeatureClass.PARK.value,
}
# shapely type ids: 1 LineString, 3 Polygon, 5 MultiLineString, 6 MultiPolygon.
_LINES, _POLYGONS = (1, 5), (3, 6)
ALLOWED_TYPES: dict[str, tuple[int, ...]] = {
    LayerKind.ROADS.value: _LINES,
    LayerKind.WALLS.value: _LINES,
    LayerKind.WATER.value: _LINES + _POLYGONS,
    LayerKind.BUILDINGS.value: _POLYGONS,
    LayerKind.GREEN.value: _POLYGONS,
}
TYPE_NAMES = dict(
    enumerate(
        (
            "Point",
            "LineString",
            "LinearRing",
            "Polygon",
            "MultiPoint",
            "MultiLineString",
            "MultiPolygon",
            "GeometryCollection",
        )
    )
)
SHAPE_OF_KIND = {
    LayerKind.ROADS.value: "lines (centrelines)",
    LayerKind.WALLS.value: "lines",
    LayerKind.WATER.value: "lines or polygons",
    LayerKind.BUILDINGS.value: "polygons (footprints)",
    LayerKind.GREEN.value: "polygons",
}
# Features whose coordinates the declared CRS cannot convert are found one conversion at a time
# (each is an array operation); past this many the file's CRS is wrong, not a few features.
MAX_UNCONVERTIBLE = 20
REPORT_LISTED = 20  # skipped (and repaired) features listed by name; all are counted
NAME_LENGTH = 200  # ReferenceFeature.name


def _osm_values_of_kind(kind: str) -> dict[str, str]:
    """Source values a --class-field may hold, mapped to the kind's classes: the OSM tag
    values of docs/domain.md §9.2, the class values themselves and their Chinese labels."""
    table: dict[str, str] = {}
    if kind == LayerKind.ROADS:
        table.update(osm.ROAD_CLASSES)
    elif kind == LayerKind.WATER:
        table.update(osm.WATER_LINE_CLASSES)
        table.update(dict.fromkeys(("riverbank", "water", "reservoir", "basin"), "river"))
    elif kind == LayerKind.WALLS:
        table.update(osm.WALL_CLASSES)
        table.update(osm.RAILWAY_CLASSES)
    elif kind == LayerKind.GREEN:
        for values in osm.GREEN_AREAS.values():
            table.update(dict.fromkeys(values, FeatureClass.PARK.value))
    for value in CLASSES_OF_KIND[kind]:
        table[str(value)] = str(value)
        table[str(FeatureClass(value).label)] = str(value)
    return {key.lower(): value for key, value in table.items()}


# --- The plan ------------------------------------------------------------------------------
@dataclass
class LayerPlan:
    """One layer as it will be written, and what happened to the file's other features."""

    name: str
    kind: str
    geoms: np.ndarray
    classes: np.ndarray
    names: np.ndarray
    considered: int  # features of this kind in the file (after the OSM tag rules)
    dropped: dict[str, int] = field(default_factory=dict)  # OSM tag rule → features
    skipped_labels: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))
    skipped_reasons: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))
    skipped_details: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))
    repaired_labels: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))
    repaired_details: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))
    outside: int = 0
    clipped: int = 0

    @property
    def by_class(self) -> dict[str, int]:
        counts = Counter(self.classes.tolist())
        return {c: counts[c] for c in CLASSES_OF_KIND[self.kind] if counts[c]}

    @property
    def skipped_by_reason(self) -> dict[str, int]:
        return dict(Counter(self.skipped_reasons.tolist()).most_common())

    def details(self) -> dict[str, Any]:
        """What the layer's import event records beyond the counts the service writes."""
        return {
            "considered": self.considered,
            "dropped_by_tag_rules": self.dropped,
            "skipped": self.skipped_by_reason,
            "repaired": len(self.repaired_labels),
            "outside_clip": self.outside,
            "clipped": self.clipped,
        }


@dataclass
class ImportPlan:
    path: Path
    source: str
    source_crs: str
    source_date: date | None
    attribution: str
    clip: str
    layers: list[LayerPlan]
    notes: list[str] = field(default_factory=list)
    committed: bool = False
    write_seconds: float | None = None

    @property
    def total(self) -> int:
        return sum(len(layer.geoms) for layer in self.layers)


# --- Geometry checks, vectorised ----------------------------------------------------------
def _flat_parts(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every simple part of every geometry (collections inside collections too), with the
    index of the geometry it came from."""
    parts, index = shapely.get_parts(geoms, return_index=True)
    while True:
        nested = np.isin(shapely.get_type_id(parts), (4, 5, 6, 7))
        if not nested.any():
            return parts, index
        inner, inner_index = shapely.get_parts(parts[nested], return_index=True)
        parts = np.concatenate([parts[~nested], inner])
        index = np.concatenate([index[~nested], index[nested][inner_index]])
        order = np.argsort(index, kind="stable")
        parts, index = parts[order], index[order]


def keep_dimension(geoms: np.ndarray, dims: np.ndarray) -> np.ndarray:
    """Per geometry, its non-empty parts of dimension dims[i] (1 lines, 2 polygons): the part
    itself when there is one, a Multi… of them when more, None when none."""
    out = np.full(len(geoms), None, dtype=object)
    if len(geoms) == 0:
        return out
    parts, index = _flat_parts(geoms)
    keep = (shapely.get_dimensions(parts) == dims[index]) & ~shapely.is_empty(parts)
    parts, index = parts[keep], index[keep]
    counts = np.bincount(index, minlength=len(geoms))
    single = counts[index] == 1
    out[index[single]] = parts[single]
    for dim, collect in ((1, shapely.multilinestrings), (2, shapely.multipolygons)):
        several = ~single & (dims[index] == dim)
        if several.any():
            collect(parts[several], indices=index[several], out=out)
    return out


def _located(reasons: np.ndarray) -> np.ndarray:
    """GEOS's "Self-intersection[116.4 39.9]" as "self-intersection at lon 116.400000, lat
    39.900000"."""
    series = pd.Series(reasons, dtype="string")
    found = series.str.extract(r"^(?P<what>[^\[]+)\[(?P<x>[-0-9.eE+]+) (?P<y>[-0-9.eE+]+)\]")
    what = found["what"].str.strip().str.lower()
    x = pd.to_numeric(found["x"], errors="coerce").map("{:.6f}".format)
    y = pd.to_numeric(found["y"], errors="coerce").map("{:.6f}".format)
    located = what + " at lon " + x + ", lat " + y
    return np.asarray(located.fillna(series.str.lower()).to_numpy(dtype=object), dtype=object)


@dataclass
class _Checked:
    geoms: np.ndarray
    ok: np.ndarray
    reasons: np.ndarray
    details: np.ndarray
    repaired: np.ndarray
    outside: int
    clipped: int


def check_geometries(
    kind: str,
    geoms: np.ndarray,
    problems: np.ndarray,
    clip: BaseGeometry | None,
    problem_details: np.ndarray | None = None,
) -> _Checked:
    """Check, repair and clip the geometries of one kind (see the module docstring).
    `problems` are the reasons already known (a malformed OSM geometry, a bad class)."""
    n = len(geoms)
    geoms = np.asarray(geoms, dtype=object).copy()
    reasons = np.asarray(problems, dtype=object).copy()
    details = (
        np.full(n, None, dtype=object)
        if problem_details is None
        else np.asarray(problem_details, dtype=object).copy()
    )
    repaired = np.full(n, None, dtype=object)

    def pending() -> np.ndarray:
        return is_none(reasons)

    def skip(mask: np.ndarray, reason: str, detail: np.ndarray | str | None = None) -> None:
        mask = mask & pending()
        reasons[mask] = reason
        if detail is not None:
            details[mask] = detail[mask] if isinstance(detail, np.ndarray) else detail

    skip(shapely.is_missing(geoms) | shapely.is_empty(geoms), "it has no geometry")
    types = shapely.get_type_id(geoms)
    wrong = pending() & ~np.isin(types, ALLOWED_TYPES[kind])
    for type_id in np.unique(types[wrong]):  # one pass per geometry type found, not per row
        skip(
            wrong & (types == type_id),
            f"it is a {TYPE_NAMES[int(type_id)]}; {kind} must be {SHAPE_OF_KIND[kind]}",
        )
    checked = np.flatnonzero(pending())
    coords, index = shapely.get_coordinates(geoms[checked], return_index=True)
    not_finite = np.zeros(n, dtype=bool)
    not_finite[checked] = np.bincount(
        index[~np.isfinite(coords).all(axis=1)], minlength=len(checked)
    ).astype(bool)
    skip(not_finite, "it has coordinates that are not numbers")
    with np.errstate(invalid="ignore"):
        beyond = (np.abs(coords[:, 0]) > 180) | (np.abs(coords[:, 1]) > 90)
    out_of_range = np.zeros(n, dtype=bool)
    out_of_range[checked] = np.bincount(index[beyond], minlength=len(checked)).astype(bool)
    skip(
        out_of_range,
        "its coordinates are outside longitude −180…180 / latitude −90…90 (the file's "
        "CRS is probably wrong; name the right one with --crs)",
    )
    dims = shapely.get_dimensions(geoms)
    candidates = np.flatnonzero(pending())
    invalid = candidates[~shapely.is_valid(geoms[candidates])]
    if len(invalid):
        why = _located(shapely.is_valid_reason(geoms[invalid]))
        fixed = keep_dimension(
            shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False),
            dims[invalid],
        )
        lost = shapely.is_missing(fixed)
        mask = np.zeros(n, dtype=bool)
        mask[invalid[lost]] = True
        detail = np.full(n, None, dtype=object)
        detail[invalid] = why
        skip(mask, "invalid geometry that cannot be repaired", detail)
        geoms[invalid[~lost]] = fixed[~lost]
        repaired[invalid[~lost]] = why[~lost]
    outside = clipped = 0
    if clip is not None:
        shapely.prepare(clip)
        candidates = np.flatnonzero(pending())
        within = candidates[shapely.contains_properly(clip, geoms[candidates])]
        crossing = np.setdiff1d(candidates, within)
        cut = keep_dimension(shapely.intersection(geoms[crossing], clip), dims[crossing])
        away = crossing[shapely.is_missing(cut)]
        kept = crossing[~shapely.is_missing(cut)]
        geoms[kept] = cut[~shapely.is_missing(cut)]
        outside, clipped = len(away), len(kept)
        reasons[away] = "outside the clip area"
    # Repairs and clipping give valid geometries; checked once more, because the database
    # refuses an invalid one and would fail the whole import.
    candidates = np.flatnonzero(pending())
    still = candidates[~shapely.is_valid(geoms[candidates])]
    if len(still):
        mask = np.zeros(n, dtype=bool)
        mask[still] = True
        detail = np.full(n, None, dtype=object)
        detail[still] = _located(shapely.is_valid_reason(geoms[still]))
        skip(mask, "invalid geometry that cannot be repaired", detail)
    return _Checked(
        geoms=geoms,
        ok=pending(),
        reasons=reasons,
        details=details,
        repaired=repaired,
        outside=outside,
        clipped=clipped,
    )


def plan_layer(
    *,
    name: str,
    kind: str,
    geoms: np.ndarray,
    classes: np.ndarray,
    names: np.ndarray,
    labels: np.ndarray,
    problems: np.ndarray,
    clip: BaseGeometry | None,
    details: np.ndarray | None = None,
    dropped: dict[str, int] | None = None,
) -> LayerPlan:
    checked = check_geometries(kind, geoms, problems, clip, details)
    ok = checked.ok
    skipped = ~ok & (checked.reasons != "outside the clip area")
    repaired = ok & ~is_none(checked.repaired)
    names = np.asarray(
        pd.Series(names, dtype=object).fillna("").astype(str).str.slice(0, NAME_LENGTH),
        dtype=object,
    )
    return LayerPlan(
        name=name,
        kind=kind,
        geoms=checked.geoms[ok],
        classes=np.asarray(classes, dtype=object)[ok],
        names=names[ok],
        considered=len(geoms),
        dropped=dict(dropped or {}),
        skipped_labels=labels[skipped],
        skipped_reasons=checked.reasons[skipped],
        skipped_details=checked.details[skipped],
        repaired_labels=labels[repaired],
        repaired_details=checked.repaired[repaired],
        outside=checked.outside,
        clipped=checked.clipped,
    )


# --- Reading the inputs ---------------------------------------------------------------------
def parse_kinds(kinds: list[str] | None, *, is_osm: bool, path: Path) -> list[str]:
    given = [k.strip().lower() for k in kinds or [] if k.strip()]
    unknown = [k for k in given if k not in KINDS]
    if unknown:
        raise ImportFileError(f"Unknown kind {unknown[0]!r}; use one of: {', '.join(KINDS)}.")
    if is_osm:
        return list(dict.fromkeys(given)) or list(KINDS)
    if len(set(given)) != 1:
        raise ImportFileError(
            f"{path.name} holds one layer: name its kind with exactly one --kind "
            f"({' | '.join(KINDS)})."
        )
    return given[:1]


def resolve_clip(clip: str | None, *, no_clip: bool) -> tuple[BaseGeometry | None, str]:
    """The polygon features are clipped to, and how the report names it."""
    if no_clip:
        return None, "none (--no-clip)"
    if clip:
        bbox = _parse_bbox(clip)
        if bbox is not None:
            return box(*bbox), f"--clip {clip}"
        path = Path(clip)
        frame = read_file(path)
        geoms, _label, _transformed = to_storage_crs(frame, None, path=path)
        polygons = keep_dimension(np.asarray(geoms.values, dtype=object), np.full(len(geoms), 2))
        polygons = polygons[~shapely.is_missing(polygons)]
        if len(polygons) == 0:
            raise ImportFileError(f"--clip {path.name}: the file holds no polygon to clip to.")
        area = shapely.union_all(shapely.make_valid(polygons))
        return area, f"--clip {path.name}"
    city = settings.GEOGRID_CITY_BBOX
    if city is None:
        return None, "none (GEOGRID_CITY_BBOX is empty)"
    return box(*city), "GEOGRID_CITY_BBOX " + ",".join(f"{v:g}" for v in city)


def _parse_bbox(text: str) -> tuple[float, float, float, float] | None:
    parts = text.split(",")
    if len(parts) != 4:
        return None
    try:
        west, south, east, north = (float(p) for p in parts)
    except ValueError:
        return None
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise ImportFileError(
            f"--clip {text}: a box is west,south,east,north in degrees with west < east "
            "and south < north."
        )
    return west, south, east, north


def _text_values(column: pd.Series) -> np.ndarray:
    """Field values as stripped text, None where empty (integer-valued floats lose '.0')."""

    def one(value: Any) -> str | None:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = str(value).strip()
        return text or None

    return np.asarray([one(v) for v in column.to_numpy(dtype=object)], dtype=object)


def classes_of_values(
    kind: str, values: np.ndarray, field_name: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(class or None, why not or None, the value) per row, for the values of a --class-field:
    OSM values are mapped (docs/domain.md §9.2), class values and their labels taken as they
    are, anything else is a bad class."""
    table = _osm_values_of_kind(kind)
    lowered = pd.Series(values, dtype=object).astype("string").str.strip().str.lower()
    if kind == LayerKind.BUILDINGS:
        # OSM's building=* values are open-ended (yes, house, apartments…): any but "no".
        known = np.asarray(lowered.notna() & (lowered != "no"), dtype=bool)
        classes = np.full(len(values), None, dtype=object)
        classes[known] = FeatureClass.BUILDING.value
    else:
        mapped = lowered.map(table)
        classes = mapped.astype(object).where(mapped.notna(), None).to_numpy(dtype=object)
    bad = is_none(classes)
    empty = bad & np.asarray(lowered.isna(), dtype=bool)
    allowed = ", ".join(str(c) for c in CLASSES_OF_KIND[kind])
    example = next(iter(_osm_values_of_kind(kind)))
    reasons = np.full(len(values), None, dtype=object)
    reasons[bad] = (
        f"unknown class for {kind} in {field_name} (use {allowed}, or an OSM value such as "
        f"{example!r})"
    )
    reasons[empty] = f"its {field_name} is empty"
    details = np.full(len(values), None, dtype=object)
    details[bad & ~empty] = pd.Series(values[bad & ~empty], dtype=object).map(repr).to_numpy()
    return classes, reasons, details


def _convert(
    frame: gpd.GeoDataFrame, crs: str | None, path: Path
) -> tuple[np.ndarray, str, bool, dict[int, str]]:
    """Geometries in the storage CRS, and the rows whose coordinates the declared CRS cannot
    convert (each with the reason): those are dropped and the rest converted again."""
    keep = np.ones(len(frame), dtype=bool)
    failed: dict[int, str] = {}
    while True:
        rows = np.flatnonzero(keep)
        try:
            converted, label, transformed = to_storage_crs(frame.iloc[rows], crs, path=path)
        except CoordinateError as exc:
            if exc.index is None or len(failed) >= MAX_UNCONVERTIBLE:
                raise ImportFileError(
                    f"{path.name}: coordinates cannot be converted from {crs} "
                    f"({len(failed) + 1} features or more): {exc} Check --crs."
                ) from exc
            position = exc.index if isinstance(exc.index, int) else exc.index[0]
            _coords, owner = shapely.get_coordinates(
                np.asarray(frame.geometry.values, dtype=object)[rows], return_index=True
            )
            row = int(rows[owner[position]])
            failed[row] = str(exc)
            keep[row] = False
            continue
        geoms = np.full(len(frame), None, dtype=object)
        geoms[rows] = np.asarray(converted.values, dtype=object)
        return geoms, label, transformed, failed


def _read_vector_file(
    path: Path,
    kind: str,
    *,
    crs: str | None,
    name_field: str | None,
    class_field: str | None,
) -> tuple[dict[str, Any], str, bool]:
    frame = read_file(path)
    for option, name in (("--name-field", name_field), ("--class-field", class_field)):
        if name and name not in frame.columns:
            fields = ", ".join(str(c) for c in frame.columns if c != frame.geometry.name)
            raise ImportFileError(
                f"{option} {name!r} is not a field of {path.name}; "
                f"its fields are: {fields or '(none)'}."
            )
    geoms, label, transformed, failed = _convert(frame, crs, path)
    n = len(frame)
    problems = np.full(n, None, dtype=object)
    details = np.full(n, None, dtype=object)
    if class_field:
        classes, problems, details = classes_of_values(
            kind, _text_values(frame[class_field]), class_field
        )
    else:
        classes = np.full(n, DEFAULT_CLASS[kind], dtype=object)
    for row, message in failed.items():
        problems[row] = f"its coordinates cannot be converted from {label or crs}"
        details[row] = message
    names = _text_values(frame[name_field]) if name_field else np.full(n, None, dtype=object)
    rows = {
        "geoms": geoms,
        "classes": classes,
        "names": names,
        "labels": np.asarray([f"feature {i + 1}" for i in range(n)], dtype=object),
        "problems": problems,
        "details": details,
    }
    return rows, label, transformed


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (*osm.OSM_SUFFIXES, ".geojson", ".json", ".gpkg", ".shp", ".zip"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def plan_import(
    *,
    path: str | Path,
    kinds: list[str] | None,
    name: str | None = None,
    crs: str | None = None,
    name_field: str | None = None,
    class_field: str | None = None,
    source_date: date | None = None,
    attribution: str | None = None,
    clip: str | None = None,
    no_clip: bool = False,
) -> ImportPlan:
    """Read and check a file; the layers it would write (nothing is written here).

    Raises ImportFileError for anything that makes the whole file unusable; what concerns single
    features is in the plan's layers."""
    path = Path(path)
    if not path.exists():
        raise ImportFileError(f"File not found: {path}")
    is_osm = osm.is_osm(path)
    kinds = parse_kinds(kinds, is_osm=is_osm, path=path)
    clip_area, clip_label = resolve_clip(clip, no_clip=no_clip)
    # Layer names: --name, or the file's name; an OSM file's layers add their kind to it
    # ("helsinki roads"), unless only one kind is imported under an explicit --name.
    stem = name or _stem(path)
    notes: list[str] = []
    layers: list[LayerPlan] = []
    if is_osm:
        for option, value in (
            ("--crs", crs),
            ("--name-field", name_field),
            ("--class-field", class_field),
        ):
            if value:
                raise ImportFileError(
                    f"{option} is for GeoPackage, GeoJSON and Shapefiles; OpenStreetMap files "
                    "are in WGS84 and carry their names and classes in their tags."
                )
        refuse_oversized(path)
        extract = osm.read_osm(path, kinds)
        source_crs, transformed = "EPSG:4326 (OpenStreetMap)", False
        if source_date is None:
            source_date = extract.source_date
            if source_date is None:
                source_date = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).date()
                notes.append(
                    f"The file does not say how recent its data is; its date is the file's "
                    f"own ({source_date.isoformat()}). Give --date if you know better."
                )
        attribution = osm.OSM_ATTRIBUTION if attribution is None else attribution
        for kind in kinds:
            rows = extract.rows[kind]
            layer_name = name if name and len(kinds) == 1 else f"{stem} {kind}"
            layers.append(
                plan_layer(
                    name=layer_name[:100],
                    kind=kind,
                    geoms=rows.geoms,
                    classes=rows.classes,
                    names=rows.names,
                    labels=rows.labels,
                    problems=rows.problems,
                    details=rows.details,
                    clip=clip_area,
                    dropped=extract.dropped.get(kind),
                )
            )
    else:
        kind = kinds[0]
        rows_of, source_crs, transformed = _read_vector_file(
            path, kind, crs=crs, name_field=name_field, class_field=class_field
        )
        layers.append(plan_layer(name=stem[:100], kind=kind, clip=clip_area, **rows_of))
        if source_date is None:
            notes.append("No --date given: the layer's data date is recorded as unknown.")
    if transformed:
        notes.append(f"Coordinates transformed from {source_crs} to EPSG:4490.")
    plan = ImportPlan(
        path=path,
        source=path.name,
        source_crs=source_crs,
        source_date=source_date,
        attribution=attribution or "",
        clip=clip_label,
        layers=layers,
        notes=notes,
    )
    considered = sum(layer.considered for layer in layers)
    outside = sum(layer.outside for layer in layers)
    if considered and plan.total == 0 and outside:
        raise ImportFileError(
            f"Every feature of {path.name} lies outside the clip area ({clip_label}): "
            "the file is of another place. Give --clip FILE or --clip W,S,E,N for its city, "
            "set GEOGRID_CITY_BBOX, or import without clipping (--no-clip)."
        )
    return plan


# --- Writing ---------------------------------------------------------------------------------
def write_plan(
    plan: ImportPlan,
    *,
    actor: Actor | None,
    progress: Callable[[int], object] | None = None,
) -> list[ReferenceLayer]:
    """Write every layer of the plan in one transaction (replacing layers of the same name);
    ImportFileError, with nothing written, if the database refuses any of it."""
    started = time.perf_counter()
    inputs = [
        LayerInput(
            name=layer.name,
            kind=layer.kind,
            geoms=layer.geoms,
            classes=layer.classes,
            names=layer.names,
            source=plan.source,
            source_date=plan.source_date,
            attribution=plan.attribution,
            details={**layer.details(), "source_crs": plan.source_crs, "clip": plan.clip},
        )
        for layer in plan.layers
    ]
    try:
        written = import_layers(actor=actor, layers=inputs, progress=progress)
    except (psycopg.Error, DatabaseError) as exc:
        raise ImportFileError(
            f"The database refused the import; nothing was written: {exc}".strip()
        ) from exc
    plan.committed = True
    plan.write_seconds = time.perf_counter() - started
    logger.info(
        "reference layer import",
        extra={
            "file": plan.source,
            "layers": [layer.name for layer in written],
            "features": plan.total,
            "duration_s": round(plan.write_seconds, 2),
            "actor_id": getattr(actor, "pk", None),
        },
    )
    return written


# --- The report --------------------------------------------------------------------------------
def format_report(plan: ImportPlan) -> str:
    date_text = plan.source_date.isoformat() if plan.source_date else "unknown"
    lines = [
        f"{plan.source}: source CRS {plan.source_crs}, data date {date_text}"
        + (f", {plan.attribution}" if plan.attribution else ""),
        f"  clipped to: {plan.clip}",
    ]
    lines += [f"  note: {note}" for note in plan.notes]
    skipped: list[tuple[str, str, str | None]] = []
    repaired: list[tuple[str, str]] = []
    for layer in plan.layers:
        classes = ", ".join(f"{klass} {count:,}" for klass, count in layer.by_class.items())
        lines.append(
            f"  layer {layer.name!r} ({layer.kind}): {len(layer.geoms):,} features"
            + (f" — {classes}" if classes else "")
        )
        for rule, count in layer.dropped.items():
            lines.append(f"      dropped by the tag rules: {count:,} {rule}")
        extra = []
        if layer.outside:
            extra.append(f"{layer.outside:,} outside the clip area (dropped)")
        if layer.clipped:
            extra.append(f"{layer.clipped:,} cut at its edge")
        if len(layer.repaired_labels):
            extra.append(f"{len(layer.repaired_labels):,} repaired")
        if len(layer.skipped_labels):
            extra.append(f"{len(layer.skipped_labels):,} skipped")
        if extra:
            lines.append("      " + "; ".join(extra))
        skipped += [
            (f"{layer.kind} {label}", reason, detail)
            for label, reason, detail in zip(
                layer.skipped_labels[:REPORT_LISTED],
                layer.skipped_reasons[:REPORT_LISTED],
                layer.skipped_details[:REPORT_LISTED],
                strict=True,
            )
        ]
        repaired += [
            (f"{layer.kind} {label}", detail)
            for label, detail in zip(
                layer.repaired_labels[:REPORT_LISTED],
                layer.repaired_details[:REPORT_LISTED],
                strict=True,
            )
        ]
    total_skipped = sum(len(layer.skipped_labels) for layer in plan.layers)
    if total_skipped:
        lines.append(f"Skipped features ({total_skipped:,}):")
        for label, reason, detail in skipped[:REPORT_LISTED]:
            lines.append(f"  {label}: {reason}" + (f" ({detail})" if detail else ""))
        if total_skipped > REPORT_LISTED:
            lines.append(f"  … and {total_skipped - REPORT_LISTED:,} more. By reason:")
        else:
            lines.append("  By reason:")
        reasons: Counter[str] = Counter()
        for layer in plan.layers:
            reasons.update(layer.skipped_by_reason)
        lines += [f"    {count:,} {reason}" for reason, count in reasons.most_common()]
    total_repaired = sum(len(layer.repaired_labels) for layer in plan.layers)
    if total_repaired:
        lines.append(f"Repaired features ({total_repaired:,}, kept after make_valid):")
        lines += [f"  {label}: {detail}" for label, detail in repaired[:REPORT_LISTED]]
        if total_repaired > REPORT_LISTED:
            lines.append(f"  … and {total_repaired - REPORT_LISTED:,} more.")
    if plan.committed and plan.write_seconds is not None:
        rate = plan.total / plan.write_seconds if plan.write_seconds > 0 else 0.0
        lines.append(
            f"Written: {len(plan.layers)} layer(s), {plan.total:,} features in "
            f"{plan.write_seconds:.1f} s ({rate:,.0f} features/s), in one transaction."
        )
    else:
        lines.append("Dry run: nothing was written.")
    return "\n".join(lines)
