"""The demo city: Beijing Dongcheng (东城区, 110101) with generated streets, communities and
about 4,500 unit grids of ~10,000 m², built through the same import and grid services as
everything else. Each step is skipped when its result is already there, so loading twice
creates no duplicates.

Real: the district boundary (repaired on import: it self-intersects as shipped) and the 17
street names and GB/T 2260 codes. Generated: street boundaries (the blocks between the
generated main roads, each given to the nearest approximate real street centre), communities
and unit grids (divide_grid along the generated roads, water and walls that the reference
app's demo step loads first: geogrid/reference/demo.py; docs/domain.md §2.7).
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from django.conf import settings
from django.db.models import Q
from shapely.geometry import MultiPoint, Point

from geogrid.accounts.actors import Actor
from geogrid.accounts.demo import FIELD_INSPECTORS
from geogrid.core.demo import DemoStep
from geogrid.core.gis import as_multipolygon
from geogrid.grids.city_features import city_features
from geogrid.grids.feature_division import RANK_BARRIER
from geogrid.grids.importing import ImportReport, format_report, import_grids
from geogrid.grids.models import Grid, GridLevel, GridScope, GridSource, GridType
from geogrid.grids.services.dividing import divide_grid
from geogrid.grids.services.editing import create_grids, ensure_default_levels
from geogrid.grids.validation import Candidate

DISTRICT_CODE = "110101"
# Districts whose grids a demo database may hold: the demo city, and the synthetic benchmark city
# that `make bench` adds beside it in its own database (bench/synthetic_city.py, DISTRICT_CODE).
DEMO_DISTRICTS = {DISTRICT_CODE: "the demo city 东城区", "110105": "the synthetic bench city"}
GIS_DATA = Path(settings.BASE_DIR) / "gis_data"
COMMUNITY_TARGET_M2 = 250_000.0
UNIT_TARGET_M2 = 10_000.0

# Approximate centres of Dongcheng's streets (lon, lat, WGS84), keyed by their 3-digit street
# code. Only used as seeds for generated boundaries, so that each name sits about where the
# real street is (street_shapes).
STREET_SEEDS = {
    "001": (116.404, 39.914),  # 东华门
    "002": (116.398, 39.928),  # 景山
    "003": (116.405, 39.940),  # 交道口
    "004": (116.408, 39.951),  # 安定门
    "005": (116.419, 39.943),  # 北新桥
    "006": (116.418, 39.930),  # 东四
    "007": (116.428, 39.922),  # 朝阳门
    "008": (116.428, 39.906),  # 建国门
    "009": (116.434, 39.940),  # 东直门
    "010": (116.418, 39.962),  # 和平里
    "011": (116.396, 39.896),  # 前门
    "012": (116.418, 39.894),  # 崇文门外
    "013": (116.436, 39.893),  # 东花市
    "014": (116.440, 39.878),  # 龙潭
    "015": (116.423, 39.880),  # 体育馆路
    "016": (116.405, 39.878),  # 天坛
    "017": (116.400, 39.862),  # 永定门外
}

# Unit-grid types in rough proportion to a dense old-city district.
TYPE_MIX = (
    [GridType.RESIDENTIAL] * 11
    + [GridType.COMMERCIAL] * 4
    + [
        GridType.INSTITUTION,
        GridType.INSTITUTION,
        GridType.CROWDED,
        GridType.PARK,
        GridType.MIXED,
        GridType.WATER,
    ]
)
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = ["建国", "秀英", "志强", "丽娟", "海燕", "国庆", "红梅", "伟", "静", "磊", "敏", "军"]


@dataclass
class DemoResult:
    district_report: ImportReport | None
    streets_created: int
    communities_created: int
    units_created: int


def street_names() -> dict[str, str]:
    with open(GIS_DATA / "gbt2260-towns-beijing.csv", encoding="utf-8") as handle:
        return {
            row["town"][:3]: row["name"]
            for row in csv.DictReader(handle)
            if row["code"] == DISTRICT_CODE
        }


def _stable(code: str, modulo: int) -> int:
    """A deterministic pseudo-random number from a code (no global random state)."""
    return int(hashlib.sha1(code.encode()).hexdigest()[:8], 16) % modulo


def load_district(actor: Actor | None) -> ImportReport | None:
    if Grid.objects.filter(code=DISTRICT_CODE).exists():
        return None
    return import_grids(
        path=GIS_DATA / "dongcheng-110101.geojson",
        level="district",
        actor=actor,
        code_field="code",
        name_field="name",
        commit=True,
    )


def street_shapes(boundary: Any) -> list[Any]:
    """Per street (STREET_SEEDS in code order), its generated boundary. A Voronoi diagram around
    the approximate street centres says which street each place is nearest; where barrier
    lines are loaded (main roads, rivers, railways: the demo's generated roads), the district is
    first cut into blocks along them and each block goes whole to the street whose cell holds
    most of it, so streets end on main roads, as real 街道 do."""
    codes = sorted(STREET_SEEDS)
    seeds = [Point(STREET_SEEDS[code]) for code in codes]
    cells = shapely.get_parts(
        shapely.voronoi_polygons(MultiPoint(seeds), extend_to=boundary.envelope.buffer(0.05))
    )
    cells = np.array([next(c for c in cells if c.covers(seed)) for seed in seeds], dtype=object)
    voronoi = [as_multipolygon(shapely.intersection(cell, boundary)) for cell in cells]
    features = city_features(boundary)
    barriers = features.lines[features.ranks == RANK_BARRIER]
    if not len(barriers):
        return voronoi
    outline = shapely.get_parts(shapely.boundary(boundary))
    faces = shapely.get_parts(
        shapely.polygonize(
            shapely.get_parts(shapely.union_all(np.concatenate([barriers, outline])))
        )
    )
    # Faces outside the district (between its outline and a road beyond it) are formed too.
    inside = shapely.area(shapely.intersection(faces, boundary)) > 0.5 * shapely.area(faces)
    blocks = faces[inside]
    overlap = shapely.area(shapely.intersection(blocks[:, None], cells[None, :]))
    owner = overlap.argmax(axis=1)
    # A street centre whose cell holds most of no block takes the block around its centre.
    for street, seed in enumerate(seeds):
        if (owner == street).any():
            continue
        at = np.flatnonzero(shapely.covers(blocks, seed))
        if len(at) and (owner == owner[at[0]]).sum() > 1:
            owner[at[0]] = street
    if len(np.unique(owner)) < len(seeds):
        return voronoi
    streets = shapely.intersection(
        boundary,
        np.array([shapely.union_all(blocks[owner == s]) for s in range(len(seeds))], dtype=object),
    )
    # What polygonising left over along the outline (slivers where a road nearly follows it)
    # joins the street it shares the longest edge with, so the streets tile the district.
    outlines = shapely.boundary(streets)
    for part in shapely.get_parts(shapely.difference(boundary, shapely.union_all(streets))):
        shared = shapely.length(shapely.intersection(shapely.boundary(part), outlines))
        street = (
            int(shared.argmax())
            if shared.max() > 0
            else int(shapely.distance(streets, part).argmin())
        )
        streets[street] = shapely.union(streets[street], part)
    return [as_multipolygon(street) for street in streets]


def load_streets(district: Grid, actor: Actor | None) -> int:
    if district.children.active().exists():
        return 0
    names = street_names()
    boundary = shapely.from_wkb(bytes(district.geom.wkb))
    candidates = [
        Candidate(
            geom=shape,
            code=DISTRICT_CODE + seed_code,
            name=names[seed_code],
            attrs={"grid_type": GridType.ADMINISTRATIVE},
        )
        for seed_code, shape in zip(sorted(STREET_SEEDS), street_shapes(boundary), strict=True)
    ]
    level = GridLevel.objects.get(depth=1)
    create_grids(
        actor=actor,
        level=level,
        parent=district,
        candidates=candidates,
        source=GridSource.GENERATED,
    )
    return len(candidates)


def load_communities(district: Grid, actor: Actor | None) -> int:
    created = 0
    for street in district.children.active().order_by("code"):
        if street.children.active().exists():
            continue
        count = max(3, round(street.area_m2 / COMMUNITY_TARGET_M2))
        short = street.name.removesuffix("街道")
        children = divide_grid(
            parent=street,
            actor=actor,
            method="features",
            count=count,
            target_area_m2=COMMUNITY_TARGET_M2,
            names=[f"{short}第{i + 1}社区" for i in range(count * 2)],
            grid_type=GridType.RESIDENTIAL,
            source=GridSource.GENERATED,
        )
        created += len(children)
    return created


def load_units(
    district: Grid, actor: Actor | None, progress: Callable[[Iterable], Iterable] | None = None
) -> int:
    communities = [
        c
        for c in Grid.objects.active().filter(parent__parent=district).order_by("code")
        if not c.children.active().exists()
    ]
    created = 0
    for community in progress(communities) if progress else communities:
        children = divide_grid(
            parent=community,
            actor=actor,
            method="features",
            target_area_m2=UNIT_TARGET_M2,
            describe=describe_unit,
        )
        created += len(children)
    return created


def describe_unit(code: str, area_m2: float) -> dict[str, Any]:
    """Plausible attributes of a demo unit grid: type, households, population, officer."""
    kind = TYPE_MIX[_stable(code, len(TYPE_MIX))]
    attrs: dict[str, Any] = {"grid_type": kind}
    if kind in (GridType.RESIDENTIAL, GridType.MIXED):
        attrs["households"] = int(area_m2 / 10_000 * (250 + _stable(code + "h", 250)))
        attrs["population"] = int(attrs["households"] * 2.6)
    number = _stable(code + "o", len(SURNAMES) * len(GIVEN))
    attrs["officer_name"] = SURNAMES[number % len(SURNAMES)] + GIVEN[number // len(SURNAMES)]
    attrs["officer_phone"] = f"1380110{_stable(code + 'p', 10000):04d}"
    return attrs


def load_demo_city(
    actor: Actor | None, progress: Callable[[Iterable], Iterable] | None = None
) -> DemoResult:
    ensure_default_levels()  # normally made by migration grids.0002; a flushed database lacks them
    report = load_district(actor)
    district = Grid.objects.get(code=DISTRICT_CODE)
    streets = load_streets(district, actor)
    communities = load_communities(district, actor)
    units = load_units(district, actor, progress)
    return DemoResult(report, streets, communities, units)


def unit_area_stats() -> dict[str, float]:
    areas = np.array(
        list(
            Grid.objects.active()
            .filter(level__depth=3, code__startswith=DISTRICT_CODE)
            .values_list("area_m2", flat=True)
        )
    )
    if len(areas) == 0:
        return {"count": 0}
    return {
        "count": int(len(areas)),
        "median_m2": float(np.median(areas)),
        "min_m2": float(areas.min()),
        "max_m2": float(areas.max()),
    }


def demo_step(context: dict[str, Any], progress: Callable[..., Iterable]) -> list[str]:
    """The grids of the demo city, and the planner's and inspector's grid scopes."""
    result = load_demo_city(
        context["actor"],
        lambda items: progress(
            items, desc="Dividing communities into unit grids", unit="community"
        ),
    )
    users = context.get("users", {})
    district = Grid.objects.get(code=DISTRICT_CODE)
    if "planner" in users:
        GridScope.objects.get_or_create(user=users["planner"], grid=district)
    # One inspector patrols ~18 unit grids (≈180,000 m², Dongcheng practice): the demo
    # inspector the first 18 in code order, each field inspector the next 18.
    units = list(
        Grid.objects.active()
        .filter(level__depth=3, code__startswith=DISTRICT_CODE)
        .order_by("code")
    )
    walkers = ["inspector", *(name for name, _, _ in FIELD_INSPECTORS)]
    for block, name in enumerate(walkers):
        user = users.get(name)
        if user is not None and not user.grid_scopes.exists():
            GridScope.objects.bulk_create(
                GridScope(user=user, grid=g) for g in units[block * 18 : (block + 1) * 18]
            )
    lines = [format_report(result.district_report)] if result.district_report else []
    stats = unit_area_stats()
    lines.append(
        f"Demo city {DISTRICT_CODE} 东城区: created {result.streets_created} streets, "
        f"{result.communities_created} communities, {result.units_created} unit grids. "
        f"Unit grids now: {stats.get('count', 0)}"
        + (f" (median {stats['median_m2']:,.0f} m²)" if stats.get("count") else "")
        + "."
    )
    lines.append(
        "Street, community and unit-grid boundaries are GENERATED for the demo (communities "
        "and unit grids along the generated roads); only the district boundary and the street "
        "names/codes are real."
    )
    return lines


def foreign_grids() -> list[str]:
    inside = Q()
    for code in DEMO_DISTRICTS:
        inside |= Q(code__startswith=code)
    others = Grid.objects.exclude(inside).count()
    if others:
        return [
            f"{others:,} grid(s) outside the demo districts "
            f"({', '.join(f'{c} {what}' for c, what in DEMO_DISTRICTS.items())})"
        ]
    return []


GRIDS_STEP = DemoStep(name="grids", order=10, run=demo_step, foreign=foreign_grids)
