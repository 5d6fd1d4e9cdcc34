"""Explain a component code: district, class (major/minor names), serial, and the stored
component's grid when it exists."""

from __future__ import annotations

from geogrid.components.models import Component, ComponentClass
from geogrid.core.codes import COMPONENT_SCHEMES, district_names, parse_component_code


def explain_component_code(code: str) -> dict:
    parts = parse_component_code(code)
    component_class = ComponentClass.objects.filter(
        scheme=parts.scheme, code=parts.class_code
    ).first()
    stored = (
        Component.objects.select_related("grid", "competent_department")
        .filter(district_code=parts.district_code, code=code)
        .first()
    )
    minor = COMPONENT_SCHEMES[parts.scheme]["minor"]
    return {
        "code": code,
        "kind": "component",
        "scheme": COMPONENT_SCHEMES[parts.scheme]["label"],
        "parts": [
            {
                "level": "district",
                "segment": parts.district_code,
                "code": parts.district_code,
                "label": "district (GB/T 2260)",
                "name": district_names().get(parts.district_code),
            },
            {
                "level": "major",
                "segment": parts.major_code,
                "code": parts.major_code,
                "label": "major class (大类)",
                "name": component_class.major_name if component_class else None,
            },
            {
                "level": "minor",
                "segment": parts.minor_code,
                "code": parts.class_code,
                "label": f"minor class (小类, {minor} digits)",
                "name": component_class.name if component_class else None,
            },
            {
                "level": "serial",
                "segment": f"{parts.serial:06d}",
                "code": code,
                "label": "serial (顺序码)",
                "name": None,
            },
        ],
        "class": (
            {
                "code": component_class.code,
                "name": component_class.name,
                "name_en": component_class.name_en,
            }
            if component_class
            else None
        ),
        "known_class": component_class is not None,
        "exists": stored is not None,
        "name": stored.name if stored else (component_class.name if component_class else None),
        "grid": (
            {"code": stored.grid.code, "name": stored.grid.name} if stored and stored.grid else None
        ),
        "status": stored.status if stored else None,
        "competent_department": stored.competent_department.name if stored else None,
    }
