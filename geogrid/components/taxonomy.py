"""Loading the component taxonomies and departments from gis_data/ (idempotent).

Both standards ship: CJ/T 214 / GB/T 30428.2 (legacy, 4-digit class codes) and GB/T 47678.5-2026
(5-digit). Existing rows are kept as a deployment edited them unless `update=True`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.db import transaction

from geogrid.components.models import CodeScheme, ComponentClass, Department
from geogrid.core.loading import LoadResult, LoadRow, load_rows

TAXONOMY = Path(settings.BASE_DIR) / "gis_data" / "taxonomy"
DEMO_DEPARTMENTS = Path(settings.BASE_DIR) / "gis_data" / "departments-demo.csv"


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]


def class_rows(scheme: str) -> list[dict[str, str]]:
    """The rows of one scheme's table, with English gloss, geometry and department key."""
    if scheme == CodeScheme.CJT214:
        rows = _rows(TAXONOMY / "components-cjt214-legacy.csv")
        keys = {
            r["code"]: r["department"]
            for r in _rows(TAXONOMY / "components-cjt214-legacy-departments.csv")
        }
        for row in rows:
            row["department_key"] = keys.get(row["code"], "")
        return rows
    rows = _rows(TAXONOMY / "components-gbt47678.5.csv")
    extra = {r["code"]: r for r in _rows(TAXONOMY / "components-gbt47678.5-attributes.csv")}
    for row in rows:
        attributes = extra.get(row["code"], {})
        row["name_en"] = attributes.get("name_en", "")
        row["geometry"] = attributes.get("geometry", "point")
        row["department_key"] = attributes.get("suggested_department", "")
    return rows


@transaction.atomic
def load_departments(path: Path = DEMO_DEPARTMENTS, *, update: bool = False) -> LoadResult:
    def rows() -> Iterator[LoadRow[Department]]:
        for row in _rows(path):
            values = {
                "name": row["name"],
                "name_en": row.get("name_en", ""),
                "key": row.get("key", ""),
                "contact": row.get("contact", ""),
            }
            # Looked up row by row, not beforehand: a code repeated in the file is then the
            # department its first row created.
            current = Department.objects.filter(code=row["code"]).first()
            yield current, {"code": row["code"]}, values

    return load_rows(Department, rows(), update=update)


@transaction.atomic
def load_component_classes(scheme: str, *, update: bool = False) -> LoadResult:
    """Create the classes of `scheme` (cjt214 or gbt47678); link each to the department whose
    key matches its suggested department, when such a department exists."""
    departments = {d.key: d for d in Department.objects.exclude(key="")}
    existing = {c.code: c for c in ComponentClass.objects.filter(scheme=scheme)}

    def rows() -> Iterator[LoadRow[ComponentClass]]:
        for row in class_rows(scheme):
            # The legacy table writes combined geometries as "point/line": keep that form.
            values = {
                "major_code": row["major_code"],
                "major_name": row["major_name"],
                "major_name_en": row.get("major_name_en", ""),
                "minor_code": row["minor_code"],
                "name": row["name"],
                "name_en": row.get("name_en", ""),
                "geometry": row.get("geometry") or "point",
                "default_department": departments.get(row.get("department_key", "")),
            }
            yield existing.get(row["code"]), {"scheme": scheme, "code": row["code"]}, values

    return load_rows(ComponentClass, rows(), update=update, keep=_fill_default_department)


def _fill_default_department(current: ComponentClass, values: dict[str, Any]) -> None:
    """A kept class gets the suggested department only where it has none."""
    if current.default_department_id is None and values["default_department"]:
        current.default_department = values["default_department"]
        current.save(update_fields=["default_department"])


class SchemeLoader(Protocol):
    def __call__(self, scheme: str, *, update: bool = ...) -> LoadResult: ...


def load_schemes(load: SchemeLoader, scheme: str, *, update: bool, things: str) -> Iterator[str]:
    """Run `load` for `scheme`, or for every scheme if it is "all" (the load commands' --scheme),
    and yield each scheme's line of counts as it is loaded."""
    for each in CodeScheme.values if scheme == "all" else [scheme]:
        result = load(each, update=update)
        yield f"{CodeScheme(each).label}: {result.summary(things)}"
