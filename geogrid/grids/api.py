"""Read API of grids: GeoJSON lists and details, locate, code explanations, topology reports.

Each view parses its parameters (bad ones → 400 with a message), authorises through
geogrid.core.permissions, calls a queryset or service, and renders.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.gis.geos import Polygon
from django.utils.decorators import method_decorator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    inline_serializer,
)
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from geogrid.accounts.models import Role
from geogrid.core import params as qp
from geogrid.core.api import BadRequest
from geogrid.core.codes import explain_code, validate_grid_code
from geogrid.core.crs import parse_crs
from geogrid.core.pagination import FeaturePagination, list_schema
from geogrid.core.permissions import get_in_scope_or_404, require_role
from geogrid.core.replica import anonymous, read_from_replica
from geogrid.grids.edit_api import update_attributes
from geogrid.grids.locate import OutsideAllGrids, locate
from geogrid.grids.models import Grid, GridLevel
from geogrid.grids.serializers import GridFeatureSerializer
from geogrid.grids.topology import topology_report


def parse_float(request: Request, name: str, *, required: bool = True) -> float | None:
    return qp.number(request.query_params, name, required=required)


LIST_PARAMETERS = [
    OpenApiParameter(
        "level", str, description="Level slug (district, street, community, unit) or depth (0…3)."
    ),
    OpenApiParameter("parent", str, description="Only the children of the grid with this code."),
    OpenApiParameter("within", str, description="Only this grid's subtree (code prefix)."),
    OpenApiParameter("bbox", str, description="min_lon,min_lat,max_lon,max_lat (WGS84/CGCS2000)."),
    OpenApiParameter("include_retired", bool, description="Also list retired grids."),
    OpenApiParameter("page", int),
    OpenApiParameter("page_size", int),
]


# Public readers may see grids a moment old (a read replica, geogrid/core/replica.py).
@method_decorator(read_from_replica(when=anonymous), name="dispatch")
@list_schema(LIST_PARAMETERS)
class GridListView(generics.ListAPIView):
    """Grids as a GeoJSON FeatureCollection, paginated."""

    serializer_class = GridFeatureSerializer
    pagination_class = FeaturePagination

    def get_queryset(self):
        params = self.request.query_params
        queryset = Grid.objects.visible_to(self.request.user).select_related("level", "parent")
        if not qp.boolean(params, "include_retired"):
            queryset = queryset.active()
        level = qp.text(params, "level", max_length=30)
        if level:
            lookup = (
                {"depth": int(level)}
                if level.isascii() and level.isdigit() and len(level) < 3
                else {"slug": level}
            )
            found = GridLevel.objects.filter(**lookup).first()
            if found is None:
                names = ", ".join(GridLevel.objects.values_list("slug", flat=True))
                raise BadRequest(f"Unknown level {level!r}; use one of: {names}.", field="level")
            queryset = queryset.filter(level=found)
        for name, field in (("parent", "parent__code"), ("within", "code__startswith")):
            code = qp.text(params, name, max_length=30)
            if code:
                try:
                    validate_grid_code(code)
                except ValueError as exc:
                    raise BadRequest(str(exc), field=name) from exc
                queryset = queryset.filter(**{field: code})
        bbox = qp.bbox(params)
        if bbox:
            box = Polygon.from_bbox(bbox)
            box.srid = 4490
            queryset = queryset.filter(geom__intersects=box)
        return queryset.order_by("code")


# Public readers may see grids a moment old (a read replica, geogrid/core/replica.py).
@method_decorator(read_from_replica(when=anonymous), name="dispatch")
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
        validate_grid_code(code)
        grid = get_in_scope_or_404(Grid.objects.visible_to(request.user), code=code)
        return update_attributes(request, grid)


class GridTopologyView(APIView):
    """The topology report of a grid's children (planners, command center, admins)."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, code: str) -> Response:
        require_role(request.user, Role.PLANNER, Role.VIEWER, action="read topology reports")
        validate_grid_code(code)
        parent = get_in_scope_or_404(
            Grid.objects.in_scope_of(request.user).select_related("level"), code=code
        )
        report = topology_report(parent=parent)
        report["problems"] = [p.as_dict() for p in report["problems"]]
        return Response(report)


def parse_at(request: Request) -> datetime | None:
    """`at`: a time without an offset is the server's local time (core.params)."""
    return qp.moment(request.query_params, "at", local_ok=True)


# Public readers may see grids a moment old (a read replica, geogrid/core/replica.py).
@method_decorator(read_from_replica(when=anonymous), name="dispatch")
class LocateView(APIView):
    """The full grid path of a point; `crs` accepts 4326, 4490, 4513–4554, gcj02, bd09."""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "lon", float, required=True, description="Longitude, or easting for projected CRS."
            ),
            OpenApiParameter(
                "lat", float, required=True, description="Latitude, or northing for projected CRS."
            ),
            OpenApiParameter(
                "crs", str, description="Default 4326. Also 4490, 4513–4554, gcj02, bd09."
            ),
            OpenApiParameter("at", str, description="ISO date-time: the grids valid then."),
        ],
        responses=inline_serializer(
            "Location",
            {
                "lon": serializers.FloatField(),
                "lat": serializers.FloatField(),
                "grid": serializers.DictField(),
                "path": serializers.ListField(),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        lon = parse_float(request, "lon")
        lat = parse_float(request, "lat")
        crs = parse_crs(qp.text(request.query_params, "crs", max_length=30))
        try:
            location = locate(lon, lat, crs, at=parse_at(request))
        except OutsideAllGrids as exc:
            return Response({"error": "outside_all_grids", "detail": str(exc)}, status=404)
        data = location.as_dict()
        data["crs"] = crs.label
        return Response(data)


# Public readers may see grids a moment old (a read replica, geogrid/core/replica.py).
@method_decorator(read_from_replica(when=anonymous), name="dispatch")
class CodeExplainView(APIView):
    """Decode a grid code (district, street, community, sequence) or a component code (district,
    class, serial, grid) into its parts, with names."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, code: str) -> Response:
        return Response(explain_code(code))


# The same two endpoints with a trailing slash, which clients often add. They are aliases, not
# operations of their own: left out of the OpenAPI schema so each operation has one id there.
@extend_schema(exclude=True)
class LocateAliasView(LocateView):
    pass


@extend_schema(exclude=True)
class CodeExplainAliasView(CodeExplainView):
    pass
