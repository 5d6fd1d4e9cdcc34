"""Django admin for grids, with a Leaflet map widget. Edits go through the services, so the
admin gets the same topology checks, history and audit events as every other path."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from leaflet.admin import LeafletGeoAdmin

from geogrid.grids import services
from geogrid.grids.models import Grid, GridBoundary, GridEvent, GridLevel, GridScope


@admin.register(GridLevel)
class GridLevelAdmin(admin.ModelAdmin):
    list_display = ("depth", "slug", "name", "name_en", "code_length", "min_area_m2",
                    "max_area_m2")


class GridBoundaryInline(admin.TabularInline):
    model = GridBoundary
    fields = ("version", "area_m2", "valid_from", "valid_to", "changed_by", "reason")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Grid)
class GridAdmin(LeafletGeoAdmin):
    list_display = ("code", "name", "level", "grid_type", "area_m2", "source", "valid_to",
                    "version")
    list_filter = ("level", "grid_type", "source", ("valid_to", admin.EmptyFieldListFilter))
    search_fields = ("code", "name", "officer_name")
    readonly_fields = ("area_m2", "version", "valid_from", "valid_to", "created_at", "updated_at",
                       "district_code")
    raw_id_fields = ("parent",)
    inlines = [GridBoundaryInline]
    fields = ("code", "name", "level", "parent", "grid_type", "source", "households",
              "population", "officer_name", "officer_phone", "responsible_department", "geom",
              "area_m2", "district_code", "version", "valid_from", "valid_to")

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:  # code, level and parent are identity: fixed once created
            return (*self.readonly_fields, "code", "level", "parent", "source")
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        attrs = {name: form.cleaned_data.get(name) for name in (
            "grid_type", "households", "population", "officer_name", "officer_phone",
            "responsible_department")}
        try:
            if not change:
                created = services.create_grid(
                    actor=request.user, level=obj.level, parent=obj.parent, geom=obj.geom,
                    code=obj.code or "", name=obj.name, source=obj.source, **attrs)
                obj.pk = created.pk
                return
            if "geom" in form.changed_data:
                services.reshape_grid(grid=obj, geom=obj.geom, expected_version=obj.version,
                                      actor=request.user, reason="edited in the admin")
            Grid.objects.filter(pk=obj.pk).update(name=obj.name, **attrs)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), level=messages.ERROR)
            from django.http import HttpResponseRedirect

            return HttpResponseRedirect(request.get_full_path())

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # grids are retired, never deleted: their codes must stay taken


@admin.register(GridEvent)
class GridEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "action", "grid", "actor")
    list_filter = ("action",)
    readonly_fields = ("created_at", "action", "grid", "actor", "details")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(GridScope)
class GridScopeAdmin(admin.ModelAdmin):
    list_display = ("user", "grid", "created_at")
    raw_id_fields = ("grid",)
