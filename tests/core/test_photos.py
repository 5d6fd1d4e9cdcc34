"""Photo checks: formats decided by decoding, size and pixel limits, damaged files, previews."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from geogrid.core.photos import MAX_PIXELS, PREVIEW_SIZE, PhotoError, check_photo
from tests.photos import image_bytes, upload


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_accepts_jpeg_png_and_webp_and_makes_a_jpeg_preview(fmt):
    checked = check_photo(upload(image_bytes(fmt, (1200, 900)), name="x.bin"))
    assert checked.format == fmt and (checked.width, checked.height) == (1200, 900)
    assert checked.original.name.endswith({"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}[fmt])
    with Image.open(io.BytesIO(checked.preview.read())) as preview:
        assert preview.format == "JPEG"
        assert max(preview.size) == max(PREVIEW_SIZE) and preview.size[0] > preview.size[1]


def test_preview_is_turned_upright_by_the_exif_orientation():
    # Orientation 6: the camera was held upright; the stored pixels are landscape.
    checked = check_photo(upload(image_bytes("JPEG", (80, 40), orientation=6)))
    with Image.open(io.BytesIO(checked.preview.read())) as preview:
        assert preview.size == (40, 80)


def test_missing_and_empty_files_are_refused():
    with pytest.raises(PhotoError, match="Attach a photo"):
        check_photo(None)
    with pytest.raises(PhotoError, match="empty"):
        check_photo(upload(b""))


def test_a_text_file_named_jpg_is_refused():
    with pytest.raises(PhotoError, match="not a photo this system can read"):
        check_photo(upload(b"GIF? no, a shopping list\n" * 20, name="list.jpg"))


def test_other_image_formats_are_named_in_the_message():
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buffer, "GIF")
    with pytest.raises(PhotoError, match="is a GIF image; send a JPEG, PNG or WebP"):
        check_photo(upload(buffer.getvalue(), name="anim.gif"))


def test_a_truncated_jpeg_is_refused():
    data = image_bytes("JPEG", (400, 300))
    with pytest.raises(PhotoError, match="damaged or incomplete"):
        check_photo(upload(data[: len(data) // 2]))


def test_oversized_photos_are_refused_with_the_limit(settings):
    settings.GEOGRID_MAX_PHOTO_MB = 1
    big = image_bytes("PNG", (10, 10)) + b"\0" * (1024 * 1024 + 1)
    with pytest.raises(PhotoError, match="the limit is 1 MB"):
        check_photo(upload(big, name="big.png"))


def test_too_many_pixels_are_refused_before_decoding():
    # A PNG of 10,000 × 7,000 pixels of one colour compresses to a few kilobytes.
    buffer = io.BytesIO()
    Image.new("1", (10_000, 7_000)).save(buffer, "PNG")
    with pytest.raises(PhotoError, match=f"at most {MAX_PIXELS // 1_000_000} megapixels"):
        check_photo(upload(buffer.getvalue(), name="bomb.png"))
