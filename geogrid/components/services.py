"""Component use cases: the only code that changes components (docs/architecture.md §3.1).

Each function is transactional, takes keyword-only arguments and an explicit actor, validates
codes and geometry, keeps the component's grid true, and writes a ComponentEvent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, TypeAlias

import numpy as np
import shapely
from django.contrib.gis.geos import GEOSGeometry
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from shapely.geometry.base import BaseGeometry

from geogrid.accounts.actors import Actor
from geogrid.accounts.models import Role
from geogrid.components.models import (
    Component,
    ComponentAction,
    ComponentClass,
    ComponentEvent,
    ComponentPhoto,
    ComponentStatus,
    Currency,
    Department,
)
from geogrid.components.schemes import active_scheme
from geogrid.core.codes import CodeError, component_code, parse_component_code
from geogrid.core.gis import GeometryError, describe_invalidity
from geogrid.core.permissions import user_role
from geogrid.core.photos import CheckedPhoto
from geogrid.core.srid import STORAGE_SRID
from geogrid.grids.assignment import assign_geometries
from geogrid.grids.models import Grid
from geogrid.patrols.paths import check_path

# A component's geometry as the services take it: shapely, GEOS or a GeoJSON geometry object.
ComponentGeometry: TypeAlias = BaseGeometry | GEOSGeometry | dict[str, Any]

# Shapely type ids by the geometry kind a class allows.
KIND_OF_TYPE = {0: "point", 4: "point", 1: "line", 2: "line", 5: "line", 3: "polygon", 6: "polygon"}


class ComponentError(ValueError):
    """A component change that cannot be made; the message says why in plain words."""


class ComponentVersionConflict(ComponentError):
    def __init__(self, component: Component, expected: int):
        super().__init__(
            f"Component {component.code} was changed since you read it (version "
            f"{component.version}, you edited {expected}); reload it and try again."
        )
        self.current_version = component.version


def check_component_geometry(
    geom: ComponentGeometry, component_class: ComponentClass
) -> BaseGeometry:
    """A component's geometry as shapely (storage CRS): valid, in range, of a kind the class
    allows. Raises GeometryError with a plain message."""
    if isinstance(geom, GEOSGeometry):
        if geom.srid not in (None, STORAGE_SRID, 4326):
            geom = geom.transform(STORAGE_SRID, clone=True)
        geom = shapely.from_wkb(bytes(geom.wkb))
    elif isinstance(geom, dict):
        geom = shapely.geometry.shape(geom)
    if not isinstance(geom, BaseGeometry) or geom.is_empty:
        raise GeometryError("The component has no geometry.")
    coords = shapely.get_coordinates(geom)
    if not np.isfinite(coords).all():
        raise GeometryError("The component's coordinates are not numbers.")
    if (np.abs(coords[:, 0]) > 180).any() or (np.abs(coords[:, 1]) > 90).any():
        raise GeometryError(
            "The component's coordinates are outside longitude −180…180 / "
            "latitude −90…90; give lon/lat or name the coordinate system."
        )
    kind = KIND_OF_TYPE.get(int(shapely.get_type_id(geom)))
    if kind not in component_class.geometry_kinds:
        allowed = " or ".join(component_class.geometry_kinds)
        raise GeometryError(
            f"A {component_class.name} ({component_class.code}) is captured as a {allowed}, "
            f"not a {geom.geom_type}."
        )
    problem = describe_invalidity(geom)
    if problem:
        raise GeometryError(problem)
    return geom


def allocate_serials(*, district_code: str, scheme: str, class_code: str, count: int = 1) -> int:
    """Reserve `count` consecutive serials; returns the first.

    One upsert: the row lock it takes serialises concurrent allocations, so two simultaneous
    creations never get the same serial, and the counter never goes back (serials are never
    reused)."""
    try:
        # A savepoint: the six-digit check constraint refuses an exhausted counter, and the
        # caller's transaction must survive that to report it.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO components_componentserial
                    (district_code, scheme, class_code, last_serial)
                VALUES (%s, %s, %s, %s)
                ON CONFLICT (district_code, scheme, class_code)
                DO UPDATE SET last_serial =
                    components_componentserial.last_serial + EXCLUDED.last_serial
                RETURNING last_serial
                """,
                [district_code, scheme, class_code, count],
            )
            last: int = cursor.fetchone()[0]
    except IntegrityError as exc:
        raise CodeError(
            f"District {district_code} has not enough serial numbers left for "
            f"{count} more components of class {class_code} (6 digits: at most "
            "999,999, never reused)."
        ) from exc
    return last - count + 1


def reserve_existing_serials(
    *, district_code: str, scheme: str, class_code: str, highest: int
) -> None:
    """After importing components with their own codes: never hand out those serials again."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO components_componentserial (district_code, scheme, class_code, last_serial)
            VALUES (%s, %s, %s, %s)
            ON CONFLICT (district_code, scheme, class_code)
            DO UPDATE SET last_serial = GREATEST(components_componentserial.last_serial,
                                                 EXCLUDED.last_serial)
            """,
            [district_code, scheme, class_code, highest],
        )


def check_code_for(code: str, component_class: ComponentClass, district_code: str) -> str:
    parts = parse_component_code(code, component_class.scheme)
    if parts.class_code != component_class.code:
        raise CodeError(
            f"Code {code} is of class {parts.class_code}, not {component_class.code} "
            f"({component_class.name})."
        )
    if parts.district_code != district_code:
        raise CodeError(
            f"Code {code} belongs to district {parts.district_code}, but the "
            f"component lies in district {district_code}."
        )
    if Component.objects.filter(district_code=district_code, code=code).exists():
        raise CodeError(f"Code {code} is already used (component codes are never reused).")
    return code


def _grid_of(shape: BaseGeometry) -> Grid:
    grid_id = int(assign_geometries(np.array([shape], dtype=object))[0])
    if grid_id < 0:
        lon, lat = shapely.get_coordinates(shapely.point_on_surface(shape))[0]
        raise ComponentError(
            f"The component at lon {lon:.6f}, lat {lat:.6f} lies outside every "
            "unit grid; check its coordinates and coordinate system."
        )
    return Grid.objects.get(pk=grid_id)


def _to_geos(shape: BaseGeometry) -> GEOSGeometry:
    return GEOSGeometry(memoryview(shapely.to_wkb(shape)), srid=STORAGE_SRID)


def _department(value: Department | str | None, role: str) -> Department | None:
    if value is None or isinstance(value, Department):
        return value
    found = Department.objects.filter(code=value).first()
    if found is None:
        raise ComponentError(f"No department has the code {value!r} ({role}).")
    return found


@transaction.atomic
def create_component(
    *,
    actor: Actor | None,
    component_class: ComponentClass,
    geom: ComponentGeometry,
    code: str = "",
    name: str = "",
    competent_department: Department | str | None = None,
    owner_department: Department | str | None = None,
    maintainer_department: Department | str | None = None,
    status: str = ComponentStatus.INTACT,
    initial_date: date | None = None,
    **attrs: str,
) -> Component:
    """Create one component: checks the geometry against its class, finds its unit grid
    (refusing points outside every grid), takes the district from that grid, allocates the
    next serial (or checks the given code) and writes a 'created' event."""
    if not component_class.active:
        raise ComponentError(f"Class {component_class.code} {component_class.name} is disabled.")
    if component_class.scheme != active_scheme():
        raise ComponentError(
            f"Class {component_class.code} belongs to the {component_class.get_scheme_display()} "
            f"scheme; this deployment codes components with {active_scheme()}."
        )
    shape = check_component_geometry(geom, component_class)
    grid = _grid_of(shape)
    competent = (
        _department(competent_department, "competent department")
        or component_class.default_department
    )
    if competent is None:
        raise ComponentError(
            f"Class {component_class.code} has no default department; name the "
            "competent department (主管部门)."
        )
    if status not in ComponentStatus.values:
        raise ComponentError(
            f"Unknown status {status!r}; use one of: {', '.join(ComponentStatus.values)}."
        )
    district = grid.district_code
    if code:
        check_code_for(code, component_class, district)
        reserve_existing_serials(
            district_code=district,
            scheme=component_class.scheme,
            class_code=component_class.code,
            highest=parse_component_code(code).serial,
        )
    else:
        serial = allocate_serials(
            district_code=district, scheme=component_class.scheme, class_code=component_class.code
        )
        code = component_code(district, component_class.code, serial, component_class.scheme)
    component = Component.objects.create(
        code=code,
        district_code=district,
        component_class=component_class,
        name=name or component_class.name,
        competent_department=competent,
        owner_department=_department(owner_department, "owner"),
        maintainer_department=_department(maintainer_department, "maintainer"),
        status=status,
        geom=_to_geos(shape),
        grid=grid,
        initial_date=initial_date or timezone.localdate(),
        **attrs,
    )
    ComponentEvent.objects.create(
        component=component,
        action=ComponentAction.CREATED,
        actor=actor,
        details={"code": code, "grid": grid.code},
    )
    return component


EDITABLE = (
    "name",
    "owner_department",
    "maintainer_department",
    "competent_department",
    "location_description",
    "data_source",
    "material",
    "notes",
)


def _lock(component: Component) -> Component:
    return (
        Component.objects.select_for_update(of=("self",))
        .select_related("component_class", "grid")
        .get(pk=component.pk)
    )


@transaction.atomic
def update_component(
    *,
    component: Component,
    actor: Actor | None,
    expected_version: int,
    geom: ComponentGeometry | None = None,
    **changes: str | Department | None,
) -> Component:
    """Change a component's attributes and/or geometry (re-assigning its grid). Locks the row;
    a stale version changes nothing. Writes an 'updated' event with old and new values."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ComponentError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    component = _lock(component)
    if component.version != expected_version:
        raise ComponentVersionConflict(component, expected_version)
    diff: dict[str, list[str | None]] = {}
    for field_name, value in changes.items():
        if field_name.endswith("_department"):
            value = _department(value, field_name.replace("_", " "))
        old = getattr(component, field_name)
        if old != value:
            diff[field_name] = [
                str(old) if old is not None else None,
                str(value) if value is not None else None,
            ]
            setattr(component, field_name, value)
    if geom is not None:
        shape = check_component_geometry(geom, component.component_class)
        grid = _grid_of(shape)
        if grid.district_code != component.district_code:
            raise ComponentError(
                f"The new position lies in district {grid.district_code}; a "
                f"component keeps its district ({component.district_code})."
            )
        component.geom = _to_geos(shape)
        diff["geom"] = ["moved", shapely.to_wkt(shape, rounding_precision=7)]
        if grid.pk != component.grid_id:
            diff["grid"] = [component.grid.code if component.grid else None, grid.code]
            component.grid = grid
    if not diff:
        return component
    component.version += 1
    component.change_date = timezone.localdate()
    component.save()
    ComponentEvent.objects.create(
        component=component, action=ComponentAction.UPDATED, actor=actor, details={"changes": diff}
    )
    return component


@transaction.atomic
def change_component_status(
    *, component: Component, actor: Actor | None, status: str, note: str = ""
) -> Component:
    """Mark a component damaged, lost, occupied, abandoned or intact again; an event records
    who, when and why. Abandoned components stay in the inventory (currency 在用 until voided)."""
    if status not in ComponentStatus.values:
        raise ComponentError(
            f"Unknown status {status!r}; use one of: {', '.join(ComponentStatus.values)}."
        )
    component = _lock(component)
    if component.status == status:
        return component
    old = component.status
    component.status = status
    component.change_date = timezone.localdate()
    component.version += 1
    component.save(update_fields=["status", "change_date", "version", "updated_at"])
    details: dict[str, object] = {"from": old, "to": status, "note": note}
    if actor is not None and user_role(actor) == Role.INSPECTOR:
        # Made on the street: checked against the inspector's track (docs/domain.md §8.4).
        where = component.geom.point_on_surface
        details.update(
            check_path(
                inspector_id=actor.pk, lon=where.x, lat=where.y, at=timezone.now()
            ).as_details()
        )
    ComponentEvent.objects.create(
        component=component, action=ComponentAction.STATUS, actor=actor, details=details
    )
    return component


def add_component_photo(
    *, component: Component, actor: Actor | None, photo: CheckedPhoto, caption: str = ""
) -> ComponentPhoto:
    """Attach a checked photo (core.photos.check_photo) to a component, with an event. The
    files are written first; if the database write fails they are deleted again, so neither a
    row without files nor files without a row remain."""
    caption = caption.strip()
    if len(caption) > 200:
        raise ComponentError("A photo caption has at most 200 characters.")
    record = ComponentPhoto(
        component=component,
        uploaded_by=actor,
        caption=caption,
        width=photo.width,
        height=photo.height,
    )
    record.image.save(photo.original_name, photo.original, save=False)
    record.preview.save(photo.preview_name, photo.preview, save=False)
    try:
        with transaction.atomic():
            _lock(component)  # serialises with edits; the component must still exist
            record.save()
            ComponentEvent.objects.create(
                component=component,
                action=ComponentAction.PHOTO_ADDED,
                actor=actor,
                details={
                    "photo": record.pk,
                    "caption": caption,
                    "size": [photo.width, photo.height],
                    "format": photo.format,
                },
            )
    except BaseException:
        record.image.delete(save=False)
        record.preview.delete(save=False)
        raise
    return record


@transaction.atomic
def void_component(*, component: Component, actor: Actor | None, reason: str = "") -> Component:
    """Take a component out of use (现势性 作废). Its code stays taken for ever."""
    component = _lock(component)
    if component.currency == Currency.VOID:
        raise ComponentError(f"Component {component.code} is already void.")
    component.currency = Currency.VOID
    component.change_date = timezone.localdate()
    component.version += 1
    component.save(update_fields=["currency", "change_date", "version", "updated_at"])
    ComponentEvent.objects.create(
        component=component, action=ComponentAction.VOIDED, actor=actor, details={"reason": reason}
    )
    return component


def record_regridding(
    *, component_ids: Sequence[int], old: Sequence[int], new: Sequence[int], actor: Actor | None
) -> None:
    """Write re-assigned grids (-1: no grid) in one statement and one event per component.
    Called by the grid-edit impact hook, inside the grid edit's transaction."""
    rows = [
        (int(c), None if int(n) < 0 else int(n)) for c, n in zip(component_ids, new, strict=True)
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE components_component c SET grid_id = v.grid_id, updated_at = now()
            FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, grid_id)
            WHERE c.id = v.id
            """,
            [[r[0] for r in rows], [r[1] for r in rows]],
        )
    codes = dict(
        Grid.objects.filter(pk__in={int(g) for g in (*old, *new) if int(g) >= 0}).values_list(
            "pk", "code"
        )
    )
    ComponentEvent.objects.bulk_create(
        ComponentEvent(
            component_id=int(c),
            action=ComponentAction.REGRIDDED,
            actor=actor,
            details={"from": codes.get(int(o)), "to": codes.get(int(n))},
        )
        for c, o, n in zip(component_ids, old, new, strict=True)
    )
