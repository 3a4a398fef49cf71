"""Work orders: the state machine, roles, due times from service levels, incidents, counts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from signalight.adapters.clock import ManualClock
from signalight.adapters.sql.database import SqlDatabase
from signalight.container import Container
from signalight.domain.alarms import AlarmState, AlarmType, Severity
from signalight.domain.assets import AssetKind
from signalight.domain.cities import City
from signalight.domain.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from signalight.domain.maintenance import WorkOrderQuery, WorkOrderState
from signalight.domain.users import Role
from signalight.settings import Settings
from tests.conftest import make_city
from tests.services.maintenance_rig import START, container_at, make_asset, make_user, raise_alarm


@pytest.fixture
def rig(settings: Settings, database: SqlDatabase) -> tuple[Container, ManualClock]:
    return container_at(settings, database)


def test_the_due_time_follows_the_city_service_level_for_the_priority(
    rig: tuple[Container, ManualClock], city: City
) -> None:
    container, _ = rig
    operator = make_user(container, city, Role.OPERATOR)
    light = make_asset(container, city)
    alarm = raise_alarm(container, city, light, severity=Severity.CRITICAL)
    service = container.maintenance

    order = service.create_from_alarm(city, operator, alarm.pk)
    assert order.priority is Severity.CRITICAL
    assert order.due_at == START + timedelta(hours=4)  # the default for critical

    service.set_service_levels(city, {"minor": 10})
    assert service.service_levels(city).hours["minor"] == 10.0
    assert service.service_levels(city).overrides == {"minor": 10.0}
    by_hand = service.create_by_hand(
        city, operator, light.id, title="bent pole", priority=Severity.MINOR
    )
    assert by_hand.due_at == START + timedelta(hours=10)
    with pytest.raises(InvalidInputError, match="priority"):
        service.set_service_levels(city, {"urgent": 1})


def test_the_state_machine_refuses_steps_out_of_order(
    rig: tuple[Container, ManualClock], city: City
) -> None:
    container, clock = rig
    operator = make_user(container, city, Role.OPERATOR)
    crew = make_user(container, city, Role.CREW)
    service = container.maintenance
    light = make_asset(container, city)
    order = service.create_by_hand(city, operator, light.id, title="lamp", priority=Severity.MAJOR)
    assert order.state is WorkOrderState.OPEN

    with pytest.raises(ConflictError, match="only an assigned order can be started"):
        service.start(city, operator, order.pk)
    assigned = service.assign(city, operator, order.pk, crew.username)
    assert (assigned.state, assigned.crew) == (WorkOrderState.ASSIGNED, crew.username)
    with pytest.raises(ConflictError, match="in progress"):
        service.finish(city, crew, order.pk)
    clock.advance(timedelta(minutes=30))
    started = service.start(city, crew, order.pk)
    assert started.state is WorkOrderState.IN_PROGRESS
    assert started.started_at == START + timedelta(minutes=30)
    done = service.finish(city, crew, order.pk)
    assert done.state is WorkOrderState.DONE
    with pytest.raises(ConflictError):
        service.cancel(city, operator, order.pk)
    with pytest.raises(ConflictError):
        service.start(city, crew, order.pk)

    other = service.create_by_hand(city, operator, light.id, title="x", priority=Severity.MINOR)
    assert service.cancel(city, operator, other.pk, "duplicate").state is WorkOrderState.CANCELLED
    with pytest.raises(ConflictError):
        service.assign(city, operator, other.pk, crew.username)


def test_crew_sees_and_works_only_its_own_orders_and_a_viewer_cannot_act(
    rig: tuple[Container, ManualClock], city: City
) -> None:
    container, _ = rig
    operator = make_user(container, city, Role.OPERATOR)
    mine, theirs = make_user(container, city, Role.CREW), make_user(container, city, Role.CREW)
    viewer = make_user(container, city, Role.VIEWER)
    service = container.maintenance
    light = make_asset(container, city)
    a = service.create_by_hand(
        city, operator, light.id, title="a", priority=Severity.MINOR, crew=mine.username
    )
    b = service.create_by_hand(
        city, operator, light.id, title="b", priority=Severity.MINOR, crew=theirs.username
    )

    listed = service.query(city, mine, WorkOrderQuery())
    assert [o.pk for o in listed.items] == [a.pk]
    assert {o.pk for o in service.query(city, viewer, WorkOrderQuery()).items} == {a.pk, b.pk}
    with pytest.raises(PermissionDeniedError):
        service.get(city, mine, b.pk)
    with pytest.raises(PermissionDeniedError):
        service.start(city, mine, b.pk)
    with pytest.raises(PermissionDeniedError):
        service.add_note(city, mine, b.pk, "not mine")
    with pytest.raises(PermissionDeniedError):
        service.start(city, viewer, a.pk)
    with pytest.raises(PermissionDeniedError):
        service.create_by_hand(city, mine, light.id, title="c", priority=Severity.MINOR)
    with pytest.raises(PermissionDeniedError):
        service.cancel(city, mine, a.pk)
    assert service.start(city, mine, a.pk).state is WorkOrderState.IN_PROGRESS
    with pytest.raises(InvalidInputError, match="no crew role"):
        service.assign(city, operator, b.pk, viewer.username)


def test_ids_of_another_city_are_not_found(
    rig: tuple[Container, ManualClock], city: City, database: SqlDatabase
) -> None:
    container, _ = rig
    other = make_city(database)
    operator = make_user(container, city, Role.OPERATOR)
    container.auth.grant(operator.username, other, Role.OPERATOR)
    operator = container.db.users.get_user(operator.username)[0]
    light = make_asset(container, city)
    there = make_asset(container, other)
    order = container.maintenance.create_by_hand(
        city, operator, light.id, title="a", priority=Severity.MINOR
    )
    alarm = raise_alarm(container, city, light)
    with pytest.raises(NotFoundError):
        container.maintenance.get(other, operator, order.pk)
    with pytest.raises(NotFoundError):
        container.maintenance.create_from_alarm(other, operator, alarm.pk)
    with pytest.raises(NotFoundError):
        container.maintenance.create_by_hand(
            city, operator, there.id, title="a", priority=Severity.MINOR
        )


def test_an_incident_groups_the_alarm_its_held_lights_and_the_asset_other_alarms(
    rig: tuple[Container, ManualClock], city: City
) -> None:
    container, _ = rig
    operator = make_user(container, city, Role.OPERATOR)
    cabinet = make_asset(container, city, AssetKind.CABINET)
    light = make_asset(container, city, cabinet=cabinet.code)
    outage = raise_alarm(
        container, city, cabinet, type=AlarmType.SUPPLY_LOSS, severity=Severity.MAJOR
    )
    held = raise_alarm(container, city, light, held=True, parent_id=outage.pk)
    also = raise_alarm(container, city, cabinet, type=AlarmType.LOW_VOLTAGE)
    elsewhere = raise_alarm(container, city, light, type=AlarmType.HIGH_POWER)

    order = container.maintenance.create_from_alarm(city, operator, outage.pk)
    assert set(order.alarm_ids) == {outage.pk, held.pk, also.pk}
    assert elsewhere.pk not in order.alarm_ids
    assert order.priority is Severity.MAJOR
    assert order.asset_code == cabinet.code
    # A second order for one of its alarms joins the same incident.
    second = container.maintenance.create_from_alarm(city, operator, held.pk)
    assert second.incident_id == order.incident_id
    incidents = container.maintenance.incidents(city, open_only=True, before=None, limit=10)
    assert [i.id for i in incidents.items] == [order.incident_id]


def test_counts_open_and_past_due(rig: tuple[Container, ManualClock], city: City) -> None:
    container, clock = rig
    operator = make_user(container, city, Role.OPERATOR)
    light = make_asset(container, city)
    service = container.maintenance
    urgent = service.create_by_hand(city, operator, light.id, title="a", priority=Severity.CRITICAL)
    service.create_by_hand(city, operator, light.id, title="b", priority=Severity.WARNING)
    dropped = service.create_by_hand(
        city, operator, light.id, title="c", priority=Severity.CRITICAL
    )
    service.cancel(city, operator, dropped.pk)
    assert container.db.maintenance.counts(city.pk, clock.now()) == (2, 0)
    clock.advance(timedelta(hours=5))  # past the critical one's 4 h
    assert container.db.maintenance.counts(city.pk, clock.now()) == (2, 1)
    assert service.counts(city) == (2, 1)
    assert service.get(city, operator, urgent.pk).past_due(clock.now())


def test_an_assigned_order_on_a_cabinet_authorises_its_door_within_its_window(
    rig: tuple[Container, ManualClock], city: City
) -> None:
    container, clock = rig
    operator = make_user(container, city, Role.OPERATOR)
    crew = make_user(container, city, Role.CREW)
    cabinet = make_asset(container, city, AssetKind.CABINET)
    crossing = make_asset(container, city, AssetKind.INTERSECTION, cabinet=cabinet.code)
    service = container.maintenance
    order = service.create_by_hand(
        city, operator, crossing.id, title="signal head", priority=Severity.CRITICAL
    )
    assert service.door_authorised(city.pk, cabinet.id, clock.now()) is None  # not assigned
    service.assign(city, operator, order.pk, crew.username)
    found = service.door_authorised(city.pk, cabinet.id, clock.now() + timedelta(hours=1))
    assert found is not None
    assert found.id == order.pk
    late = START + timedelta(hours=4) + timedelta(hours=1, minutes=59)  # due + grace - 1 min
    assert service.door_authorised(city.pk, cabinet.id, late) is not None
    assert service.door_authorised(city.pk, cabinet.id, late + timedelta(minutes=2)) is None
    assert service.door_authorised(city.pk, cabinet.id, START - timedelta(minutes=1)) is None
    service.start(city, crew, order.pk)
    service.finish(city, crew, order.pk)
    assert service.door_authorised(city.pk, cabinet.id, clock.now()) is None


def test_an_order_from_a_closed_alarm_is_refused(
    rig: tuple[Container, ManualClock], city: City
) -> None:
    container, _ = rig
    operator = make_user(container, city, Role.OPERATOR)
    light = make_asset(container, city)
    alarm = raise_alarm(container, city, light)
    from tests.services.maintenance_rig import clear_alarm

    clear_alarm(container, alarm)
    container.alarms.close(city, alarm.pk, operator.username)
    assert container.alarms.get(city, alarm.pk).state is AlarmState.CLOSED
    with pytest.raises(ConflictError, match="closed"):
        container.maintenance.create_from_alarm(city, operator, alarm.pk)
