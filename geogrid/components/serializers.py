from __future__ import annotations

from rest_framework import serializers
from rest_framework_gis.fields import GeometryField
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from geogrid.components.models import Component, ComponentPhoto, Department
from geogrid.components.privacy import COMPONENT_PHOTO, DEPARTMENT
from geogrid.core.photo_serializers import PhotoSerializer
from geogrid.core.privacy import audience_of


def _audience(serializer: serializers.Serializer):
    request = serializer.context.get("request")
    return audience_of(getattr(request, "user", None))


class DepartmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Department
        fields = ["code", "name", "name_en", "contact"]

    def to_representation(self, instance):
        return DEPARTMENT.redact(super().to_representation(instance), _audience(self))


class ComponentPhotoSerializer(PhotoSerializer):
    policy = COMPONENT_PHOTO

    class Meta:
        model = ComponentPhoto
        fields = [
            "id",
            "url",
            "preview_url",
            "width",
            "height",
            "caption",
            "uploaded_by",
            "created_at",
        ]


class ComponentFeatureSerializer(GeoFeatureModelSerializer):
    """A component as a GeoJSON Feature (id = its code)."""

    geom = GeometryField(precision=7)
    class_code = serializers.CharField(source="component_class.code")
    class_name = serializers.CharField(source="component_class.name")
    class_name_en = serializers.CharField(source="component_class.name_en")
    major_code = serializers.CharField(source="component_class.major_code")
    major_name = serializers.CharField(source="component_class.major_name")
    status_label = serializers.CharField(source="get_status_display")
    currency_label = serializers.CharField(source="get_currency_display")
    grid = serializers.SerializerMethodField()
    competent_department = DepartmentSerializer()
    owner_department = DepartmentSerializer(allow_null=True)
    maintainer_department = DepartmentSerializer(allow_null=True)
    distance_m = serializers.SerializerMethodField()

    class Meta:
        model = Component
        geo_field = "geom"
        id_field = "code"
        fields = [
            "code",
            "name",
            "class_code",
            "class_name",
            "class_name_en",
            "major_code",
            "major_name",
            "status",
            "status_label",
            "currency",
            "currency_label",
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
            "version",
            "distance_m",
        ]

    def get_grid(self, component: Component) -> dict | None:
        grid = component.grid
        return {"code": grid.code, "name": grid.name} if grid else None

    def get_distance_m(self, component: Component) -> float | None:
        distance = getattr(component, "distance_m", None)
        return round(float(distance), 1) if distance is not None else None
