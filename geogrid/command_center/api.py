"""Command-center API: report counts per grid for a period (choropleth, hot-grid ranking)."""

from __future__ import annotations

import json
from datetime import timedelta

from django.http import HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.views import APIView

from geogrid.command_center.queries import cases_per_grid
from geogrid.core.api import BadRequest
from geogrid.core.codes import validate_grid_code
from geogrid.core.permissions import require_role

CITY_WIDE = ("operator", "viewer")
DEFAULT_DAYS = 30


def _moment(request: Request, name: str):
    raw = request.query_params.get(name)
    if not raw:
        return None
    value = parse_datetime(raw.replace(" ", "+"))
    if value is None or value.tzinfo is None:
        raise BadRequest(f"'{name}' must be an ISO 8601 date-time with an offset, e.g. "
                         f"2026-11-01T00:00:00+08:00, not {raw!r}.", field=name)
    return value


class GridCountsView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[
        OpenApiParameter("level", str, description="unit (default), community, street or "
                         "district"),
        OpenApiParameter("since", str, description="ISO 8601; default: 30 days before 'until'"),
        OpenApiParameter("until", str, description="ISO 8601; default: now"),
        OpenApiParameter("class", str, description="A category's service code."),
        OpenApiParameter("within", str, description="Only grids inside this grid."),
        OpenApiParameter("limit", int, description="At most this many grids (default all)."),
    ])
    def get(self, request: Request) -> HttpResponse:
        """Reports per grid in a period, most first (the command center's choropleth)."""
        require_role(request.user, *CITY_WIDE, action="see the command center's counts")
        until = _moment(request, "until") or timezone.now()
        since = _moment(request, "since") or until - timedelta(days=DEFAULT_DAYS)
        within = request.query_params.get("within") or None
        if within:
            try:
                validate_grid_code(within)
            except ValueError as exc:
                raise BadRequest(str(exc), field="within") from exc
        limit = request.query_params.get("limit")
        if limit is not None and (not limit.isdigit() or int(limit) < 1):
            raise BadRequest("'limit' must be a positive whole number.", field="limit")
        try:
            counts = cases_per_grid(start=since, end=until,
                                    level=request.query_params.get("level", "unit"),
                                    class_code=request.query_params.get("class") or None,
                                    within=within)
        except ValueError as exc:
            raise BadRequest(str(exc)) from exc
        if limit is not None:
            counts = counts[: int(limit)]
        # Rows as arrays, written with the json module: a city has 16,000 unit grids, and
        # 16,000 dicts through the REST framework's renderer cost more than the query.
        body = {
            "since": since.isoformat(), "until": until.isoformat(),
            "total": sum(c.reports for c in counts),
            "fields": ["id", "code", "name", "reports", "overdue"],
            "grids": [[c.grid_id, c.code, c.name, c.reports, c.overdue] for c in counts],
        }
        return HttpResponse(json.dumps(body, ensure_ascii=False, separators=(",", ":")),
                            content_type="application/json; charset=utf-8")
