"""What devices report, for people: live state, readings, hourly rollups and dead letters."""

from __future__ import annotations

import base64
import binascii
import math
from datetime import UTC, datetime, timedelta
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Path, Query

from signalight.api.deps import CITY_ERRORS, ContainerDep, OperatorCity, ReadableCity
from signalight.api.params import IsoTime, query_id
from signalight.api.schemas import ErrorOut
from signalight.api.telemetry_schemas import (
    DeadLetterOut,
    DeadLetterPage,
    DeviceStateOut,
    HourlyList,
    HourlyOut,
    ReadingOut,
    ReadingPage,
)
from signalight.domain.errors import InvalidInputError
from signalight.domain.readings import CATALOGUE
from signalight.domain.telemetry import DeviceRef
from signalight.services.telemetry import PageMark, TelemetryQueries

router = APIRouter(tags=["telemetry"], responses=CITY_ERRORS)

DEFAULT_SPAN: Final = timedelta(hours=24)
MAX_READINGS: Final = 10_000
MAX_HOURLY_SPAN: Final = timedelta(days=366)
MAX_DEAD_LETTERS: Final = 1000
# Every device has a status (its MQTT status topic) besides its catalogue names.
STATUS_NAME: Final = "status"

Uid = Annotated[str, Path(description="The device id", max_length=64)]
From = Annotated[
    IsoTime | None,
    Query(alias="from", description="ISO 8601 with a zone; default: 24 hours before `to`"),
]
To = Annotated[
    IsoTime | None,
    Query(alias="to", description="ISO 8601 with a zone, exclusive; default: now"),
]


def _queries(container: ContainerDep) -> TelemetryQueries:
    return TelemetryQueries(container.db.telemetry)


Queries = Annotated[TelemetryQueries, Depends(_queries)]


@router.get("/cities/{city}/devices/{uid}/state", response_model=DeviceStateOut)
def device_state(city: ReadableCity, uid: Uid, queries: Queries) -> DeviceStateOut:
    """The device's live state: when it last spoke and the newest value of each name."""
    device = queries.device(city, uid)
    return DeviceStateOut.of(device, queries.state(device))


@router.get(
    "/cities/{city}/devices/{uid}/readings",
    response_model=ReadingPage,
    responses={422: {"model": ErrorOut}},
)
def device_readings(
    city: ReadableCity,
    uid: Uid,
    queries: Queries,
    start: From = None,
    end: To = None,
    names: Annotated[
        str | None, Query(max_length=2000, description="Comma-separated names; default: all")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_READINGS)] = 1000,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> ReadingPage:
    """The device's readings in ``[from, to)``, oldest first, numbers in canonical units."""
    device = queries.device(city, uid)
    first, last = _span(start, end)
    wanted = _names(device, names)
    items, mark = queries.readings(device, first, last, wanted, limit, _decode_mark(cursor))
    return ReadingPage(
        uid=device.uid,
        items=[ReadingOut.of(reading) for reading in items],
        next_cursor=_encode_mark(mark),
    )


@router.get(
    "/cities/{city}/devices/{uid}/hourly",
    response_model=HourlyList,
    responses={422: {"model": ErrorOut}},
)
def device_hourly(
    city: ReadableCity, uid: Uid, queries: Queries, start: From = None, end: To = None
) -> HourlyList:
    """The device's hourly rollups whose hour starts in ``[from, to)``, at most 366 days."""
    device = queries.device(city, uid)
    first, last = _span(start, end, MAX_HOURLY_SPAN)
    return HourlyList(
        uid=device.uid,
        items=[HourlyOut.model_validate(rollup) for rollup in queries.hourly(device, first, last)],
    )


@router.get("/cities/{city}/deadletters", response_model=DeadLetterPage)
def dead_letters(
    city: OperatorCity,
    queries: Queries,
    limit: Annotated[int, Query(ge=1, le=MAX_DEAD_LETTERS)] = 100,
    before: Annotated[int | None, query_id("`next_before` of the last page")] = None,
) -> DeadLetterPage:
    """The city's refused device messages, newest first (operator and up)."""
    letters, next_before = queries.dead_letters(city, limit, before)
    return DeadLetterPage(
        items=[DeadLetterOut.of(letter) for letter in letters],
        counts=queries.dead_letter_counts(city),
        next_before=next_before,
    )


def _span(
    start: datetime | None, end: datetime | None, longest: timedelta | None = None
) -> tuple[float, float]:
    for label, value in (("from", start), ("to", end)):
        if value is not None and value.utcoffset() is None:
            raise InvalidInputError(f"{label} needs a time zone, e.g. 2024-05-01T00:00:00Z")
    end = end or datetime.now(UTC)
    start = start or end - DEFAULT_SPAN
    if start >= end:
        raise InvalidInputError("from must be before to")
    if longest is not None and end - start > longest:
        raise InvalidInputError(f"from and to may be at most {longest.days} days apart")
    return start.timestamp(), end.timestamp()


def _names(device: DeviceRef, names: str | None) -> set[str] | None:
    if names is None or not names.strip():
        return None
    wanted = {name.strip() for name in names.split(",") if name.strip()}
    known = CATALOGUE[device.kind].keys() | {STATUS_NAME}
    unknown = sorted(wanted - known)
    if unknown:
        raise InvalidInputError(
            f"{device.kind} devices have no reading named {', '.join(unknown)[:200]}"
        )
    return wanted


def _encode_mark(mark: PageMark | None) -> str | None:
    if mark is None:
        return None
    text = f"r:{mark.time!r}:{mark.given}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode_mark(cursor: str | None) -> PageMark | None:
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, at, given = text.split(":")
        mark = PageMark(float(at), int(given))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInputError("cursor is not one this API gave out") from None
    if prefix != "r" or not math.isfinite(mark.time) or not 0 < mark.given <= MAX_READINGS:
        raise InvalidInputError("cursor is not one this API gave out")
    return mark
