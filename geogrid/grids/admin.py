"""Django admin for grids, with a Leaflet map widget. Edits go through the services, so the
admin gets the same topology checks, history and audit events as every other path."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from leaflet.admin import LeafletGeoAdmin

from geogrid.core.admin import AppendOnlyAdmin, OpenedVersionForm
from geogrid.grids import validation
from geogrid.grids.models import Grid, GridBoundary, GridEvent, GridLevel, GridScope
from geogrid.grids.services import editing


@admin.register(GridLevel)
class GridLevelAdmin(admin.ModelAdmin):
    list_display = ("depth", "slug", "name", "name_en", "code_length", "min_area_m2", "max_area_m2")


class GridBoundaryInline(admin.TabularInline):
    model = GridBoundary
    fields = ("version", "area_m2", "valid_from", "valid_to", "changed_by", "reason")
    readonly_fields = fields
    extra = 0
    can_delete = False


# What a planner fills in: the form checks these, and the admin page shows them first.
EDITABLE_FIELDS = (
    "code",
    "name",
    "level",
    "parent",
    "grid_type",
    "source",
    "households",
    "population",
    "officer_name",
    "officer_phone",
    "responsible_department",
    "geom",
)


class GridAdminForm(OpenedVersionForm):
    """Runs the service checks in clean(), so a refused boundary is shown on the form with the
    planner's drawing kept; saving then goes through the services."""

    class Meta:
        model = Grid
        fields = list(EDITABLE_FIELDS)

    def clean(self):
        data = super().clean()
        geom = data.get("geom")
        if geom is None or self.errors:
            return data
        try:
            if self.instance.pk:
                if "geom" in self.changed_data:
                    validation.validate_reshape(grid=self.instance, geom=geom)
            else:
                validation.validate_new_grids(
                    level=data["level"],
                    parent=data.get("parent"),
                    candidates=[validation.Candidate(geom=geom, code=data.get("code") or "")],
                )
        except ValueError as exc:
            raise ValidationError({"geom": str(exc)}) from exc
        return data


@admin.register(Grid)
class GridAdmin(LeafletGeoAdmin):
    form = GridAdminForm
    list_display = (
        "code",
        "name",
        "level",
        "grid_type",
        "area_m2",
        "source",
        "valid_to",
        "version",
    )
    list_filter = ("level", "grid_type", "source", ("valid_to", admin.EmptyFieldListFilter))
    search_fields = ("code", "name", "officer_name")
    readonly_fields = (
        "area_m2",
        "version",
        "valid_from",
        "valid_to",
        "created_at",
        "updated_at",
        "district_code",
    )
    raw_id_fields = ("parent",)
    inlines = [GridBoundaryInline]
    fields = (
        *EDITABLE_FIELDS,
        "area_m2",
        "district_code",
        "version",
        "valid_from",
        "valid_to",
        "opened_version",
    )

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:  # code, level and parent are identity: fixed once created
            return (*self.readonly_fields, "code", "level", "parent", "source")
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        attrs = {
            name: form.cleaned_data.get(name)
            for name in (
                "grid_type",
                "households",
                "population",
                "officer_name",
                "officer_phone",
                "responsible_department",
            )
        }
        if not change:
            created = editing.create_grid(
                actor=request.user,
                level=obj.level,
                parent=obj.parent,
                geom=obj.geom,
                code=obj.code or "",
                name=obj.name,
                source=obj.source,
                **attrs,
            )
            obj.pk = created.pk
            return
        if "geom" in form.changed_data:
            editing.reshape_grid(
                grid=obj,
                geom=obj.geom,
                expected_version=form.opened,
                actor=request.user,
                reason="edited in the admin",
            )
        editing.update_grid_attributes(grid=obj, actor=request.user, name=obj.name, **attrs)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # grids are retired, never deleted: their codes must stay taken


@admin.register(GridEvent)
class GridEventAdmin(AppendOnlyAdmin):
    list_display = ("created_at", "action", "grid", "actor")
    list_filter = ("action",)
    readonly_fields = ("created_at", "action", "grid", "actor", "details")


@admin.register(GridScope)
class GridScopeAdmin(admin.ModelAdmin):
    list_display = ("user", "grid", "created_at")
    raw_id_fields = ("grid",)


admin.site.site_header = _("GeoGrid 管理后台")
admin.site.site_title = _("GeoGrid 管理后台")
