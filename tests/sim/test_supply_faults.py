"""Supply and driver faults injected: voltages out of band, high power, low power factor."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from signalight.domain.assets import AssetKind
from signalight.domain.errors import InvalidInputError
from signalight.domain.faults import DetectionSettings
from signalight.sim.faults import FaultType, Injection, parse_injection
from signalight.sim.truth import read_truth
from tests.sim.simulation import (
    CITY,
    EVENING,
    Up,
    first,
    lights_of,
    run_and_close,
    simulator,
    ups,
)

HOUR = 3600.0
LIMITS = DetectionSettings()


def inject(kind: FaultType, asset: str, after_s: float, hours: float) -> Injection:
    return Injection(kind, asset, (EVENING + timedelta(seconds=after_s)).timestamp(), hours * HOUR)


def phases(up: Up) -> list[float]:
    return [up.readings[f"voltage/l{n}"].value or 0.0 for n in (1, 2, 3)]


@pytest.mark.parametrize("kind", [FaultType.HIGH_VOLTAGE, FaultType.LOW_VOLTAGE])
def test_a_cabinet_voltage_fault_shows_at_its_meter_and_every_light_and_in_the_truth(
    kind: FaultType, tmp_path: Path
) -> None:
    cabinet = first(AssetKind.CABINET)
    fed = {r.device for r in lights_of(cabinet.code) if r.device}
    truth = tmp_path / "truth.jsonl"
    sim = simulator(EVENING, truth=truth)
    sim.inject(inject(kind, cabinet.code, 600.0, 1.0))
    start, end = sim.start + 600.0, sim.start + 600.0 + HOUR
    reports = ups(run_and_close(sim, 2 * HOUR))
    meter = [u for u in reports if u.device == cabinet.device]
    lights = [u for u in reports if u.device in fed]
    during = [u for u in meter + lights if start <= u.time < end]
    outside = [u for u in meter + lights if not start <= u.time < end]
    assert {u.device for u in during} == fed | {cabinet.device}
    high = kind is FaultType.HIGH_VOLTAGE
    for up in during:
        volts = phases(up) if up.device == cabinet.device else [up.readings["voltage"].value or 0]
        if high:
            assert min(volts) > LIMITS.voltage_high, (up.device, volts)
        else:
            assert LIMITS.mains_lost_v < min(volts), (up.device, volts)
            assert max(volts) < LIMITS.voltage_low, (up.device, volts)
        if up.device == cabinet.device:
            assert up.readings["mains"].bool_value is True  # supplied, out of band: not an outage
    for up in outside:
        volts = phases(up) if up.device == cabinet.device else [up.readings["voltage"].value or 0]
        assert LIMITS.voltage_low < min(volts), (up.device, volts)
        assert max(volts) < LIMITS.voltage_high, (up.device, volts)
    (entry,) = read_truth(truth)
    assert (entry.fault, entry.asset, entry.device, entry.city) == (
        str(kind),
        cabinet.code,
        cabinet.device,
        CITY.slug,
    )
    assert (entry.start.timestamp(), entry.end and entry.end.timestamp()) == (start, end)


def test_voltage_faults_strike_cabinets_only() -> None:
    sim = simulator(EVENING)
    light = first(AssetKind.STREETLIGHT)
    with pytest.raises(InvalidInputError, match="cannot strike"):
        sim.inject(inject(FaultType.HIGH_VOLTAGE, light.code, 600.0, 1.0))
    parsed = parse_injection(f"lowVoltage:{first(AssetKind.CABINET).code}@+10m/1h", EVENING)
    assert parsed.type is FaultType.LOW_VOLTAGE


def test_driver_faults_change_what_a_burning_node_reports(tmp_path: Path) -> None:
    lights = [r for r in lights_of(first(AssetKind.CABINET).code) if r.device][:4]
    kinds = [FaultType.HIGH_POWER, FaultType.LOW_POWER_FACTOR, FaultType.NODE_FAULT]
    truth = tmp_path / "truth.jsonl"
    sim = simulator(EVENING, truth=truth)
    for record, kind in zip(lights, kinds, strict=False):
        sim.inject(inject(kind, record.code, 0.0, 1.0))
    reports = ups(run_and_close(sim, HOUR))
    by_device = {
        record.device: [u for u in reports if u.device == record.device] for record in lights
    }
    power, pf, own, healthy = (by_device[record.device] for record in lights)
    rated = {record.device: record.rated_watts or 0.0 for record in lights}
    assert power
    assert all((u.readings["power"].value or 0) > 1.4 * rated[u.device] for u in power)
    assert all((u.readings["pf"].value or 1) < LIMITS.pf_low for u in pf)
    assert all(u.readings["fault"].string_value not in (None, "", "ok") for u in own)
    assert all("fault" not in u.readings for u in healthy)
    assert all((u.readings["pf"].value or 0) > LIMITS.pf_ok for u in healthy)
    assert all((u.readings["power"].value or 0) < 1.2 * rated[u.device] for u in healthy)
    assert sorted(e.fault for e in read_truth(truth)) == sorted(map(str, kinds))
