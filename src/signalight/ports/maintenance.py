"""Maintenance: incidents, work orders, their notes and photos, and cities' service levels."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from signalight.domain.assets import Page
from signalight.domain.maintenance import (
    Incident,
    Photo,
    WorkOrder,
    WorkOrderNote,
    WorkOrderQuery,
    WorkOrderState,
)

__all__ = ["MaintenanceStore"]


class MaintenanceStore(Protocol):
    """Incidents and work orders of every city; every read and write names the city.

    A state change is guarded by the state it expects, so two people acting
    on one order at once never overwrite each other (the later one gets a
    ConflictError).
    """

    # Incidents.

    def open_incident(
        self, city_id: int, asset_id: int | None, alarm_ids: Sequence[int], at: datetime
    ) -> Incident:
        """Store a new open incident grouping ``alarm_ids``."""
        ...

    def incident_of_alarm(self, city_id: int, alarm_id: int) -> Incident | None:
        """The open incident that holds the alarm, if any."""
        ...

    def get_incident(self, city_id: int, incident_id: int) -> Incident:
        """One incident of the city; NotFoundError if none."""
        ...

    def query_incidents(
        self, city_id: int, *, open_only: bool, before_id: int | None, limit: int
    ) -> Page[Incident]:
        """The city's incidents, newest first; ``next_after`` is the id to go before."""
        ...

    def close_incident(self, city_id: int, incident_id: int, at: datetime) -> None:
        """Close the incident if it is open."""
        ...

    # Work orders.

    def add_work_order(self, order: WorkOrder) -> WorkOrder:
        """Store a new work order; returns it with its id."""
        ...

    def get_work_order(self, city_id: int, order_id: int) -> WorkOrder:
        """One work order of the city, with its incident's alarm ids; NotFoundError if none."""
        ...

    def query_work_orders(self, city_id: int, query: WorkOrderQuery) -> Page[WorkOrder]:
        """The city's work orders that match, newest first."""
        ...

    def update_work_order(
        self,
        city_id: int,
        order_id: int,
        expected: Collection[WorkOrderState],
        changes: Mapping[str, Any],
    ) -> WorkOrder:
        """Set fields of an order still in one of the ``expected`` states; returns it after.

        Raises:
            NotFoundError: The city has no such order.
            ConflictError: The order is not (any more) in an expected state.
        """
        ...

    def awaiting_confirmation(self, city_id: int) -> list[WorkOrder]:
        """The city's done orders whose repair is not confirmed yet, oldest first."""
        ...

    def door_orders(
        self, city_id: int, asset_ids: Collection[int], at: datetime, grace_s: float
    ) -> list[WorkOrder]:
        """Assigned or in-progress orders on those assets whose window holds ``at``.

        The window is [created_at, due_at + grace_s].
        """
        ...

    def counts(self, city_id: int, now: datetime) -> tuple[int, int]:
        """(open, past_due): orders not done nor cancelled, and those of them due before ``now``."""
        ...

    # Notes and photos.

    def add_note(self, city_id: int, note: WorkOrderNote) -> WorkOrderNote:
        """Store a note on one of the city's orders."""
        ...

    def notes(self, city_id: int, order_id: int) -> list[WorkOrderNote]:
        """An order's notes, oldest first."""
        ...

    def add_photo(self, city_id: int, photo: Photo) -> Photo:
        """Store a photo (already re-encoded) on one of the city's orders."""
        ...

    def photos(self, city_id: int, order_id: int) -> list[Photo]:
        """An order's photos without their bytes, oldest first."""
        ...

    def get_photo(self, city_id: int, order_id: int, photo_id: int) -> Photo:
        """One photo with its bytes; NotFoundError if the order has no such photo."""
        ...

    # Settings.

    def service_overrides(self, city_id: int) -> dict[str, float]:
        """The city's service-level hours that differ from the defaults, by priority word."""
        ...

    def set_service_overrides(
        self, city_id: int, overrides: Mapping[str, float], at: datetime
    ) -> None:
        """Replace the city's service-level overrides."""
        ...
