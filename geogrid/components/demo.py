"""The demo city's component inventory: about 200,000 coded components of Dongcheng.

Generated, deterministic (fixed seed), written as a GeoPackage under var/demo/ and loaded through
`import_components` — the same path as any real inventory. Most components stand along the unit
grids' edges (the demo has no road network: grid edges stand in for streets and alleys), the
rest inside the grids; frequencies follow a dense old-city district (street trees, lights and
manhole covers first). Statuses: mostly intact, a few damaged, lost, occupied or abandoned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from django.conf import settings

from geogrid.components.importing import import_components
from geogrid.components.models import (
    CodeScheme,
    Component,
    ComponentClass,
    Department,
    DepartmentMember,
    GeometryKind,
)
from geogrid.components.schemes import active_scheme
from geogrid.components.taxonomy import load_component_classes, load_departments
from geogrid.core.demo import DemoStep
from geogrid.core.gis import from_metric, to_metric
from geogrid.grids.assignment import GridIndex
from geogrid.grids.models import Grid

DEMO_DISTRICT = "110101"
TARGET_COUNT = 200_000
SEED = 20_260_701

# Relative frequency by class name (either scheme's names); others get weight 1.
WEIGHTS = {
    "行道树": 60,
    "路灯": 40,
    "污水井盖": 18,
    "雨水井盖": 18,
    "雨水箅子": 16,
    "供水井盖": 14,
    "上水井盖": 14,
    "电力井盖": 10,
    "通信井盖": 10,
    "通讯井盖": 10,
    "燃气井盖": 6,
    "热力井盖": 6,
    "垃圾箱": 14,
    "果皮箱": 14,
    "交通标志": 10,
    "交通信号灯": 4,
    "立杆": 8,
    "电杆": 8,
    "座椅": 6,
    "坐椅": 6,
    "消防": 5,
    "存车": 6,
    "公交站": 2,
    "路名牌": 4,
    "广告": 4,
    "监控": 6,
    "护树": 10,
    "变压器": 2,
    "公共厕所": 1,
    "宣传栏": 2,
}
STATUS_CHOICES = ["intact", "damaged", "lost", "occupied", "abandoned"]
STATUS_PROBABILITIES = [0.94, 0.03, 0.01, 0.01, 0.01]


def demo_file() -> Path:
    return Path(settings.BASE_DIR) / "var" / "demo" / f"components-{active_scheme()}.gpkg"


def _weights(classes: list[ComponentClass]) -> np.ndarray:
    weights = np.ones(len(classes))
    for i, component_class in enumerate(classes):
        name = component_class.name
        if name in WEIGHTS:
            weights[i] = WEIGHTS[name]
            continue
        # A relative of a frequent class (路灯配电箱 of 路灯): more common than most, less than it.
        related = [w for fragment, w in WEIGHTS.items() if fragment in name]
        if related:
            weights[i] = max(1.0, max(related) / 8)
    return weights / weights.sum()


def generate_inventory(count: int = TARGET_COUNT) -> gpd.GeoDataFrame:
    """A deterministic inventory for the demo district's unit grids (storage CRS)."""
    rng = np.random.default_rng(SEED)
    units = list(
        Grid.objects.active()
        .filter(level__slug="unit", code__startswith=DEMO_DISTRICT)
        .order_by("code")
        .values_list("geom", flat=True)
    )
    if not units:
        raise ValueError("Load the demo grids first (manage.py load_demo).")
    grids_metric = to_metric(shapely.from_wkb([bytes(g.wkb) for g in units]))
    classes = list(
        ComponentClass.objects.filter(
            scheme=active_scheme(), active=True, default_department__isnull=False
        ).order_by("code")
    )
    point_classes = [c for c in classes if GeometryKind.POINT in c.geometry_kinds]
    line_classes = [c for c in classes if c.geometry_kinds == [GeometryKind.LINE]]
    polygon_classes = [c for c in classes if c.geometry_kinds == [GeometryKind.POLYGON]]

    n_lines = count // 100
    n_polygons = count // 400
    n_points = count - n_lines - n_polygons
    # Points: 80 % along grid edges (offset up to 4 m to either side), 20 % inside grids.
    edges = shapely.get_exterior_ring(shapely.get_parts(grids_metric))
    lengths = shapely.length(edges)
    n_edge = int(n_points * 0.8)
    which = rng.choice(len(edges), n_edge, p=lengths / lengths.sum())
    along = shapely.line_interpolate_point(edges[which], rng.random(n_edge), normalized=True)
    xy = shapely.get_coordinates(along) + rng.normal(0, 2.0, (n_edge, 2))
    n_inside = n_points - n_edge
    areas = shapely.area(grids_metric)
    host = rng.choice(len(grids_metric), n_inside, p=areas / areas.sum())
    inside = _points_inside(grids_metric[host], rng)
    points = shapely.points(np.vstack([xy, inside]))
    point_kind = rng.choice(len(point_classes), n_points, p=_weights(point_classes))

    # Lines (railings, fences): 20–60 m pieces of grid edges.
    which = rng.choice(len(edges), n_lines, p=lengths / lengths.sum())
    start = rng.random(n_lines) * np.maximum(lengths[which] - 60, 0)
    lines = _substrings(edges[which], start, rng.uniform(20, 60, n_lines))
    line_kind = rng.choice(len(line_classes), n_lines) if line_classes else np.zeros(0, int)
    # Polygons (green spaces, parking): 15–40 m squares around points inside grids.
    host = rng.choice(len(grids_metric), n_polygons, p=areas / areas.sum())
    centres = _points_inside(grids_metric[host], rng)
    half = rng.uniform(7.5, 20, n_polygons)
    squares = shapely.box(
        centres[:, 0] - half, centres[:, 1] - half, centres[:, 0] + half, centres[:, 1] + half
    )
    polygons = shapely.intersection(squares, grids_metric[host])  # stay inside the grid
    polygon_kind = (
        rng.choice(len(polygon_classes), n_polygons) if polygon_classes else np.zeros(0, int)
    )

    geoms = np.concatenate(
        [points, lines if line_classes else [], polygons if polygon_classes else []]
    )
    kinds = (
        [point_classes[i] for i in point_kind]
        + ([line_classes[i] for i in line_kind] if line_classes else [])
        + ([polygon_classes[i] for i in polygon_kind] if polygon_classes else [])
    )
    frame = gpd.GeoDataFrame(
        {
            "LBDM": [c.code for c in kinds],
            "GLBJMC": [c.name for c in kinds],
            "GLBJZT": rng.choice(STATUS_CHOICES, len(kinds), p=STATUS_PROBABILITIES),
            "SJLY": "实测",
        },
        geometry=list(from_metric(geoms)),
        crs=4490,
    )
    frame = frame[~frame.geometry.is_empty & frame.geometry.is_valid].reset_index(drop=True)
    # Points jittered off the district's outer edge would land outside every grid: drop them,
    # the demo inventory should import without rejections.
    index = GridIndex.load(level="unit", district_code=DEMO_DISTRICT)
    inside = index.shape_positions(np.asarray(frame.geometry.values, dtype=object)) >= 0
    return frame[inside].reset_index(drop=True)


def _points_inside(polygons: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One random point inside each polygon (rejection sampling in its bounding box, then the
    representative point for the few that keep missing)."""
    bounds = shapely.bounds(polygons)
    result = shapely.get_coordinates(shapely.point_on_surface(polygons)).copy()
    pending = np.arange(len(polygons))
    for _ in range(8):
        if not len(pending):
            break
        b = bounds[pending]
        xy = np.column_stack([rng.uniform(b[:, 0], b[:, 2]), rng.uniform(b[:, 1], b[:, 3])])
        hit = shapely.contains_xy(polygons[pending], xy[:, 0], xy[:, 1])
        result[pending[hit]] = xy[hit]
        pending = pending[~hit]
    return result


def _substrings(lines: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Pieces of lines between two distances (vectorised by sampling 6 points along each)."""
    steps = np.linspace(0, 1, 6)
    distances = start[:, None] + length[:, None] * steps[None, :]
    pts = shapely.line_interpolate_point(np.repeat(lines, len(steps)), distances.ravel())
    coords = shapely.get_coordinates(pts).reshape(len(lines), len(steps), 2)
    return shapely.linestrings(coords)


def inventory_loaded() -> bool:
    return Component.objects.filter(district_code=DEMO_DISTRICT).exists()


def demo_step(context: dict[str, Any], progress: Callable[..., Iterable]) -> list[str]:
    """Departments, both taxonomies, the department user's membership and the inventory."""
    departments = load_departments()
    created_classes = sum(
        load_component_classes(scheme).created for scheme in ("gbt47678", "cjt214")
    )
    lines = []
    if departments.created or created_classes:
        lines.append(
            f"Taxonomy: {departments.created} departments and {created_classes} "
            "component classes loaded (CJ/T 214 and GB/T 47678.5)."
        )
    handler = context.get("users", {}).get("department")
    if handler is not None:
        water = Department.objects.filter(key="自来水").first()
        if water is not None:
            DepartmentMember.objects.get_or_create(user=handler, department=water)
    if inventory_loaded():
        count = Component.objects.filter(district_code=DEMO_DISTRICT).count()
        lines.append(f"Components: {count:,} already loaded.")
        return lines
    path = demo_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = generate_inventory()
    frame.to_file(path, driver="GPKG", engine="pyogrio", layer="components")
    report = import_components(
        path=path, actor=context.get("actor"), class_field="LBDM", commit=True, progress=progress
    )
    lines.append(
        f"Components: {report.created:,} imported from the generated inventory "
        f"{path.name} ({report.counts['rejected']:,} rejected)."
    )
    return lines


def foreign_components() -> list[str]:
    # The demo's components all come from one import of its generated file (either scheme).
    demo_files = [f"components-{scheme}.gpkg" for scheme in CodeScheme.values]
    others = Component.objects.exclude(
        district_code=DEMO_DISTRICT, import_batch__file_name__in=demo_files
    ).count()
    if others:
        return [f"{others:,} component(s) not imported from the demo inventory"]
    return []


COMPONENTS_STEP = DemoStep(name="components", order=20, run=demo_step, foreign=foreign_components)
