"""A city's alarms: lists, one alarm and its history, operators' steps, counts, the live stream.

Also the city's detection settings, which decide what becomes an alarm.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any, Final

from fastapi import APIRouter, Body, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from signalight.api.alarm_schemas import (
    AlarmCountsOut,
    AlarmDetailOut,
    AlarmEventOut,
    AlarmOut,
    AlarmPage,
    AlarmStreamEventOut,
    DetectionSettingsOut,
    NoteIn,
    StepIn,
)
from signalight.api.deps import (
    CITY_ERRORS,
    AdminCity,
    ContainerDep,
    OperatorCity,
    ReadableCity,
    UserDep,
    caller_token,
)
from signalight.api.params import MAX_ID, AlarmId, BBoxQuery, IsoTime, bbox_of, query_id
from signalight.api.schemas import ErrorOut
from signalight.container import Container
from signalight.domain.alarms import OPEN_STATES, AlarmQuery, AlarmState, AlarmType, Severity
from signalight.domain.cities import City
from signalight.domain.errors import InvalidInputError, NotFoundError, SignalightError
from signalight.services.alarms import FeedItem

log = logging.getLogger(__name__)

router = APIRouter(tags=["alarms"], responses=CITY_ERRORS)

MAX_ALARMS: Final = 1000
EVENT_STREAM: Final = "text/event-stream"
RETRY_MS: Final = 3000  # how long a browser's EventSource waits before it reconnects

States = Annotated[
    list[AlarmState] | None,
    Query(description="Repeat for several; default: raised, acknowledged and cleared"),
]
Conflict: Final[dict[int | str, dict[str, Any]]] = {409: {"model": ErrorOut}}


@router.get("/cities/{city}/alarms", response_model=AlarmPage, responses={422: {"model": ErrorOut}})
def list_alarms(
    city: ReadableCity,
    container: ContainerDep,
    kind: Annotated[
        list[AlarmType] | None, Query(alias="type", description="Repeat for several")
    ] = None,
    severity: Annotated[list[Severity] | None, Query(description="Repeat for several")] = None,
    state: States = None,
    asset: Annotated[str | None, Query(max_length=64, description="The asset's code")] = None,
    bbox: BBoxQuery = None,
    since: Annotated[IsoTime | None, Query(description="Raised at or after; ISO 8601")] = None,
    until: Annotated[IsoTime | None, Query(description="Raised before; ISO 8601")] = None,
    held: Annotated[bool, Query(description="Include alarms held under an outage")] = False,
    parent: Annotated[int | None, query_id("Only those held under this outage incident")] = None,
    before: Annotated[int | None, query_id("`next_before` of the last page")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_ALARMS)] = 100,
) -> AlarmPage:
    """The city's alarms that match every filter given, newest first (viewer and up)."""
    query = AlarmQuery(
        types=frozenset(kind or ()),
        severities=frozenset(severity or ()),
        states=frozenset(state or OPEN_STATES),
        asset_id=_asset_id(container, city, asset),
        parent_id=parent,
        include_held=held,
        bbox=bbox_of(bbox),
        since=since.timestamp() if since else None,
        until=until.timestamp() if until else None,
        before_id=before,
        limit=limit,
    )
    page = container.alarms.query(city, query)
    return AlarmPage(items=[AlarmOut.of(a) for a in page.items], next_before=page.next_after)


@router.get("/cities/{city}/alarms/counts", response_model=AlarmCountsOut)
def alarm_counts(
    city: ReadableCity, container: ContainerDep, state: States = None
) -> AlarmCountsOut:
    """How many alarms per type and severity; by default the active ones (raised, acknowledged).

    Held alarms are not counted: their outage incident stands for them.
    """
    return AlarmCountsOut.of(container.alarms.counts(city, state))


@router.get(
    "/cities/{city}/alarms/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {EVENT_STREAM: {}}, "description": "Server-sent events"}},
)
async def stream_alarms(
    request: Request,
    city: ReadableCity,
    container: ContainerDep,
    token: Annotated[str | None, Depends(caller_token)],
    after: Annotated[
        int | None, query_id("Start after this event id; default: from now", least=0)
    ] = None,
    last_event_id: Annotated[
        str | None,
        Header(
            max_length=20,
            pattern=r"^[0-9]*$",
            description="Set by EventSource when it reconnects: the last event id it received",
        ),
    ] = None,
) -> StreamingResponse:
    """The city's alarm events as server-sent events, as they happen (viewer and up).

    Each event is ``id: <event id>``, ``event: alarm`` and ``data:`` the
    event as JSON with the alarm as it is when sent. A reconnecting client
    resumes after ``Last-Event-ID`` (it wins over ``after``); without
    either the stream starts from now. A ``: keep-alive`` comment comes
    after each quiet stretch.
    """
    start = _resume_point(last_event_id, after)
    service = container.alarms
    # The start is fixed before the answer begins: an event stored once the
    # client has the response headers is sure to be sent.
    cursor = await run_in_threadpool(service.feed_start, start)

    def allowed() -> bool:
        return _still_allowed(container, token, city)

    async def is_open() -> bool:
        return not await request.is_disconnected()

    async def body() -> AsyncIterator[str]:
        yield f"retry: {RETRY_MS}\n\n"
        async for item in service.follow([city.pk], cursor, is_open=is_open, allowed=allowed):
            yield ": keep-alive\n\n" if item is None else _sse(item)

    log.debug("alarm stream of city %s opened after event %s", city.slug, cursor)
    return StreamingResponse(
        body(),
        media_type=EVENT_STREAM,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/cities/{city}/alarms/{alarm_id}", response_model=AlarmDetailOut)
def get_alarm(city: ReadableCity, container: ContainerDep, alarm_id: AlarmId) -> AlarmDetailOut:
    """One alarm of the city, with its history oldest first."""
    alarm = container.alarms.get(city, alarm_id)
    events = container.alarms.history(city, alarm_id)
    return AlarmDetailOut.model_validate(
        {
            **AlarmOut.of(alarm).model_dump(),
            "events": [AlarmEventOut.of(e).model_dump() for e in events],
        }
    )


@router.get("/cities/{city}/alarms/{alarm_id}/events", response_model=list[AlarmEventOut])
def alarm_events(
    city: ReadableCity, container: ContainerDep, alarm_id: AlarmId
) -> list[AlarmEventOut]:
    """One alarm's history, oldest first."""
    return [AlarmEventOut.of(e) for e in container.alarms.history(city, alarm_id)]


@router.post(
    "/cities/{city}/alarms/{alarm_id}/acknowledge", response_model=AlarmOut, responses=Conflict
)
def acknowledge_alarm(
    city: OperatorCity,
    user: UserDep,
    container: ContainerDep,
    alarm_id: AlarmId,
    body: Annotated[StepIn | None, Body()] = None,
) -> AlarmOut:
    """Take an alarm (operator and up); 409 if it is closed or acknowledged already."""
    note = body.note if body else ""
    return AlarmOut.of(container.alarms.acknowledge(city, alarm_id, user.username, note))


@router.post(
    "/cities/{city}/alarms/{alarm_id}/notes",
    response_model=AlarmOut,
    status_code=201,
    responses={422: {"model": ErrorOut}},
)
def add_alarm_note(
    city: OperatorCity, user: UserDep, container: ContainerDep, alarm_id: AlarmId, body: NoteIn
) -> AlarmOut:
    """Add a note to an alarm's history (operator and up), in any state."""
    return AlarmOut.of(container.alarms.add_note(city, alarm_id, user.username, body.note))


@router.post("/cities/{city}/alarms/{alarm_id}/close", response_model=AlarmOut, responses=Conflict)
def close_alarm(
    city: OperatorCity,
    user: UserDep,
    container: ContainerDep,
    alarm_id: AlarmId,
    body: Annotated[StepIn | None, Body()] = None,
) -> AlarmOut:
    """Close a cleared alarm (operator and up); 409 while its condition holds."""
    note = body.note if body else ""
    return AlarmOut.of(container.alarms.close(city, alarm_id, user.username, note))


@router.get("/cities/{city}/detection-settings", response_model=DetectionSettingsOut)
def get_detection_settings(city: ReadableCity, container: ContainerDep) -> DetectionSettingsOut:
    """Every threshold the fault rules apply in the city, and what the city overrides."""
    return DetectionSettingsOut.of(container.alarms.detection_settings(city))


@router.put(
    "/cities/{city}/detection-settings",
    response_model=DetectionSettingsOut,
    responses={422: {"model": ErrorOut}},
)
def put_detection_settings(
    city: AdminCity,
    container: ContainerDep,
    overrides: Annotated[dict[str, Any], Body(description="Setting name -> value; {} resets")],
) -> DetectionSettingsOut:
    """Replace the city's overrides (admin); 422 names the first bad one, and nothing changes."""
    return DetectionSettingsOut.of(container.alarms.set_detection_settings(city, overrides))


def _asset_id(container: Container, city: City, code: str | None) -> int | None:
    if code is None:
        return None
    found = container.inventory.asset_by_code(city, code)
    if found is None:
        raise NotFoundError(f"no asset {code!r} in {city.slug!r}")
    return found.id


def _resume_point(last_event_id: str | None, after: int | None) -> int | None:
    if last_event_id is None or not last_event_id.strip():
        return after
    try:
        resume = int(last_event_id)
    except ValueError:
        raise InvalidInputError("Last-Event-ID must be an event id this stream sent") from None
    if not 0 <= resume <= MAX_ID:
        raise InvalidInputError("Last-Event-ID must be an event id this stream sent")
    return resume


def _still_allowed(container: Container, token: str | None, city: City) -> bool:
    """Whether the stream's caller still has a role in the city (tokens expire, roles go)."""
    try:
        user = container.auth.authenticate(token)
    except SignalightError:
        return False
    return user.role_in(city.pk) is not None


def _sse(item: FeedItem) -> str:
    out = AlarmStreamEventOut.model_validate(
        {
            **AlarmEventOut.of(item.event).model_dump(),
            "alarm": AlarmOut.of(item.alarm) if item.alarm is not None else None,
        }
    )
    return f"id: {item.event.id}\nevent: alarm\ndata: {out.model_dump_json()}\n\n"
