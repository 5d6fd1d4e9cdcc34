"""Storing the photos of a case (a report's, a handler's feedback, an inspector's check)."""

from __future__ import annotations

from collections.abc import Sequence

from geogrid.accounts.actors import Actor
from geogrid.cases.models import Case, CasePhoto
from geogrid.core.photos import CheckedPhoto


def save_photos(
    case: Case, photos: Sequence[CheckedPhoto], *, stage: str, actor: Actor | None
) -> None:
    """Store the files, then their rows (the last write of the transaction that calls this);
    if writing the rows fails the files are deleted again."""
    saved: list[CasePhoto] = []
    try:
        for photo in photos:
            record = CasePhoto(
                case=case,
                stage=stage,
                width=photo.width,
                height=photo.height,
                uploaded_by=actor if getattr(actor, "pk", None) else None,
            )
            record.image.save(photo.original_name, photo.original, save=False)
            record.preview.save(photo.preview_name, photo.preview, save=False)
            saved.append(record)
        CasePhoto.objects.bulk_create(saved)
    except BaseException:
        for record in saved:
            record.image.delete(save=False)
            record.preview.delete(save=False)
        raise
