from __future__ import annotations

import hashlib
import threading
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest

from signalight.adapters.sql.database import SqlDatabase
from signalight.domain.assets import AssetKind, LuminaireType
from signalight.domain.cities import City
from signalight.domain.errors import InvalidInputError
from signalight.sim.faults import FaultType, Injection
from signalight.sim.fleet_model import SimConfig
from signalight.sim.generator import generate_fleet
from signalight.sim.nodes import HID_BALLAST, HID_FLOOR
from signalight.sim.telemetry import Simulator
from tests.conftest import make_city
from tests.sim.simulation import (
    BY_DEVICE,
    CITY,
    EVENING,
    NOON,
    QUIET,
    RECORDS,
    SMALL_HOURS,
    run,
    simulator,
    statuses,
    ups,
)

HOUR = 3600.0


def light_ups(start: datetime, seconds: float = 600.0) -> list:  # type: ignore[type-arg]
    return [u for u in ups(run(simulator(start), seconds)) if u.device.startswith("n-")]


def expected_share(luminaire: LuminaireType | None, dim: float) -> float:
    if luminaire in (None, LuminaireType.LED):
        return 0.05 + 0.95 * dim / 100
    return HID_BALLAST * max(dim / 100, HID_FLOOR)


def test_every_device_reports_once_per_interval_at_its_own_phase() -> None:
    messages = run(simulator(NOON), 3 * 300.0)
    reports = ups(messages)
    per_device = defaultdict(list)
    for up in reports:
        per_device[up.device].append(up.time)
    monitored = {r.device for r in RECORDS if r.device}
    assert set(per_device) == monitored
    for device, times in per_device.items():
        gap = 60.0 if device.startswith("s-") else 300.0
        assert all(b - a == pytest.approx(gap) for a, b in pairwise(times)), device
    phases = {round(times[0] % 300, 3) for times in per_device.values()}
    assert len(phases) > 0.9 * len(per_device)  # spread, not all at once
    # Every device says it is online first.
    assert {d for _, d, p in statuses(messages) if p == b"online"} == monitored


def test_messages_come_in_time_order_and_all_decode() -> None:
    config = SimConfig(seed=5, fault_rate_scale=300.0)
    messages = run(simulator(NOON, config), 24 * HOUR)
    assert all(a[0] <= b[0] for a, b in pairwise(messages))
    assert len(ups(messages)) > 24 * 12 * 250  # decode_pack raises on any bad reading
    assert {p for _, _, p in statuses(messages)} == {b"online", b"offline"}


def test_lights_are_off_at_noon_and_on_at_night() -> None:
    noon = light_ups(NOON)
    assert noon
    assert not any(u.readings["on"].bool_value for u in noon)
    assert all(u.readings["lux"].value > 1_000 for u in noon)
    night = light_ups(EVENING)
    assert all(u.readings["on"].bool_value for u in night)
    assert all(u.readings["dim"].value == 100 for u in night)
    assert all(u.readings["lux"].value < 10 for u in night)


def test_lights_switch_on_at_sunset_give_or_take_a_photocell() -> None:
    sunset = datetime(2026, 1, 15, 11, 22, 53, tzinfo=UTC).timestamp()
    reports = light_ups(datetime(2026, 1, 15, 10, 30, tzinfo=UTC), 2 * HOUR)
    for up in reports:
        on = up.readings["on"].bool_value
        if up.time < sunset - 200:
            assert not on
        elif up.time > sunset + 200:
            assert on


def test_lights_dim_to_half_in_the_small_hours() -> None:
    reports = light_ups(SMALL_HOURS)
    assert all(u.readings["dim"].value == 50 for u in reports)


@pytest.mark.parametrize(("start", "dim"), [(EVENING, 100.0), (SMALL_HOURS, 50.0)])
def test_power_follows_rating_and_dim_level(start: datetime, dim: float) -> None:
    for up in light_ups(start):
        record = BY_DEVICE[up.device]
        assert record.rated_watts is not None
        expected = record.rated_watts * expected_share(record.luminaire, dim)
        power = up.readings["power"].value
        assert power == pytest.approx(expected, rel=0.05), up.device
        volts, current, pf = (up.readings[n].value for n in ("voltage", "current", "pf"))
        assert volts is not None
        assert current is not None
        assert pf is not None
        assert 215 < volts < 250
        assert current == pytest.approx(power / (volts * pf), rel=0.01)


def test_energy_counters_grow_by_power_times_time() -> None:
    reports = light_ups(datetime(2026, 1, 15, 10, 0, tzinfo=UTC), 4 * HOUR)
    by_device = defaultdict(list)
    for up in reports:
        by_device[up.device].append(up)
    grew = 0
    for series in by_device.values():
        for before, after in pairwise(series):
            energy = after.readings["energy"].value - before.readings["energy"].value
            assert energy >= 0
            expected = before.readings["power"].value * (after.time - before.time) / HOUR
            assert energy == pytest.approx(expected, abs=0.2)
            grew += energy > 1
    assert grew > 100


def test_cabinet_meter_adds_up_its_lights() -> None:
    messages = run(simulator(EVENING), 900.0)
    reports = ups(messages)
    meters = [u for u in reports if u.device.startswith("m-")]
    assert meters
    for meter in meters:
        cabinet = BY_DEVICE[meter.device].code
        rated = sum(
            (r.rated_watts or 0) * expected_share(r.luminaire, 100.0)
            for r in RECORDS
            if r.cabinet == cabinet
        )
        assert meter.readings["mains"].bool_value
        assert meter.readings["contactor"].bool_value
        assert meter.readings["power"].value == pytest.approx(rated, rel=0.05)
        for line in (1, 2, 3):
            assert 215 < (meter.readings[f"voltage/l{line}"].value or 0) < 250


def test_signal_monitors_cycle_their_phases() -> None:
    reports = [u for u in ups(run(simulator(NOON), 2 * HOUR)) if u.device.startswith("s-")]
    assert reports
    seen: dict[str, set[str]] = defaultdict(set)
    logged: dict[str, set[int]] = defaultdict(set)
    for up in reports:
        assert up.readings["mode"].string_value == "normal"
        assert up.readings["door"].string_value == "closed"
        assert up.readings["mmu"].string_value == "ok"
        assert up.readings["mains"].bool_value
        assert 26.5 < (up.readings["battery"].value or 0) < 28
        record = BY_DEVICE[up.device]
        lamps = [n for n in up.readings if n.startswith("lamp/")]
        assert {int(n.split("/")[1]) for n in lamps} == set(record.phases)  # one lit lamp each
        seen[up.device].update(n.rsplit("/", 1)[1] for n in lamps)
        codes = {int(e.value or 0) for e in up.events}
        assert codes & {1, 8, 10}  # a phase changes within every minute
        logged[up.device] |= codes
        assert all(up.time - 60 < e.time <= up.time for e in up.events)
    assert all(colours == {"red", "yellow", "green"} for colours in seen.values())
    # Green, its end by a gap-out, yellow, red clearance and its end, the detectors.
    assert all({1, 4, 8, 10, 11, 81, 82} <= codes for codes in logged.values())


def test_the_same_seed_gives_the_same_messages() -> None:
    config = SimConfig(seed=7, fault_rate_scale=100.0)

    def digest(sim: Simulator) -> str:
        hashed = hashlib.sha256()
        for t, topic, payload in run(sim, 6 * HOUR):
            hashed.update(f"{t}{topic}".encode() + payload)
        return hashed.hexdigest()

    assert digest(simulator(NOON, config)) == digest(simulator(NOON, config))
    assert digest(simulator(NOON, config)) != digest(simulator(NOON, SimConfig(seed=8)))


def test_messages_continue_where_the_last_call_stopped() -> None:
    whole = run(simulator(NOON), 1_000.0)
    sim = simulator(NOON)
    parts = run(sim, 400.0) + run(sim, 600.0)
    assert parts == whole


def test_a_paced_run_keeps_to_its_speed_and_a_flat_out_one_does_not_wait() -> None:
    sim = simulator(NOON)
    got: list[str] = []
    stats = sim.run(lambda topic, _payload: got.append(topic), until=sim.now + 300.0, speed=1_000)
    assert 0.25 <= stats.wall_s < 1.5
    assert stats.simulated_s == pytest.approx(300.0)
    assert len(got) == stats.messages > 300
    flat_out = simulator(NOON)
    quick = flat_out.run(lambda _t, _p: None, until=flat_out.now + 3_000.0)
    assert quick.wall_s < 2.0
    assert quick.simulated_s / quick.wall_s > 1_000


def test_a_run_stops_when_told() -> None:
    sim = simulator(NOON)
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    began = time.monotonic()
    sim.run(lambda _t, _p: None, speed=1.0, stop=stop)
    assert time.monotonic() - began < 1.5


def test_lights_stay_off_through_a_polar_summer_night() -> None:
    tromso = City(
        slug="tromso",
        name="Tromsø",
        country="NO",
        timezone="Europe/Oslo",
        lat=69.65,
        lon=18.96,
        currency="NOK",
    )
    records = generate_fleet(tromso, lights=20, intersections=0, today=date(2026, 6, 1)).records
    sim = Simulator(tromso, records, QUIET, start=datetime(2026, 6, 21, 22, tzinfo=UTC))
    reports = [m for m in run(sim, 2 * HOUR) if m[1].endswith("/up") and "/n-" in m[1]]
    assert reports
    assert all(b'"n":"on","vb":false' in payload for _, _, payload in reports)


def test_the_simulator_reads_a_stored_city(database: SqlDatabase) -> None:
    city = make_city(database)
    records = generate_fleet(city, lights=120, intersections=2, seed=1, today=date(2026, 1, 1))
    database.assets.upsert_assets(city.pk, records.records)
    sim = Simulator.from_store(database.assets, city, QUIET, start=EVENING)
    assert sim.devices == sum(1 for r in records.records if r.device)
    reports = run(sim, 300.0)
    assert all(topic.startswith(f"signalight/{city.slug}/") for _, topic, _ in reports)
    assert len({topic for _, topic, _ in reports if topic.endswith("/up")}) == sim.devices


def test_the_start_needs_a_time_zone() -> None:
    with pytest.raises(InvalidInputError, match="time zone"):
        Simulator(CITY, RECORDS, QUIET, start=datetime(2026, 1, 1))  # noqa: DTZ001


def test_injections_cannot_start_in_the_past() -> None:
    sim = simulator(NOON)
    run(sim, 600.0)
    past = Injection(FaultType.LAMP_FAILURE, "SL-000001", NOON.timestamp(), None)
    with pytest.raises(InvalidInputError, match="past"):
        sim.inject(past)
    later = NOON + timedelta(hours=1)
    assert sim.inject(Injection(FaultType.LAMP_FAILURE, "SL-000001", later.timestamp(), None))
    assert RECORDS[0].kind is AssetKind.CABINET
