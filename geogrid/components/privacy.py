"""What the public may see of components and their photos (README "Privacy model"; the rule
is geogrid/core/privacy.py).

Components are public infrastructure: when GEOGRID_PUBLIC_READ_API is on, the public reads them
and their photos, but not who took a photo, nor a department's contact (a phone number). A
photo is served to whoever may read its component (`Component.objects.visible_to`), so with
the public API off only the component's staff see it.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from geogrid.components.models import Component, ComponentPhoto
from geogrid.core.privacy import FieldPolicy, register_media_owner

COMPONENT_PHOTO = FieldPolicy("component photo", staff=frozenset({"uploaded_by"}))
DEPARTMENT = FieldPolicy("department", staff=frozenset({"contact"}))
MEDIA_FOLDER = "components"


def may_read_photo_file(path: str, user: Any) -> bool:
    """Whether `user` may read the component photo (or preview) stored at `path`."""
    photo = (
        ComponentPhoto.objects.filter(Q(image=path) | Q(preview=path)).only("component_id").first()
    )
    return (
        photo is not None
        and Component.objects.visible_to(user).filter(pk=photo.component_id).exists()
    )


def register() -> None:
    register_media_owner(MEDIA_FOLDER, may_read_photo_file)
