"""Command-center patrol API (巡查监管) under /api/v1/command-center/patrols/: the patrol
indicators per inspector or per unit grid for a period, and one inspector's day for the
replay. Read-only, for the city-wide roles (operators, viewers, admins), like the rest of the
command center; inspectors are named by their display name, never their username."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.http import Http404
from django.utils import timezone
from django.utils.decorators import method_decorator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from geogrid.accounts.models import Role, User
from geogrid.command_center import patrols
from geogrid.command_center.api import _CommandCenterView, _dashboard_cached
from geogrid.core import params as qp
from geogrid.core.api import BadRequest
from geogrid.core.replica import read_from_replica

# Coverage buffers every track of the period: a month is what the page asks for at most.
MAX_DAYS = 31
BY = ("inspector", "grid")
PERIOD = [
    OpenApiParameter("day", OpenApiTypes.DATE, description="A local day (default: today)."),
    OpenApiParameter("since", OpenApiTypes.DATETIME, description="Instead of day: ISO 8601."),
    OpenApiParameter("until", OpenApiTypes.DATETIME, description="Default: now."),
]


def _midnight(day: Any) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def _period(request: Request) -> tuple[datetime, datetime]:
    """`day` (a local date), or `since` [and `until`]; by default today. At most MAX_DAYS."""
    params = request.query_params
    day = qp.day(params, "day")
    if day is not None:
        if "since" in params or "until" in params:
            raise BadRequest("Give either 'day' or 'since'/'until', not both.", field="day")
        return _midnight(day), _midnight(day + timedelta(days=1))
    given_since, given_until = qp.period(params)
    if given_since is None:
        today = _midnight(timezone.localdate())
        return today, today + timedelta(days=1)
    since, until = given_since, given_until or timezone.now()
    if until <= since:
        raise BadRequest("'until' must be after 'since'.", field="until")
    if until - since > timedelta(days=MAX_DAYS):
        raise BadRequest(
            f"Patrol indicators are read for at most {MAX_DAYS} days at a time.", field="until"
        )
    return since, until


@method_decorator(read_from_replica, name="dispatch")
class PatrolIndicatorsView(_CommandCenterView):
    @extend_schema(
        responses=OpenApiTypes.OBJECT,
        parameters=[
            OpenApiParameter("by", str, required=True, description="inspector or grid"),
            *PERIOD,
            OpenApiParameter("limit", int, description="Grids: 1–1000, default 200."),
        ],
    )
    def get(self, request: Request) -> Response:
        """Patrol figures of the period per inspector (every inspector, idle ones too) or per
        unit grid walked or reported in: distance, seconds on patrol, coverage, reports,
        reports per hour on patrol and reports flagged by the path check."""
        by = qp.text(request.query_params, "by", default="", max_length=20)
        if by not in BY:
            raise BadRequest(f"'by' must be one of {', '.join(BY)}, not {by!r}.", field="by")
        since, until = _period(request)
        limit = qp.integer(request.query_params, "limit", default=200, maximum=1000)

        def answer() -> dict[str, Any]:
            rows: list[Any] = (
                patrols.inspector_patrols(since=since, until=until)
                if by == "inspector"
                else patrols.grid_patrols(since=since, until=until)
            )
            return {
                "since": since,
                "until": until,
                "by": by,
                "count": len(rows),
                "rows": [row.as_dict() for row in rows[:limit]],
            }

        return Response(_dashboard_cached(request, answer))


class PatrolReplayView(_CommandCenterView):
    @extend_schema(
        responses=OpenApiTypes.OBJECT,
        parameters=[
            OpenApiParameter("inspector", int, required=True, description="The inspector's id."),
            OpenApiParameter("day", OpenApiTypes.DATE, description="A local day (default today)."),
        ],
    )
    def get(self, request: Request) -> Response:
        """One inspector's day: each patrol with its accepted points ([epoch seconds, lon,
        lat], in time order) and the reports they wrote that day with their path checks."""
        params = request.query_params
        inspector_id = qp.integer(params, "inspector")
        if inspector_id is None:
            raise BadRequest(
                "Say whose day to replay: 'inspector' is the inspector's id.", field="inspector"
            )
        day = qp.day(params, "day") or timezone.localdate()
        inspector = User.objects.filter(pk=inspector_id, role=Role.INSPECTOR).first()
        if inspector is None:
            raise Http404(f"There is no inspector {inspector_id}.")
        since, until = _midnight(day), _midnight(day + timedelta(days=1))
        walks = patrols.replay_patrols(inspector_id=inspector.pk, since=since, until=until)
        reports = patrols.replay_reports(inspector_id=inspector.pk, since=since, until=until)
        return Response(
            {
                "inspector": {"id": inspector.pk, "name": patrols.display_name(inspector)},
                "day": day.isoformat(),
                "since": since,
                "until": until,
                "patrols": [
                    {
                        "id": w.patrol_id,
                        "status": w.status,
                        "started_at": w.started_at,
                        "ended_at": w.ended_at,
                        "distance_m": round(w.distance_m, 1),
                        "rejected": w.rejected,
                        "points": w.points,
                    }
                    for w in walks
                ],
                "reports": [{**vars(r), "at": r.at.isoformat()} for r in reports],
            }
        )
