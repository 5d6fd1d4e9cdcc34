"""The demo's cases: both case taxonomies, the holiday calendar, an Open311 API key for a demo
client, a few hundred reports in every workflow status, made through the real services (so
their grids, departments, deadlines and events are what the product would record), and then a
year of generated history in bulk (cases/history.py, GEOGRID_DEMO_HISTORY_REPORTS reports)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.gis.geos import Point
from django.utils import timezone

from geogrid.cases.calendar import load_calendar
from geogrid.cases.history import DAYS, HistoryActors, generate_history
from geogrid.cases.intake import submit_report
from geogrid.cases.models import Case, CaseClass, Channel, Open311Key
from geogrid.cases.open311_keys import create_open311_key, open311_key_accepts, rotate_open311_key
from geogrid.cases.taxonomy import load_case_classes
from geogrid.cases.transitions import transition_case
from geogrid.components.models import Department, DepartmentMember
from geogrid.core.demo import DemoStep, database_dir
from geogrid.grids.models import Grid
from geogrid.patrols.models import PointStatus, TrackPoint

DEMO_DISTRICT = "110101"
DEMO_CASES = 240
SEED = 311
# Common problems, weighted as a street patrol finds them.
DEMO_CLASSES = {
    "06010": 8,
    "06012": 6,
    "06036": 5,
    "09009": 5,
    "09010": 4,
    "07001": 4,
    "06017": 3,
    "09005": 3,
    "01001": 2,
    "03001": 2,
    "06013": 2,
    "08002": 1,
}
# How far each demo case gets: (final status, share).
PATHS = [
    ("reported", 0.2),
    ("accepted", 0.05),
    ("filed", 0.1),
    ("dispatched", 0.25),
    ("handled", 0.1),
    ("checked", 0.05),
    ("closed", 0.2),
    ("rejected", 0.05),
]
KEY_NAME = "demo-client"
DEMO_DESCRIPTION = "演示数据：巡查发现的问题"


def key_file() -> Path:
    """The demo client's Open311 key, in the folder of the database it belongs to
    (var/demo/<host-port-name>/open311-key.txt): `make bench` loads the demo into a second
    database, which must not overwrite the key of the first."""
    return database_dir() / "open311-key.txt"


def _steps_to(final: str) -> list[tuple[str, str, str]]:
    """(to, actor username, reason) from 上报 to `final`."""
    loop = [
        ("accepted", "operator", ""),
        ("filed", "operator", ""),
        ("dispatched", "operator", ""),
        ("handled", "department", "已按要求处置完毕"),
        ("checked", "operator", ""),
        ("closed", "operator", ""),
    ]
    if final == "reported":
        return []
    if final == "rejected":
        return [("rejected", "operator", "经核实不属于城市管理问题")]
    names = [step[0] for step in loop]
    return loop[: names.index(final) + 1]


def _open311_key(lines: list[str]) -> None:
    """Print a key this database accepts: the one in the file when the database still holds it
    (active, same hash); otherwise a new one, by creating the client or rotating its key (an
    audited service call), written to the file. The file is only a copy of a secret the
    database holds as a hash, so the database decides."""
    path = key_file()
    key = path.read_text(encoding="utf-8").strip() if path.exists() else ""
    record = Open311Key.objects.filter(name=KEY_NAME).first()
    if record is None:
        _, key = create_open311_key(name=KEY_NAME)
        _write_key(path, key)
    elif not key or not open311_key_accepts(record, key):
        why = (
            "no key file for this database" if not key else "the key file and the database disagree"
        )
        key = rotate_open311_key(key=record, reason=f"load_demo: {why}")
        _write_key(path, key)
        lines.append(f"Open311: {why}; the key of '{KEY_NAME}' was rotated.")
    site = os.environ.get("GEOGRID_PUBLIC_URL", "http://127.0.0.1:8000")
    try:
        where = path.relative_to(settings.BASE_DIR)
    except ValueError:
        where = path
    lines.append(
        f"Open311 GeoReport v2 at {site.rstrip('/')}/open311/v2/discovery.json — "
        f"api_key for '{KEY_NAME}': {key} (kept in {where})"
    )


def _write_key(path: Path, key: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Only the owner reads it: it is a working credential of this database.
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(key + "\n", encoding="utf-8")


def _point_inside(geom: Any, rng: np.random.Generator) -> Any:
    x0, y0, x1, y1 = geom.extent
    for _ in range(20):
        candidate = Point(float(rng.uniform(x0, x1)), float(rng.uniform(y0, y1)), srid=4490)
        if geom.contains(candidate):
            return candidate
    return geom.point_on_surface


# When neither direction of the offset is inside the district: steps (m) tried in eight
# headings around the fix, beyond the GPS noise of the demo's fixes (σ 4 m).
INWARD_STEPS_M = (5.0, 15.0, 30.0)


def _offset_inside(district: Any, fix: Point, away: float, angle: float) -> Point:
    """A point `away` metres from a patrol fix, inside the district: a fix near the edge may
    put the offset across it (and no grid takes a report there), so the opposite direction is
    tried; a fix that GPS noise put just outside the district (patrols walk the edges of grids,
    the outline too) moves a few metres in; the fix itself is the last resort."""
    metres_per_degree = 111_320.0
    tries = [(away, angle), (away, angle + np.pi)] + [
        (step, angle + turn * np.pi / 4) for step in INWARD_STEPS_M for turn in range(8)
    ]
    for distance, heading in tries:
        at = Point(
            fix.x + distance * np.cos(heading) / (metres_per_degree * np.cos(np.radians(fix.y))),
            fix.y + distance * np.sin(heading) / metres_per_degree,
            srid=4490,
        )
        if district.contains(at):
            return at
    return Point(fix.x, fix.y, srid=4490)


def demo_step(context: dict[str, Any], progress: Callable[..., Iterable]) -> list[str]:
    lines: list[str] = []
    created = sum(load_case_classes(scheme).created for scheme in ("gbt47678", "cjt214"))
    holidays, workdays = load_calendar(
        path=Path(settings.BASE_DIR) / "gis_data" / "calendar" / "cn-holidays.csv"
    )
    if created:
        lines.append(
            f"Cases: {created} case categories (GB/T 47678.5 and CJ/T 214) and "
            f"{holidays} holidays / {workdays} make-up working days loaded."
        )
    users = context.get("users", {})
    handler = users.get("department")
    if handler is not None:
        for key in ("环卫", "园林", "城管", "交管"):
            department = Department.objects.filter(key=key).first()
            if department is not None:
                DepartmentMember.objects.get_or_create(user=handler, department=department)
    _open311_key(lines)
    made = Case.objects.filter(district_code=DEMO_DISTRICT, generated=False)
    if made.exists():
        summary = [f"Cases: {made.count():,} already there."]
    else:
        summary = _service_cases(context, progress)
    return summary + _history(context, progress) + lines


def _service_cases(context: dict[str, Any], progress: Callable[..., Iterable]) -> list[str]:
    """DEMO_CASES reports by the demo inspector, each moved through the workflow by the
    personas to a status of PATHS, through the services."""
    users = context.get("users", {})
    units = list(
        Grid.objects.active()
        .filter(level__slug="unit", code__startswith=DEMO_DISTRICT)
        .order_by("code")
        .values_list("code", "geom")
    )
    if not units or not users:
        return []
    inspector = users["inspector"]
    rng = np.random.default_rng(SEED)
    codes = [c for c in DEMO_CLASSES if CaseClass.objects.filter(service_code=c).exists()]
    weights = np.array([DEMO_CLASSES[c] for c in codes], dtype=float)
    classes = rng.choice(codes, size=DEMO_CASES, p=weights / weights.sum())
    finals = rng.choice([p for p, _ in PATHS], size=DEMO_CASES, p=[share for _, share in PATHS])
    # Three in four reports come from the demo inspector's recent patrols in their own grids:
    # made where and when the track was (a few metres off), one in twelve of those a few
    # hundred metres away, so the desk shows path checks both ways (docs/domain.md §8.4). The
    # others lie anywhere in the district, made with no patrol there: flagged.
    own = [code for code in inspector.grid_scopes.values_list("grid__code", flat=True)]
    # Prepared once: each contains() below is then fast.
    district = Grid.objects.active().get(code=DEMO_DISTRICT).geom.prepared
    fixes = _recent_fixes(inspector)
    made = 0
    for index in progress(range(DEMO_CASES), desc="Demo cases", unit="case"):
        observed_at = None
        if fixes and index % 4 != 3:
            moment, fix = fixes[int(rng.integers(len(fixes)))]
            away = rng.uniform(250, 450) if index % 12 == 5 else rng.uniform(3, 25)
            angle = rng.uniform(0, 2 * np.pi)
            at = _offset_inside(district, fix, away, angle)
            observed_at = moment + timedelta(seconds=int(rng.integers(5, 60)))
        else:
            if own and index % 4 == 0:
                candidates = [u for u in units if any(u[0].startswith(p) for p in own)] or units
            else:
                candidates = units
            _, geom = candidates[int(rng.integers(len(candidates)))]
            at = _point_inside(geom, rng)
        result = submit_report(
            actor=inspector,
            channel=Channel.INSPECTOR,
            service_code=str(classes[index]),
            x=at.x,
            y=at.y,
            description=DEMO_DESCRIPTION,
            observed_at=observed_at,
        )
        case = result.case
        for to, who, reason in _steps_to(str(finals[index])):
            # The demo handler works for four departments; admins act for the others.
            actor = users["admin"] if who == "department" else users[who]
            case = transition_case(case=case, to=to, actor=actor, reason=reason)
        made += 1
    return [f"Cases: {made} demo reports through the workflow (statuses from 待受理 to 已结案)."]


def _recent_fixes(inspector: Any) -> list[tuple[datetime, Point]]:
    """The accepted fixes of the inspector's generated patrols of the last six days (a
    report may wait a week in the phone, GEOGRID_PATROL_MAX_POINT_AGE_DAYS), every tenth."""
    since = timezone.now() - timedelta(days=6)
    rows = (
        TrackPoint.objects.filter(
            patrol__inspector=inspector, status=PointStatus.ACCEPTED, recorded_at__gte=since
        )
        .order_by("recorded_at")
        .values_list("recorded_at", "geom")
    )
    return list(rows)[::10]


def _history(context: dict[str, Any], progress: Callable[..., Iterable]) -> list[str]:
    """GEOGRID_DEMO_HISTORY_REPORTS generated reports over the past year, once: a database
    that holds generated cases of the demo district gets none again."""
    count = settings.GEOGRID_DEMO_HISTORY_REPORTS
    users = context.get("users", {})
    if count <= 0 or not users:
        return []
    there = Case.objects.filter(district_code=DEMO_DISTRICT, generated=True).count()
    if there:
        return [f"History: {there:,} generated reports already there."]
    plan = generate_history(
        count=count,
        actors=HistoryActors(
            inspector=users["inspector"],
            operator=users["operator"],
            admin=users["admin"],
            handler=users.get("department"),
        ),
        district_code=DEMO_DISTRICT,
        open311_key=Open311Key.objects.filter(name=KEY_NAME).first(),
        progress=progress,
    )
    if not plan.count:
        return ["History: none generated (no unit grids, or none of its categories in the scheme)."]
    return [
        f"History: {plan.count:,} generated reports over the past {DAYS} days, each as far "
        "through the workflow as it got by now (marked as generated on the pages; "
        "GEOGRID_DEMO_HISTORY_REPORTS sets how many, 0 none)."
    ]


def foreign_cases() -> list[str]:
    """Cases the demo step did not make (it reports as the demo inspector, in the demo
    district, with DEMO_DESCRIPTION, and generates history in the demo district) and Open311
    clients other than the demo's."""
    lines = []
    others = (
        Case.objects.exclude(
            district_code=DEMO_DISTRICT,
            channel=Channel.INSPECTOR,
            reporter__username="inspector",
            description=DEMO_DESCRIPTION,
        )
        .exclude(district_code=DEMO_DISTRICT, generated=True)
        .count()
    )
    if others:
        lines.append(f"{others:,} case(s) not reported by the demo")
    keys = Open311Key.objects.exclude(name=KEY_NAME).count()
    if keys:
        lines.append(f"{keys:,} Open311 client key(s) other than '{KEY_NAME}'")
    return lines


CASES_STEP = DemoStep(name="cases", order=30, run=demo_step, foreign=foreign_cases)
