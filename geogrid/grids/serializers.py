from __future__ import annotations

from rest_framework import serializers
from rest_framework_gis.fields import GeometryField
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from geogrid.core.privacy import audience_of
from geogrid.grids.models import Grid
from geogrid.grids.privacy import GRID


class GridFeatureSerializer(GeoFeatureModelSerializer):
    """A grid as a GeoJSON Feature (lon/lat, 7 decimals ≈ 1 cm)."""

    geom = GeometryField(precision=7)
    level = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    parent = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    active = serializers.BooleanField(source="is_active", read_only=True)

    class Meta:
        model = Grid
        geo_field = "geom"
        id_field = "code"
        fields = [
            "code",
            "name",
            "level",
            "parent",
            "grid_type",
            "area_class",
            "source",
            "area_m2",
            "households",
            "population",
            "officer_name",
            "officer_phone",
            "responsible_department",
            "valid_from",
            "valid_to",
            "version",
            "active",
        ]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        request = self.context.get("request")
        # The officer's phone is for colleagues (grids/privacy.py), not for the public.
        GRID.redact(data["properties"], audience_of(getattr(request, "user", None)))
        return data
