"""Admin: reference layers and their events, read-only. Layers change only through
`manage.py import_layer` (and the services), which check every feature and record an event; the
features themselves are not listed (a city has 100,000s) — they are seen on the maps."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from geogrid.core.admin import AppendOnlyAdmin
from geogrid.reference.models import ReferenceEvent, ReferenceLayer


class ReferenceEventInline(admin.TabularInline):
    model = ReferenceEvent
    fields = ("created_at", "action", "actor", "details")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("-created_at", "-id")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ReferenceLayer)
class ReferenceLayerAdmin(AppendOnlyAdmin):
    list_display = (
        "name",
        "kind",
        "feature_count",
        "source",
        "source_date",
        "generated",
        "imported_at",
    )
    list_filter = ("kind", "generated")
    search_fields = ("name", "source")
    inlines = [ReferenceEventInline]


@admin.register(ReferenceEvent)
class ReferenceEventAdmin(AppendOnlyAdmin):
    list_display = ("created_at", "action", "layer", "actor")
    list_filter = ("action",)
    list_select_related = ("layer", "actor")
