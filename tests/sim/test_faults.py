from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from signalight.domain.assets import AssetKind
from signalight.domain.errors import InvalidInputError, NotFoundError
from signalight.sim.faults import (
    DEFAULT_SPECS,
    FaultType,
    Injection,
    parse_injection,
    parse_span,
    parse_time,
)
from signalight.sim.fleet_model import SimConfig
from signalight.sim.generator import generate_fleet
from signalight.sim.nodes import STUCK_DIM
from signalight.sim.truth import read_truth
from tests.sim.simulation import (
    BY_CODE,
    CITY,
    EVENING,
    NOON,
    RECORDS,
    SMALL_HOURS,
    Up,
    first,
    lights_of,
    run,
    run_and_close,
    simulator,
    statuses,
    ups,
)

HOUR = 3600.0
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def inject(kind: FaultType, asset: str, at: datetime, hours: float | None) -> Injection:
    return Injection(kind, asset, at.timestamp(), None if hours is None else hours * HOUR)


def lines(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def of(reports: list[Up], device: str) -> list[Up]:
    return [u for u in reports if u.device == device]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("10m", 600), ("2h", 7200), ("1h30m", 5400), ("7d", 604800), ("0.5h", 1800)],
)
def test_spans(text: str, seconds: float) -> None:
    assert parse_span(text) == seconds


@pytest.mark.parametrize("text", ["", "10", "ten minutes", "5w", "h2"])
def test_bad_spans_are_refused(text: str) -> None:
    with pytest.raises(InvalidInputError):
        parse_span(text)


def test_times_are_iso_or_relative_to_the_origin() -> None:
    assert parse_time("+10m", T0) == T0 + timedelta(minutes=10)
    assert parse_time("-7d", T0) == T0 - timedelta(days=7)
    assert parse_time("2026-03-01T14:00", T0) == datetime(2026, 3, 1, 14, tzinfo=UTC)
    assert parse_time("2026-03-01T14:00+08:00", T0) == datetime(2026, 3, 1, 6, tzinfo=UTC)
    with pytest.raises(InvalidInputError):
        parse_time("tomorrow", T0)


def test_injections_are_parsed() -> None:
    got = parse_injection("lampFailure:SL-000012@+10m/2h", T0)
    assert got == Injection(
        FaultType.LAMP_FAILURE, "SL-000012", (T0 + timedelta(minutes=10)).timestamp(), 7200.0
    )
    lasting = parse_injection("supplyLoss:CB-0001@2026-03-01T13:00:00Z", T0)
    assert lasting.duration is None
    assert lasting.start == datetime(2026, 3, 1, 13, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    "text", ["lampFailure:SL-1", "lampFailure@+1m", "lampBroken:SL-1@+1m", "lampFailure:@+1m"]
)
def test_bad_injections_are_refused(text: str) -> None:
    with pytest.raises(InvalidInputError):
        parse_injection(text, T0)


def test_a_fault_must_fit_its_asset() -> None:
    sim = simulator(NOON)
    with pytest.raises(NotFoundError):
        sim.inject(inject(FaultType.LAMP_FAILURE, "SL-999999", NOON, 1))
    cabinet = first(AssetKind.CABINET).code
    with pytest.raises(InvalidInputError, match="cannot strike"):
        sim.inject(inject(FaultType.LAMP_FAILURE, cabinet, NOON, 1))


def test_an_injected_lamp_failure_shows_in_readings_and_truth(tmp_path: Path) -> None:
    light = first(AssetKind.STREETLIGHT)
    assert light.device is not None
    truth = tmp_path / "truth.jsonl"
    sim = simulator(EVENING, truth=truth)
    start = EVENING + timedelta(minutes=10)
    sim.inject(inject(FaultType.LAMP_FAILURE, light.code, start, 2))
    reports = of(ups(run_and_close(sim, 4 * HOUR)), light.device)
    rated = light.rated_watts or 0
    end = start + timedelta(hours=2)
    for up in reports:
        assert up.readings["on"].bool_value  # the relay is on; the lamp is not
        power = up.readings["power"].value or 0
        if start.timestamp() <= up.time < end.timestamp():
            assert power <= 0.06 * rated
        else:
            assert power > 0.5 * rated
    assert lines(truth) == [
        {
            "fault": "lampFailure",
            "asset": light.code,
            "device": light.device,
            "city": CITY.slug,
            "start": "2026-01-15T14:10:00Z",
            "end": None,
        },
        {
            "fault": "lampFailure",
            "asset": light.code,
            "device": light.device,
            "city": CITY.slug,
            "start": "2026-01-15T14:10:00Z",
            "end": "2026-01-15T16:10:00Z",
        },
    ]
    (entry,) = read_truth(truth)
    assert (entry.start, entry.end) == (start, end)


def test_a_supply_loss_silences_the_cabinets_lights_and_is_one_truth_entry(tmp_path: Path) -> None:
    cabinet = first(AssetKind.CABINET)
    fed = {r.device for r in lights_of(cabinet.code) if r.device}
    codes = {r.code for r in lights_of(cabinet.code)}
    assert len(fed) > 5
    truth = tmp_path / "truth.jsonl"
    # Rates high enough that the cabinet's lights would get faults of their own.
    sim = simulator(EVENING, SimConfig(seed=2, fault_rate_scale=1_000.0), truth)
    start, end = EVENING + timedelta(minutes=10), EVENING + timedelta(minutes=70)
    sim.inject(inject(FaultType.SUPPLY_LOSS, cabinet.code, start, 1))
    messages = run_and_close(sim, 2 * HOUR)
    reports = ups(messages)
    during = [u for u in reports if start.timestamp() <= u.time < end.timestamp()]
    assert not [u for u in during if u.device in fed]
    meter = [u for u in during if u.device == cabinet.device]
    assert meter
    for up in meter:
        assert up.readings["mains"].bool_value is False
        assert up.readings["power"].value == 0
        assert all(up.readings[f"voltage/l{n}"].value == 0 for n in (1, 2, 3))
    after = [u for u in reports if u.time >= end.timestamp() + 300]
    entries = read_truth(truth)
    clean = fed - {e.device for e in entries}  # lights with no fault of their own
    assert len(clean) > 5
    assert clean <= {u.device for u in after}
    went = [(t, p) for t, d, p in statuses(messages) if d in clean and t > sim.start]
    assert sorted(went) == [(start.timestamp(), b"offline")] * len(clean) + [
        (end.timestamp(), b"online")
    ] * len(clean)
    outage = [e for e in entries if e.asset == cabinet.code]
    assert [(e.fault, e.start, e.end) for e in outage] == [("supplyLoss", start, end)]
    overlapping = [e for e in entries if e.asset in codes and start <= e.start < end]
    assert overlapping == []
    assert len(entries) > 50  # the other lights did get faults


def test_a_communication_failure_silences_the_device_and_says_offline(tmp_path: Path) -> None:
    light = first(AssetKind.STREETLIGHT)
    truth = tmp_path / "truth.jsonl"
    sim = simulator(NOON, truth=truth)
    start = NOON + timedelta(minutes=20)
    sim.inject(inject(FaultType.COMMUNICATION_FAILURE, light.code, start, 1))
    messages = run_and_close(sim, 2 * HOUR)
    times = [u.time for u in ups(messages) if u.device == light.device]
    assert not [t for t in times if start.timestamp() <= t < start.timestamp() + HOUR]
    assert len(times) == 24 - 12
    mine = [(t, p) for t, d, p in statuses(messages) if d == light.device]
    assert mine == [
        (NOON.timestamp(), b"online"),
        (start.timestamp(), b"offline"),
        (start.timestamp() + HOUR, b"online"),
    ]
    assert [e.fault for e in read_truth(truth)] == ["communicationFailure"]


def test_streetlight_faults_change_what_the_node_reports() -> None:
    lights = [r for r in RECORDS if r.kind is AssetKind.STREETLIGHT and r.device][:4]
    kinds = [
        FaultType.LAMP_UNEXPECTED_ON,
        FaultType.CYCLING_FAILURE,
        FaultType.DIMMING_FAILURE,
        FaultType.ORIENTATION_CHANGED,
    ]
    day = simulator(NOON)
    day.inject(inject(FaultType.LAMP_UNEXPECTED_ON, lights[0].code, NOON, None))
    burning = of(ups(run(day, HOUR)), lights[0].device or "")
    assert all(u.readings["on"].bool_value for u in burning)
    assert all(
        (u.readings["power"].value or 0) > 0.5 * (lights[0].rated_watts or 0) for u in burning
    )
    night = simulator(EVENING)
    for record, kind in zip(lights[1:], kinds[1:], strict=True):
        night.inject(inject(kind, record.code, EVENING, None))
    reports = ups(run(night, 4 * HOUR))
    cycling = [u.readings["on"].bool_value for u in of(reports, lights[1].device or "")]
    assert True in cycling
    assert False in cycling
    stuck = of(reports, lights[2].device or "")
    (dim,) = {u.readings["dim"].value for u in stuck}
    assert dim in STUCK_DIM
    assert [u for u in stuck if u.time > SMALL_HOURS.timestamp() - HOUR]  # when it should be 50
    tilts = [u.readings["tilt"].value or 0 for u in of(reports, lights[3].device or "")]
    assert all(30 <= tilt <= 80 for tilt in tilts)


def test_random_faults_come_at_their_rates() -> None:
    records = generate_fleet(CITY, lights=2_000, intersections=20, seed=9).records
    config = SimConfig(seed=4, light_interval=3600, meter_interval=3600, monitor_interval=3600)
    sim = simulator(NOON, config, records=records)
    run(sim, 7 * 24 * HOUR)
    started = Counter(f.type for f in sim.active.values())
    lights = sum(1 for r in records if r.kind is AssetKind.STREETLIGHT and r.device)
    expected = DEFAULT_SPECS[FaultType.LAMP_FAILURE].per_day * 7 * lights
    assert 0.5 * expected < started[FaultType.LAMP_FAILURE] < 1.6 * expected
    assert sim.faults_started < 0.1 * len(records)
    kinds = {BY_CODE[f.asset].kind for f in sim.active.values() if f.asset in BY_CODE}
    assert kinds <= set(AssetKind)


def test_no_random_faults_at_scale_zero(tmp_path: Path) -> None:
    truth = tmp_path / "truth.jsonl"
    sim = simulator(NOON, SimConfig(seed=4, fault_rate_scale=0.0), truth)
    run_and_close(sim, 24 * HOUR)
    assert sim.faults_started == 0
    assert truth.read_bytes() == b""
