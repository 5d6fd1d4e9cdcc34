"""manage.py strip_photo_metadata: re-encode the photos stored before uploads were cleaned.

Photos of components and cases stored by earlier versions kept their EXIF (GPS position,
device). Each is read, turned upright and encoded again without metadata (geogrid/core/photos.py),
in place: the file keeps its name, so links to it stay valid. Photos that cannot be read are
listed and left alone. Running it twice changes nothing more."""

from __future__ import annotations

from typing import Any

from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand

from geogrid.cases.models import CasePhoto
from geogrid.components.models import ComponentPhoto
from geogrid.core.photos import PhotoError, check_photo


def strip_stored_photo(photo: Any) -> bool:
    """Re-encode one stored photo in place; False when its file cannot be read as a photo."""
    storage, name = photo.image.storage, photo.image.name
    with storage.open(name, "rb") as handle:
        upload = ContentFile(handle.read(), name=name)
    try:
        checked = check_photo(upload)
    except PhotoError:
        return False
    storage.delete(name)
    saved = storage.save(name, checked.original)
    photo.image.name = saved
    photo.width, photo.height = checked.width, checked.height
    photo.save(update_fields=["image", "width", "height"])
    return True


class Command(BaseCommand):
    help = "Re-encode stored photos without EXIF/XMP metadata (GPS, device), turned upright."

    def handle(self, *args: Any, **options: Any) -> None:
        done = failed = 0
        for model in (ComponentPhoto, CasePhoto):
            for photo in model.objects.exclude(image="").iterator():
                if strip_stored_photo(photo):
                    done += 1
                else:
                    failed += 1
                    self.stderr.write(
                        f"{model.__name__} {photo.pk}: {photo.image.name} is not a "
                        "readable photo; left as it is."
                    )
        self.stdout.write(f"{done} photos re-encoded without metadata; {failed} left alone.")
