"""The alarm store on SQLite and PostgreSQL: the detector's steps, operators' steps, the feed."""

from __future__ import annotations

import threading
import time

import pytest

from signalight.adapters.sql.alarm_rows import insert_alarm
from signalight.adapters.sql.database import SqlDatabase
from signalight.domain.alarms import (
    Alarm,
    AlarmEvent,
    AlarmQuery,
    AlarmState,
    AlarmType,
    EventKind,
    Severity,
)
from signalight.domain.assets import AssetKind, AssetQuery, AssetRecord
from signalight.domain.cities import City
from signalight.domain.errors import ConflictError, InvalidInputError, NotFoundError
from tests.conftest import make_city

T0 = 1_000_000_000.0
ALL_STATES = frozenset(AlarmState)


def make_alarm(city: City, **overrides: object) -> Alarm:
    """An unsaved lamp failure in ``city``; any field can be overridden."""
    values: dict[str, object] = {
        "city_id": city.pk,
        "type": AlarmType.LAMP_FAILURE,
        "severity": Severity.MINOR,
        "raised_at": T0,
        "observed_at": T0 - 30,
        "updated_at": T0,
        "message": "draws 3 W of the 60 W expected",
        "detail": {"power": 3.0, "expected": 60.0},
    }
    values.update(overrides)
    return Alarm(**values)  # type: ignore[arg-type]


def raised(db: SqlDatabase, city: City, **overrides: object) -> Alarm:
    alarm = make_alarm(city, **overrides)
    kind = EventKind.HELD if alarm.held else EventKind.RAISED
    db.alarms.record([(alarm, kind, alarm.raised_at)])
    return alarm


def kinds(db: SqlDatabase, alarm: Alarm) -> list[EventKind]:
    return [event.kind for event in db.alarms.history(alarm.city_id, alarm.pk)]


def lights(db: SqlDatabase, city: City) -> dict[str, int]:
    """Two lights a few hundred metres apart, and their asset ids by code."""
    db.assets.upsert_assets(
        city.pk,
        [
            AssetRecord(kind=AssetKind.STREETLIGHT, code="SL-W", lat=5.380, lon=100.400),
            AssetRecord(kind=AssetKind.STREETLIGHT, code="SL-E", lat=5.380, lon=100.410),
        ],
    )
    return {a.code: a.id for a in db.assets.query_assets(city.pk, AssetQuery()).items}


def test_raised_and_held_alarms_are_inserted_with_their_event(
    database: SqlDatabase, city: City
) -> None:
    incident = make_alarm(city, type=AlarmType.SUPPLY_LOSS, severity=Severity.CRITICAL)
    events = database.alarms.record([(incident, EventKind.RAISED, T0)])
    assert incident.id is not None
    assert [(e.kind, e.state, e.alarm_id, e.actor) for e in events] == [
        (EventKind.RAISED, AlarmState.RAISED, incident.id, None)
    ]
    held = make_alarm(city, held=True, parent_id=incident.id, raised_at=T0 + 5)
    (event,) = database.alarms.record([(held, EventKind.HELD, T0 + 5)])
    assert event.kind is EventKind.HELD
    stored = database.alarms.get_alarm(city.pk, held.pk)
    assert stored.held
    assert stored.parent_id == incident.id
    assert stored.state is AlarmState.RAISED
    assert stored.detail == {"power": 3.0, "expected": 60.0}
    assert stored.message == held.message
    assert (stored.raised_at, stored.observed_at, stored.occurrences) == (T0 + 5, T0 - 30, 1)
    with pytest.raises(NotFoundError):
        database.alarms.get_alarm(make_city(database).pk, held.pk)


def test_clearing_is_guarded_by_the_state(database: SqlDatabase, city: City) -> None:
    alarm = raised(database, city)
    alarm.state, alarm.cleared_at = AlarmState.CLEARED, T0 + 60
    (event,) = database.alarms.record([(alarm, EventKind.CLEARED, T0 + 60)])
    assert (event.kind, event.state) == (EventKind.CLEARED, AlarmState.CLEARED)
    stored = database.alarms.get_alarm(city.pk, alarm.pk)
    assert (stored.state, stored.cleared_at, stored.updated_at) == (
        AlarmState.CLEARED,
        T0 + 60,
        T0 + 60,
    )
    # Cleared twice: the second is no step at all.
    assert database.alarms.record([(alarm, EventKind.CLEARED, T0 + 61)]) == []
    database.alarms.act(city.pk, alarm.pk, EventKind.CLOSED, "ana", T0 + 90, "")
    # The detector's copy still thinks it cleared; a late clearing leaves a closed alarm closed.
    assert database.alarms.record([(alarm, EventKind.CLEARED, T0 + 95)]) == []
    assert database.alarms.record([(alarm, EventKind.CLOSED, T0 + 3700)]) == []
    stored = database.alarms.get_alarm(city.pk, alarm.pk)
    assert (stored.state, stored.closed_by, stored.closed_at) == (AlarmState.CLOSED, "ana", T0 + 90)
    assert kinds(database, alarm) == [EventKind.RAISED, EventKind.CLEARED, EventKind.CLOSED]


def test_the_detector_closes_a_cleared_alarm_once_its_window_passes(
    database: SqlDatabase, city: City
) -> None:
    alarm = raised(database, city)
    alarm.state = AlarmState.CLEARED
    database.alarms.record([(alarm, EventKind.CLEARED, T0 + 60)])
    alarm.state = AlarmState.CLOSED
    (event,) = database.alarms.record([(alarm, EventKind.CLOSED, T0 + 3700)])
    assert (event.kind, event.state, event.actor) == (EventKind.CLOSED, AlarmState.CLOSED, None)
    stored = database.alarms.get_alarm(city.pk, alarm.pk)
    assert (stored.state, stored.closed_at, stored.closed_by) == (
        AlarmState.CLOSED,
        T0 + 3700,
        None,
    )
    assert alarm.id not in {a.id for a in database.alarms.open_alarms()}


def test_reopening_a_cleared_alarm_counts_an_occurrence_and_asks_for_a_new_acknowledgement(
    database: SqlDatabase, city: City
) -> None:
    alarm = raised(database, city)
    database.alarms.act(city.pk, alarm.pk, EventKind.ACKNOWLEDGED, "ana", T0 + 10, "on it")
    database.alarms.record([(alarm, EventKind.CLEARED, T0 + 60)])
    assert alarm.acknowledged_by == "ana"  # the detector's copy learnt of the acknowledgement
    alarm.message, alarm.detail, alarm.observed_at = "dark again", {"power": 0.0}, T0 + 118
    (event,) = database.alarms.record([(alarm, EventKind.REOPENED, T0 + 120)])
    assert (event.kind, event.state, event.alarm_id) == (
        EventKind.REOPENED,
        AlarmState.RAISED,
        alarm.id,
    )
    stored = database.alarms.get_alarm(city.pk, alarm.pk)
    assert stored.state is AlarmState.RAISED
    assert stored.occurrences == alarm.occurrences == 2
    assert stored.cleared_at is None
    assert stored.acknowledged_at is None
    assert stored.acknowledged_by is None
    assert (stored.message, stored.detail, stored.observed_at) == (
        "dark again",
        {"power": 0.0},
        T0 + 118,
    )
    assert stored.raised_at == T0  # the alarm's first occurrence
    again = database.alarms.act(city.pk, alarm.pk, EventKind.ACKNOWLEDGED, "ben", T0 + 130, "")
    assert (again.state, again.acknowledged_by) == (AlarmState.ACKNOWLEDGED, "ben")
    # Reopening an active alarm is no step.
    assert database.alarms.record([(alarm, EventKind.REOPENED, T0 + 140)]) == []


def test_reopening_an_alarm_an_operator_closed_raises_a_new_one(
    database: SqlDatabase, city: City
) -> None:
    alarm = raised(database, city)
    old_id = alarm.pk
    alarm.state = AlarmState.CLEARED
    database.alarms.record([(alarm, EventKind.CLEARED, T0 + 60)])
    database.alarms.act(city.pk, old_id, EventKind.CLOSED, "ana", T0 + 70, "replaced the lamp")
    alarm.state, alarm.occurrences = AlarmState.RAISED, 2  # the detector's view: a reopening
    (event,) = database.alarms.record([(alarm, EventKind.REOPENED, T0 + 120)])
    assert alarm.id is not None
    assert alarm.id != old_id
    assert (event.kind, event.alarm_id, event.state) == (
        EventKind.RAISED,
        alarm.id,
        AlarmState.RAISED,
    )
    new = database.alarms.get_alarm(city.pk, alarm.id)
    assert (new.state, new.occurrences, new.raised_at) == (AlarmState.RAISED, 1, T0 + 120)
    assert (new.cleared_at, new.closed_at, new.closed_by) == (None, None, None)
    old = database.alarms.get_alarm(city.pk, old_id)
    assert (old.state, old.closed_by, old.occurrences) == (AlarmState.CLOSED, "ana", 1)
    assert [e.kind for e in database.alarms.history(city.pk, old_id)] == [
        EventKind.RAISED,
        EventKind.CLEARED,
        EventKind.CLOSED,
    ]
    assert kinds(database, alarm) == [EventKind.RAISED]


def test_releasing_a_held_alarm_keeps_an_acknowledgement_made_meanwhile(
    database: SqlDatabase, city: City
) -> None:
    incident = raised(database, city, type=AlarmType.SUPPLY_LOSS, severity=Severity.CRITICAL)
    alarm = raised(
        database, city, type=AlarmType.COMMUNICATION_FAILURE, held=True, parent_id=incident.id
    )
    database.alarms.act(city.pk, alarm.pk, EventKind.ACKNOWLEDGED, "ana", T0 + 30, "")
    alarm.held, alarm.raised_at = False, T0 + 600
    (event,) = database.alarms.record([(alarm, EventKind.RELEASED, T0 + 600)])
    assert (event.kind, event.state) == (EventKind.RELEASED, AlarmState.ACKNOWLEDGED)
    stored = database.alarms.get_alarm(city.pk, alarm.pk)
    assert (stored.held, stored.state, stored.raised_at, stored.parent_id) == (
        False,
        AlarmState.ACKNOWLEDGED,
        T0 + 600,
        incident.id,
    )
    assert alarm.state is AlarmState.ACKNOWLEDGED
    assert database.alarms.record([(alarm, EventKind.RELEASED, T0 + 700)]) == []
    assert kinds(database, alarm) == [EventKind.HELD, EventKind.ACKNOWLEDGED, EventKind.RELEASED]


def test_history_only_steps_record_the_stored_state(database: SqlDatabase, city: City) -> None:
    alarm = raised(database, city)
    database.alarms.act(city.pk, alarm.pk, EventKind.ACKNOWLEDGED, "ana", T0 + 5, "")
    (event,) = database.alarms.record([(alarm, EventKind.ESCALATED, T0 + 900)])
    assert (event.kind, event.state) == (EventKind.ESCALATED, AlarmState.ACKNOWLEDGED)
    assert database.alarms.get_alarm(city.pk, alarm.pk).updated_at == T0 + 5


def test_operators_acknowledge_note_and_close(database: SqlDatabase, city: City) -> None:
    store = database.alarms
    alarm = raised(database, city)
    acked = store.act(city.pk, alarm.pk, EventKind.ACKNOWLEDGED, "ana", T0 + 10, "crew sent")
    assert (acked.state, acked.acknowledged_by, acked.acknowledged_at, acked.updated_at) == (
        AlarmState.ACKNOWLEDGED,
        "ana",
        T0 + 10,
        T0 + 10,
    )
    with pytest.raises(ConflictError):
        store.act(city.pk, alarm.pk, EventKind.ACKNOWLEDGED, "ben", T0 + 11, "")
    with pytest.raises(ConflictError, match="only a cleared alarm"):
        store.act(city.pk, alarm.pk, EventKind.CLOSED, "ana", T0 + 12, "")
    noted = store.act(city.pk, alarm.pk, EventKind.NOTED, "ben", T0 + 13, "ladder needed")
    assert noted.state is AlarmState.ACKNOWLEDGED
    with pytest.raises(InvalidInputError):
        store.act(city.pk, alarm.pk, EventKind.NOTED, "ben", T0 + 14, "   ")
    with pytest.raises(ConflictError):
        store.act(city.pk, alarm.pk, EventKind.REOPENED, "ben", T0 + 14, "")
    database.alarms.record([(alarm, EventKind.CLEARED, T0 + 60)])
    closed = store.act(city.pk, alarm.pk, EventKind.CLOSED, "ana", T0 + 70, "lamp replaced")
    assert (closed.state, closed.closed_by, closed.closed_at, closed.acknowledged_by) == (
        AlarmState.CLOSED,
        "ana",
        T0 + 70,
        "ana",
    )
    with pytest.raises(ConflictError):
        store.act(city.pk, alarm.pk, EventKind.CLOSED, "ana", T0 + 71, "")
    with pytest.raises(ConflictError):
        store.act(city.pk, alarm.pk, EventKind.ACKNOWLEDGED, "ana", T0 + 71, "")
    store.act(city.pk, alarm.pk, EventKind.NOTED, "ana", T0 + 80, "invoice 42")
    history = store.history(city.pk, alarm.pk)
    assert [(e.kind, e.actor, e.note, e.state) for e in history] == [
        (EventKind.RAISED, None, "", AlarmState.RAISED),
        (EventKind.ACKNOWLEDGED, "ana", "crew sent", AlarmState.ACKNOWLEDGED),
        (EventKind.NOTED, "ben", "ladder needed", AlarmState.ACKNOWLEDGED),
        (EventKind.CLEARED, None, "", AlarmState.CLEARED),
        (EventKind.CLOSED, "ana", "lamp replaced", AlarmState.CLOSED),
        (EventKind.NOTED, "ana", "invoice 42", AlarmState.CLOSED),
    ]
    other = make_city(database)
    with pytest.raises(NotFoundError):
        store.act(other.pk, alarm.pk, EventKind.NOTED, "eve", T0 + 90, "mine now")
    with pytest.raises(NotFoundError):
        store.history(other.pk, alarm.pk)


def test_an_operator_may_acknowledge_a_cleared_alarm(database: SqlDatabase, city: City) -> None:
    alarm = raised(database, city)
    database.alarms.record([(alarm, EventKind.CLEARED, T0 + 60)])
    acked = database.alarms.act(city.pk, alarm.pk, EventKind.ACKNOWLEDGED, "ana", T0 + 70, "")
    assert (acked.state, acked.acknowledged_by) == (AlarmState.CLEARED, "ana")


def test_queries_filter_and_page_newest_first(database: SqlDatabase, city: City) -> None:
    ids = lights(database, city)
    store = database.alarms
    west = raised(database, city, asset_id=ids["SL-W"], asset_code="SL-W", raised_at=T0)
    east = raised(
        database,
        city,
        asset_id=ids["SL-E"],
        asset_code="SL-E",
        type=AlarmType.HIGH_VOLTAGE,
        severity=Severity.MAJOR,
        raised_at=T0 + 100,
    )
    incident = raised(
        database, city, type=AlarmType.SUPPLY_LOSS, severity=Severity.CRITICAL, raised_at=T0 + 200
    )
    held = raised(database, city, held=True, parent_id=incident.id, raised_at=T0 + 210)
    gone = raised(database, city, raised_at=T0 + 300)
    store.record([(gone, EventKind.CLEARED, T0 + 310)])
    store.act(city.pk, gone.pk, EventKind.CLOSED, "ana", T0 + 320, "")
    raised(database, make_city(database), raised_at=T0 + 400)  # another city's

    def found(**query: object) -> list[int | None]:
        return [a.id for a in store.query_alarms(city.pk, AlarmQuery(**query)).items]  # type: ignore[arg-type]

    assert found() == [gone.id, incident.id, east.id, west.id]
    assert found(states=frozenset({AlarmState.RAISED})) == [incident.id, east.id, west.id]
    assert found(states=frozenset({AlarmState.CLOSED})) == [gone.id]
    assert found(types=frozenset({AlarmType.HIGH_VOLTAGE, AlarmType.SUPPLY_LOSS})) == [
        incident.id,
        east.id,
    ]
    assert found(severities=frozenset({Severity.MAJOR})) == [east.id]
    assert found(asset_id=ids["SL-W"]) == [west.id]
    assert found(since=T0 + 100, until=T0 + 300) == [incident.id, east.id]
    assert found(include_held=True) == [gone.id, held.id, incident.id, east.id, west.id]
    assert found(parent_id=incident.id) == [held.id]
    # A box around the west light only; alarms on no asset are outside every box.
    assert found(bbox=(100.395, 5.375, 100.405, 5.385)) == [west.id]
    assert found(bbox=(100.0, 5.0, 101.0, 6.0)) == [east.id, west.id]
    first = store.query_alarms(city.pk, AlarmQuery(limit=3))
    assert [a.id for a in first.items] == [gone.id, incident.id, east.id]
    assert first.next_after == east.id
    rest = store.query_alarms(city.pk, AlarmQuery(limit=3, before_id=first.next_after))
    assert [a.id for a in rest.items] == [west.id]
    assert rest.next_after is None


def test_counts_per_type_and_severity_leave_out_held_alarms(
    database: SqlDatabase, city: City
) -> None:
    store = database.alarms
    incident = raised(database, city, type=AlarmType.SUPPLY_LOSS, severity=Severity.CRITICAL)
    raised(database, city)
    acked = raised(database, city)
    store.act(city.pk, acked.pk, EventKind.ACKNOWLEDGED, "ana", T0 + 1, "")
    raised(database, city, severity=Severity.MAJOR)
    raised(database, city, held=True, parent_id=incident.id)
    cleared = raised(database, city, type=AlarmType.HIGH_POWER)
    store.record([(cleared, EventKind.CLEARED, T0 + 60)])
    active = {AlarmState.RAISED, AlarmState.ACKNOWLEDGED}
    assert sorted(store.alarm_counts(city.pk, active)) == [
        (AlarmType.LAMP_FAILURE, "major", 1),
        (AlarmType.LAMP_FAILURE, "minor", 2),
        (AlarmType.SUPPLY_LOSS, "critical", 1),
    ]
    assert store.alarm_counts(city.pk, {AlarmState.CLEARED}) == [(AlarmType.HIGH_POWER, "minor", 1)]
    assert store.alarm_counts(make_city(database).pk, active) == []


def test_events_follow_in_id_order_per_city(database: SqlDatabase, city: City) -> None:
    store = database.alarms
    other = make_city(database)
    start = store.last_event_id()
    mine = raised(database, city)
    theirs = raised(database, other)
    store.act(city.pk, mine.pk, EventKind.ACKNOWLEDGED, "ana", T0 + 1, "")
    store.record([(theirs, EventKind.CLEARED, T0 + 2)])
    every = store.events_after(start, 100)
    assert [(e.alarm_id, e.kind) for e in every] == [
        (mine.id, EventKind.RAISED),
        (theirs.id, EventKind.RAISED),
        (mine.id, EventKind.ACKNOWLEDGED),
        (theirs.id, EventKind.CLEARED),
    ]
    event_ids = [e.id for e in every if e.id is not None]
    assert event_ids == sorted(event_ids)
    assert store.last_event_id() == event_ids[-1]
    assert [e.kind for e in store.events_after(start, 100, [city.pk])] == [
        EventKind.RAISED,
        EventKind.ACKNOWLEDGED,
    ]
    assert [e.id for e in store.events_after(event_ids[0], 2)] == event_ids[1:3]
    assert store.events_after(start, 100, []) == []
    assert store.events_after(event_ids[-1], 100) == []


def test_event_writers_wait_for_each_other_so_ids_commit_in_order(
    database: SqlDatabase, city: City
) -> None:
    """A reader that has seen one event must never see an older id appear after it."""
    store = database.alarms
    first = make_alarm(city)
    second = make_alarm(city)
    written: list[AlarmEvent] = []
    writer = threading.Thread(
        target=lambda: written.extend(store.record([(second, EventKind.RAISED, T0)]))
    )
    with store._writing() as conn:
        held_event = insert_alarm(conn, first, held=False, at=T0)
        writer.start()
        time.sleep(0.3)
        assert written == []  # waits for this transaction, which holds the smaller id
    writer.join(timeout=10)
    assert [e.alarm_id for e in written] == [second.id]
    assert held_event.id is not None
    assert written[0].id is not None
    assert written[0].id > held_event.id


def test_detection_overrides_round_trip(database: SqlDatabase, city: City) -> None:
    store = database.alarms
    other = make_city(database)
    assert city.pk not in store.detection_overrides()
    store.set_detection_overrides(
        city.pk, {"confirm_reports": 3, "severities": {"lampFailure": "major"}}, T0
    )
    store.set_detection_overrides(other.pk, {"dim_from": "23:30"}, T0)
    assert store.detection_overrides()[city.pk] == {
        "confirm_reports": 3,
        "severities": {"lampFailure": "major"},
    }
    store.set_detection_overrides(city.pk, {"pf_low": 0.6}, T0 + 1)
    found = store.detection_overrides()
    assert found[city.pk] == {"pf_low": 0.6}
    assert found[other.pk] == {"dim_from": "23:30"}


def test_a_failed_record_leaves_the_callers_alarms_as_they_were(
    database: SqlDatabase, city: City
) -> None:
    cleared = raised(database, city)
    new = make_alarm(city)
    ghost = make_alarm(city)
    with pytest.raises(ValueError, match="not stored"):
        database.alarms.record(
            [
                (new, EventKind.RAISED, T0 + 5),
                (cleared, EventKind.CLEARED, T0 + 6),
                (ghost, EventKind.CLEARED, T0 + 7),
            ]
        )
    assert new.id is None
    assert cleared.state is AlarmState.RAISED
    assert database.alarms.get_alarm(city.pk, cleared.pk).state is AlarmState.RAISED
    everything = AlarmQuery(states=ALL_STATES, include_held=True)
    assert [a.id for a in database.alarms.query_alarms(city.pk, everything).items] == [cleared.id]
    # The same steps, once the bad one is gone, go through.
    events = database.alarms.record(
        [(new, EventKind.RAISED, T0 + 5), (cleared, EventKind.CLEARED, T0 + 6)]
    )
    assert [e.kind for e in events] == [EventKind.RAISED, EventKind.CLEARED]
    assert new.id is not None
