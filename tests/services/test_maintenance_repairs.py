"""Done means fixed: a finished order closes its cleared alarms, confirmed only when all clear.

Also the lamp part's lamp date, and the detection loop's hook that
confirms waiting orders when the detector stores a cleared alarm.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from signalight.adapters.clock import ManualClock
from signalight.adapters.sql.database import SqlDatabase
from signalight.container import Container
from signalight.domain.alarms import AlarmEvent, AlarmState, EventKind
from signalight.domain.assets import AssetKind
from signalight.domain.cities import City
from signalight.domain.maintenance import Confirmation, Part
from signalight.domain.users import Role
from signalight.services.detection_loop import DetectionLoop
from signalight.settings import Settings
from tests.services.maintenance_rig import (
    START,
    clear_alarm,
    container_at,
    make_asset,
    make_user,
    raise_alarm,
)


@pytest.fixture
def rig(settings: Settings, database: SqlDatabase) -> tuple[Container, ManualClock]:
    return container_at(settings, database)


def _worked(container: Container, city: City, alarm_id: int) -> tuple[int, Any]:
    """An order made from the alarm, assigned, started; returns its id and its crew."""
    operator = make_user(container, city, Role.OPERATOR)
    crew = make_user(container, city, Role.CREW)
    service = container.maintenance
    order = service.create_from_alarm(city, operator, alarm_id, crew=crew.username)
    service.start(city, crew, order.pk)
    return order.pk, crew


def test_finishing_closes_a_cleared_alarm_and_confirms_the_repair(
    rig: tuple[Container, ManualClock], city: City
) -> None:
    container, _ = rig
    light = make_asset(container, city)
    alarm = raise_alarm(container, city, light)
    order_id, crew = _worked(container, city, alarm.pk)
    clear_alarm(container, alarm)  # telemetry: the lamp burns again

    done = container.maintenance.finish(city, crew, order_id, note="new lamp")
    assert done.confirmation is Confirmation.CONFIRMED
    assert done.confirmed_at is not None
    closed = container.alarms.get(city, alarm.pk)
    assert closed.state is AlarmState.CLOSED
    assert closed.closed_by == f"work-order {order_id}"
    last = container.alarms.history(city, alarm.pk)[-1]
    assert (last.kind, last.actor) == (EventKind.CLOSED, f"work-order {order_id}")
    assert f"work order {order_id}" in last.note
    incident = container.maintenance.incident(city, done.incident_id or 0)
    assert not incident.open


def test_an_alarm_still_raised_leaves_the_order_not_confirmed_until_it_clears(
    rig: tuple[Container, ManualClock], city: City
) -> None:
    container, _ = rig
    light = make_asset(container, city)
    alarm = raise_alarm(container, city, light)
    order_id, crew = _worked(container, city, alarm.pk)

    done = container.maintenance.finish(city, crew, order_id)
    assert done.confirmation is Confirmation.NOT_CONFIRMED
    assert done.confirmed_at is None
    assert container.alarms.get(city, alarm.pk).state is AlarmState.RAISED
    assert container.maintenance.confirm_repairs(city.pk) == []  # nothing cleared yet

    clear_alarm(container, alarm)
    confirmed = container.maintenance.confirm_repairs(city.pk)
    assert [o.pk for o in confirmed] == [order_id]
    assert confirmed[0].confirmation is Confirmation.CONFIRMED
    assert container.alarms.get(city, alarm.pk).closed_by == f"work-order {order_id}"
    assert container.maintenance.confirm_repairs(city.pk) == []  # done once


def test_the_detection_loop_confirms_repairs_after_a_flush_that_stored_a_clearing(
    rig: tuple[Container, ManualClock], city: City
) -> None:
    container, _ = rig
    light = make_asset(container, city)
    alarm = raise_alarm(container, city, light)
    order_id, crew = _worked(container, city, alarm.pk)
    container.maintenance.finish(city, crew, order_id)

    events = clear_alarm(container, alarm)

    class Flushing:
        """A detector whose next flush stores the clearing."""

        def __init__(self) -> None:
            self.pending: list[AlarmEvent] = list(events)

        def tick(self) -> None:
            pass

        def flush(self) -> list[AlarmEvent]:
            out, self.pending = self.pending, []
            return out

    loop = DetectionLoop(Flushing(), tick_s=3600)  # type: ignore[arg-type]
    loop.event_listeners.append(container.repairs.on_alarm_events)
    loop.start()
    loop.stop()  # a last tick and flush, as at shutdown
    order = container.maintenance.get(city, crew, order_id)
    assert order.confirmation is Confirmation.CONFIRMED
    assert container.alarms.get(city, alarm.pk).state is AlarmState.CLOSED


def test_the_container_wires_the_hook_into_its_detection_loop(
    rig: tuple[Container, ManualClock],
) -> None:
    container, _ = rig
    listeners = container.detection.event_listeners
    assert container.repairs.on_alarm_events in listeners


def test_a_failing_listener_never_reaches_the_detector() -> None:
    class Once:
        def tick(self) -> None:
            pass

        def flush(self) -> list[AlarmEvent]:
            return [AlarmEvent(alarm_id=1, city_id=1, kind=EventKind.CLEARED, at=0.0,
                               state=AlarmState.CLEARED)]  # fmt: skip

    def broken(_events: object) -> None:
        raise RuntimeError("boom")

    loop = DetectionLoop(Once(), tick_s=3600)  # type: ignore[arg-type]
    loop.event_listeners.append(broken)
    loop.start()
    loop.stop()
    assert loop.failures == 1


def test_a_lamp_part_sets_the_light_lamp_date_in_the_city(
    rig: tuple[Container, ManualClock], city: City
) -> None:
    container, clock = rig
    light = make_asset(container, city, lamp_changed_on=date(2020, 1, 1))
    alarm = raise_alarm(container, city, light)
    order_id, crew = _worked(container, city, alarm.pk)
    clock.advance(timedelta(hours=17))  # 2026-01-06 01:00 UTC, 09:00 in Kuala Lumpur
    done = container.maintenance.finish(city, crew, order_id, [Part("lamp"), Part("fuse", 2)])
    assert [(p.part, p.quantity) for p in done.parts] == [("lamp", 1), ("fuse", 2)]
    assert container.inventory.asset(city, light.id).lamp_changed_on == date(2026, 1, 6)
    assert START.date() == date(2026, 1, 5)


def test_parts_without_a_lamp_leave_the_lamp_date_and_a_cabinet_has_none(
    rig: tuple[Container, ManualClock], city: City
) -> None:
    container, _ = rig
    light = make_asset(container, city, lamp_changed_on=date(2020, 1, 1))
    cabinet = make_asset(container, city, AssetKind.CABINET)
    for asset in (light, cabinet):
        alarm = raise_alarm(container, city, asset)
        order_id, crew = _worked(container, city, alarm.pk)
        parts = [Part("fuse")] if asset is light else [Part("lamp")]
        container.maintenance.finish(city, crew, order_id, parts)
    assert container.inventory.asset(city, light.id).lamp_changed_on == date(2020, 1, 1)
    assert container.inventory.asset(city, cabinet.id).lamp_changed_on is None
