"""manage.py strip_photo_metadata re-encodes photos stored with their EXIF (issue 10)."""

from __future__ import annotations

import io

from django.core.files.base import ContentFile
from django.core.management import call_command
from PIL import Image

from geogrid.cases.models import CasePhoto, PhotoStage


def _with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x0110] = "Phone Model X"
    exif[0x0112] = 6
    exif.get_ifd(0x8825)[2] = (39.0, 54.0, 27.0)
    buffer = io.BytesIO()
    Image.new("RGB", (80, 40), (10, 120, 10)).save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def test_strip_photo_metadata_reencodes_old_photos_in_place(report, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    case = report(50, 150).case
    old = CasePhoto(case=case, stage=PhotoStage.REPORT, width=80, height=40)
    old.image.save("old.jpg", ContentFile(_with_gps()), save=False)
    old.save()
    name = old.image.name
    broken = CasePhoto(case=case, stage=PhotoStage.REPORT)
    broken.image.save("broken.jpg", ContentFile(b"not a photo"), save=False)
    broken.save()
    out, err = io.StringIO(), io.StringIO()
    call_command("strip_photo_metadata", stdout=out, stderr=err)
    assert "1 photos re-encoded" in out.getvalue() and "broken" in err.getvalue()
    old.refresh_from_db()
    assert old.image.name == name  # links to it stay valid
    stored = (tmp_path / name).read_bytes()
    assert b"Phone Model X" not in stored and b"Exif" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert not image.getexif() and image.size == (40, 80)
    assert (old.width, old.height) == (40, 80)
