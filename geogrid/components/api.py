"""Component API: GeoJSON lists with filters (class, status, department, grid subtree, bbox,
near), details by code, and create / update / status change for authorised users."""

from __future__ import annotations

import math

import numpy as np
import shapely
from django.contrib.gis.geos import Point, Polygon
from django.core.exceptions import PermissionDenied
from django.db.models import F, FloatField, Func, Q, Value
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from geogrid.accounts.actors import actor_of
from geogrid.accounts.models import Role
from geogrid.components import services
from geogrid.components.models import (
    Component,
    ComponentClass,
    ComponentPhoto,
    ComponentStatus,
)
from geogrid.components.schemes import active_scheme
from geogrid.components.serializers import ComponentFeatureSerializer, ComponentPhotoSerializer
from geogrid.core import params as qp
from geogrid.core.api import (
    BadRequest,
    Conflict,
    body_string,
    body_text,
    grid_code_param,
)
from geogrid.core.codes import parse_component_code
from geogrid.core.crs import parse_crs, point_to_storage, to_storage
from geogrid.core.pagination import FeaturePagination, list_schema
from geogrid.core.permissions import get_in_scope_or_404, require_role
from geogrid.core.photos import PhotoError, check_photo, photo_uploads
from geogrid.grids.assignment import assign_geometries
from geogrid.grids.models import Grid

MAX_RADIUS_M = 5_000.0
# Text fields of a new component, checked against the model's columns (length, choices).
COMPONENT_TEXT = (
    "code",
    "name",
    "status",
    "competent_department",
    "owner_department",
    "maintainer_department",
    "location_description",
    "notes",
    "material",
)
EDITOR_ROLES = (Role.PLANNER,)
STATUS_ROLES = (Role.PLANNER, Role.INSPECTOR, Role.OPERATOR, Role.DEPARTMENT)


class GeographyDistance(Func):
    """Metres between geometries on the spheroid (geography cast); used after a GiST-indexed
    bounding-box filter, so only nearby rows pay for it."""

    function = "ST_Distance"
    template = "ST_Distance(%(expressions)s)"
    output_field = FloatField()

    def __init__(self, geom, point: Point):
        super().__init__(
            Func(geom, template="%(expressions)s::geography"),
            Func(Value(point.ewkt), template="ST_GeomFromEWKT(%(expressions)s)::geography"),
        )


def _base_queryset(request: Request):
    return Component.objects.visible_to(request.user).select_related(
        "component_class",
        "grid",
        "competent_department",
        "owner_department",
        "maintainer_department",
    )


def parse_near(request: Request) -> tuple[Point, float] | None:
    raw = qp.text(request.query_params, "near", max_length=100)
    if not raw:
        return None
    parts = raw.split(",")
    message = f"near must be 'lon,lat' (e.g. near=116.40,39.91), not {raw!r}."
    if len(parts) != 2:
        raise BadRequest(message, field="near")
    try:
        x, y = float(parts[0]), float(parts[1])
    except ValueError as exc:
        raise BadRequest(message, field="near") from exc
    lon, lat = point_to_storage(x, y, parse_crs(qp.text(request.query_params, "crs")))
    radius = qp.number(request.query_params, "radius")
    radius = 500.0 if radius is None else radius
    if not 0 < radius <= MAX_RADIUS_M:
        raise BadRequest(
            f"radius must be between 0 and {MAX_RADIUS_M:,.0f} metres, not {radius:g}.",
            field="radius",
        )
    return Point(lon, lat, srid=4490), radius


LIST_PARAMETERS = [
    OpenApiParameter("class", str, description="Class code (4 or 5 digits)."),
    OpenApiParameter("major", str, description="Major class code (2 digits)."),
    OpenApiParameter("status", str, description="intact, damaged, lost, occupied, abandoned."),
    OpenApiParameter("department", str, description="Department code (any of the three roles)."),
    OpenApiParameter("grid", str, description="Grid code: that grid and its descendants."),
    OpenApiParameter("bbox", str, description="min_lon,min_lat,max_lon,max_lat."),
    OpenApiParameter("near", str, description="lon,lat: ordered by distance, within radius."),
    OpenApiParameter("radius", float, description="Metres around near (default 500, max 5000)."),
    OpenApiParameter("crs", str, description="CRS of near (4326, 4490, 4513–4554, gcj02, bd09)."),
    OpenApiParameter(
        "q",
        str,
        description="Digits: a code prefix. Otherwise part of the component's or its class's name.",
    ),
    OpenApiParameter("include_void", bool, description="Also list void (作废) components."),
    OpenApiParameter("page", int),
    OpenApiParameter("page_size", int),
]


@list_schema(LIST_PARAMETERS)
class ComponentListView(generics.ListCreateAPIView):
    serializer_class = ComponentFeatureSerializer
    pagination_class = FeaturePagination

    def get_queryset(self):
        params = self.request.query_params
        queryset = _base_queryset(self.request)
        if not qp.boolean(params, "include_void"):
            queryset = queryset.in_use()
        class_code = qp.text(params, "class", max_length=20)
        if class_code:
            if not class_code.isdigit() or len(class_code) not in (4, 5):
                raise BadRequest(
                    f"class must be a 4- or 5-digit class code, not {class_code!r}.", field="class"
                )
            queryset = queryset.filter(component_class__code=class_code)
        major = qp.text(params, "major", max_length=20)
        if major:
            if not (major.isdigit() and len(major) == 2):
                raise BadRequest(
                    f"major must be a 2-digit major class code, not {major!r}.", field="major"
                )
            queryset = queryset.filter(component_class__major_code=major)
        status_value = qp.choice(params, "status", ComponentStatus.values)
        if status_value:
            queryset = queryset.filter(status=status_value)
        department = qp.text(params, "department", max_length=50)
        if department:
            queryset = queryset.filter(
                Q(competent_department__code=department)
                | Q(owner_department__code=department)
                | Q(maintainer_department__code=department)
            )
        grid = grid_code_param(params, "grid")
        if grid:
            queryset = queryset.in_grid_subtree(grid)
        search = qp.text(params, "q", default="", max_length=100)
        if search:
            # Digits are a code prefix (an index range); anything else part of a name.
            if search.isdigit():
                queryset = queryset.code_prefix(search)
            else:
                queryset = queryset.filter(
                    Q(name__icontains=search) | Q(component_class__name__icontains=search)
                )
        bbox = qp.bbox(params)
        if bbox:
            box = Polygon.from_bbox(bbox)
            box.srid = 4490
            queryset = queryset.filter(geom__bboverlaps=box)
        near = parse_near(self.request)
        if near is None:
            return queryset.order_by("code")
        point, radius = near
        # A GiST-indexed box around the point first; exact metres only for what is inside.
        dlat = radius / 111_000.0
        dlon = radius / (111_000.0 * max(math.cos(math.radians(point.y)), 0.01))
        box = Polygon.from_bbox((point.x - dlon, point.y - dlat, point.x + dlon, point.y + dlat))
        box.srid = 4490
        return (
            queryset.filter(geom__bboverlaps=box)
            .annotate(distance_m=GeographyDistance(F("geom"), point))
            .filter(distance_m__lte=radius)
            .order_by("distance_m", "code")
        )

    @extend_schema(request=dict, responses=ComponentFeatureSerializer)
    def post(self, request: Request, *args, **kwargs) -> Response:
        require_role(request.user, *EDITOR_ROLES, action="create components")
        data = request.data
        texts = body_text(data, Component, COMPONENT_TEXT)
        class_code = str(data.get("class") or data.get("class_code") or "")[:20]
        component_class = ComponentClass.objects.filter(
            scheme=active_scheme(), code=class_code, active=True
        ).first()
        if component_class is None:
            raise BadRequest(
                f"Unknown component class {class_code!r} in the active scheme ({active_scheme()}).",
                field="class",
            )
        geometry = _geometry_from(data)
        _require_location_in_scope(request, geometry)
        component = services.create_component(
            actor=actor_of(request),
            component_class=component_class,
            geom=geometry,
            code=texts.get("code", ""),
            name=texts.get("name", ""),
            competent_department=texts.get("competent_department") or None,
            owner_department=texts.get("owner_department") or None,
            maintainer_department=texts.get("maintainer_department") or None,
            status=texts.get("status") or ComponentStatus.INTACT,
            location_description=texts.get("location_description", ""),
            notes=texts.get("notes", ""),
            material=texts.get("material", ""),
        )
        component = _base_queryset(request).get(pk=component.pk)
        return Response(
            ComponentFeatureSerializer(component, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


def _geometry_from(data) -> dict:
    """The request's GeoJSON geometry, converted to the storage CRS when `crs` says so."""
    geometry = data.get("geometry")
    if not isinstance(geometry, dict) or "type" not in geometry or "coordinates" not in geometry:
        raise BadRequest(
            'geometry must be a GeoJSON geometry object, e.g. {"type": "Point", '
            '"coordinates": [116.40, 39.91]}.',
            field="geometry",
        )
    crs = parse_crs(data.get("crs"))
    try:
        shape = shapely.geometry.shape(geometry)
    except (ValueError, TypeError, AttributeError, IndexError) as exc:
        raise BadRequest(f"geometry is not valid GeoJSON: {exc}", field="geometry") from exc
    if crs.epsg not in (4326, 4490):
        shape = shapely.transform(
            shape, lambda xy: np.column_stack(to_storage(xy[:, 0], xy[:, 1], crs))
        )
    return shapely.geometry.mapping(shape)


def _require_location_in_scope(request: Request, geometry: dict) -> None:
    """Planners create components only inside their own grids (admins anywhere)."""
    shape = shapely.geometry.shape(geometry)
    grid_id = int(assign_geometries(np.array([shape], dtype=object))[0])
    if grid_id >= 0 and not Grid.objects.in_scope_of(request.user).filter(pk=grid_id).exists():
        raise PermissionDenied("This location lies outside the grids you are responsible for.")


def _component_for(request: Request, code: str, *, scope: bool = False) -> Component:
    parse_component_code(code)
    queryset = Component.objects.in_scope_of(request.user) if scope else _base_queryset(request)
    return get_in_scope_or_404(
        queryset.select_related("component_class", "grid"), district_code=code[:6], code=code
    )


def _photos(request: Request, component: Component) -> list[dict]:
    photos = component.photos.select_related("uploaded_by")
    return ComponentPhotoSerializer(photos, many=True, context={"request": request}).data


class ComponentDetailView(APIView):
    @extend_schema(responses=ComponentFeatureSerializer)
    def get(self, request: Request, code: str) -> Response:
        """One component; its properties also list its photos (lists leave them out)."""
        component = _component_for(request, code)
        data = ComponentFeatureSerializer(component, context={"request": request}).data
        data["properties"]["photos"] = _photos(request, component)
        return Response(data)

    @extend_schema(request=dict, responses=ComponentFeatureSerializer)
    def patch(self, request: Request, code: str) -> Response:
        require_role(request.user, *EDITOR_ROLES, action="edit components")
        component = _component_for(request, code, scope=True)
        data = dict(request.data)
        version = data.pop("version", None)
        if not isinstance(version, int):
            raise BadRequest(
                "Send the 'version' you edited (an integer), so that concurrent "
                "edits are detected.",
                field="version",
            )
        geometry = _geometry_from(data) if "geometry" in data else None
        if geometry is not None:
            # A planner may not move a component out of the grids they are responsible for:
            # the new location is checked like a new component's (403).
            _require_location_in_scope(request, geometry)
        data.pop("geometry", None)
        data.pop("crs", None)
        unknown = sorted(set(data) - set(services.EDITABLE))
        if unknown:
            raise BadRequest(
                f"These fields cannot be changed here: {', '.join(unknown)}; "
                f"editable are: {', '.join(services.EDITABLE)}.",
                field=unknown[0],
            )
        changes = body_text(data, Component, services.EDITABLE)
        try:
            services.update_component(
                component=component,
                actor=actor_of(request),
                expected_version=version,
                geom=geometry,
                **changes,
            )
        except services.ComponentVersionConflict as exc:
            raise Conflict(str(exc)) from exc
        return Response(
            ComponentFeatureSerializer(
                _component_for(request, code), context={"request": request}
            ).data
        )


class ComponentStatusView(APIView):
    """Mark a component damaged, lost, occupied, abandoned or intact (inspectors in their
    grids, department handlers for their department's components, planners, operators)."""

    @extend_schema(request=dict, responses=ComponentFeatureSerializer)
    def post(self, request: Request, code: str) -> Response:
        require_role(request.user, *STATUS_ROLES, action="change component status")
        component = _component_for(request, code, scope=True)
        new_status = request.data.get("status")
        if not isinstance(new_status, str) or new_status not in ComponentStatus.values:
            raise BadRequest(
                f"status must be one of: {', '.join(ComponentStatus.values)}.", field="status"
            )
        services.change_component_status(
            component=component,
            actor=actor_of(request),
            status=new_status,
            note=body_string(request.data, "note", max_length=500),
        )
        return Response(
            ComponentFeatureSerializer(
                _component_for(request, code), context={"request": request}
            ).data
        )


class ComponentPhotosView(APIView):
    """A component's photos: GET lists them; POST (multipart/form-data, fields `image` and an
    optional `caption`) adds one: JPEG, PNG or WebP up to GEOGRID_MAX_PHOTO_MB. Same roles and
    scope as a status change."""

    @extend_schema(responses=ComponentPhotoSerializer(many=True))
    def get(self, request: Request, code: str) -> Response:
        return Response(_photos(request, _component_for(request, code)))

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {
                    "image": {"type": "string", "format": "binary"},
                    "caption": {"type": "string"},
                },
            }
        },
        responses={201: ComponentPhotoSerializer},
    )
    def post(self, request: Request, code: str) -> Response:
        require_role(request.user, *STATUS_ROLES, action="add photos to components")
        component = _component_for(request, code, scope=True)
        if "image" not in request.FILES and request.content_type.startswith("application/json"):
            raise BadRequest(
                "Send the photo as multipart/form-data with the file in the field 'image'.",
                field="image",
            )
        try:
            uploads = photo_uploads(request.FILES, "image", maximum=1)
            photo = check_photo(uploads[0] if uploads else None)
        except PhotoError as exc:
            raise BadRequest(str(exc), field="image") from exc
        try:
            record = services.add_component_photo(
                component=component,
                actor=actor_of(request),
                photo=photo,
                caption=body_text(request.data, ComponentPhoto, ["caption"]).get("caption", ""),
            )
        except services.ComponentError as exc:
            raise BadRequest(str(exc), field="caption") from exc
        return Response(
            ComponentPhotoSerializer(record, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )
