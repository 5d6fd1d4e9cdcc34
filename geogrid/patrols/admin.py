"""Admin: visit schedules are edited here (through the service, so each change is audited);
patrols and their events are read-only (they come from phones and track files)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from geogrid.accounts.actors import actor_of
from geogrid.core.admin import AppendOnlyAdmin, _ModelAdmin
from geogrid.patrols.models import Patrol, PatrolEvent, VisitSchedule
from geogrid.patrols.services import set_visit_schedule


@admin.register(VisitSchedule)
class VisitScheduleAdmin(_ModelAdmin):
    list_display = ("grid", "every_days", "working_days_only", "required", "updated_at")
    list_select_related = ("grid",)
    autocomplete_fields = ("grid",)
    search_fields = ("grid__code", "grid__name")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # A schedule belongs to its grid: moving it to another grid is a new schedule.
        return ("grid",) if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        saved = set_visit_schedule(
            actor=actor_of(request),
            grid=obj.grid,
            every_days=obj.every_days,
            working_days_only=obj.working_days_only,
            required=obj.required,
        )
        obj.pk = saved.pk


@admin.register(Patrol)
class PatrolAdmin(AppendOnlyAdmin):
    list_display = (
        "id",
        "inspector",
        "source",
        "status",
        "started_at",
        "ended_at",
        "points_accepted",
        "points_jump",
        "points_inaccurate",
        "distance_m",
    )
    list_filter = ("status", "source")
    date_hierarchy = "started_at"
    list_select_related = ("inspector",)
    exclude = ("geom",)


@admin.register(PatrolEvent)
class PatrolEventAdmin(AppendOnlyAdmin):
    list_display = ("created_at", "action", "patrol", "actor")
    list_filter = ("action",)
    list_select_related = ("actor",)
