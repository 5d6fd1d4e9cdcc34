"""The API form of an uploaded photo, shared by the apps that keep photos (cases, components).

Each subclass names its model, its fields and the field policy that decides who sees the
uploader (docs/architecture.md §2.3, `core.privacy`).
"""

from __future__ import annotations

from typing import Any

from django.db.models.fields.files import FieldFile
from rest_framework import serializers

from geogrid.core.privacy import FieldPolicy, audience_of


class PhotoSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """Absolute links to the photo and its preview (the photo itself when it has none), the
    uploader's name where the reader may see it."""

    url = serializers.SerializerMethodField()
    preview_url = serializers.SerializerMethodField()
    uploaded_by = serializers.CharField(
        source="uploaded_by.username", default=None, allow_null=True
    )
    policy: FieldPolicy

    def _absolute(self, field: FieldFile | None) -> str | None:
        if not field:
            return None
        request = self.context.get("request")
        return request.build_absolute_uri(field.url) if request else field.url

    def get_url(self, photo: Any) -> str | None:
        return self._absolute(photo.image)

    def get_preview_url(self, photo: Any) -> str | None:
        return self._absolute(photo.preview or photo.image)

    def to_representation(self, instance: Any) -> Any:
        user = getattr(self.context.get("request"), "user", None)
        return self.policy.redact(super().to_representation(instance), audience_of(user))
