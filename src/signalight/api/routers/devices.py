"""Devices in the street, as the inventory knows them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from signalight.api.deps import CITY_ERRORS, ContainerDep, ReadableCity
from signalight.api.pagination import MAX_LIMIT, decode_cursor, encode_cursor
from signalight.api.schemas import DeviceOut, DevicePage, ErrorOut
from signalight.domain.assets import DeviceKind

router = APIRouter(tags=["devices"], responses=CITY_ERRORS)


@router.get("/cities/{city}/devices", response_model=DevicePage)
def list_devices(
    city: ReadableCity,
    container: ContainerDep,
    kind: DeviceKind | None = None,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> DevicePage:
    """The city's devices, a page at a time."""
    page = container.inventory.devices(city, kind, decode_cursor(cursor), limit)
    return DevicePage(
        items=[DeviceOut.model_validate(d) for d in page.items],
        next_cursor=encode_cursor(page.next_after),
    )


@router.get(
    "/cities/{city}/devices/{uid}", response_model=DeviceOut, responses={404: {"model": ErrorOut}}
)
def get_device(
    city: ReadableCity, container: ContainerDep, uid: Annotated[str, Path(max_length=64)]
) -> DeviceOut:
    """One device by its id."""
    return DeviceOut.model_validate(container.inventory.device(city, uid))
