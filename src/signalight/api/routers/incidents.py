"""A city's incidents (what belongs together, repaired by work orders) and its service levels."""

from __future__ import annotations

from typing import Annotated, Final, Literal

from fastapi import APIRouter, Query

from signalight.api.deps import CITY_ERRORS, AdminCity, ContainerDep, ReadableCity, UserDep
from signalight.api.maintenance_schemas import (
    IncidentDetailOut,
    IncidentOut,
    IncidentPage,
    MaintenanceSettingsIn,
    MaintenanceSettingsOut,
    WorkOrderOut,
)
from signalight.api.params import path_id, query_id
from signalight.domain.maintenance import WorkOrderQuery

router = APIRouter(tags=["work orders"], responses=CITY_ERRORS)

MAX_INCIDENTS: Final = 1000
IncidentId = Annotated[int, path_id("The incident's id")]


@router.get("/cities/{city}/incidents", response_model=IncidentPage)
def list_incidents(
    city: ReadableCity,
    container: ContainerDep,
    state: Annotated[Literal["open", "all"], Query(description="open (default) or all")] = "open",
    before: Annotated[int | None, query_id("`next_before` of the last page")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_INCIDENTS)] = 100,
) -> IncidentPage:
    """The city's incidents, newest first (viewer and up)."""
    page = container.maintenance.incidents(
        city, open_only=state == "open", before=before, limit=limit
    )
    return IncidentPage(items=[IncidentOut.of(i) for i in page.items], next_before=page.next_after)


@router.get("/cities/{city}/incidents/{incident_id}", response_model=IncidentDetailOut)
def get_incident(
    city: ReadableCity, user: UserDep, container: ContainerDep, incident_id: IncidentId
) -> IncidentDetailOut:
    """One incident with its alarm ids and work orders (a crew member sees their own orders)."""
    incident = container.maintenance.incident(city, incident_id)
    orders = container.maintenance.query(
        city, user, WorkOrderQuery(incident_id=incident_id, limit=1000)
    )
    now = container.clock.now()
    return IncidentDetailOut(
        **IncidentOut.of(incident).model_dump(),
        work_orders=[WorkOrderOut.of(o, now) for o in orders.items],
    )


@router.get("/cities/{city}/maintenance-settings", response_model=MaintenanceSettingsOut)
def get_maintenance_settings(city: ReadableCity, container: ContainerDep) -> MaintenanceSettingsOut:
    """The hours from a work order's creation to its due time, per priority (viewer and up)."""
    return MaintenanceSettingsOut.of(container.maintenance.service_levels(city))


@router.put("/cities/{city}/maintenance-settings", response_model=MaintenanceSettingsOut)
def put_maintenance_settings(
    city: AdminCity, container: ContainerDep, body: MaintenanceSettingsIn
) -> MaintenanceSettingsOut:
    """Replace the city's service-level overrides (admin); orders made later are due by them."""
    overrides = {str(k): v for k, v in body.service_hours.items()}
    return MaintenanceSettingsOut.of(container.maintenance.set_service_levels(city, overrides))
