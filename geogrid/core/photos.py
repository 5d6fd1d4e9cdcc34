"""Photos sent through the web (component cards now, case reports later): checked before they
are stored, with messages a person can act on, and a small upright JPEG preview for lists.

What is accepted: JPEG, PNG or WebP (what phone cameras and browsers produce; HEIC photos are
converted by the phone's browser when an <input type=file accept="image/*"> picks them), at most
GEOGRID_MAX_PHOTO_MB and 60 megapixels (a 12-MP phone photo is far below; the pixel limit stops
"decompression bombs", small files that decode to gigabytes). The type is decided by decoding
the image with Pillow, never by the file name or the browser's content type.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
MAX_PIXELS = 60_000_000
PREVIEW_SIZE = (480, 480)


class PhotoError(ValueError):
    """A photo that cannot be accepted; the message says why and what to send instead."""


@dataclass(frozen=True)
class CheckedPhoto:
    original: ContentFile  # the bytes as sent, named <something>.<format extension>
    preview: ContentFile   # upright JPEG, at most PREVIEW_SIZE
    width: int
    height: int
    format: str


def max_photo_bytes() -> int:
    return int(settings.GEOGRID_MAX_PHOTO_MB) * 1024 * 1024


def check_photo(upload: UploadedFile | None) -> CheckedPhoto:
    """Decode and check one uploaded photo; raise PhotoError with a plain message."""
    if upload is None:
        raise PhotoError("Attach a photo (JPEG, PNG or WebP) in the form field 'image'.")
    limit = max_photo_bytes()
    if upload.size is not None and upload.size > limit:
        raise PhotoError(f"The photo is {upload.size / 1024 / 1024:.1f} MB; the limit is "
                         f"{settings.GEOGRID_MAX_PHOTO_MB} MB. Send a smaller or more compressed "
                         "photo.")
    if not upload.size:
        raise PhotoError("The photo file is empty.")
    data = upload.read(limit + 1)
    if len(data) > limit:  # a client that under-declared the size
        raise PhotoError(f"The photo is larger than the {settings.GEOGRID_MAX_PHOTO_MB} MB "
                         "limit. Send a smaller or more compressed photo.")
    name = upload.name or "photo"
    try:
        with Image.open(io.BytesIO(data)) as probe:
            image_format = probe.format
            width, height = probe.size
            if image_format not in ACCEPTED_FORMATS:
                raise PhotoError(f"{name!r} is a {image_format} image; send a JPEG, PNG or "
                                 "WebP photo.")
            if width * height > MAX_PIXELS:
                raise PhotoError(f"{name!r} is {width}×{height} pixels; at most "
                                 f"{MAX_PIXELS // 1_000_000} megapixels are accepted.")
            probe.verify()  # structure and checksums, without decoding all pixels
        with Image.open(io.BytesIO(data)) as image:
            image.load()  # decoding every pixel finds truncated files verify() lets through
            preview = ImageOps.exif_transpose(image).convert("RGB")
    except PhotoError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise PhotoError(f"{name!r} is not a photo this system can read (JPEG, PNG or "
                         f"WebP): {exc}") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise PhotoError(f"{name!r} is damaged or incomplete and cannot be read: {exc}") from exc
    preview.thumbnail(PREVIEW_SIZE)
    buffer = io.BytesIO()
    preview.save(buffer, "JPEG", quality=82, optimize=True)
    extension = ACCEPTED_FORMATS[image_format]
    return CheckedPhoto(original=ContentFile(data, name=f"photo.{extension}"),
                        preview=ContentFile(buffer.getvalue(), name="preview.jpg"),
                        width=width, height=height, format=image_format)
