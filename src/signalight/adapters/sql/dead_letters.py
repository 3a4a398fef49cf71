"""Dead letters in SQL: the one way rows of ``dead_letters`` are written."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, insert, select

from signalight.adapters.sql.tables import cities, dead_letters
from signalight.domain.telemetry import DeadLetter

__all__ = ["insert_letters", "letter_row"]


def letter_row(letter: DeadLetter) -> dict[str, Any]:
    """The row of one dead letter."""
    return {
        "city_id": letter.city_id,
        "received_at": letter.received_at,
        "topic": letter.topic,
        "reason": str(letter.reason),
        "message": letter.message,
        "payload": letter.payload,
        "size": letter.size,
        "device_uid": letter.device_uid,
    }


def insert_letters(conn: Connection, letters: Sequence[DeadLetter]) -> None:
    """Insert dead letters; a letter of a city that is gone is kept without its city.

    A dead letter must never be refused itself: it is where refused things go.
    """
    if not letters:
        return
    named = {letter.city_id for letter in letters if letter.city_id is not None}
    known = (
        set(conn.execute(select(cities.c.id).where(cities.c.id.in_(named))).scalars())
        if named
        else set()
    )
    conn.execute(
        insert(dead_letters),
        [
            letter_row(
                letter
                if letter.city_id is None or letter.city_id in known
                else dataclasses.replace(letter, city_id=None)
            )
            for letter in letters
        ],
    )
