"""Case REST API: report a problem, list and read cases (GeoJSON), move a case through the
workflow, escalate it, and the category list. Parse → authorise → call a service → render."""

from __future__ import annotations

import math
import uuid
from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from geogrid.accounts.actors import actor_of
from geogrid.accounts.models import Role
from geogrid.cases import workflow
from geogrid.cases.errors import ReportError, TransitionError, TransitionForbidden
from geogrid.cases.intake import submit_report
from geogrid.cases.models import Case, CaseClass, CaseStatus, Channel, LimitUnit
from geogrid.cases.privacy import visible_duplicates
from geogrid.cases.serializers import (
    CaseClassSerializer,
    CaseEventSerializer,
    CaseFeatureSerializer,
    CasePhotoSerializer,
)
from geogrid.cases.transitions import escalate_case, may_act_on, transition_case
from geogrid.components.models import Department
from geogrid.components.schemes import active_scheme
from geogrid.core import params as qp
from geogrid.core.api import (
    BadRequest,
    Conflict,
    body_string,
    body_text,
    grid_code_param,
)
from geogrid.core.pagination import FeaturePagination, list_schema
from geogrid.core.permissions import require_role, user_role
from geogrid.core.photos import PhotoError, check_photo, photo_uploads
from geogrid.patrols.models import PathCheck

REPORTER_ROLES = (Role.INSPECTOR, Role.OPERATOR, Role.PLANNER, Role.DEPARTMENT, Role.ADMIN)
# The channel of a report is how it arrived, set by the server, never chosen freely: the public
# channels (open311, citizen) make a case public (cases/privacy.py), so the internal API never
# files one. Inspectors report as inspectors; operators and admins enter calls they took and
# may say whether it was the hotline (default) or a video-monitoring alert; planners and
# department staff reporting through the API file as `api`. The first is the default.
INTAKE_CHANNELS: dict[str, tuple[Channel, ...]] = {
    Role.INSPECTOR: (Channel.INSPECTOR,),
    Role.OPERATOR: (Channel.HOTLINE, Channel.VIDEO),
    Role.ADMIN: (Channel.HOTLINE, Channel.VIDEO, Channel.API),
    Role.PLANNER: (Channel.API,),
    Role.DEPARTMENT: (Channel.API,),
}


def _photos_from(request: Request) -> list:
    try:
        # Counted before any is decoded: decoding is the expensive part.
        return [check_photo(upload) for upload in photo_uploads(request.FILES, "photo", "photos")]
    except PhotoError as exc:
        raise BadRequest(str(exc), field="photo") from exc


def _number(request: Request, name: str) -> float:
    raw = request.data.get(name)
    if raw in (None, ""):
        raise BadRequest(
            f"'{name}' is required (the point of the problem; lon/lat in WGS84 "
            "unless 'crs' says otherwise).",
            field=name,
        )
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise BadRequest(f"'{name}' must be a number, not {raw!r}.", field=name) from None
    if not math.isfinite(value):
        raise BadRequest(f"'{name}' must be a finite number, not {raw!r}.", field=name)
    return value


# Body fields of a report checked against Case's own columns (length, e-mail, choices).
REPORT_TEXT = ("description", "address", "reporter_name", "reporter_phone", "reporter_email")


def _text(request: Request, name: str, *, max_length: int = 4000) -> str:
    return body_string(request.data, name, max_length=max_length)


def _base(request: Request) -> QuerySet[Case]:
    return Case.objects.visible_to(request.user).select_related(
        "case_class", "department", "component"
    )


def _case_for(request: Request, pk: int) -> Case:
    case = _base(request).filter(pk=pk).first()
    if case is None:
        raise Http404(f"Case {pk} does not exist, or it is outside the cases you may see.")
    return case


def _detail(request: Request, case: Case) -> dict:
    data = CaseFeatureSerializer(case, context={"request": request}).data
    props = data["properties"]
    props["events"] = CaseEventSerializer(
        case.events.select_related("actor").order_by("id"), many=True, context={"request": request}
    ).data
    props["photos"] = CasePhotoSerializer(
        case.photos.select_related("uploaded_by"), many=True, context={"request": request}
    ).data
    role = user_role(request.user)
    # The moves the server would accept: the role's, and only on a case in the user's scope
    # (transition_case checks both; a page must not offer what it would refuse).
    in_scope = may_act_on(request.user, case)
    props["moves"] = [
        {
            "to": to,
            "action": move.action,
            "label": str(move.label),
            "needs_reason": move.needs_reason,
        }
        for to, move in workflow.moves_from(case.status).items()
        if in_scope and role in move.roles
    ]
    props["closing_condition"] = case.case_class.closing_condition
    props["filing_condition"] = case.case_class.filing_condition
    return data


class CaseClassListView(generics.ListAPIView):
    """The active scheme's case categories (for report forms)."""

    serializer_class = CaseClassSerializer
    pagination_class = None

    def get_queryset(self):
        queryset = (
            CaseClass.objects.filter(scheme=active_scheme(), active=True)
            .select_related("department")
            .order_by("service_code")
        )
        kind = qp.text(self.request.query_params, "kind", max_length=20)
        if kind:
            queryset = queryset.filter(kind=kind)
        return queryset


LIST_PARAMETERS = [
    OpenApiParameter(
        "status",
        str,
        description="Comma-separated statuses (reported, accepted, "
        "filed, dispatched, …); 'open' for every open one.",
    ),
    OpenApiParameter("department", str, description="Department code."),
    OpenApiParameter("grid", str, description="Grid code: the grid and everything below it."),
    OpenApiParameter("service_code", str, description="Category (comma-separated)."),
    OpenApiParameter("overdue", bool),
    OpenApiParameter("mine", bool, description="Reported by me."),
    OpenApiParameter("since", str, description="Reported at or after (ISO 8601)."),
    OpenApiParameter("until", str, description="Reported before (ISO 8601)."),
    OpenApiParameter(
        "path_check",
        str,
        description="Comma-separated path-check results (on_track, off_track, no_track); "
        "'flagged' for off_track and no_track, the reports the desk should look at.",
    ),
]
# The path-check filter's words: the results, and `flagged` for the two the desk judges.
PATH_CHECK_FILTERS = {
    **{value: (value,) for value in PathCheck.values if value},
    "flagged": (PathCheck.OFF_TRACK.value, PathCheck.NO_TRACK.value),
}


@list_schema(LIST_PARAMETERS)
class CaseListView(generics.ListCreateAPIView):
    """GET: the cases you may see, newest first, as GeoJSON. POST: report a problem."""

    serializer_class = CaseFeatureSerializer
    pagination_class = FeaturePagination
    permission_classes = [IsAuthenticated]

    def get_queryset(self) -> QuerySet[Case]:
        params = self.request.query_params
        queryset = _base(self.request)
        statuses = qp.texts(params, "status")
        if statuses == ["open"]:
            queryset = queryset.open()
        elif statuses:
            unknown = [s for s in statuses if s not in CaseStatus.values]
            if unknown:
                raise BadRequest(
                    f"Unknown status {unknown[0]!r}; use 'open' or some of: "
                    f"{', '.join(CaseStatus.values)}.",
                    field="status",
                )
            queryset = queryset.filter(status__in=statuses)
        department = qp.text(params, "department", max_length=50)
        if department:
            queryset = queryset.filter(department__code=department)
        grid = grid_code_param(params, "grid")
        if grid:
            queryset = queryset.in_grid_subtree(grid)
        codes = qp.texts(params, "service_code")
        if codes:
            queryset = queryset.filter(case_class__service_code__in=codes)
        if qp.boolean(params, "overdue"):
            queryset = queryset.filter(overdue=True)
        if qp.boolean(params, "mine"):
            queryset = queryset.filter(reporter=self.request.user)
        since, until = qp.moment(params, "since"), qp.moment(params, "until")
        if since:
            queryset = queryset.filter(reported_at__gte=since)
        if until:
            queryset = queryset.filter(reported_at__lt=until)
        checks = qp.texts(params, "path_check", max_length=100)
        if checks:
            unknown = [c for c in checks if c not in PATH_CHECK_FILTERS]
            if unknown:
                raise BadRequest(
                    f"Unknown path check {unknown[0]!r}; use some of: "
                    f"{', '.join(PATH_CHECK_FILTERS)}.",
                    field="path_check",
                )
            queryset = queryset.filter(
                path_check__in={value for c in checks for value in PATH_CHECK_FILTERS[c]}
            )
        return queryset.order_by("-reported_at", "-id")

    @extend_schema(
        request={"multipart/form-data": {"type": "object"}}, responses=CaseFeatureSerializer
    )
    def post(self, request: Request, *args, **kwargs) -> Response:
        """Report a problem: service_code, lon, lat [, crs, description, address,
        component_code, channel, reporter_name/phone/email]; photos as files `photo`."""
        require_role(request.user, *REPORTER_ROLES, action="report problems")
        allowed = INTAKE_CHANNELS[user_role(request.user) or ""]
        channel = _text(request, "channel", max_length=30) or allowed[0]
        if channel not in allowed:
            raise BadRequest(
                f"A report you send here is filed with the channel "
                f"{' or '.join(allowed)}, not {channel!r}: the channel says how a "
                "report arrived (citizens report through Open311).",
                field="channel",
            )
        lon, lat = _number(request, "lon"), _number(request, "lat")
        checked = body_text(request.data, Case, REPORT_TEXT)
        photos = _photos_from(request)
        try:
            result = submit_report(
                actor=actor_of(request),
                channel=channel,
                service_code=_text(request, "service_code", max_length=30),
                x=lon,
                y=lat,
                crs=_text(request, "crs", max_length=30) or None,
                description=checked.get("description", ""),
                address=checked.get("address", ""),
                component_code=_text(request, "component_code", max_length=30),
                photos=photos,
                reporter_name=checked.get("reporter_name", ""),
                reporter_phone=checked.get("reporter_phone", ""),
                reporter_email=checked.get("reporter_email", ""),
                client_id=_client_id(request),
                observed_at=_observed_at(request),
            )
        except ReportError as exc:
            raise BadRequest(str(exc), field=exc.field) from exc
        data = _detail(request, _base(request).get(pk=result.case.pk))
        data["properties"]["duplicates"] = visible_duplicates(
            [vars(d) for d in result.duplicates], request.user
        )
        # A resent report (same client_id) is answered with the first one's case.
        data["properties"]["repeated"] = result.repeated
        answer = status.HTTP_200_OK if result.repeated else status.HTTP_201_CREATED
        return Response(data, status=answer)


def _client_id(request: Request) -> uuid.UUID | None:
    raw = _text(request, "client_id", max_length=40)
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise BadRequest(
            f"client_id must be a UUID generated by the phone, not {raw!r}.", field="client_id"
        ) from None


def _observed_at(request: Request) -> datetime | None:
    raw = _text(request, "observed_at", max_length=64)
    return qp.parse_moment(raw, "observed_at")[0] if raw else None


class CaseDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=CaseFeatureSerializer)
    def get(self, request: Request, pk: int) -> Response:
        """One case with its events, photos and the moves you may make."""
        return Response(_detail(request, _case_for(request, pk)))


def _extend_by(request: Request) -> tuple[float, str] | None:
    raw = request.data.get("extend_by")
    if raw in (None, "", {}):
        amount, unit = request.data.get("extend_amount"), request.data.get("extend_unit")
        if amount in (None, ""):
            return None
    else:
        if not isinstance(raw, dict):
            raise BadRequest('extend_by must be {"amount": 2, "unit": "days"}.', field="extend_by")
        amount, unit = raw.get("amount"), raw.get("unit")
    try:
        value = float(amount)
    except (TypeError, ValueError):
        raise BadRequest(
            f"The extension must be a number of hours or days, not {amount!r}.", field="extend_by"
        ) from None
    if not math.isfinite(value) or value <= 0 or value > 365:
        raise BadRequest("The extension must be more than 0 and at most 365.", field="extend_by")
    if unit not in LimitUnit.values:
        raise BadRequest("The extension's unit must be 'hours' or 'days'.", field="extend_by")
    return value, unit


class CaseTransitionView(APIView):
    """Move a case: {to, reason, department (code, when dispatching), extend_by {amount,
    unit}, version}; photos as files `photo` (feedback and checks)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=dict, responses=CaseFeatureSerializer)
    def post(self, request: Request, pk: int) -> Response:
        case = _case_for(request, pk)
        to = _text(request, "to", max_length=30)
        if to not in CaseStatus.values:
            raise BadRequest(f"'to' must be one of: {', '.join(CaseStatus.values)}.", field="to")
        department = None
        department_code = _text(request, "department", max_length=50)
        if department_code:
            department = Department.objects.filter(code=department_code).first()
            if department is None:
                raise BadRequest(f"There is no department {department_code!r}.", field="department")
        version = request.data.get("version")
        if version not in (None, ""):
            try:
                version = int(version)
            except (TypeError, ValueError):
                raise BadRequest("'version' must be a whole number.", field="version") from None
        else:
            version = None
        photos = _photos_from(request)
        try:
            transition_case(
                case=case,
                to=to,
                actor=actor_of(request),
                reason=_text(request, "reason"),
                department=department,
                extend_by=_extend_by(request),
                photos=photos,
                expected_version=version,
            )
        except TransitionForbidden as exc:
            raise PermissionDenied(str(exc)) from exc
        except TransitionError as exc:
            if "changed since you opened it" in str(exc):
                raise Conflict(str(exc)) from exc
            raise BadRequest(str(exc), field="to") from exc
        return Response(_detail(request, _case_for(request, pk)))


class CaseEscalateView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=dict, responses=CaseFeatureSerializer)
    def post(self, request: Request, pk: int) -> Response:
        """Raise the level a case is handled at (unit grid → community → street → district)."""
        case = _case_for(request, pk)
        try:
            escalate_case(case=case, actor=actor_of(request), reason=_text(request, "reason"))
        except TransitionForbidden as exc:
            raise PermissionDenied(str(exc)) from exc
        except TransitionError as exc:
            raise BadRequest(str(exc), field="reason") from exc
        return Response(_detail(request, _case_for(request, pk)))
