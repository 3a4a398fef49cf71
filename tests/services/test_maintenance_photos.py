"""Work-order photos: decoded, re-encoded without EXIF or any metadata; others refused clearly."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image, PngImagePlugin

from signalight.domain.errors import InvalidInputError
from signalight.services.photos import MAX_PHOTO_BYTES, clean_photo
from tests.services.maintenance_rig import jpeg_with_exif


def test_a_jpeg_loses_its_exif_gps_and_comment_and_keeps_its_pixels() -> None:
    original = jpeg_with_exif()
    with Image.open(io.BytesIO(original)) as before:
        assert before.getexif()[0x010F] == "SpyPhone"  # the fixture does carry EXIF
    assert b"SpyPhone" in original
    assert b"secret comment" in original

    clean = clean_photo(original)

    assert clean.media_type == "image/jpeg"
    assert (clean.width, clean.height) == (64, 48)
    assert b"SpyPhone" not in clean.data
    assert b"serial 0042" not in clean.data
    assert b"secret comment" not in clean.data
    assert b"Exif" not in clean.data
    with Image.open(io.BytesIO(clean.data)) as after:
        assert after.format == "JPEG"
        assert dict(after.getexif()) == {}
        assert "exif" not in after.info
        assert "comment" not in after.info
        red, green, _ = after.getpixel((10, 10))  # type: ignore[misc]
        assert red > 180
        assert green < 70


def test_the_exif_orientation_is_applied_before_it_is_dropped() -> None:
    image = Image.new("RGB", (40, 20), (0, 0, 255))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to view
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    clean = clean_photo(out.getvalue())
    assert (clean.width, clean.height) == (20, 40)


def test_a_png_loses_its_text_chunks() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Crew Member Home Address")
    out = io.BytesIO()
    Image.new("RGBA", (8, 8), (1, 2, 3, 128)).save(out, "PNG", pnginfo=info)
    assert b"Home Address" in out.getvalue()
    clean = clean_photo(out.getvalue())
    assert clean.media_type == "image/png"
    assert b"Home Address" not in clean.data
    with Image.open(io.BytesIO(clean.data)) as after:
        assert after.mode == "RGBA"
        assert "Author" not in after.info


def test_a_webp_becomes_a_jpeg() -> None:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (9, 9, 9)).save(out, "WEBP")
    assert clean_photo(out.getvalue()).media_type == "image/jpeg"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"%PDF-1.7 not a photo at all", "not a JPEG, PNG or WebP image"),
        (b"", "not a JPEG, PNG or WebP image"),
        (jpeg_with_exif()[:200], "cannot be decoded"),
    ],
)
def test_what_is_not_an_image_is_refused_with_a_clear_error(data: bytes, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        clean_photo(data)


def test_a_gif_is_refused_by_name() -> None:
    out = io.BytesIO()
    Image.new("P", (4, 4)).save(out, "GIF")
    with pytest.raises(InvalidInputError, match="the photo is GIF; send JPEG, PNG or WebP"):
        clean_photo(out.getvalue())


def _png_header(width: int, height: int) -> bytes:
    """A PNG that claims a size and holds no pixels: what a decompression bomb starts with."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def test_too_many_pixels_are_refused_before_they_are_decoded() -> None:
    with pytest.raises(InvalidInputError, match="7000x7000 pixels; the limit is 40,000,000"):
        clean_photo(_png_header(7000, 7000))
    # Beyond Pillow's own bomb limit, too: refused, never a warning nor a crash.
    with pytest.raises(InvalidInputError, match="not a JPEG, PNG or WebP"):
        clean_photo(_png_header(30000, 30000))


def test_a_photo_over_8_mb_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="the limit is 8388608"):
        clean_photo(b"\xff\xd8" + bytes(MAX_PHOTO_BYTES))
