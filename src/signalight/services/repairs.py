"""Done means fixed: finished work orders confirmed by their alarms, and cabinet doors they open.

A finished order's repair is confirmed by telemetry, not by the crew's
word: each alarm of its incident must be cleared (the condition ended) or
closed. The cleared ones are closed through :class:`AlarmService` with the
actor ``work-order N``, so the alarm's history and the live stream show
who closed it. An alarm still raised or acknowledged leaves the order
``not_confirmed``; :meth:`Repairs.confirm_repairs` looks again, and the
detection loop calls it (:meth:`Repairs.on_alarm_events`) whenever it has
stored a cleared alarm of the city.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

from signalight.domain.alarms import AlarmEvent, AlarmState, EventKind
from signalight.domain.assets import AssetKind, AssetQuery
from signalight.domain.errors import ConflictError, NotFoundError, SignalightError
from signalight.domain.maintenance import (
    ACTIVE_ORDER_STATES,
    DOOR_GRACE,
    LAMP_PART,
    Confirmation,
    Part,
    WorkOrder,
    WorkOrderQuery,
    WorkOrderState,
)

if TYPE_CHECKING:
    from signalight.domain.cities import City
    from signalight.ports import CityRepository, Clock
    from signalight.ports.maintenance import MaintenanceStore
    from signalight.services.alarms import AlarmService
    from signalight.services.inventory import Inventory

__all__ = ["Repairs", "actor_of"]

log = logging.getLogger(__name__)

# The alarm steps after which a waiting order may be confirmed.
_SETTLING: Final = frozenset({EventKind.CLEARED, EventKind.CLOSED})


def actor_of(order: WorkOrder) -> str:
    """Who the alarm history says closed an alarm for ``order``."""
    return f"work-order {order.pk}"


class Repairs:
    """Confirms finished orders by their alarms, records lamp changes, and answers door checks."""

    def __init__(
        self,
        store: MaintenanceStore,
        alarms: AlarmService,
        inventory: Inventory,
        cities: CityRepository,
        clock: Clock,
    ) -> None:
        self._store = store
        self._alarms = alarms
        self._inventory = inventory
        self._cities = cities
        self._clock = clock

    def record_lamp(
        self, city: City, order: WorkOrder, parts: Sequence[Part], at: datetime
    ) -> None:
        """Set the light's ``lamp_changed_on`` to ``at``'s date in the city if a lamp was used.

        Only a streetlight has a lamp; on another asset the part is kept on
        the order and nothing else changes.
        """
        if order.asset_id is None or not any(p.part.strip().lower() == LAMP_PART for p in parts):
            return
        asset = self._inventory.asset(city, order.asset_id)
        if asset.kind is not AssetKind.STREETLIGHT:
            return
        day = at.astimezone(ZoneInfo(city.timezone)).date()
        self._inventory.change(city, asset.id, {"lamp_changed_on": day})
        log.info(
            "lamp of %s in %s changed on %s (work order %s)", asset.code, city.slug, day, order.pk
        )

    def confirm(self, city: City, order: WorkOrder) -> WorkOrder:
        """Close the order's cleared alarms; mark it confirmed if none is still active."""
        pending = 0
        for alarm_id in order.alarm_ids:
            try:
                alarm = self._alarms.get(city, alarm_id)
            except NotFoundError:
                continue  # gone with its asset: nothing left to confirm
            if alarm.state is AlarmState.CLEARED:
                note = f"repaired: work order {order.pk} done and the fault has cleared"
                try:
                    alarm = self._alarms.close(city, alarm_id, actor_of(order), note)
                except ConflictError:
                    alarm = self._alarms.get(city, alarm_id)  # reopened or closed meanwhile
            if alarm.state not in (AlarmState.CLEARED, AlarmState.CLOSED):
                pending += 1
        now = self._clock.now()
        if pending:
            changes: dict[str, object] = {"confirmation": Confirmation.NOT_CONFIRMED}
        else:
            changes = {"confirmation": Confirmation.CONFIRMED, "confirmed_at": now}
        if order.confirmation is Confirmation.NOT_CONFIRMED and pending:
            return order  # nothing changed
        done = self._store.update_work_order(
            city.pk, order.pk, {WorkOrderState.DONE}, {**changes, "updated_at": now}
        )
        if not pending:
            log.info("work order %s of %s: repair confirmed", order.pk, city.slug)
            self._close_incident(city, done, now)
        return done

    def _close_incident(self, city: City, order: WorkOrder, now: datetime) -> None:
        """Close the order's incident once no other order on it is still to be done."""
        if order.incident_id is None:
            return
        others = self._store.query_work_orders(
            city.pk,
            WorkOrderQuery(
                incident_id=order.incident_id, states=frozenset(ACTIVE_ORDER_STATES), limit=1
            ),
        )
        waiting = [
            o
            for o in self._store.awaiting_confirmation(city.pk)
            if o.incident_id == order.incident_id
        ]
        if not others.items and not waiting:
            self._store.close_incident(city.pk, order.incident_id, now)

    def confirm_repairs(self, city_pk: int) -> list[WorkOrder]:
        """Look again at the city's not-confirmed orders; returns those confirmed now."""
        waiting = self._store.awaiting_confirmation(city_pk)
        if not waiting:
            return []
        found = self._cities.list_cities([city_pk])
        if not found:
            return []
        city = found[0]
        confirmed: list[WorkOrder] = []
        for order in waiting:
            try:
                done = self.confirm(city, order)
            except ConflictError:
                continue  # another process confirmed it meanwhile
            if done.confirmation is Confirmation.CONFIRMED:
                confirmed.append(done)
        return confirmed

    def on_alarm_events(self, events: Sequence[AlarmEvent]) -> None:
        """The detection loop's hook: confirm repairs in each city where an alarm settled.

        Called with the events of each flush, on the detection thread; a
        failure is logged and never reaches the detector.
        """
        cities = sorted({e.city_id for e in events if e.kind in _SETTLING})
        for city_pk in cities:
            try:
                self.confirm_repairs(city_pk)
            except SignalightError as exc:
                log.warning("confirming repairs of city %s failed: %s", city_pk, exc)

    def door_authorised(self, city_pk: int, asset_id: int, at: datetime) -> WorkOrder | None:
        """The order that authorises opening this cabinet's door at ``at``, or None.

        An order assigned or in progress on the cabinet itself, or on an
        intersection the cabinet serves, whose window [created_at, due_at +
        DOOR_GRACE] holds ``at``. The earliest such order is returned.
        """
        found = self._cities.list_cities([city_pk])
        if not found:
            return None
        city = found[0]
        served = self._inventory.assets(
            city, AssetQuery(kind=AssetKind.INTERSECTION, cabinet_id=asset_id, limit=1000)
        )
        ids = [asset_id, *(a.id for a in served.items)]
        orders = self._store.door_orders(city_pk, ids, at, DOOR_GRACE.total_seconds())
        return orders[0] if orders else None
