"""A city's maintenance windows: who may open an intersection's cabinet door, and when.

Roles (checked by :class:`DoorWindows`, the city by ``api/deps.py``): an
operator or admin opens windows and ends any; a crew member reads only the
windows naming them (403 on another's) and may end their own; a viewer
reads every window. Ending a window that is over is 409.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Query

from signalight.api.deps import CITY_ERRORS, ContainerDep, OperatorCity, ReadableCity, UserDep
from signalight.api.params import IsoTime, path_id, query_id
from signalight.api.schemas import ErrorOut
from signalight.api.window_schemas import WindowIn, WindowOut, WindowPage
from signalight.container import Container
from signalight.domain.windows import MaintenanceWindow, WindowQuery

router = APIRouter(tags=["maintenance windows"], responses=CITY_ERRORS)

MAX_WINDOWS: Final = 1000
WindowId = Annotated[int, path_id("The maintenance window's id")]
Conflict: Final[dict[int | str, dict[str, Any]]] = {409: {"model": ErrorOut}}
BASE: Final = "/cities/{city}/maintenance-windows"


def _out(container: Container, window: MaintenanceWindow) -> WindowOut:
    return WindowOut.of(window, container.clock.now())


@router.get(BASE, response_model=WindowPage)
def list_windows(
    city: ReadableCity,
    user: UserDep,
    container: ContainerDep,
    asset: Annotated[
        str | None, Query(max_length=64, description="On this intersection or cabinet (its code)")
    ] = None,
    active_at: Annotated[
        IsoTime | None, Query(description="Only those authorising the door at this time")
    ] = None,
    who: Annotated[str | None, Query(max_length=64, description="Naming this user")] = None,
    before: Annotated[int | None, query_id("`next_before` of the last page")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_WINDOWS)] = 100,
) -> WindowPage:
    """The city's windows, newest first (viewer and up; a crew member sees only their own)."""
    service = container.windows
    query = WindowQuery(
        asset_id=None if asset is None else service.asset_id(city, asset),
        who=who,
        active_at=active_at,
        before_id=before,
        limit=limit,
    )
    page = service.query(city, user, query)
    return WindowPage(items=[_out(container, w) for w in page.items], next_before=page.next_after)


@router.post(BASE, response_model=WindowOut, status_code=201)
def open_window(
    city: OperatorCity, user: UserDep, container: ContainerDep, body: WindowIn
) -> WindowOut:
    """Open a window (operator and up): ``who`` may open the cabinet door from ``starts_at``.

    422 if the asset is no intersection or cabinet of the city, the span is
    unordered, over, or longer than 7 days, or ``who`` has no crew role or
    above in the city.
    """
    window = container.windows.open(
        city,
        user,
        body.asset,
        body.starts_at,
        body.ends_at,
        who=body.who,
        why=body.why,
        work_order_id=body.work_order,
    )
    return _out(container, window)


@router.get(f"{BASE}/{{window_id}}", response_model=WindowOut)
def get_window(
    city: ReadableCity, user: UserDep, container: ContainerDep, window_id: WindowId
) -> WindowOut:
    """One window (a crew member: their own only)."""
    return _out(container, container.windows.get(city, user, window_id))


@router.delete(f"{BASE}/{{window_id}}", response_model=WindowOut, responses=Conflict)
def end_window(
    city: ReadableCity, user: UserDep, container: ContainerDep, window_id: WindowId
) -> WindowOut:
    """End a window now (an operator, or the crew member it names); 409 once it is over.

    The window is kept, with ``ended_at``; from then on it authorises nothing.
    """
    return _out(container, container.windows.end(city, user, window_id))
