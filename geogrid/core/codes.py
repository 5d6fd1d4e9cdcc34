"""Grid code formats (docs/domain.md §2.2): parse, validate, explain.

Administrative levels use the GB/T 2260 / statistical division codes (district 6 digits,
street 9, community 12); a unit grid appends a 2-digit (CJ/T 213-2005, 14 in all) or 3-digit
(DB11/T 2157-2023, GB/T 47678.3, 15 in all) sequence number. A code therefore carries its own
ancestry: every prefix of the right length is an ancestor's code.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, TypedDict

from django.conf import settings

GIS_DATA = Path(settings.BASE_DIR) / "gis_data"
DIGITS = re.compile(r"^[0-9]+$")


class CodeError(ValueError):
    """A code that does not follow the standard; the message says what is wrong."""


@dataclass(frozen=True)
class CodePart:
    level: str  # district | street | community | unit
    code: str  # the full code up to and including this part
    segment: str  # the digits this part adds
    label: str  # human label of the level, e.g. "district (GB/T 2260)"
    name: str | None = None  # a known name for this code, if any

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def grid_code_lengths() -> dict[int, str]:
    """Code length → level slug, honouring the unit-grid length setting (14 or 15)."""
    return {
        6: "district",
        9: "street",
        12: "community",
        settings.GEOGRID_UNIT_GRID_CODE_LENGTH: "unit",
    }


LEVEL_LABELS = {
    "district": "district (县级行政区, GB/T 2260)",
    "street": "street / township (街道/乡镇, GB/T 10114)",
    "community": "community / village (社区/村)",
    "unit": "unit grid sequence (单元网格顺序码)",
}


@lru_cache(maxsize=1)
def district_names() -> dict[str, str]:
    with open(GIS_DATA / "gbt2260-districts.csv", encoding="utf-8") as handle:
        return {row["code"]: row["name"] for row in csv.DictReader(handle)}


@lru_cache(maxsize=1)
def street_names() -> dict[str, str]:
    """9-digit street codes → names, from the GB/T 2260 town list (Beijing ships here)."""
    names: dict[str, str] = {}
    with open(GIS_DATA / "gbt2260-towns-beijing.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            names[row["code"] + row["town"][:3]] = row["name"]
    return names


def validate_grid_code(code: str) -> str:
    """Return the code if it is a well-formed grid code, else raise CodeError saying why."""
    if not isinstance(code, str) or not code:
        raise CodeError("A grid code is required.")
    if not DIGITS.match(code):
        raise CodeError(f"Grid code {code!r} must contain digits only.")
    lengths = grid_code_lengths()
    if len(code) not in lengths:
        allowed = ", ".join(str(n) for n in sorted(lengths))
        raise CodeError(
            f"Grid code {code!r} has {len(code)} digits; a grid code has {allowed} digits "
            "(district, street, community, unit grid)."
        )
    district = code[:6]
    if district not in district_names():
        raise CodeError(
            f"Grid code {code!r} starts with {district}, which is not a GB/T 2260 "
            "county-level division code."
        )
    if len(code) >= 9 and code[6:9] == "000":
        raise CodeError(f"Grid code {code!r}: the street part (digits 7–9) cannot be 000.")
    if len(code) >= 12 and code[9:12] == "000":
        raise CodeError(f"Grid code {code!r}: the community part (digits 10–12) cannot be 000.")
    if len(code) > 12 and int(code[12:]) == 0:
        raise CodeError(f"Grid code {code!r}: unit grid sequence numbers start at 1.")
    return code


def split_grid_code(code: str) -> list[CodePart]:
    """Split a valid grid code into its parts (district first), with names known from the
    GB/T 2260 tables; names of grids stored in the database are added by grids.codes."""
    validate_grid_code(code)
    bounds = [(0, 6, "district"), (6, 9, "street"), (9, 12, "community"), (12, len(code), "unit")]
    parts = []
    for start, end, level in bounds:
        if len(code) < end or start >= end:
            break
        prefix = code[:end]
        name = None
        if level == "district":
            name = district_names().get(prefix)
        elif level == "street":
            name = street_names().get(prefix)
        parts.append(
            CodePart(
                level=level,
                code=prefix,
                segment=code[start:end],
                label=LEVEL_LABELS[level],
                name=name,
            )
        )
    return parts


def unit_code_scheme(length: int) -> str:
    return {
        14: "CJ/T 213-2005 (14 digits, 2-digit sequence)",
        15: "DB11/T 2157-2023 / GB/T 47678.3 (15 digits, 3-digit sequence)",
    }[length]


def child_code(parent_code: str, sequence: int, child_code_length: int) -> str:
    """The code of a parent's `sequence`-th child: parent code + zero-padded sequence."""
    width = child_code_length - len(parent_code)
    if width <= 0:
        raise CodeError(f"A child of {parent_code} cannot have a {child_code_length}-digit code.")
    if sequence < 1 or sequence >= 10**width:
        raise CodeError(
            f"Parent {parent_code} has used all {10**width - 1} sequence numbers of its "
            f"{width}-digit child codes; codes are never reused."
        )
    return f"{parent_code}{sequence:0{width}d}"


# --- Component codes (docs/domain.md §3.1) ---------------------------------------------
# Legacy CJ/T 214 / GB/T 30428.2: district 6 + major 2 + minor 2 + serial 6 = 16 digits.
# GB/T 47678.5-2026:              district 6 + major 2 + minor 3 + serial 6 = 17 digits.
class SchemeSpec(TypedDict):
    length: int
    minor: int
    label: str


COMPONENT_SCHEMES: dict[str, SchemeSpec] = {
    "cjt214": {"length": 16, "minor": 2, "label": "CJ/T 214-2007 / GB/T 30428.2-2013 (16 digits)"},
    "gbt47678": {"length": 17, "minor": 3, "label": "GB/T 47678.5-2026 (17 digits)"},
}


@dataclass(frozen=True)
class ComponentCode:
    code: str
    scheme: str
    district_code: str
    major_code: str
    minor_code: str
    serial: int

    @property
    def class_code(self) -> str:
        return self.major_code + self.minor_code


def scheme_of_length(length: int) -> str | None:
    for scheme, spec in COMPONENT_SCHEMES.items():
        if spec["length"] == length:
            return scheme
    return None


def parse_component_code(code: str, scheme: str | None = None) -> ComponentCode:
    """Split a component code into its parts, or raise CodeError saying what is wrong.

    Without `scheme`, the length decides (16 legacy, 17 current)."""
    if not isinstance(code, str) or not code:
        raise CodeError("A component code is required.")
    if not DIGITS.match(code):
        raise CodeError(f"Component code {code!r} must contain digits only.")
    detected = scheme_of_length(len(code))
    if scheme is not None and detected != scheme:
        spec = COMPONENT_SCHEMES[scheme]
        raise CodeError(
            f"Component code {code} has {len(code)} digits; {spec['label']} codes "
            f"have {spec['length']}."
        )
    if detected is None:
        raise CodeError(
            f"Component code {code} has {len(code)} digits; component codes have 16 "
            "(CJ/T 214) or 17 (GB/T 47678.5) digits."
        )
    minor = COMPONENT_SCHEMES[detected]["minor"]
    district = code[:6]
    if district not in district_names():
        raise CodeError(
            f"Component code {code} starts with {district}, which is not a GB/T 2260 "
            "county-level division code."
        )
    serial = int(code[8 + minor :])
    if serial == 0:
        raise CodeError(f"Component code {code}: serial numbers start at 000001.")
    return ComponentCode(
        code=code,
        scheme=detected,
        district_code=district,
        major_code=code[6:8],
        minor_code=code[8 : 8 + minor],
        serial=serial,
    )


def component_code(district_code: str, class_code: str, serial: int, scheme: str) -> str:
    spec = COMPONENT_SCHEMES[scheme]
    if len(class_code) != 2 + spec["minor"]:
        raise CodeError(f"Class code {class_code} does not belong to {spec['label']}.")
    if not 1 <= serial <= 999_999:
        raise CodeError(
            f"District {district_code} has used all 999,999 serial numbers of class "
            f"{class_code}; serials are never reused."
        )
    return f"{district_code}{class_code}{serial:06d}"


# --- One explanation endpoint for every kind of code -------------------------------------------
# Apps register how they explain codes of given lengths (grids: 6–15, components: 16–17), so
# the API answers any code without `core` knowing the domains.
_explainers: dict[int, Callable[[str], dict[str, Any]]] = {}


def register_explainer(lengths: list[int], explainer: Callable[[str], dict[str, Any]]) -> None:
    for length in lengths:
        _explainers[length] = explainer


def explain_code(code: str) -> dict[str, Any]:
    code = (code or "").strip()
    explainer = _explainers.get(len(code))
    if explainer is None:
        if not DIGITS.match(code or "x"):
            raise CodeError(f"Code {code!r} must contain digits only.")
        known = ", ".join(str(n) for n in sorted(_explainers))
        raise CodeError(
            f"No code has {len(code)} digits; known lengths: {known} (grids: 6, 9, "
            "12, 14/15; components: 16/17)."
        )
    return explainer(code)
