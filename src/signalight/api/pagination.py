"""Opaque cursors for keyset pagination: stable under inserts, cheap at any depth."""

from __future__ import annotations

import base64
import binascii

from signalight.api.params import MAX_ID
from signalight.domain.errors import InvalidInputError

MAX_LIMIT = 5000


def encode_cursor(after_id: int | None) -> str | None:
    """The cursor that continues after ``after_id`` (None when there is no next page)."""
    if after_id is None:
        return None
    return base64.urlsafe_b64encode(f"after:{after_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The id a cursor continues after; 0 for the first page."""
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = text.partition(":")
        after = int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInputError("cursor is not one this API gave out") from None
    if prefix != "after" or not 0 <= after <= MAX_ID:
        raise InvalidInputError("cursor is not one this API gave out")
    return after
