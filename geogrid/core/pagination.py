"""The GeoJSON list views of grids, components and cases: their pages and their documented
query parameters.

Apart from core/api.py because DRF imports that module (its parser and exception handler)
while rest_framework.views is still loading, and this one needs rest_framework.views.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.views import APIView
from rest_framework_gis.pagination import GeoJsonPagination

from geogrid.core import params as qp
from geogrid.core.api import BadRequest

V = TypeVar("V", bound=type)


def list_schema(parameters: list[OpenApiParameter]) -> Callable[[V], V]:
    """Document a list view's query parameters on its GET (the view itself does not override
    get just to carry them)."""
    decorate: Callable[[V], V] = extend_schema_view(get=extend_schema(parameters=parameters))
    return decorate


# rest_framework_gis has no type hints: to mypy its base class is Any.
class FeaturePagination(GeoJsonPagination):  # type: ignore[misc]
    """Pages of a GeoJSON list (grids, components, cases): `page` and `page_size` (capped by
    GEOGRID_API_MAX_PAGE_SIZE), checked as numbers, and a page past the end is a 400."""

    page_size_query_param = "page_size"

    def __init__(self) -> None:
        self.page_size = settings.GEOGRID_API_PAGE_SIZE
        self.max_page_size = settings.GEOGRID_API_MAX_PAGE_SIZE

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        """The answer as sent: the list serializer's FeatureCollection (`schema`, with its
        `features` array) and the page fields. (rest_framework_gis renames `results` but
        leaves it required, and nests the whole collection under `features`.)"""
        return {
            "allOf": [
                schema,
                {
                    "type": "object",
                    "required": ["type", "count", "features"],
                    "properties": {
                        "count": {"type": "integer", "example": 123},
                        "next": {"type": "string", "nullable": True, "format": "uri"},
                        "previous": {"type": "string", "nullable": True, "format": "uri"},
                    },
                },
            ]
        }

    def paginate_queryset(
        self, queryset: QuerySet[Any], request: Request, view: APIView | None = None
    ) -> list[Any] | None:
        qp.integer(request.query_params, "page")
        qp.integer(request.query_params, "page_size")
        try:
            page: list[Any] | None = super().paginate_queryset(queryset, request, view)
            return page
        except NotFound as exc:
            raise BadRequest(
                f"Page {request.query_params.get('page')} does not exist for this query: "
                "start at page 1 and follow the 'next' links.",
                field="page",
            ) from exc
