"""Photos sent through the web (component cards, case reports, Open311 media): checked before
they are stored, with messages a person can act on, re-encoded without their metadata, and a
small upright JPEG preview for lists.

What is accepted: JPEG, PNG or WebP (what phone cameras and browsers produce; HEIC photos are
converted by the phone's browser when an <input type=file accept="image/*"> picks them), at most
GEOGRID_MAX_PHOTO_MB. The type is decided by reading the image with Pillow, never by the file
name or the browser's content type.

Decompression bombs (small files that decode to gigabytes) are refused from the header, before
any pixel is decoded: at most MAX_PIXELS (a 50-MP phone camera's 8160 × 6120 passes), and a
photo that would decode to more than RATIO_CHECK_BYTES must not be more than MAX_RATIO times
smaller than its decoded pixels (a camera JPEG is 5–60 times smaller; a 57 KB PNG that decodes
to 178 MB is 3,000 times smaller).

Privacy: the stored "original" is the photo turned upright by its EXIF orientation and encoded
again (same format) without EXIF, XMP or text chunks, so GPS positions, device names and
serial numbers are never stored (docs: README "Photos"). The colour profile is kept.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
MAX_PIXELS = 52_000_000
MAX_RATIO = 200
RATIO_CHECK_BYTES = 32 * 1024 * 1024
JPEG_QUALITY = 90
PREVIEW_SIZE = (480, 480)


class PhotoError(ValueError):
    """A photo that cannot be accepted; the message says why and what to send instead."""


@dataclass(frozen=True)
class CheckedPhoto:
    original: ContentFile[bytes]  # upright, re-encoded without metadata, named photo.<extension>
    preview: ContentFile[bytes]  # upright JPEG, at most PREVIEW_SIZE
    width: int
    height: int
    format: str

    @property
    def original_name(self) -> str:
        """The original's file name (File.name is optional; check_photo always sets it)."""
        assert self.original.name is not None
        return self.original.name

    @property
    def preview_name(self) -> str:
        """The preview's file name (File.name is optional; check_photo always sets it)."""
        assert self.preview.name is not None
        return self.preview.name


def max_photo_bytes() -> int:
    return int(settings.GEOGRID_MAX_PHOTO_MB) * 1024 * 1024


def check_photo(upload: UploadedFile[bytes] | None) -> CheckedPhoto:
    """Decode and check one uploaded photo; raise PhotoError with a plain message."""
    if upload is None:
        raise PhotoError("Attach a photo (JPEG, PNG or WebP) in the form field 'image'.")
    limit = max_photo_bytes()
    if upload.size is not None and upload.size > limit:
        raise PhotoError(
            f"The photo is {upload.size / 1024 / 1024:.1f} MB; the limit is "
            f"{settings.GEOGRID_MAX_PHOTO_MB} MB. Send a smaller or more compressed "
            "photo."
        )
    if not upload.size:
        raise PhotoError("The photo file is empty.")
    data = upload.read(limit + 1)
    if len(data) > limit:  # a client that under-declared the size
        raise PhotoError(
            f"The photo is larger than the {settings.GEOGRID_MAX_PHOTO_MB} MB "
            "limit. Send a smaller or more compressed photo."
        )
    name = upload.name or "photo"
    try:
        with Image.open(io.BytesIO(data)) as probe:  # reads the header only
            image_format = probe.format
            width, height = probe.size
            if image_format not in ACCEPTED_FORMATS:
                raise PhotoError(
                    f"{name!r} is a {image_format} image; send a JPEG, PNG or WebP photo."
                )
            _check_decoded_size(name, width, height, len(probe.getbands()), len(data))
            probe.verify()  # structure and checksums, without decoding all pixels
        with Image.open(io.BytesIO(data)) as image:
            image.load()  # decoding every pixel finds truncated files verify() lets through
            upright = ImageOps.exif_transpose(image)
            icc_profile = image.info.get("icc_profile")
            transparency = image.info.get("transparency")
    except PhotoError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise PhotoError(
            f"{name!r} is not a photo this system can read (JPEG, PNG or WebP): {exc}"
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise PhotoError(f"{name!r} is damaged or incomplete and cannot be read: {exc}") from exc
    original = _reencode(upright, image_format, icc_profile, transparency)
    preview = upright.convert("RGB")
    preview.thumbnail(PREVIEW_SIZE)
    buffer = io.BytesIO()
    preview.save(buffer, "JPEG", quality=82, optimize=True)
    extension = ACCEPTED_FORMATS[image_format]
    return CheckedPhoto(
        original=ContentFile(original, name=f"photo.{extension}"),
        preview=ContentFile(buffer.getvalue(), name="preview.jpg"),
        width=upright.width,
        height=upright.height,
        format=image_format,
    )


def _check_decoded_size(name: str, width: int, height: int, bands: int, file_bytes: int) -> None:
    """Refuse, from the header alone, an image whose decoded pixels would be too many or
    implausibly many for the size of its file."""
    pixels = width * height
    if pixels > MAX_PIXELS:
        raise PhotoError(
            f"{name!r} is {width}×{height} pixels; at most "
            f"{MAX_PIXELS // 1_000_000} megapixels are accepted. Send the photo "
            "at a smaller size."
        )
    # Decoded as RGB at least: the preview and the re-encoding need it.
    decoded = pixels * max(bands, 3)
    if decoded > RATIO_CHECK_BYTES and decoded > file_bytes * MAX_RATIO:
        raise PhotoError(
            f"{name!r} claims {width}×{height} pixels in only "
            f"{file_bytes / 1024:.0f} KB: it would take {decoded // 2**20} MB to "
            "decode and looks like a decompression bomb, not a photo."
        )


def _reencode(
    image: Image.Image, image_format: str, icc_profile: bytes | None, transparency: object
) -> bytes:
    """The upright image in its own format, with no EXIF, XMP or text metadata (Pillow writes
    metadata from `info`, which is emptied, or from save() arguments, which are not given)."""
    image.info = {}
    options: dict[str, Any] = {"icc_profile": icc_profile} if icc_profile else {}
    if image_format == "JPEG":
        if image.mode not in ("L", "RGB", "CMYK"):
            image = image.convert("RGB")
        options.update(quality=JPEG_QUALITY)
    elif image_format == "WEBP":
        options.update(quality=JPEG_QUALITY)
    elif transparency is not None and image.mode in ("P", "L", "RGB"):
        options["transparency"] = transparency
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def photo_uploads(
    files: Any, *fields: str, maximum: int | None = None
) -> list[UploadedFile[bytes]]:
    """The uploads in these form fields, refused by count before any of them is decoded."""
    maximum = int(settings.GEOGRID_MAX_PHOTOS) if maximum is None else maximum
    uploads = [upload for field in fields for upload in files.getlist(field)]
    if len(uploads) > maximum:
        raise PhotoError(f"{len(uploads)} photos were attached; at most {maximum} are accepted.")
    return uploads
