"""Loading the component taxonomies and departments from gis_data/ (idempotent).

Both standards ship: CJ/T 214 / GB/T 30428.2 (legacy, 4-digit class codes) and GB/T 47678.5-2026
(5-digit). Existing rows are kept as a deployment edited them unless `update=True`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction

from geogrid.components.models import CodeScheme, ComponentClass, Department

TAXONOMY = Path(settings.BASE_DIR) / "gis_data" / "taxonomy"
DEMO_DEPARTMENTS = Path(settings.BASE_DIR) / "gis_data" / "departments-demo.csv"


@dataclass
class LoadResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


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
    result = LoadResult()
    for row in _rows(path):
        values = {
            "name": row["name"],
            "name_en": row.get("name_en", ""),
            "key": row.get("key", ""),
            "contact": row.get("contact", ""),
        }
        department, created = Department.objects.get_or_create(code=row["code"], defaults=values)
        if created:
            result.created += 1
        elif update:
            Department.objects.filter(pk=department.pk).update(**values)
            result.updated += 1
        else:
            result.unchanged += 1
    return result


@transaction.atomic
def load_component_classes(scheme: str, *, update: bool = False) -> LoadResult:
    """Create the classes of `scheme` (cjt214 or gbt47678); link each to the department whose
    key matches its suggested department, when such a department exists."""
    departments = {d.key: d for d in Department.objects.exclude(key="")}
    existing = {c.code: c for c in ComponentClass.objects.filter(scheme=scheme)}
    result = LoadResult()
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
        current = existing.get(row["code"])
        if current is None:
            ComponentClass.objects.create(scheme=scheme, code=row["code"], **values)
            result.created += 1
        elif update:
            ComponentClass.objects.filter(pk=current.pk).update(**values)
            result.updated += 1
        else:
            if current.default_department_id is None and values["default_department"]:
                current.default_department = values["default_department"]
                current.save(update_fields=["default_department"])
            result.unchanged += 1
    return result
