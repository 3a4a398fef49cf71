"""Path and query parameters the routers share: row ids and times, bounded and parsed once."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import Path, Query
from pydantic import AfterValidator, BeforeValidator

from signalight.domain.geo import BBox

# Row ids are SQL BIGINTs. A larger number names no row, and the database
# drivers cannot even bind it (SQLite and psycopg raise OverflowError), so it is
# refused with 422 before it reaches them.
MAX_ID: Final = 2**63 - 1


def path_id(description: str) -> Any:  # noqa: ANN401 (FastAPI's Path() is typed Any)
    """A path parameter that holds a row id: 1 to ``MAX_ID``."""
    return Path(description=description, ge=1, le=MAX_ID)


def query_id(description: str, *, least: int = 1) -> Any:  # noqa: ANN401 (as path_id)
    """A query parameter that holds a row id or a position among rows: ``least`` to ``MAX_ID``."""
    return Query(description=description, ge=least, le=MAX_ID)


AssetId = Annotated[int, path_id("The asset's id")]
AlarmId = Annotated[int, path_id("The alarm's id")]
SubscriptionId = Annotated[int, path_id("The subscription's id")]

# A map's viewport, as the list routes take it; read it with bbox_of.
BBoxQuery = Annotated[
    str | None, Query(description="west,south,east,north in degrees", max_length=100)
]


def bbox_of(text: str | None) -> tuple[float, float, float, float] | None:
    """The ``bbox`` query parameter as (west, south, east, north); None if not given.

    Raises:
        InvalidInputError: not four numbers, or not a box (a 422 naming the problem).
    """
    if text is None:
        return None
    box = BBox.parse(text)
    return (box.west, box.south, box.east, box.north)


def _iso_text(value: object) -> object:
    # pydantic would also read a bare number such as 0.5 as epoch seconds;
    # times in this API are ISO 8601 only, so that a typo is not a date in 1970.
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return value
        raise ValueError("must be an ISO 8601 time, e.g. 2024-05-01T00:00:00Z, not a number")
    return value


def _aware(value: datetime) -> datetime:
    if value.utcoffset() is None:
        raise ValueError("needs a time zone, e.g. 2024-05-01T00:00:00Z")
    return value


# An ISO 8601 time with a zone (``Z`` or ``+08:00``), as query parameters take it.
IsoTime = Annotated[datetime, BeforeValidator(_iso_text), AfterValidator(_aware)]
