"""Photo checks: formats decided by decoding, size and pixel limits, damaged files, previews."""

from __future__ import annotations

import io

import pytest
from django.utils.datastructures import MultiValueDict
from PIL import Image

from geogrid.core.photos import (
    MAX_PIXELS,
    PREVIEW_SIZE,
    PhotoError,
    _check_decoded_size,
    check_photo,
    photo_uploads,
)
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


def _exif_with_gps() -> Image.Exif:
    exif = Image.Exif()
    exif[0x0110] = "Phone Model X"  # Model
    exif[0x0112] = 6  # Orientation: stored landscape, shown portrait
    gps = exif.get_ifd(0x8825)
    gps[2] = (39.0, 54.0, 27.0)  # GPSLatitude
    gps[4] = (116.0, 23.0, 29.0)  # GPSLongitude
    return exif


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_photo_original_is_reencoded_upright_without_exif(fmt):
    buffer = io.BytesIO()
    image = Image.new("RGB", (80, 40), (200, 30, 30))
    image.save(
        buffer,
        fmt,
        exif=_exif_with_gps(),
        **({"xmp": b"<x:xmpmeta>GPS</x:xmpmeta>"} if fmt != "PNG" else {}),
    )
    sent = buffer.getvalue()
    assert b"Phone Model X" in sent
    checked = check_photo(upload(sent))
    stored = checked.original.read()
    assert b"Phone Model X" not in stored and b"Exif" not in stored and b"xmpmeta" not in stored
    with Image.open(io.BytesIO(stored)) as original:
        assert original.format == fmt
        assert original.size == (40, 80)  # turned upright by the orientation it carried
        assert not original.getexif() and "xmp" not in original.info
    assert (checked.width, checked.height) == (40, 80)


def test_photo_bomb_with_few_bytes_for_many_pixels_is_refused_before_decoding():
    # 7,000 × 7,000 pixels (49 MP, under the pixel cap) of one colour: a few kilobytes of PNG
    # that would decode to 140 MB.
    buffer = io.BytesIO()
    Image.new("1", (7_000, 7_000)).save(buffer, "PNG")
    assert len(buffer.getvalue()) < 100_000
    with pytest.raises(PhotoError, match="decompression bomb"):
        check_photo(upload(buffer.getvalue(), name="bomb.png"))


def test_photo_the_7700_pixel_square_png_bomb_is_refused():
    buffer = io.BytesIO()
    Image.new("RGB", (7_700, 7_700), (255, 255, 255)).save(buffer, "PNG")
    with pytest.raises(PhotoError, match="megapixels|decompression bomb"):
        check_photo(upload(buffer.getvalue(), name="bomb.png"))


def test_photo_size_check_passes_a_50_megapixel_phone_photo():
    # A 50-MP phone camera's JPEG (8160 × 6120) of about 12 MB passes the header checks.
    _check_decoded_size("phone.jpg", 8160, 6120, 3, 12 * 1024 * 1024)
    # A 12-MP photo of a dark scene compresses well and still passes.
    _check_decoded_size("night.jpg", 4000, 3000, 3, 400 * 1024)


def test_photo_count_is_checked_before_any_photo_is_decoded(settings):
    settings.GEOGRID_MAX_PHOTOS = 6
    files = MultiValueDict({"media": [upload(b"not even an image") for _ in range(7)]})
    # Were a photo decoded first, the error would be about the unreadable file.
    with pytest.raises(PhotoError, match="7 photos were attached; at most 6"):
        photo_uploads(files, "media")
    assert len(photo_uploads(files, "media", maximum=7)) == 7
