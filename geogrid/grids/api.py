"""Read API of grids: GeoJSON lists and details, locate, code explanations, topology reports.

Each view parses its parameters (bad ones → 400 with a message), authorises through
geogrid.core.permissions, calls a queryset or service, and renders.
"""

from __future__ import annotations

import math
from datetime import datetime

from django.utils.dateparse import parse_datetime
from django.utils.timezone import is_naive, make_aware
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_gis.pagination import GeoJsonPagination

from geogrid.core.api import BadRequest
from geogrid.core.codes import explain_code, validate_grid_code
from geogrid.core.crs import parse_crs
from geogrid.core.permissions import get_in_scope_or_404, require_role
from geogrid.grids.locate import OutsideAllGrids, locate
from geogrid.grids.models import Grid, GridLevel
from geogrid.grids.serializers import GridFeatureSerializer
from geogrid.grids.services import topology_report


def parse_float(request: Request, name: str, *, required: bool = True) -> float | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        if required:
            raise BadRequest(f"The parameter '{name}' is required.", field=name)
        return None
    try:
        value = float(raw)
    except ValueError as exc:
        raise BadRequest(f"'{name}' must be a number, not {raw!r}.", field=name) from exc
    if not math.isfinite(value):
        raise BadRequest(f"'{name}' must be a finite number, not {raw!r}.", field=name)
    return value


def parse_bbox(raw: str) -> tuple[float, float, float, float]:
    parts = raw.split(",")
    message = ("bbox must be 'min_lon,min_lat,max_lon,max_lat' in degrees, "
               f"e.g. 116.39,39.90,116.42,39.93; got {raw!r}.")
    if len(parts) != 4:
        raise BadRequest(message, field="bbox")
    try:
        west, south, east, north = (float(p) for p in parts)
    except ValueError as exc:
        raise BadRequest(message, field="bbox") from exc
    if not all(math.isfinite(v) for v in (west, south, east, north)):
        raise BadRequest(message, field="bbox")
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise BadRequest(message + " (min must not exceed max; lon −180…180, lat −90…90)",
                         field="bbox")
    return west, south, east, north


class GridPagination(GeoJsonPagination):
    page_size_query_param = "page_size"

    def __init__(self) -> None:
        from django.conf import settings

        self.page_size = settings.GEOGRID_API_PAGE_SIZE
        self.max_page_size = settings.GEOGRID_API_MAX_PAGE_SIZE

    def paginate_queryset(self, queryset, request, view=None):
        for name in ("page", "page_size"):
            raw = request.query_params.get(name)
            if raw is not None and (not raw.isdigit() or int(raw) < 1):
                raise BadRequest(f"'{name}' must be a positive whole number, not {raw!r}.",
                                 field=name)
        try:
            return super().paginate_queryset(queryset, request, view)
        except NotFound as exc:
            raise BadRequest(
                f"Page {request.query_params.get('page')} does not exist for this query: "
                "start at page 1 and follow the 'next' links.", field="page",
            ) from exc


LIST_PARAMETERS = [
    OpenApiParameter("level", str, description="Level slug (district, street, community, unit) "
                     "or depth (0…3)."),
    OpenApiParameter("parent", str, description="Only the children of the grid with this code."),
    OpenApiParameter("within", str, description="Only this grid's subtree (code prefix)."),
    OpenApiParameter("bbox", str, description="min_lon,min_lat,max_lon,max_lat (WGS84/CGCS2000)."),
    OpenApiParameter("include_retired", bool, description="Also list retired grids."),
    OpenApiParameter("page", int), OpenApiParameter("page_size", int),
]


class GridListView(generics.ListAPIView):
    """Grids as a GeoJSON FeatureCollection, paginated."""

    serializer_class = GridFeatureSerializer
    pagination_class = GridPagination

    @extend_schema(parameters=LIST_PARAMETERS)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        queryset = Grid.objects.visible_to(self.request.user).select_related("level", "parent")
        if params.get("include_retired", "").lower() not in ("1", "true", "yes"):
            queryset = queryset.active()
        level = params.get("level")
        if level:
            lookup = {"depth": int(level)} if level.isdigit() else {"slug": level}
            found = GridLevel.objects.filter(**lookup).first()
            if found is None:
                names = ", ".join(GridLevel.objects.values_list("slug", flat=True))
                raise BadRequest(f"Unknown level {level!r}; use one of: {names}.", field="level")
            queryset = queryset.filter(level=found)
        for name, field in (("parent", "parent__code"), ("within", "code__startswith")):
            code = params.get(name)
            if code:
                try:
                    validate_grid_code(code)
                except ValueError as exc:
                    raise BadRequest(str(exc), field=name) from exc
                queryset = queryset.filter(**{field: code})
        bbox = params.get("bbox")
        if bbox:
            west, south, east, north = parse_bbox(bbox)
            from django.contrib.gis.geos import Polygon

            box = Polygon.from_bbox((west, south, east, north))
            box.srid = 4490
            queryset = queryset.filter(geom__intersects=box)
        return queryset.order_by("code")


class GridDetailView(APIView):
    @extend_schema(responses=GridFeatureSerializer)
    def get(self, request: Request, code: str) -> Response:
        validate_grid_code(code)
        grid = get_in_scope_or_404(
            Grid.objects.visible_to(request.user).select_related("level", "parent"), code=code
        )
        return Response(GridFeatureSerializer(grid, context={"request": request}).data)

    @extend_schema(request=OpenApiTypes.OBJECT, responses=GridFeatureSerializer)
    def patch(self, request: Request, code: str) -> Response:
        """Change descriptive attributes: name, grid_type, area_class, households, population,
        officer_name, officer_phone, responsible_department (planners, in scope)."""
        from geogrid.grids.edit_api import update_attributes

        validate_grid_code(code)
        grid = get_in_scope_or_404(Grid.objects.visible_to(request.user), code=code)
        return update_attributes(request, grid)


class GridTopologyView(APIView):
    """The topology report of a grid's children (planners, command center, admins)."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, code: str) -> Response:
        require_role(request.user, "planner", "viewer", action="read topology reports")
        validate_grid_code(code)
        parent = get_in_scope_or_404(
            Grid.objects.in_scope_of(request.user).select_related("level"), code=code
        )
        report = topology_report(parent=parent)
        report["problems"] = [p.as_dict() for p in report["problems"]]
        return Response(report)


def parse_at(request: Request) -> datetime | None:
    raw = request.query_params.get("at")
    if not raw:
        return None
    try:
        value = parse_datetime(raw)
    except ValueError:  # well-formed but impossible, e.g. month 13
        value = None
    if value is None:
        raise BadRequest(f"'at' must be an ISO 8601 date-time such as 2026-01-31T12:00:00+08:00, "
                         f"not {raw!r}.", field="at")
    return make_aware(value) if is_naive(value) else value


class LocateView(APIView):
    """The full grid path of a point; `crs` accepts 4326, 4490, 4513–4554, gcj02, bd09."""

    @extend_schema(
        parameters=[
            OpenApiParameter("lon", float, required=True,
                             description="Longitude, or easting for projected CRS."),
            OpenApiParameter("lat", float, required=True,
                             description="Latitude, or northing for projected CRS."),
            OpenApiParameter("crs", str, description="Default 4326. Also 4490, 4513–4554, gcj02, "
                             "bd09."),
            OpenApiParameter("at", str, description="ISO date-time: the grids valid then."),
        ],
        responses=inline_serializer("Location", {
            "lon": serializers.FloatField(), "lat": serializers.FloatField(),
            "grid": serializers.DictField(), "path": serializers.ListField(),
        }),
    )
    def get(self, request: Request) -> Response:
        lon = parse_float(request, "lon")
        lat = parse_float(request, "lat")
        crs = parse_crs(request.query_params.get("crs"))
        try:
            location = locate(lon, lat, crs, at=parse_at(request))
        except OutsideAllGrids as exc:
            return Response({"error": "outside_all_grids", "detail": str(exc)}, status=404)
        data = location.as_dict()
        data["crs"] = crs.label
        return Response(data)


class CodeExplainView(APIView):
    """Decode a grid code (district, street, community, sequence) or a component code (district,
    class, serial, grid) into its parts, with names."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, code: str) -> Response:
        return Response(explain_code(code))
