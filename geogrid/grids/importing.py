"""Importing grids from GeoJSON, GeoPackage, Shapefile or zipped Shapefile; exporting them.

The import is a dry run unless `commit=True`, and reports per feature what happened: accepted,
repaired (an invalid polygon made valid, with the area the repair changed), or rejected (with
the reason). Committing creates every accepted feature through the grid services in one
transaction, or none of them.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from django.db import transaction
from shapely.geometry.base import BaseGeometry

from geogrid.accounts.actors import Actor
from geogrid.core.codes import CodeError
from geogrid.core.coordinates import CoordinateError
from geogrid.core.gis import area_m2, invalidity, repair
from geogrid.core.srid import STORAGE_SRID
from geogrid.core.vectorfiles import ImportFileError, read_file, to_storage_crs, write_frame
from geogrid.grids.models import Grid, GridAction, GridLevel, GridSource
from geogrid.grids.services.editing import create_grids
from geogrid.grids.validation import Candidate, check_candidates, check_code

logger = logging.getLogger(__name__)


@dataclass
class FeatureReport:
    row: int  # 1-based feature number in the file
    code: str | None
    name: str | None
    status: str = "accepted"  # accepted | repaired | rejected
    messages: list[str] = field(default_factory=list)
    area_m2: float | None = None
    parent_code: str | None = None

    def reject(self, message: str) -> None:
        self.status = "rejected"
        self.messages.append(message)


@dataclass
class ImportReport:
    path: str
    level: str
    source_crs: str
    transformed: bool
    features: list[FeatureReport]
    committed: bool = False
    created: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        counts = {"accepted": 0, "repaired": 0, "rejected": 0}
        for feature in self.features:
            counts[feature.status] += 1
        return counts

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["counts"] = self.counts
        return data


def _convert_each(
    frame: gpd.GeoDataFrame, declared: str | int | None, path: Path
) -> tuple[gpd.GeoSeries, str, bool, dict[int, str]]:
    converted: list[BaseGeometry | None] = []
    errors: dict[int, str] = {}
    label, transformed = "", False
    for index in range(len(frame)):
        try:
            one, label, transformed = to_storage_crs(frame.iloc[[index]], declared, path=path)
            converted.append(one.iloc[0])
        except CoordinateError as exc:
            errors[index] = str(exc)
            converted.append(None)
    return gpd.GeoSeries(converted, crs=STORAGE_SRID), label, transformed, errors


def _text(value: Any) -> str | None:
    """A field value as text; integer-valued floats lose their '.0' (codes read as numbers)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def import_grids(
    *,
    path: str | Path,
    level: str,
    actor: Actor | None,
    parent_code: str | None = None,
    crs: str | int | None = None,
    code_field: str | None = None,
    name_field: str | None = None,
    commit: bool = False,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> ImportReport:
    """Check every feature of a file as grids of `level`; create the accepted ones on commit.

    Parents come from `parent_code`, or from each code's prefix. Without a code field, codes are
    allocated under the parent (west→east, north→south). Raises ImportFileError for a file that
    cannot be used at all; everything about single features goes into the report.
    """
    started = time.perf_counter()
    path = Path(path)
    grid_level = GridLevel.objects.filter(slug=level).first()
    if grid_level is None:
        names = ", ".join(GridLevel.objects.values_list("slug", flat=True))
        raise ImportFileError(f"Unknown level {level!r}; use one of: {names}.")
    frame = read_file(path)
    for option, name in (("--code-field", code_field), ("--name-field", name_field)):
        if name and name not in frame.columns:
            fields = ", ".join(c for c in frame.columns if c != frame.geometry.name)
            raise ImportFileError(
                f"{option} {name!r} is not a field of {path.name}; "
                f"its fields are: {fields or '(none)'}."
            )
    fixed_parent = None
    if parent_code:
        fixed_parent = (
            Grid.objects.active().select_related("level").filter(code=parent_code).first()
        )
        if fixed_parent is None:
            raise ImportFileError(f"--parent {parent_code}: no active grid has this code.")
    if grid_level.depth == 0 and not code_field:
        raise ImportFileError(
            f"{grid_level.name} grids are top-level: their codes (GB/T 2260) cannot be "
            "allocated, so name the field that holds them with --code-field."
        )
    if grid_level.depth > 0 and fixed_parent is None and not code_field:
        raise ImportFileError(
            f"{grid_level.name} grids need a parent: give --parent CODE, or --code-field so "
            "that each parent is found from the code's prefix."
        )
    try:
        geoms, source_label, transformed = to_storage_crs(frame, crs, path=path)
        unconvertible: dict[int, str] = {}
    except CoordinateError:
        # Some feature has coordinates the declared CRS cannot hold: convert one by one, so
        # that only those features are rejected (few grids per file: a loop is fine here).
        geoms, source_label, transformed, unconvertible = _convert_each(frame, crs, path)
    report = ImportReport(
        path=str(path),
        level=grid_level.slug,
        source_crs=source_label,
        transformed=transformed,
        features=[],
    )
    if transformed:
        report.notes.append(f"Coordinates transformed from {source_label} to EPSG:4490.")
    parent_level = GridLevel.objects.filter(depth=grid_level.depth - 1).first()
    parents: dict[str, Grid | None] = {}
    seen_codes: dict[str, int] = {}
    candidates: dict[int, Candidate] = {}
    rows = range(len(frame))
    for index in progress(rows) if progress else rows:
        feature = FeatureReport(
            row=index + 1,
            code=_text(frame.iloc[index][code_field]) if code_field else None,
            name=_text(frame.iloc[index][name_field]) if name_field else None,
        )
        report.features.append(feature)
        if index in unconvertible:
            feature.reject(
                f"its coordinates cannot be converted from {source_label}: {unconvertible[index]}"
            )
            continue
        shape = _check_geometry(geoms.iloc[index], feature)
        if shape is None:
            continue
        parent = fixed_parent
        if feature.code is not None:
            try:
                check_code(feature.code, grid_level, fixed_parent)
            except CodeError as exc:
                feature.reject(str(exc))
                continue
            if parent is None and grid_level.depth > 0 and parent_level is not None:
                prefix = feature.code[: parent_level.code_length]
                if prefix not in parents:
                    parents[prefix] = (
                        Grid.objects.active().select_related("level").filter(code=prefix).first()
                    )
                parent = parents[prefix]
                if parent is None:
                    feature.reject(f"its parent grid {prefix} (from the code) does not exist.")
                    continue
            if feature.code in seen_codes:
                feature.reject(
                    f"code {feature.code} also belongs to feature {seen_codes[feature.code]}."
                )
                continue
            seen_codes[feature.code] = feature.row
        feature.parent_code = parent.code if parent else None
        parents.setdefault(feature.parent_code or "", parent)
        candidates[index] = Candidate(geom=shape, code=feature.code or "", name=feature.name or "")
    _reject_taken_codes(report, candidates)
    _check_topology(report, grid_level, parents, candidates)
    if commit:
        _commit(report, grid_level, parents, candidates, actor)
    logger.info(
        "grid import",
        extra={
            "file": path.name,
            "level": level,
            "committed": report.committed,
            **report.counts,
            "written": len(report.created),
            "duration_s": round(time.perf_counter() - started, 2),
            "actor_id": getattr(actor, "pk", None),
        },
    )
    return report


def _check_geometry(value: BaseGeometry | None, feature: FeatureReport) -> BaseGeometry | None:
    if value is None or value.is_empty:
        feature.reject("it has no geometry.")
        return None
    if value.geom_type not in ("Polygon", "MultiPolygon"):
        feature.reject(f"it is a {value.geom_type}; grids must be polygons.")
        return None
    coords = shapely.get_coordinates(value)
    if not np.isfinite(coords).all():
        feature.reject("it has coordinates that are not numbers.")
        return None
    if (np.abs(coords[:, 0]) > 180).any() or (np.abs(coords[:, 1]) > 90).any():
        feature.reject(
            "its coordinates are outside longitude −180…180 / latitude −90…90: "
            "the file's CRS is probably wrong; name the right one with --crs."
        )
        return None
    if shapely.is_valid(value):
        return value
    reason, where = invalidity(value) or ("invalid polygon", None)
    problem = reason.lower() + (f" at lon {where[0]:.6f}, lat {where[1]:.6f}" if where else "")
    fixed = repair(value)
    if fixed.is_empty:
        feature.reject(f"invalid polygon ({problem}) that cannot be repaired into a polygon.")
        return None
    # The shoelace area of the polygon as drawn: what its author meant, as far as it is known.
    before = float(area_m2(value))
    change = float(area_m2(fixed)) - before
    percent = f" ({100 * change / before:+.3f} %)" if before else ""
    feature.status = "repaired"
    feature.messages.append(
        f"repaired an invalid polygon ({problem}); the repair changed its area by "
        f"{change:+,.1f} m²{percent}."
    )
    return fixed


def _reject_taken_codes(report: ImportReport, candidates: dict[int, Candidate]) -> None:
    codes = [c.code for c in candidates.values() if c.code]
    taken = set(Grid.objects.filter(code__in=codes).values_list("code", flat=True))
    for index in list(candidates):
        if candidates[index].code in taken:
            report.features[index].reject(
                f"code {candidates[index].code} is already used (codes are never reused)."
            )
            del candidates[index]


def _check_topology(
    report: ImportReport,
    level: GridLevel,
    parents: dict[str, Grid | None],
    candidates: dict[int, Candidate],
) -> None:
    """Check the surviving features per parent against their parent, existing siblings and
    each other; reject those with problems (both features of an overlapping pair)."""
    by_parent: dict[str, list[int]] = {}
    for index in candidates:
        by_parent.setdefault(report.features[index].parent_code or "", []).append(index)
    for parent_code, indices in by_parent.items():
        group = [candidates[i] for i in indices]
        problems = check_candidates(
            level=level,
            parent=parents.get(parent_code),
            candidates=group,
            labels=[f"feature {i + 1}" for i in indices],
        )
        for position, plist in problems.items():
            index = indices[position]
            for problem in plist:
                report.features[index].reject(problem.message)
            candidates.pop(index, None)
        for index, candidate in zip(indices, group, strict=True):
            report.features[index].area_m2 = round(candidate.area_m2, 2)


def _commit(
    report: ImportReport,
    level: GridLevel,
    parents: dict[str, Grid | None],
    candidates: dict[int, Candidate],
    actor: Actor | None,
) -> None:
    by_parent: dict[str, list[Candidate]] = {}
    for index, candidate in candidates.items():
        by_parent.setdefault(report.features[index].parent_code or "", []).append(candidate)
    with transaction.atomic():
        for parent_code, group in by_parent.items():
            created = create_grids(
                actor=actor,
                level=level,
                parent=parents.get(parent_code),
                candidates=group,
                source=GridSource.IMPORTED,
                action=GridAction.IMPORTED,
                check=False,
            )
            report.created.extend(g.code for g in created)
    report.committed = True
    for index, candidate in candidates.items():
        report.features[index].code = candidate.code


def format_report(report: ImportReport) -> str:
    lines = [
        f"{report.path}: {len(report.features)} features, level {report.level}, "
        f"source CRS {report.source_crs}"
    ]
    lines += [f"  note: {note}" for note in report.notes]
    for feature in report.features:
        label = feature.code or "(code on commit)"
        name = f" {feature.name}" if feature.name else ""
        area = f" {feature.area_m2:,.0f} m²" if feature.area_m2 is not None else ""
        text = " ".join(feature.messages)
        lines.append(
            f"  #{feature.row:<5} {feature.status.upper():9} {label}{name}{area}"
            + (f" — {text}" if text else "")
        )
    counts = report.counts
    lines.append(
        f"Accepted {counts['accepted']}, repaired {counts['repaired']}, "
        f"rejected {counts['rejected']}."
    )
    if report.committed:
        lines.append(f"Committed: {len(report.created)} grids created in one transaction.")
    else:
        lines.append("Dry run: nothing was written. Add --commit to create the accepted grids.")
    return "\n".join(lines)


# --- Export -----------------------------------------------------------------------------------
EXPORT_FORMATS = {"geojson": ("GeoJSON", ".geojson"), "gpkg": ("GPKG", ".gpkg")}


def export_frame(queryset) -> gpd.GeoDataFrame:
    rows = list(queryset.select_related("level", "parent").order_by("code"))
    records = pd.DataFrame(
        {
            "code": [g.code for g in rows],
            "name": [g.name for g in rows],
            "level": [g.level.slug for g in rows],
            "parent_code": [g.parent.code if g.parent else None for g in rows],
            "grid_type": [g.grid_type for g in rows],
            "source": [g.source for g in rows],
            "area_m2": [g.area_m2 for g in rows],
            "households": pd.array([g.households for g in rows], dtype="Int64"),
            "population": pd.array([g.population for g in rows], dtype="Int64"),
            "officer": [g.officer_name for g in rows],
            "department": [g.responsible_department for g in rows],
            "valid_from": [g.valid_from.isoformat() for g in rows],
            "valid_to": [g.valid_to.isoformat() if g.valid_to else None for g in rows],
            "version": [g.version for g in rows],
        }
    )
    geometry = shapely.from_wkb([bytes(g.geom.wkb) for g in rows]) if rows else []
    return gpd.GeoDataFrame(records, geometry=list(geometry), crs=STORAGE_SRID)


def export_grids(*, queryset, path: str | Path, fmt: str) -> int:
    """Write grids to GeoJSON (RFC 7946 lon/lat, labelled WGS84) or GeoPackage (EPSG:4490)."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"Unknown format {fmt!r}; use geojson or gpkg.")
    driver, _suffix = EXPORT_FORMATS[fmt]
    frame = export_frame(queryset)
    write_frame(frame, Path(path), driver=driver, layer="grids")
    return len(frame)
