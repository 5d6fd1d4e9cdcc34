"""Loading the case categories (立案类别) of both schemes from gis_data/taxonomy/ (idempotent).

- GB/T 47678.5-2026: the 250 matters of 附录C (01–05: "<部件>异常", component cases tied to their
  component class; 06–10: events), with the compiled attributes (department, filing and closing
  conditions, time limits A/B/C) of `matters-gbt47678.5-attributes.csv`. Service code = code.
- Legacy CJ/T 214 / GB/T 30428.2: the 54 event classes (service code S + code) and the 85
  component classes as component-case categories (service code B + code). A legacy component
  category takes the conditions and limits of the GB/T 47678.5 matter of the same object
  ("<name>异常") where there is one, else a generic repair rule (1/2/3 working days).

Existing rows keep a deployment's edits unless `update=True`.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db import transaction

from geogrid.cases.intake import clear_case_class_cache
from geogrid.cases.models import CaseClass, CaseKind, LimitUnit
from geogrid.components.models import CodeScheme, ComponentClass, Department
from geogrid.components.taxonomy import TAXONOMY, _rows
from geogrid.core.loading import LoadResult, LoadRow, load_rows

GENERIC_COMPONENT = {
    "filing_condition": "{name}破损、丢失、被占用或功能异常，影响使用或安全",
    "closing_condition": "{name}已修复、补齐或清理，恢复完好",
    "limit_a": "1",
    "limit_b": "2",
    "limit_c": "3",
    "limit_unit": LimitUnit.DAYS,
}


def case_class_rows(scheme: str) -> list[dict]:
    """The rows of one scheme as CaseClass field values (component_class as a code)."""
    if scheme == CodeScheme.GBT47678:
        attributes = {r["code"]: r for r in _rows(TAXONOMY / "matters-gbt47678.5-attributes.csv")}
        rows = []
        for row in _rows(TAXONOMY / "matters-gbt47678.5.csv"):
            extra = attributes[row["code"]]
            rows.append(
                {
                    "kind": CaseKind.COMPONENT if row["mirrors_component"] else CaseKind.EVENT,
                    "code": row["code"],
                    "service_code": row["code"],
                    "major_code": row["major_code"],
                    "major_name": row["major_name"],
                    "minor_code": row["minor_code"],
                    "name": row["name"],
                    "name_en": extra.get("name_en", ""),
                    "component_class": row["mirrors_component"] or None,
                    **_handling(extra),
                }
            )
        return rows
    events = {r["code"]: r for r in _rows(TAXONOMY / "events-cjt214-legacy-attributes.csv")}
    rows = []
    for row in _rows(TAXONOMY / "events-cjt214-legacy.csv"):
        rows.append(
            {
                "kind": CaseKind.EVENT,
                "code": row["code"],
                "service_code": "S" + row["code"],
                "major_code": row["major_code"],
                "major_name": row["major_name"],
                "minor_code": row["minor_code"],
                "name": row["name"],
                "name_en": row.get("name_en", ""),
                "component_class": None,
                **_handling(events[row["code"]]),
            }
        )
    matters = {r["name"]: r for r in _rows(TAXONOMY / "matters-gbt47678.5-attributes.csv")}
    departments = {
        r["code"]: r["department"]
        for r in _rows(TAXONOMY / "components-cjt214-legacy-departments.csv")
    }
    for row in _rows(TAXONOMY / "components-cjt214-legacy.csv"):
        same = matters.get(row["name"] + "异常")
        if same is not None:
            handling = _handling(same)
        else:
            handling = _handling(
                {
                    k: v.format(name=row["name"]) if isinstance(v, str) else v
                    for k, v in GENERIC_COMPONENT.items()
                }
            )
        handling["department"] = departments.get(row["code"], "") or handling["department"]
        rows.append(
            {
                "kind": CaseKind.COMPONENT,
                "code": row["code"],
                "service_code": "B" + row["code"],
                "major_code": row["major_code"],
                "major_name": row["major_name"],
                "minor_code": row["minor_code"],
                "name": row["name"],
                "name_en": row.get("name_en", ""),
                "component_class": row["code"],
                **handling,
            }
        )
    return rows


def _handling(row: dict) -> dict:
    return {
        "department": row.get("department", ""),
        "filing_condition": row.get("filing_condition", ""),
        "closing_condition": row.get("closing_condition", ""),
        "limit_a": int(row["limit_a"]),
        "limit_b": int(row["limit_b"]),
        "limit_c": int(row["limit_c"]),
        "limit_unit": row["limit_unit"],
    }


@transaction.atomic
def load_case_classes(scheme: str, *, update: bool = False) -> LoadResult:
    """Create the case categories of `scheme`; link departments by key and component cases to
    their component class (load the component taxonomy and departments first)."""
    departments = {d.key: d for d in Department.objects.exclude(key="")}
    components = {c.code: c for c in ComponentClass.objects.filter(scheme=scheme)}
    existing = {c.service_code: c for c in CaseClass.objects.filter(scheme=scheme)}

    def rows() -> Iterator[LoadRow[CaseClass]]:
        for row in case_class_rows(scheme):
            values = dict(row)
            values["department"] = departments.get(values.pop("department") or "")
            component_code = values.pop("component_class")
            values["component_class"] = components.get(component_code) if component_code else None
            yield existing.get(row["service_code"]), {"scheme": scheme}, values

    result = load_rows(CaseClass, rows(), update=update)
    clear_case_class_cache()
    return result
