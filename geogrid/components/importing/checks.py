"""Checks of everything but coordinates and codes: the class of each row (known, enabled,
of the active scheme, captured with the right kind of geometry), its attributes (text lengths,
status and data source, dates, departments) and its unit grid (one GridIndex for the file).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from django.utils import timezone

from geogrid.components.importing.coordinates import KIND_BITS
from geogrid.components.importing.fields import (
    ATTRIBUTE_FIELDS,
    ATTRIBUTE_LABELS,
    CLASS_FIELDS,
    DATA_SOURCE_INPUT,
    DATA_SOURCE_ORDER,
    STATUS_INPUT,
    STATUS_ORDER,
    TEXT_LIMITS,
)
from geogrid.components.importing.run import ImportRun
from geogrid.components.models import ComponentClass, Department
from geogrid.core.codes import COMPONENT_SCHEMES
from geogrid.core.vectorfiles import ImportFileError
from geogrid.grids.assignment import grid_index_near
from geogrid.grids.models import Grid


def check_classes(run: ImportRun) -> None:
    """The class of every row, from --class, the class field or the code: known and enabled in
    the active scheme, and captured as a geometry its class allows."""
    rows = list(
        ComponentClass.objects.filter(scheme=run.scheme).values(
            "id", "code", "name", "geometry", "default_department_id", "active"
        )
    )
    run.class_rows = rows
    run.class_ids = np.array([r["id"] for r in rows], dtype=np.int64)
    run.class_codes = np.array([r["code"] for r in rows], dtype=object)
    run.class_nums = np.array([int(r["code"]) for r in rows] or [0], dtype=np.int64)
    run.class_bits = np.array(
        [sum(KIND_BITS.get(k, 0) for k in r["geometry"].split("/")) for r in rows],
        dtype=np.int64,
    )
    run.class_default = np.array([r["default_department_id"] or -1 for r in rows], dtype=np.int64)
    width = 2 + run.spec["minor"]
    if run.class_code:
        match = [r for r in rows if r["code"] == run.class_code]
        if not match or not match[0]["active"]:
            raise ImportFileError(
                f"--class {run.class_code}: no {'enabled ' if match else ''}class has this "
                f"code in {run.spec['label']} (the active scheme)."
            )
        text = np.full(run.n, run.class_code, dtype=object)
    else:
        text = run.column("class_field", CLASS_FIELDS, pad=width)
        if text is None:
            codes = run.column("code_field", ())
            if codes is None:
                raise ImportFileError(
                    f"{run.path.name}: say which class the components are: --class CODE "
                    "for all rows, or --class-field FIELD (e.g. LBDM), or --code-field with "
                    "full component codes."
                )
            text = np.where(
                pd.Series(codes).str.len() == run.spec["length"],
                pd.Series(codes).str.slice(6, 6 + width),
                codes,
            ).astype(object)
            run.report.notes.append("Classes taken from the component codes.")
    run.class_text = text
    index = {r["code"]: i for i, r in enumerate(rows) if r["active"]}
    run.class_idx = pd.Series(text, dtype=object).map(index).fillna(-1).to_numpy(np.int64)
    unknown = np.flatnonzero(run.class_idx < 0)
    if len(unknown):
        disabled = {r["code"] for r in rows if not r["active"]}
        other = dict(
            ComponentClass.objects.exclude(scheme=run.scheme).values_list("code", "scheme")
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
                    f"this deployment codes components with {run.spec['label']}."
                )
            return f"Unknown class {code}: not a class of {run.spec['label']}."

        run.reject(unknown, "unknown_class", message)
    known = np.flatnonzero((run.class_idx >= 0) & run.geom_ok)
    allowed = run.class_bits[run.class_idx[known]]
    wrong = known[(allowed & run.kind_bits[known]) == 0]

    def kind_message(i: int) -> str:
        klass = rows[run.class_idx[i]]
        kinds = " or ".join(k for k in klass["geometry"].split("/") if k)
        shape = "Point" if run.types[i] == 0 else run.shapes[i].geom_type
        return f"A {klass['name']} ({klass['code']}) is captured as a {kinds}, not a {shape}."

    run.reject(wrong, "wrong_geometry", kind_message)


def check_attributes(run: ImportRun) -> None:
    """Names and texts (lengths), status and data source, dates, and the departments by code
    (the class's default department where none is given)."""
    n = run.n
    names = run.column("name_field", ATTRIBUTE_FIELDS["name"])
    run.names = names if names is not None else np.full(n, "", dtype=object)
    texts = {
        key: run.column(None, ATTRIBUTE_FIELDS[key])
        for key in ("location_description", "material", "notes")
    }
    run.texts = {k: v if v is not None else np.full(n, "", dtype=object) for k, v in texts.items()}
    run.texts["name"] = run.names
    for key, limit in TEXT_LIMITS.items():
        lengths = _text_lengths(run.texts[key])
        run.reject(
            lengths > limit,
            "bad_value",
            f"Its {key.replace('_', ' ')} is longer than {limit} characters.",
        )
    run.status = _choice(
        run,
        "status",
        STATUS_INPUT,
        STATUS_ORDER,
        "intact",
        "完好/破损/丢失/占用/废弃 or " + "/".join(STATUS_ORDER),
    )
    run.source = _choice(
        run,
        "data_source",
        DATA_SOURCE_INPUT,
        DATA_SOURCE_ORDER,
        "surveyed",
        "实测/地形图/基础地理数据/其他 or " + "/".join(DATA_SOURCE_ORDER),
    )
    today = np.datetime64(timezone.localdate(), "D")
    run.initial_date = _dates(run, "initial_date", default=today)
    run.change_date = _dates(run, "change_date", default=np.datetime64("NaT", "D"))
    departments = dict(Department.objects.values_list("code", "id"))
    run.departments = {}
    competent_given = np.zeros(n, dtype=bool)
    for role in ("competent", "owner", "maintainer"):
        codes = run.column(None, ATTRIBUTE_FIELDS[role])
        ids = np.full(n, -1, dtype=np.int64)
        if codes is not None:
            ids = np.array(
                pd.Series(codes, dtype=object).map(departments).fillna(-1), dtype=np.int64
            )
            unknown = (ids < 0) & (codes != "")
            run.reject(
                unknown,
                "unknown_department",
                lambda i, c=codes, r=role: (
                    f"No department has the code {c[i]!r} ({ATTRIBUTE_LABELS[r]})."
                ),
            )
            if role == "competent":
                competent_given = codes != ""
        run.departments[role] = ids
    competent = run.departments["competent"]
    known = run.class_idx >= 0
    use_default = known & (competent < 0)
    competent[use_default] = run.class_default[run.class_idx[use_default]]
    missing = known & (competent < 0) & ~competent_given

    def message(i: int) -> str:
        klass = run.class_rows[run.class_idx[i]]
        return (
            f"Class {klass['code']} {klass['name']} has no default department; give the "
            "competent department's code (ZGBMDM)."
        )

    run.reject(missing, "missing_department", message)


def _choice(
    run: ImportRun, key: str, accepted: dict[str, str], order: list[str], default: str, allowed: str
) -> np.ndarray:
    """1-based position in `order` of each row's value (the default where empty)."""
    values = run.column(None, ATTRIBUTE_FIELDS[key])
    if values is None:
        return np.full(run.n, order.index(default) + 1, dtype=np.int16)
    mapped = pd.Series(values, dtype=object).str.lower().map(accepted)
    mapped = mapped.where(pd.Series(values) != "", default)
    position = mapped.map({v: i + 1 for i, v in enumerate(order)}).fillna(0)
    result = position.to_numpy(np.int16)
    run.reject(
        result == 0,
        "bad_value",
        lambda i: f"Unknown {key.replace('_', ' ')} {values[i]!r}; use {allowed}.",
    )
    return result


def _dates(run: ImportRun, key: str, *, default: np.datetime64) -> np.ndarray:
    """Dates from YYYYMMDD or ISO text (datetime64[D]); `default` where empty."""
    values = run.column(None, ATTRIBUTE_FIELDS[key])
    result = np.full(run.n, default, dtype="datetime64[D]")
    if values is None:
        return result
    text = pd.Series(values, dtype=object)
    compact = text.str.fullmatch(r"[0-9]{8}").fillna(False).to_numpy(bool)
    given = values != ""
    days = np.full(run.n, np.datetime64("NaT"), dtype="datetime64[D]")
    for mask, pattern in ((compact, "%Y%m%d"), (given & ~compact, "ISO8601")):
        if mask.any():
            parsed = pd.to_datetime(text[mask], format=pattern, errors="coerce")
            days[mask] = parsed.to_numpy().astype("datetime64[D]")
    bad = given & np.isnat(days)
    run.reject(
        bad,
        "bad_value",
        lambda i: (
            f"Its {ATTRIBUTE_LABELS[key]} {values[i]!r} is not a date; use YYYYMMDD or YYYY-MM-DD."
        ),
    )
    result[given & ~bad] = days[given & ~bad]
    return result


def assign_grids(run: ImportRun) -> None:
    """The unit grid of every row with a usable geometry (one GridIndex for the file)."""
    n = run.n
    run.grid_pos = np.full(n, -1, dtype=np.int64)
    run.grid_ids = np.full(n, -1, dtype=np.int64)
    run.districts = np.full(n, "", dtype=object)
    run.district_nums = np.zeros(n, dtype=np.int64)
    located = np.flatnonzero(run.geom_ok)
    if len(located) == 0:
        return
    points = located[run.types[located] == 0]
    others = located[run.types[located] != 0]
    # The index covers the points' bounding box (two corners) and the other shapes.
    corners = (
        shapely.points(
            [
                [run.x[points].min(), run.y[points].min()],
                [run.x[points].max(), run.y[points].max()],
            ]
        )
        if len(points)
        else np.zeros(0, dtype=object)
    )
    index = grid_index_near(np.concatenate([corners, run.shapes[others]]))
    if len(points):
        run.grid_pos[points] = index.positions(run.x[points], run.y[points])
    if len(others):
        run.grid_pos[others] = index.shape_positions(run.shapes[others])
    outside = located[run.grid_pos[located] < 0]

    def message(i: int) -> str:
        if run.types[i] == 0:
            lon, lat = run.x[i], run.y[i]
        else:
            lon, lat = shapely.get_coordinates(shapely.point_on_surface(run.shapes[i]))[0]
        return (
            f"It lies outside every unit grid (lon {lon:.6f}, lat {lat:.6f}); check its "
            "coordinates and coordinate system."
        )

    run.reject(outside, "outside_grids", message)
    found = run.grid_pos >= 0
    run.grid_ids[found] = index.ids[run.grid_pos[found]]
    hit = np.unique(run.grid_ids[found])
    district_of = dict(Grid.objects.filter(pk__in=hit.tolist()).values_list("pk", "district_code"))
    mapped = pd.Series(run.grid_ids).map(district_of).astype(object)
    run.districts = mapped.where(mapped.notna(), "").to_numpy(object)
    numbers = {pk: int(code) for pk, code in district_of.items()}
    run.district_nums = np.array(pd.Series(run.grid_ids).map(numbers).fillna(0), dtype=np.int64)


def _text_lengths(texts: np.ndarray) -> np.ndarray:
    """Characters in each text (0 for None), measured once per distinct value: a column
    repeats a few values (often only '') over a million rows."""
    labels, uniques = pd.factorize(pd.Series(texts, dtype=object), use_na_sentinel=True)
    lengths = np.array([len(str(u)) for u in uniques] + [0], dtype=np.int64)
    return lengths[labels]  # the sentinel -1 picks the trailing 0
