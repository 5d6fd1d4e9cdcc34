"""Command-center API: report counts per grid for a period (choropleth), indicators (cards and
tables by department, street and day), the hot-grid ranking, the overdue list and one grid's
summary. Read-only, for the city-wide roles (operators, viewers, admins)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any, TypeVar, cast
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import get_language
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from geogrid.accounts.models import Role
from geogrid.cases.indicators import LABELS, case_indicators
from geogrid.command_center import summaries
from geogrid.command_center.queries import grid_counts_json
from geogrid.core import params as qp
from geogrid.core.api import BadRequest, grid_code_param
from geogrid.core.codes import validate_grid_code
from geogrid.core.permissions import require_role
from geogrid.core.replica import read_from_replica
from geogrid.grids.models import Grid

CITY_WIDE = (Role.OPERATOR, Role.VIEWER)
DEFAULT_DAYS = 30
PERIOD_PARAMETERS = [
    OpenApiParameter(
        "since",
        str,
        description="ISO 8601 with an offset; default: 30 days "
        "before 'until'. The period runs at most GEOGRID_MAX_PERIOD_DAYS (731 by "
        "default) days; a longer one is a 400.",
    ),
    OpenApiParameter("until", str, description="ISO 8601 with an offset; default: now"),
]


Answer = TypeVar("Answer")


def _dashboard_cached(request: Request, compute: Callable[[], Answer]) -> Answer:
    """This request's answer as computed at most GEOGRID_DASHBOARD_CACHE_S ago in this process,
    else computed now. Called after the role check and the parameters' own checks. The key is
    the path, the query as sent and the language (the labels are translated), not the user:
    these answers are the same for every city-wide role. Each answer carries its own period
    (since/until), so a kept one says how old it is."""
    seconds = settings.GEOGRID_DASHBOARD_CACHE_S
    if seconds <= 0:
        return compute()
    query = urlencode(sorted(request.query_params.lists()), doseq=True)
    key = (
        "dashboard:" + hashlib.sha1(f"{request.path}?{query}#{get_language()}".encode()).hexdigest()
    )
    answer: Any = cache.get(key)
    if answer is None:
        answer = compute()
        cache.set(key, answer, seconds)
    return answer


# Aggregates over a period may be a moment old: read from the replica when there is one.
@method_decorator(read_from_replica, name="dispatch")
class GridCountsView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses=OpenApiTypes.OBJECT,
        parameters=[
            OpenApiParameter(
                "level", str, description="unit (default), community, street or district"
            ),
            *PERIOD_PARAMETERS,
            OpenApiParameter("class", str, description="A category's service code."),
            OpenApiParameter("within", str, description="Only grids inside this grid."),
            OpenApiParameter("limit", int, description="At most this many grids (default all)."),
        ],
    )
    def get(self, request: Request) -> HttpResponse:
        """Reports per grid in a period, most first (the command center's choropleth)."""
        require_role(request.user, *CITY_WIDE, action="see the command center's counts")
        since, until = _period(request)
        within = _within(request)
        limit = qp.integer(request.query_params, "limit", maximum=1_000_000)
        level = qp.text(request.query_params, "level", default="unit", max_length=30)
        class_code = _class(request)

        def body() -> str:
            try:
                total, grids = grid_counts_json(
                    start=since,
                    end=until,
                    level=level,
                    class_code=class_code,
                    within=within,
                    limit=limit,
                )
            except ValueError as exc:
                raise BadRequest(str(exc)) from exc
            # Rows as arrays, and written by PostgreSQL (queries.grid_counts_json): a city has
            # 16,000 unit grids, and 16,000 rows through Python objects cost more than the query.
            head = json.dumps(
                {
                    "since": since.isoformat(),
                    "until": until.isoformat(),
                    "total": total,
                    "fields": ["id", "code", "name", "reports", "overdue"],
                },
                ensure_ascii=False,
                separators=(",", ":"),
            )
            return f'{head[:-1]},"grids":{grids}}}'

        return HttpResponse(
            _dashboard_cached(request, body), content_type="application/json; charset=utf-8"
        )


# --- The dashboard's other endpoints -------------------------------------------------------------
FILTER_PARAMETERS = [
    OpenApiParameter("class", str, description="A category's service code."),
    OpenApiParameter("within", str, description="Only grids inside this grid."),
]
ROW_GROUPS = ("department", "street", "day")


def _period(request: Request) -> tuple[datetime, datetime]:
    """The request's since/until, at most GEOGRID_MAX_PERIOD_DAYS long (a 400 beyond)."""
    since, until = qp.period(request.query_params, default_days=DEFAULT_DAYS)
    return cast(datetime, since), cast(datetime, until)  # default_days fills both


def _within(request: Request) -> str | None:
    return grid_code_param(request.query_params, "within")


def _class(request: Request) -> str | None:
    code = qp.text(request.query_params, "class", max_length=20)
    if code and (not code.isalnum() or len(code) > 8):
        raise BadRequest(
            f"'class' must be a category's service code such as 06010, not {code!r}.", field="class"
        )
    return code


def _limit(request: Request, default: int, maximum: int) -> int:
    return qp.integer(request.query_params, "limit", default=default, maximum=maximum)


def _unknown_class(exc: ValueError) -> BadRequest:
    return BadRequest(str(exc), field="class")


# Aggregates over a period may be a moment old: read from the replica when there is one.
@method_decorator(read_from_replica, name="dispatch")
class _CommandCenterView(APIView):
    permission_classes = [IsAuthenticated]

    def initial(self, request: Request, *args: object, **kwargs: object) -> None:
        super().initial(request, *args, **kwargs)
        require_role(request.user, *CITY_WIDE, action="see the command center")


class IndicatorsView(_CommandCenterView):
    @extend_schema(responses=OpenApiTypes.OBJECT, parameters=PERIOD_PARAMETERS)
    def get(self, request: Request) -> Response:
        """The indicator cards of a period, city-wide (cases.indicators.case_indicators): rates
        are fractions 0..1, hours are working hours; `labels` names each in the request's
        language. `generated` counts the period's reports generated for the demo
        (cases/history.py), which the figures include: the page says so when there are any."""
        since, until = _period(request)

        def answer() -> dict:
            indicators = case_indicators(start=since, end=until).as_dict()
            del indicators["self_reported"]
            return {
                "since": since,
                "until": until,
                "indicators": indicators,
                "labels": {key: str(LABELS[key]) for key in indicators},
                "generated": summaries.generated_reports(start=since, end=until),
            }

        return Response(_dashboard_cached(request, answer))


class IndicatorRowsView(_CommandCenterView):
    @extend_schema(
        responses=OpenApiTypes.OBJECT,
        parameters=[
            OpenApiParameter("by", str, required=True, description="department, street or day"),
            *PERIOD_PARAMETERS,
        ],
    )
    def get(self, request: Request) -> Response:
        """Indicators per department or per street (most reports first), or cases reported,
        filed and closed per day of the city's time zone (per month beyond 400 days)."""
        by = qp.text(request.query_params, "by", default="", max_length=20)
        if by not in ROW_GROUPS:
            raise BadRequest(
                f"'by' must be one of {', '.join(ROW_GROUPS)}, not {by!r}.", field="by"
            )
        since, until = _period(request)

        def answer() -> dict:
            if by == "day":
                return {
                    "since": since,
                    "until": until,
                    "by": by,
                    **summaries.activity_by_day(start=since, end=until),
                }
            return {
                "since": since,
                "until": until,
                "by": by,
                "rows": summaries.indicator_table(start=since, end=until, by=by),
            }

        return Response(_dashboard_cached(request, answer))


class HotGridsView(_CommandCenterView):
    @extend_schema(
        responses=OpenApiTypes.OBJECT,
        parameters=[
            *PERIOD_PARAMETERS,
            *FILTER_PARAMETERS,
            OpenApiParameter("limit", int, description="1–100, default 10"),
        ],
    )
    def get(self, request: Request) -> Response:
        """The unit grids with the most reports in the period, with their names, overdue
        reports and the count of the period of the same length before (the trend)."""
        since, until = _period(request)
        within, class_code, limit = _within(request), _class(request), _limit(request, 10, 100)

        def answer() -> dict:
            try:
                grids = summaries.hot_grids(
                    start=since, end=until, class_code=class_code, within=within, limit=limit
                )
            except ValueError as exc:
                raise _unknown_class(exc) from exc
            return {
                "since": since,
                "until": until,
                "previous_since": since - (until - since),
                "grids": [asdict(grid) for grid in grids],
            }

        return Response(_dashboard_cached(request, answer))


class OverdueView(_CommandCenterView):
    @extend_schema(
        responses=OpenApiTypes.OBJECT,
        parameters=[
            *FILTER_PARAMETERS,
            OpenApiParameter("limit", int, description="1–500, default 50"),
        ],
    )
    def get(self, request: Request) -> Response:
        """Open cases past their deadline now, most overdue first, with the total count."""
        within, class_code, limit = _within(request), _class(request), _limit(request, 50, 500)
        now = timezone.now()
        try:
            total, cases = summaries.overdue_cases(
                now=now, class_code=class_code, within=within, limit=limit
            )
        except ValueError as exc:
            raise _unknown_class(exc) from exc
        return Response({"now": now, "count": total, "cases": [asdict(c) for c in cases]})


class GridSummaryView(_CommandCenterView):
    @extend_schema(responses=OpenApiTypes.OBJECT, parameters=PERIOD_PARAMETERS)
    def get(self, request: Request, code: str) -> Response:
        """One grid at a glance: officer, inspectors, components by class, open cases and the
        indicators of the period for the grid and its subtree."""
        try:
            validate_grid_code(code)
        except ValueError as exc:
            raise BadRequest(str(exc), field="code") from exc
        since, until = _period(request)
        try:
            summary = summaries.grid_summary(code=code, start=since, end=until)
        except Grid.DoesNotExist as exc:
            raise Http404(f"There is no active grid {code}.") from exc
        return Response({"since": since, "until": until, **summary.as_dict()})
