"""Case pages: the operator's desk (受理/立案/派遣/结案), the department inbox (处置/反馈/延期/回退),
the inspector's check list (核查), and the report form (上报). One workbench page serves the
first three with different queues; everything it shows and does goes through the case API,
which decides who may see and move what."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from geogrid.accounts.models import Role
from geogrid.cases.api import REPORTER_ROLES
from geogrid.components.models import Department
from geogrid.core.permissions import role_required

ID = "999999999"  # placeholder in URL templates; the script puts the case number there


def _urls() -> dict[str, str]:
    return {
        "cases": reverse("cases-api:case-list"),
        "case": reverse("cases-api:case-detail", args=[int(ID)]),
        "transition": reverse("cases-api:case-transition", args=[int(ID)]),
        "escalate": reverse("cases-api:case-escalate", args=[int(ID)]),
        "classes": reverse("cases-api:case-class-list"),
    }


def _queue(key: str, label: str, **params: str) -> dict:
    """One tab of the workbench: its key, its label, and the case-list filters it applies."""
    return {"key": key, "label": label, "params": params}


def _workbench(request: HttpRequest, *, mode: str, title: str, queues: list[dict]) -> HttpResponse:
    departments = [
        {"code": code, "name": name}
        for code, name in Department.objects.order_by("code").values_list("code", "name")
    ]
    config = {
        "mode": mode,
        "urls": _urls(),
        "placeholder": ID,
        "queues": queues,
        "departments": departments,
        "maxPhotoMB": settings.GEOGRID_MAX_PHOTO_MB,
        "timeZone": settings.TIME_ZONE,
    }
    return render(request, "cases/workbench.html", {"config": config, "title": title, "mode": mode})


@login_required
@role_required(Role.OPERATOR, Role.VIEWER, action="open the case desk")
def desk(request: HttpRequest) -> HttpResponse:
    return _workbench(
        request,
        mode="desk",
        title=_("案件受理与派遣"),
        queues=[
            _queue("reported", _("待受理"), status="reported"),
            _queue("accepted", _("待立案"), status="accepted"),
            _queue("filed", _("待派遣"), status="filed,returned"),
            _queue("extension", _("延期审批"), status="extension_requested"),
            _queue("checked", _("待结案"), status="checked"),
            _queue("overdue", _("已超期"), status="open", overdue="1"),
            # Inspectors' reports far from their track, or made with none (docs/domain.md §8.4).
            _queue("flagged", _("轨迹异常"), status="open", path_check="flagged"),
            _queue("all", _("全部")),
        ],
    )


@login_required
@role_required(Role.DEPARTMENT, action="open a department inbox")
def inbox(request: HttpRequest) -> HttpResponse:
    return _workbench(
        request,
        mode="inbox",
        title=_("部门待办"),
        queues=[
            _queue("todo", _("待处置"), status="dispatched,rework"),
            _queue("extension", _("延期申请中"), status="extension_requested"),
            _queue("handled", _("已反馈"), status="handled,checked"),
            _queue("overdue", _("已超期"), status="open", overdue="1"),
        ],
    )


@login_required
@role_required(Role.INSPECTOR, action="check handled cases")
def checks(request: HttpRequest) -> HttpResponse:
    return _workbench(
        request,
        mode="checks",
        title=_("核查任务"),
        queues=[
            _queue("handled", _("待核查"), status="handled"),
            _queue("mine", _("我的上报"), mine="1"),
        ],
    )


@login_required
@role_required(*REPORTER_ROLES, action="report problems")
def report(request: HttpRequest) -> HttpResponse:
    grids = [code for code in request.user.grid_scopes.values_list("grid__code", flat=True)]
    config = {
        "urls": {
            **_urls(),
            "grids": reverse("grids-api:grid-list"),
            "grid": reverse("grids-api:grid-detail", args=["__code__"]),
        },
        "placeholder": ID,
        "myGrids": grids[:60],
        "maxPhotoMB": settings.GEOGRID_MAX_PHOTO_MB,
    }
    return render(request, "cases/report.html", {"config": config})
