"""The telemetry store on SQLite and PostgreSQL: stored once, state by reading time, rollups."""

from __future__ import annotations

import threading
from dataclasses import astuple, replace

import pytest
from sqlalchemy import create_engine

from signalight.adapters.sql.database import SqlDatabase
from signalight.adapters.sql.report_values import encoded
from signalight.adapters.sql.telemetry import SqlTelemetryStore
from signalight.adapters.sql.telemetry_batch import gather
from signalight.domain.assets import AssetKind, AssetRecord, DeviceKind
from signalight.domain.cities import City
from signalight.domain.errors import StorageError
from signalight.domain.readings import Reading, RejectReason
from signalight.domain.telemetry import Accepted, DeadLetter, DeviceRef
from tests.conftest import make_city

# 2001-09-09 01:46:40 UTC: far from the other tests' data, and on a day of its own.
T0 = 1_000_000_000.0
HOUR = 3600.0


def node(db: SqlDatabase, city: City, uid: str = "N-1") -> DeviceRef:
    db.assets.upsert_assets(
        city.pk,
        [
            AssetRecord(
                kind=AssetKind.STREETLIGHT, code=f"SL-{uid}", lat=5.38, lon=100.4, device=uid
            )
        ],
    )
    found = db.telemetry.find_device(city.slug, uid)
    assert found is not None
    return found


def pack(
    device: DeviceRef, time: float, power: float, energy: float, *, on: bool = True
) -> Accepted:
    readings = [
        Reading(time, "on", bool_value=on),
        Reading(time, "power", power),
        Reading(time, "voltage", 230.0 + power / 100),
        Reading(time, "energy", energy),
    ]
    return Accepted(device, readings, time + 1)


def test_devices_are_found_by_city_and_id(database: SqlDatabase, city: City) -> None:
    device = node(database, city, "N-7")
    assert device.kind is DeviceKind.STREETLIGHT_NODE
    assert device.city_slug == city.slug
    assert database.telemetry.find_device(city.slug, "N-8") is None
    other = make_city(database)
    assert database.telemetry.find_device(other.slug, "N-7") is None
    assert device in set(database.telemetry.devices())


def test_a_redelivered_batch_is_stored_once_and_counted_once(
    database: SqlDatabase, city: City
) -> None:
    store, device = database.telemetry, node(database, city)
    batch = [pack(device, T0 + 60 * i, 100.0, 1000.0 + i) for i in range(5)]
    assert store.write(batch, []) == 20
    # The broker redelivers the last two after a crash, in a batch with one new message.
    assert store.write([*batch[3:], pack(device, T0 + 300, 100.0, 1005.0)], []) == 4
    # Duplicates inside one batch (a device's own QoS 1 retry) too.
    again = pack(device, T0 + 360, 100.0, 1006.0)
    assert store.write([again, again], []) == 4
    stored = store.readings(city.pk, device.id, T0, T0 + HOUR, None, 1000)
    assert len(stored) == 28
    assert len({(r.time, r.name) for r in stored}) == 28
    (hour,) = store.hourly(city.pk, device.id, T0 - T0 % HOUR, T0 + HOUR)
    assert hour.samples == 28
    assert hour.power_mean == pytest.approx(100.0)


def test_readings_filter_by_time_and_name_oldest_first(database: SqlDatabase, city: City) -> None:
    store, device = database.telemetry, node(database, city)
    store.write([pack(device, T0 + 60 * i, 10.0 * i, 1000.0 + i) for i in range(6)], [])
    got = store.readings(city.pk, device.id, T0 + 60, T0 + 240, {"power"}, 100)
    assert [(r.time, r.value) for r in got] == [(T0 + 60, 10.0), (T0 + 120, 20.0), (T0 + 180, 30.0)]
    first = store.readings(city.pk, device.id, T0, T0 + HOUR, {"on"}, 2)
    assert [r.bool_value for r in first] == [True, True]
    assert store.readings(make_city(database).pk, device.id, T0, T0 + HOUR, None, 10) == []


def test_state_keeps_the_newest_value_of_each_name_whatever_the_arrival_order(
    database: SqlDatabase, city: City
) -> None:
    store, device = database.telemetry, node(database, city)
    store.write([pack(device, T0 + 600, 80.0, 2000.0)], [])
    # An older message arrives later (a node emptying its buffer): it must not win...
    late = Accepted(
        device,
        [Reading(T0 + 300, "power", 5.0), Reading(T0 + 300, "tilt", 3.0)],
        T0 + 900,
    )
    store.write([late], [])
    state = store.device_state(city.pk, device.id)
    assert state is not None
    assert state.values["power"] == (T0 + 600, 80.0)
    # ...but a name the state had not got is taken.
    assert state.values["tilt"] == (T0 + 300, 3.0)
    assert state.values["on"] == (T0 + 600, True)
    assert state.last_seen == T0 + 900
    assert state.observed_at == T0 + 600
    store.write([pack(device, T0 + 1200, 0.0, 2001.0, on=False)], [])
    newer = store.device_state(city.pk, device.id)
    assert newer is not None
    assert newer.values["on"] == (T0 + 1200, False)
    assert newer.values["power"] == (T0 + 1200, 0.0)
    assert store.device_state(make_city(database).pk, device.id) is None


def test_state_merges_name_by_name_when_a_batch_holds_older_and_newer_reports_of_a_device(
    database: SqlDatabase, city: City
) -> None:
    store, device = database.telemetry, node(database, city)
    store.write([pack(device, T0 + 600, 80.0, 2000.0)], [])
    # One batch: a buffered report from before the stored one, and a fresh one.
    # The batch's newest time is past the stored state's, but its power is not.
    older = Accepted(
        device, [Reading(T0 + 300, "power", 5.0), Reading(T0 + 300, "tilt", 3.0)], T0 + 900
    )
    newer = Accepted(device, [Reading(T0 + 900, "on", bool_value=False)], T0 + 900)
    store.write([older, newer], [])
    state = store.device_state(city.pk, device.id)
    assert state is not None
    assert state.values["power"] == (T0 + 600, 80.0)
    assert state.values["tilt"] == (T0 + 300, 3.0)
    assert state.values["on"] == (T0 + 900, False)
    assert state.observed_at == T0 + 900


def test_hourly_rollups_sum_energy_on_hours_and_extremes(database: SqlDatabase, city: City) -> None:
    store, device = database.telemetry, node(database, city)
    start = T0 - T0 % HOUR + 10 * HOUR
    # Two hours of 5-minute reports; on for the first hour only; 100 Wh per report.
    batch = [
        pack(device, start + 300 * i, 50.0 + i, 10_000.0 + 100 * i, on=i < 12) for i in range(24)
    ]
    store.write(batch[:13], [])
    store.write(batch[13:], [])
    first, second = store.hourly(city.pk, device.id, start, start + 2 * HOUR)
    assert first.hour == start
    assert second.hour == start + HOUR
    assert first.on_hours == pytest.approx(1.0)
    assert second.on_hours == pytest.approx(0.0)
    assert first.energy_wh == pytest.approx(1100.0)  # the counter's rise within the first hour
    assert second.energy_wh == pytest.approx(1200.0)  # from the first hour's last reading
    assert first.power_min == 50.0
    assert first.power_max == 61.0
    assert second.power_mean == pytest.approx(sum(50.0 + i for i in range(12, 24)) / 12)
    assert first.voltage_min == pytest.approx(230.5)
    # Asked from the second hour alone, it still counts from the hour before.
    (alone,) = store.hourly(city.pk, device.id, start + HOUR, start + 2 * HOUR)
    assert alone.energy_wh == pytest.approx(1200.0)


def test_dead_letters_are_kept_per_city_and_counted_by_reason(
    database: SqlDatabase, city: City
) -> None:
    store = database.telemetry
    letters = [
        DeadLetter.of(
            received_at=T0,
            topic=f"signalight/{city.slug}/N-1/up",
            reason=RejectReason.MALFORMED,
            message="not JSON",
            payload=b"x" * 10_000,
            city_id=city.pk,
            device_uid="N-1",
        ),
        DeadLetter.of(
            received_at=T0 + 1,
            topic="signalight/nowhere/N-1/up",
            reason=RejectReason.UNKNOWN_DEVICE,
            message="no such device",
            payload=b"[]",
        ),
    ]
    store.write([], letters)
    (mine,) = store.dead_letters(city.pk, 10)
    assert mine.reason is RejectReason.MALFORMED
    assert mine.size == 10_000
    assert len(mine.payload) == 4096
    assert mine.id is not None
    assert store.dead_letter_counts(city.pk) == {RejectReason.MALFORMED: 1}
    everyone = store.dead_letters(None, 1000)
    assert {letter.topic for letter in everyone} >= {letters[1].topic}
    assert store.dead_letters(make_city(database).pk, 10) == []


def test_prune_deletes_old_raw_readings_and_keeps_rollups_and_state(
    database: SqlDatabase, city: City
) -> None:
    store, device = database.telemetry, node(database, city)
    old, recent = T0 - 40 * 86_400, T0 - 86_400
    store.write([pack(device, old, 10.0, 1.0), pack(device, recent, 20.0, 2.0)], [])
    assert store.prune(T0 - 30 * 86_400) >= 4
    kept = store.readings(city.pk, device.id, old - 1, T0, None, 100)
    assert {r.time for r in kept} == {recent}
    assert store.hourly(city.pk, device.id, old - HOUR, old + HOUR) != []
    assert store.device_state(city.pk, device.id) is not None


def test_a_devices_last_message_shows_in_the_inventory(database: SqlDatabase, city: City) -> None:
    store, device = database.telemetry, node(database, city)
    assert database.assets.get_device(city.pk, device.uid).last_seen_at is None
    store.write([pack(device, T0, 10.0, 1.0)], [])
    seen = database.assets.get_device(city.pk, device.uid).last_seen_at
    assert seen is not None
    assert seen.timestamp() == pytest.approx(T0 + 1)


def test_a_batch_of_many_statements_is_stored_whole_with_a_duplicate_in_its_last(
    database: SqlDatabase, city: City
) -> None:
    """10,000 readings take several multi-row statements on SQLite; the fallback keeps them all."""
    store, device = database.telemetry, node(database, city)
    batch = [pack(device, T0 + i, 100.0, 1000.0 + i) for i in range(2500)]
    assert store.write(batch[-1:], []) == 4  # stored already: its copy is in the last statement
    assert store.write(batch, []) == 2499 * 4
    stored = store.readings(city.pk, device.id, T0, T0 + 2500, None, 20_000)
    assert len(stored) == len({(r.time, r.name) for r in stored}) == 10_000
    hours = store.hourly(city.pk, device.id, T0 - T0 % HOUR, T0 + HOUR)
    assert sum(hour.samples for hour in hours) == 10_000


def test_rollups_are_the_same_whichever_way_a_batch_is_written(
    database: SqlDatabase, city: City
) -> None:
    """An all-new batch goes straight in; a redelivery reads the stored rows and gathers again."""
    store = database.telemetry
    fresh, redelivered = node(database, city, "N-a"), node(database, city, "N-b")
    start = T0 - T0 % HOUR + 20 * HOUR

    def batch(device: DeviceRef) -> list[Accepted]:
        return [
            pack(device, start + 450 * i, 40.0 + 3 * i, 500.0 + 7 * i, on=i % 3 != 0)
            for i in range(16)
        ]

    store.write(batch(fresh), [])
    store.write(batch(redelivered)[5:6], [])  # one message already stored...
    assert store.write(batch(redelivered), []) == 15 * 4  # ...so the rest take the other way
    a = store.hourly(city.pk, fresh.id, start, start + 3 * HOUR)
    b = store.hourly(city.pk, redelivered.id, start, start + 3 * HOUR)
    assert len(a) == len(b) == 2
    for one, other in zip(a, b, strict=True):  # sums may differ in the last bit: order
        assert astuple(replace(one, device_id=0)) == pytest.approx(
            astuple(replace(other, device_id=0))
        )


def test_a_status_on_reconnecting_does_not_hide_the_buffered_readings_after_it(
    database: SqlDatabase, city: City
) -> None:
    """A node says online, then empties its buffer: each name shows its newest value."""
    store, device = database.telemetry, node(database, city)
    store.write([pack(device, T0, 10.0, 100.0)], [])
    online = Accepted(device, [Reading(T0 + 3600, "status", string_value="online")], T0 + 3600)
    store.write([online], [])
    for minutes in (5, 10, 15):  # the buffer, oldest first, each in a batch of its own
        store.write([pack(device, T0 + 60 * minutes, 20.0 + minutes, 100.0 + minutes)], [])
    state = store.device_state(city.pk, device.id)
    assert state is not None
    assert state.values["power"] == (T0 + 900, 35.0)
    assert state.values["energy"] == (T0 + 900, 115.0)
    assert state.values["status"] == (T0 + 3600, "online")
    # And a late copy of the first message changes nothing.
    store.write([pack(device, T0, 10.0, 100.0)], [])
    again = store.device_state(city.pk, device.id)
    assert again is not None
    assert again.values == state.values


def test_packs_of_one_instant_with_other_names_are_joined_and_each_reading_kept_once(
    database: SqlDatabase, city: City
) -> None:
    store, device = database.telemetry, node(database, city)
    first = Accepted(device, [Reading(T0, "power", 50.0), Reading(T0, "on", bool_value=True)], T0)
    second = Accepted(
        device,
        [
            Reading(T0, "power", 99.0),  # stored already: the first stands
            Reading(T0, "fault", string_value="driver"),
            Reading(T0, "event", 82.0, None, "3"),  # a code and its parameter
        ],
        T0 + 1,
    )
    assert store.write([first], []) == 2
    assert store.write([second], []) == 2
    assert store.write([second, first], []) == 0
    # Within one batch too, next to a key that is stored already.
    later = [Reading(T0 + 60, "power", 51.0)], [Reading(T0 + 60, "dim", 40.0)]
    assert store.write([*(Accepted(device, r, T0 + 61) for r in later), second], []) == 2
    assert store.readings(city.pk, device.id, T0, T0 + HOUR, None, 100) == [
        Reading(T0, "fault", None, None, "driver"),
        Reading(T0, "on", bool_value=True),
        Reading(T0, "power", 50.0, None, None),
        Reading(T0, "event", 82.0, None, "3"),  # kept by its asset, in signal_events
        Reading(T0 + 60, "dim", 40.0, None, None),
        Reading(T0 + 60, "power", 51.0, None, None),
    ]
    (hour,) = store.hourly(city.pk, device.id, T0 - T0 % HOUR, T0 + HOUR)
    assert hour.samples == 5  # events are not rolled up
    assert hour.power_mean == pytest.approx(50.5)
    # A page of names stops at its limit, however many rows hold none of them.
    assert store.readings(city.pk, device.id, T0, T0 + HOUR, {"dim"}, 5) == [
        Reading(T0 + 60, "dim", 40.0, None, None)
    ]
    assert store.readings(city.pk, device.id, T0, T0 + HOUR, {"power", "on"}, 2) == [
        Reading(T0, "on", bool_value=True),
        Reading(T0, "power", 50.0, None, None),
    ]


def test_gather_keeps_each_value_as_report_values_encodes_it() -> None:
    device = DeviceRef(7, 1, "city", "N-7", DeviceKind.STREETLIGHT_NODE)
    readings = [
        Reading(T0, "power", 51.5),
        Reading(T0, "on", bool_value=False),
        Reading(T0, "fault", string_value="driver"),
        Reading(T0, "event", 82.0, None, "3"),
        Reading(T0, "odd", 1.0, bool_value=True, string_value="x"),
        Reading(T0, "flag", bool_value=True, string_value="x"),
        Reading(T0, "none"),
    ]
    batch = gather([Accepted(device, readings, T0)])
    assert batch.reports == {
        (7, T0): {
            r.name: encoded(r.value, r.bool_value, r.string_value)
            for r in readings
            if r.name != "event"
        }
    }
    assert batch.events == [(7, T0, 82, 3)]  # events are rows of their own
    assert batch.states[7].city_id == 1
    assert batch.readings == len(readings) - 1


def test_two_workers_writing_the_same_devices_in_opposite_orders_do_not_deadlock(
    database: SqlDatabase, city: City
) -> None:
    """Shared-subscription workers upsert the same states and rollups at once."""
    if database.engine.dialect.name != "postgresql":
        pytest.skip("SQLite takes its write lock for the whole batch")
    database.assets.upsert_assets(
        city.pk,
        [
            AssetRecord(
                kind=AssetKind.STREETLIGHT, code=f"SL-D{n}", lat=5.38, lon=100.4, device=f"D{n}"
            )
            for n in range(400)
        ],
    )
    fleet = sorted(
        (d for d in database.telemetry.devices() if d.city_id == city.pk), key=lambda d: d.id
    )
    start = T0 + 40 * HOUR
    failures: list[BaseException] = []

    def work(batch: list[Accepted], gate: threading.Barrier) -> None:
        gate.wait()
        try:
            database.telemetry.write(batch, [])
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    for round_ in range(6):
        at, gate = start + 60 * round_, threading.Barrier(2)
        batches = (
            [pack(d, at, 50.0, 1.0 + round_) for d in fleet],
            [pack(d, at + 0.5, 50.0, 1.0 + round_) for d in reversed(fleet)],
        )
        workers = [threading.Thread(target=work, args=(batch, gate)) for batch in batches]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    assert failures == []
    hour = start - start % HOUR
    hours = [database.telemetry.hourly(city.pk, d.id, hour, hour + HOUR) for d in fleet[:3]]
    assert [[h.samples for h in found] for found in hours] == [[6 * 2 * 4]] * 3


def test_a_session_that_lost_its_staging_tables_makes_them_again_on_the_retry(
    database: SqlDatabase, city: City
) -> None:
    """PostgreSQL's staging tables are made once a connection; a session can lose them."""
    if database.engine.dialect.name != "postgresql":
        pytest.skip("SQLite stages nothing")
    device = node(database, city)
    engine = create_engine(database.engine.url, pool_size=1, max_overflow=0)
    try:
        store = SqlTelemetryStore(engine)
        assert store.write([pack(device, T0 + 7200, 10.0, 1.0)], []) == 4
        with engine.connect() as conn:  # the one pooled session, as a pooler may hand over
            conn.exec_driver_sql("DISCARD TEMP")
            conn.commit()
        with pytest.raises(StorageError):
            store.write([pack(device, T0 + 7260, 20.0, 2.0)], [])
        assert store.write([pack(device, T0 + 7260, 20.0, 2.0)], []) == 4
        assert store.write([pack(device, T0 + 7320, 30.0, 3.0)], []) == 4
    finally:
        engine.dispose()
    got = database.telemetry.readings(city.pk, device.id, T0 + 7200, T0 + 7400, {"power"}, 10)
    assert [r.value for r in got] == [10.0, 20.0, 30.0]
