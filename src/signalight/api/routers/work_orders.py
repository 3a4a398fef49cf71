"""A city's work orders: lists, one order, its steps (assign, start, finish, cancel), notes, photos.

Roles (checked by :class:`MaintenanceService`, the city by ``api/deps.py``):
a viewer reads every order; a crew member reads and works only the orders
assigned to them (403 on another's); an operator makes, assigns, works and
cancels any. A step the order's state does not allow is 409.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Body, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from signalight.api.deps import CITY_ERRORS, ContainerDep, OperatorCity, ReadableCity, UserDep
from signalight.api.maintenance_schemas import (
    AssignIn,
    CancelIn,
    CrewMemberOut,
    FinishIn,
    NoteIn,
    NoteOut,
    PhotoOut,
    WorkOrderDetailOut,
    WorkOrderIn,
    WorkOrderOut,
    WorkOrderPage,
)
from signalight.api.params import path_id, query_id
from signalight.api.schemas import ErrorOut
from signalight.api.uploads import read_limited
from signalight.container import Container
from signalight.domain.errors import InvalidInputError
from signalight.domain.maintenance import WorkOrder, WorkOrderQuery, WorkOrderState
from signalight.services.photos import MAX_PHOTO_BYTES

router = APIRouter(tags=["work orders"], responses=CITY_ERRORS)

MAX_ORDERS: Final = 1000
IMAGE_TYPES: Final = ("image/jpeg", "image/png", "image/webp")
OrderId = Annotated[int, path_id("The work order's id")]
PhotoId = Annotated[int, path_id("The photo's id")]
Conflict: Final[dict[int | str, dict[str, Any]]] = {409: {"model": ErrorOut}}
BASE: Final = "/cities/{city}/work-orders"


def _out(container: Container, order: WorkOrder) -> WorkOrderOut:
    return WorkOrderOut.of(order, container.clock.now())


@router.get("/cities/{city}/crew", response_model=list[CrewMemberOut])
def list_crew(city: OperatorCity, container: ContainerDep) -> list[CrewMemberOut]:
    """Who an order may be assigned to (operator): enabled users of the city above viewer."""
    return [
        CrewMemberOut(username=user.username, role=user.roles[city.pk])
        for user in container.maintenance.crew(city)
    ]


@router.get(BASE, response_model=WorkOrderPage)
def list_work_orders(
    city: ReadableCity,
    user: UserDep,
    container: ContainerDep,
    state: Annotated[
        list[WorkOrderState] | None, Query(description="Repeat for several; default: all")
    ] = None,
    crew: Annotated[str | None, Query(max_length=64, description="Assigned to this user")] = None,
    asset: Annotated[int | None, query_id("On this asset (its id)")] = None,
    incident: Annotated[int | None, query_id("For this incident")] = None,
    mine: Annotated[bool, Query(description="Only those assigned to me")] = False,
    before: Annotated[int | None, query_id("`next_before` of the last page")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_ORDERS)] = 100,
) -> WorkOrderPage:
    """The city's work orders, newest first (viewer and up; a crew member sees only their own)."""
    query = WorkOrderQuery(
        states=frozenset(state or ()),
        crew=user.username if mine else crew,
        asset_id=asset,
        incident_id=incident,
        before_id=before,
        limit=limit,
    )
    page = container.maintenance.query(city, user, query)
    return WorkOrderPage(
        items=[_out(container, o) for o in page.items], next_before=page.next_after
    )


@router.post(BASE, response_model=WorkOrderOut, status_code=201, responses=Conflict)
def create_work_order(
    city: OperatorCity, user: UserDep, container: ContainerDep, body: WorkOrderIn
) -> WorkOrderOut:
    """Make a work order (operator and up), due by the city's service level for its priority.

    From an alarm (its open incident, or a new one grouping it with the
    alarms held under it and its asset's other active alarms; 409 if the
    alarm is closed), from an open incident, or by hand on an asset.
    """
    service = container.maintenance
    if body.alarm is not None:
        order = service.create_from_alarm(
            city, user, body.alarm, title=body.title, priority=body.priority, crew=body.crew
        )
    elif body.incident is not None:
        order = service.create_from_incident(
            city,
            user,
            body.incident,
            title=body.title,
            priority=body.priority,
            crew=body.crew,
        )
    else:
        if body.asset is None or body.title is None or body.priority is None:
            raise InvalidInputError("give exactly one of alarm, incident or asset")
        order = service.create_by_hand(
            city, user, body.asset, title=body.title, priority=body.priority, crew=body.crew
        )
    return _out(container, order)


@router.get(f"{BASE}/{{order_id}}", response_model=WorkOrderDetailOut)
def get_work_order(
    city: ReadableCity, user: UserDep, container: ContainerDep, order_id: OrderId
) -> WorkOrderDetailOut:
    """One work order with its notes and photos (a crew member: their own only)."""
    detail = container.maintenance.detail(city, user, order_id)
    return WorkOrderDetailOut.of_detail(detail, container.clock.now())


@router.post(f"{BASE}/{{order_id}}/assign", response_model=WorkOrderOut, responses=Conflict)
def assign_work_order(
    city: OperatorCity, user: UserDep, container: ContainerDep, order_id: OrderId, body: AssignIn
) -> WorkOrderOut:
    """Give the order to a crew member (operator and up); 422 if they have no crew role here."""
    return _out(container, container.maintenance.assign(city, user, order_id, body.crew))


@router.post(f"{BASE}/{{order_id}}/start", response_model=WorkOrderOut, responses=Conflict)
def start_work_order(
    city: ReadableCity, user: UserDep, container: ContainerDep, order_id: OrderId
) -> WorkOrderOut:
    """The crew is on site (its crew, or an operator); 409 unless the order is assigned."""
    return _out(container, container.maintenance.start(city, user, order_id))


@router.post(f"{BASE}/{{order_id}}/notes", response_model=NoteOut, status_code=201)
def add_work_order_note(
    city: ReadableCity, user: UserDep, container: ContainerDep, order_id: OrderId, body: NoteIn
) -> NoteOut:
    """Add a note (its crew, or an operator), in any state."""
    return NoteOut.of(container.maintenance.add_note(city, user, order_id, body.note))


@router.post(
    f"{BASE}/{{order_id}}/photos",
    response_model=PhotoOut,
    status_code=201,
    responses={413: {"model": ErrorOut}, 415: {"model": ErrorOut}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                kind: {"schema": {"type": "string", "format": "binary"}} for kind in IMAGE_TYPES
            },
        },
    },
)
async def add_work_order_photo(
    request: Request, city: ReadableCity, user: UserDep, container: ContainerDep, order_id: OrderId
) -> Response:
    """Add a photo (its crew, or an operator): the raw JPEG, PNG or WebP as the body, 8 MB at most.

    The image is decoded and encoded again from its pixels, so EXIF (GPS,
    the phone's serial) and any other metadata are not kept. 413 over 8 MB,
    415 for a body that says it is not an image, 422 for one that does not
    decode or has more than 40 megapixels.
    """
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type and not media_type.startswith("image/"):
        message = f"send the photo as image/jpeg, image/png or image/webp, not {media_type[:60]}"
        return Response(
            ErrorOut(error="unsupported_media_type", message=message).model_dump_json(
                exclude_none=True
            ),
            status_code=415,
            media_type="application/json",
        )
    await run_in_threadpool(container.maintenance.workable, city, user, order_id)
    data = await read_limited(request, MAX_PHOTO_BYTES)
    photo = await run_in_threadpool(container.maintenance.add_photo, city, user, order_id, data)
    body = PhotoOut.of(photo).model_dump_json()
    return Response(body, status_code=201, media_type="application/json")


@router.get(
    f"{BASE}/{{order_id}}/photos/{{photo_id}}",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}}, "description": "The photo"}},
)
def get_work_order_photo(
    city: ReadableCity,
    user: UserDep,
    container: ContainerDep,
    order_id: OrderId,
    photo_id: PhotoId,
) -> Response:
    """One photo of the order, as stored (JPEG or PNG, no metadata)."""
    photo = container.maintenance.photo(city, user, order_id, photo_id)
    return Response(
        photo.data,
        media_type=photo.media_type,
        headers={"Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )


@router.post(f"{BASE}/{{order_id}}/finish", response_model=WorkOrderOut, responses=Conflict)
def finish_work_order(
    city: ReadableCity,
    user: UserDep,
    container: ContainerDep,
    order_id: OrderId,
    body: Annotated[FinishIn | None, Body()] = None,
) -> WorkOrderOut:
    """The job is done (its crew, or an operator); 409 unless it is in progress.

    The incident's cleared alarms are closed (actor ``work-order N``); the
    order is ``confirmed`` if none is still active, else ``not_confirmed``
    until they clear. A part ``lamp`` sets the light's ``lamp_changed_on``.
    """
    body = body or FinishIn()
    parts = [p.domain() for p in body.parts]
    order = container.maintenance.finish(city, user, order_id, parts, body.note)
    return _out(container, order)


@router.post(f"{BASE}/{{order_id}}/cancel", response_model=WorkOrderOut, responses=Conflict)
def cancel_work_order(
    city: OperatorCity,
    user: UserDep,
    container: ContainerDep,
    order_id: OrderId,
    body: Annotated[CancelIn | None, Body()] = None,
) -> WorkOrderOut:
    """Drop the order (operator and up); 409 once it is done or cancelled."""
    note = body.note if body else ""
    return _out(container, container.maintenance.cancel(city, user, order_id, note))
