"""Work-order photos: decoded, checked and re-encoded so that no metadata leaves the phone.

A photo from a crew's phone carries EXIF (the GPS position, the phone's
make and serial, the time) and may carry other metadata (XMP, ICC, PNG text
chunks). Only the pixels are kept: the image is decoded, turned upright by
its EXIF orientation, copied into a fresh image that has no metadata at
all, and encoded again. Decoding is also the check: a file that Pillow
cannot decode as JPEG, PNG or WebP is refused, and so is one whose pixel
count would blow up in memory (a decompression bomb), before its pixels are
read.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Final

from PIL import Image, ImageOps, UnidentifiedImageError

from signalight.domain.errors import InvalidInputError

__all__ = ["MAX_PHOTO_BYTES", "MAX_PHOTO_PIXELS", "CleanPhoto", "clean_photo"]

MAX_PHOTO_BYTES: Final = 8 * 1024 * 1024
# 40 megapixels: above any phone camera's full resolution, and at 4 bytes a
# pixel (160 MB) still bounded for a server.
MAX_PHOTO_PIXELS: Final = 40_000_000
ACCEPTED: Final = frozenset({"JPEG", "PNG", "WEBP"})
JPEG_QUALITY: Final = 85


@dataclass(frozen=True, slots=True)
class CleanPhoto:
    """A photo re-encoded with its pixels only."""

    data: bytes
    media_type: str  # image/jpeg or image/png
    width: int
    height: int


def clean_photo(data: bytes) -> CleanPhoto:
    """Decode ``data`` and encode its pixels again without any metadata.

    A JPEG stays a JPEG; a PNG stays a PNG; a WebP becomes a PNG if it has
    transparency, else a JPEG.

    Raises:
        InvalidInputError: Too large, not a JPEG, PNG or WebP image, too many
            pixels, or damaged.
    """
    if len(data) > MAX_PHOTO_BYTES:
        raise InvalidInputError(f"the photo is {len(data)} bytes; the limit is {MAX_PHOTO_BYTES}")
    with warnings.catch_warnings():
        # Pillow warns (and above twice its limit refuses) on huge images;
        # our own, lower cap is checked first, so the warning is an error too.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except (
            UnidentifiedImageError,
            Image.DecompressionBombWarning,
            Image.DecompressionBombError,
        ) as exc:
            raise InvalidInputError(
                f"the photo is not a JPEG, PNG or WebP image ({type(exc).__name__})"
            ) from None
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise InvalidInputError(f"the photo cannot be decoded: {exc}") from None
        with image:
            if image.format not in ACCEPTED:
                raise InvalidInputError(
                    f"the photo is {image.format or 'of an unknown format'}; send JPEG, PNG or WebP"
                )
            width, height = image.size
            if width * height > MAX_PHOTO_PIXELS:
                raise InvalidInputError(
                    f"the photo has {width}x{height} pixels; the limit is {MAX_PHOTO_PIXELS:,}"
                )
            source = image.format
            try:
                image.load()
                upright = ImageOps.exif_transpose(image)
            except (OSError, ValueError, SyntaxError, EOFError) as exc:
                raise InvalidInputError(f"the photo cannot be decoded: {exc}") from None
    return _encode(upright, source)


def _encode(image: Image.Image, source: str) -> CleanPhoto:
    """The pixels of ``image`` in a fresh image without metadata, encoded."""
    alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    as_png = source == "PNG" or (source == "WEBP" and alpha)
    mode = ("RGBA" if alpha else "RGB") if as_png else "RGB"
    if image.mode == "L" and not alpha:
        mode = "L"
    pixels = image.convert(mode)
    # A new image from the raw pixels: nothing of the original's info (EXIF,
    # XMP, ICC, text chunks, comments) comes along.
    fresh = Image.frombytes(mode, pixels.size, pixels.tobytes())
    out = io.BytesIO()
    if as_png:
        fresh.save(out, "PNG", optimize=True)
        media_type = "image/png"
    else:
        fresh.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
        media_type = "image/jpeg"
    return CleanPhoto(out.getvalue(), media_type, fresh.width, fresh.height)
