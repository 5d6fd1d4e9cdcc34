"""Cases as GeoJSON features. What each audience sees is decided by cases/privacy.py: the
reporter's contact only operators and admins; possible duplicates only within the reader's
scope."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework_gis.fields import GeometryField
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from geogrid.cases import workflow
from geogrid.cases.models import Case, CaseClass, CaseEvent, CasePhoto
from geogrid.cases.privacy import (
    CASE,
    CASE_EVENT,
    CASE_PHOTO,
    CONTACT_FIELDS,
    visible_duplicates,
)
from geogrid.core.photo_serializers import PhotoSerializer
from geogrid.core.privacy import audience_of

PRIVATE_FIELDS = CONTACT_FIELDS


def _user(serializer: serializers.Serializer) -> Any:
    return getattr(serializer.context.get("request"), "user", None)


class CaseClassSerializer(serializers.ModelSerializer):
    department = serializers.CharField(source="department.name", default=None)
    department_code = serializers.CharField(source="department.code", default=None)

    class Meta:
        model = CaseClass
        fields = [
            "service_code",
            "kind",
            "code",
            "major_code",
            "major_name",
            "name",
            "name_en",
            "department",
            "department_code",
            "filing_condition",
            "closing_condition",
            "limit_a",
            "limit_b",
            "limit_c",
            "limit_unit",
        ]


class CasePhotoSerializer(PhotoSerializer):
    policy = CASE_PHOTO

    class Meta:
        model = CasePhoto
        fields = [
            "id",
            "stage",
            "url",
            "preview_url",
            "width",
            "height",
            "uploaded_by",
            "created_at",
        ]


class CaseEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", default=None, allow_null=True)
    action_label = serializers.SerializerMethodField()

    class Meta:
        model = CaseEvent
        fields = [
            "id",
            "action",
            "action_label",
            "from_status",
            "to_status",
            "reason",
            "actor",
            "created_at",
            "details",
        ]

    def get_action_label(self, event: CaseEvent) -> str:
        return str(workflow.ACTION_LABELS.get(event.action, event.action))

    def to_representation(self, instance):
        return CASE_EVENT.redact(super().to_representation(instance), audience_of(_user(self)))


class CaseFeatureSerializer(GeoFeatureModelSerializer):
    """A case as a GeoJSON Feature (id = the case number)."""

    geom = GeometryField(precision=7)
    service_code = serializers.CharField(source="case_class.service_code")
    class_name = serializers.CharField(source="case_class.name")
    class_name_en = serializers.CharField(source="case_class.name_en")
    major_name = serializers.CharField(source="case_class.major_name")
    status_label = serializers.CharField(source="get_status_display")
    channel_label = serializers.CharField(source="get_channel_display")
    routed_by_label = serializers.CharField(source="get_routed_by_display")
    path_check_label = serializers.CharField(source="get_path_check_display")
    department = serializers.SerializerMethodField()
    component_code = serializers.CharField(source="component.code", default=None, allow_null=True)
    open = serializers.SerializerMethodField()
    reporter_name = serializers.CharField()
    reporter_phone = serializers.CharField()
    reporter_email = serializers.CharField()
    device_id = serializers.CharField()
    account_id = serializers.CharField()

    class Meta:
        model = Case
        geo_field = "geom"
        id_field = "id"
        fields = [
            "id",
            "status",
            "status_label",
            "open",
            "kind",
            "service_code",
            "class_name",
            "class_name_en",
            "major_name",
            "channel",
            "channel_label",
            "description",
            "address",
            "component_code",
            "grid_code",
            "community_code",
            "street_code",
            "district_code",
            "area_class",
            "handling_level",
            "department",
            "routed_by",
            "routed_by_label",
            "possible_duplicates",
            "reported_at",
            "accepted_at",
            "filed_at",
            "dispatched_at",
            "deadline",
            "handled_at",
            "closed_at",
            "overdue",
            "return_count",
            "extension_count",
            "rework_count",
            "version",
            "observed_at",
            "path_check",
            "path_check_label",
            "path_distance_m",
            # Made by the demo's history generator (cases/history.py): the pages label it.
            "generated",
            *PRIVATE_FIELDS,
        ]

    def get_department(self, case: Case) -> dict | None:
        department = case.department
        if department is None:
            return None
        return {"code": department.code, "name": department.name, "name_en": department.name_en}

    def get_open(self, case: Case) -> bool:
        return case.status not in workflow.FINAL_STATUSES

    def to_representation(self, instance: Case) -> dict[str, Any]:
        data = super().to_representation(instance)
        user = _user(self)
        CASE.redact(data["properties"], audience_of(user))
        if data["properties"].get("possible_duplicates"):
            data["properties"]["possible_duplicates"] = visible_duplicates(
                data["properties"]["possible_duplicates"], user
            )
        return data
