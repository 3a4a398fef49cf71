"""A city's signalised intersections: live state, what each controller does, its events.

Viewers and up read them. The state is the cabinet monitor's newest values
(mode, door, MMU, mains, battery, lamp currents) told in words with the
controller's newest events; alarms of the intersection come on the city's
alarm stream (``/cities/{city}/alarms/stream``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Query
from starlette.concurrency import run_in_threadpool

from signalight.api.deps import CITY_ERRORS, ContainerDep, ReadableCity
from signalight.api.intersection_schemas import (
    ControllerEventOut,
    IntersectionDetailOut,
    IntersectionOut,
)
from signalight.api.params import IsoTime
from signalight.api.schemas import ErrorOut
from signalight.services.intersections import MAX_EVENTS

router = APIRouter(tags=["signals"], responses=CITY_ERRORS)

Code = Annotated[str, Path(description="The intersection's code", max_length=64)]
DEFAULT_SPAN: Final = timedelta(hours=1)
NOT_FOUND: Final[dict[int | str, dict[str, Any]]] = {
    404: {"model": ErrorOut, "description": "No such intersection"}
}


@router.get("/cities/{city}/intersections", response_model=list[IntersectionOut])
async def list_intersections(city: ReadableCity, container: ContainerDep) -> list[IntersectionOut]:
    """Every intersection of the city with its live state, by code (viewer and up)."""
    views = await run_in_threadpool(container.intersections.all, city)
    return [IntersectionOut.of(view) for view in views]


@router.get(
    "/cities/{city}/intersections/{code}",
    response_model=IntersectionDetailOut,
    responses=NOT_FOUND,
)
async def get_intersection(
    city: ReadableCity, container: ContainerDep, code: Code
) -> IntersectionDetailOut:
    """One intersection: live state, lamps, open alarms and its controller's newest events."""
    view = await run_in_threadpool(container.intersections.get, city, code)
    return IntersectionDetailOut.of(view)


@router.get(
    "/cities/{city}/intersections/{code}/events",
    response_model=list[ControllerEventOut],
    responses=NOT_FOUND,
)
async def intersection_events(
    city: ReadableCity,
    container: ContainerDep,
    code: Code,
    start: Annotated[
        IsoTime | None,
        Query(alias="from", description="ISO 8601 with a zone; default: an hour before `to`"),
    ] = None,
    end: Annotated[
        IsoTime | None,
        Query(alias="to", description="ISO 8601 with a zone, exclusive; default: now"),
    ] = None,
    codes: Annotated[
        list[int] | None,
        Query(alias="code", description="Only these Indiana codes (repeat the parameter)"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_EVENTS)] = 1000,
) -> list[ControllerEventOut]:
    """The controller's events in a span (31 days at most), oldest first (viewer and up)."""
    until = end or datetime.now(UTC)
    since = start or until - DEFAULT_SPAN
    found = await run_in_threadpool(
        lambda: container.intersections.events(
            city, code, since.timestamp(), until.timestamp(), codes=codes, limit=limit
        )
    )
    return [ControllerEventOut.of(event) for event in found]
