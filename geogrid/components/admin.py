"""Admin for the taxonomy (corrections, local extension classes), departments and components.

Components are created and changed through the services (codes, grids and events stay right);
the admin shows them read-only apart from descriptive fields."""

from __future__ import annotations

from django.contrib import admin
from leaflet.admin import LeafletGeoAdmin

from geogrid.components import services
from geogrid.components.models import (
    Component,
    ComponentClass,
    ComponentEvent,
    ComponentImport,
    ComponentPhoto,
    Department,
    DepartmentMember,
)
from geogrid.core.admin import AppendOnlyAdmin, OpenedVersionForm


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "key", "contact")
    search_fields = ("code", "name", "name_en", "key")


@admin.register(DepartmentMember)
class DepartmentMemberAdmin(admin.ModelAdmin):
    list_display = ("user", "department")
    autocomplete_fields = ("department",)


@admin.register(ComponentClass)
class ComponentClassAdmin(admin.ModelAdmin):
    list_display = (
        "scheme",
        "code",
        "major_name",
        "name",
        "name_en",
        "geometry",
        "default_department",
        "is_local",
        "active",
    )
    list_filter = ("scheme", "major_name", "geometry", "is_local", "active")
    search_fields = ("code", "name", "name_en")
    autocomplete_fields = ("default_department",)


class ComponentPhotoInline(admin.TabularInline):
    """Photos are added through the API (checked, with a preview); here they can be read,
    captioned or removed."""

    model = ComponentPhoto
    fields = ("image", "caption", "uploaded_by", "created_at")
    readonly_fields = ("image", "uploaded_by", "created_at")
    extra = 0

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Component)
class ComponentAdmin(LeafletGeoAdmin):
    form = OpenedVersionForm
    list_display = ("code", "name", "component_class", "status", "currency", "grid")
    list_filter = ("status", "currency", "component_class__major_name")
    search_fields = ("code", "name")
    fields = (
        "code",
        "component_class",
        "name",
        "status",
        "currency",
        "grid",
        "competent_department",
        "owner_department",
        "maintainer_department",
        "location_description",
        "data_source",
        "initial_date",
        "change_date",
        "material",
        "notes",
        "geom",
        "version",
        "import_batch",
        "opened_version",
    )
    readonly_fields = (
        "code",
        "component_class",
        "status",
        "currency",
        "grid",
        "geom",
        "initial_date",
        "change_date",
        "version",
        "import_batch",
    )
    inlines = [ComponentPhotoInline]
    autocomplete_fields = ("competent_department", "owner_department", "maintainer_department")
    list_select_related = ("component_class", "grid")

    def has_add_permission(self, request) -> bool:
        return False  # through the API or import_components, which allocate codes and grids

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # components are voided, never deleted: their codes stay taken

    def save_model(self, request, obj, form, change):
        changes = {
            name: form.cleaned_data[name] for name in form.changed_data if name in services.EDITABLE
        }
        services.update_component(
            component=obj, actor=request.user, expected_version=form.opened, **changes
        )


@admin.register(ComponentEvent)
class ComponentEventAdmin(AppendOnlyAdmin):
    list_display = ("created_at", "action", "component", "actor")
    list_filter = ("action",)
    readonly_fields = ("created_at", "action", "component", "actor", "details")
    raw_id_fields = ("component",)


@admin.register(ComponentImport)
class ComponentImportAdmin(AppendOnlyAdmin):  # the audit record of components that exist
    list_display = ("created_at", "file_name", "scheme", "created_count", "actor")
    readonly_fields = (
        "created_at",
        "action",
        "file_name",
        "scheme",
        "created_count",
        "actor",
        "details",
    )
