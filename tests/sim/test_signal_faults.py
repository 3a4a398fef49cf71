"""The simulated intersections: a running actuated controller, and each signal fault's traces."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from signalight.domain.assets import AssetKind
from signalight.sim.faults import FaultType, Injection
from signalight.sim.truth import read_truth
from tests.sim.simulation import NOON, RECORDS, Up, run, run_and_close, simulator, ups

HOUR = 3600.0
SIGNALS = [r for r in RECORDS if r.kind is AssetKind.INTERSECTION]


def inject(
    kind: FaultType, asset: str, at: datetime, hours: float | None, level: float | None = None
) -> Injection:
    return Injection(kind, asset, at.timestamp(), None if hours is None else hours * HOUR, level)


def of(reports: list[Up], index: int) -> list[Up]:
    return [u for u in reports if u.device == SIGNALS[index].device]


def codes(reports: list[Up]) -> Counter[tuple[float | None, str | None]]:
    return Counter((e.value, e.string_value) for u in reports for e in u.events)


def test_a_running_controller_gaps_out_and_maxes_out_and_every_red_is_seen() -> None:
    sim = simulator(NOON)
    reports = of(ups(run(sim, 2 * HOUR)), 0)
    logged = Counter(e.value for u in reports for e in u.events)
    assert logged[5.0] + logged[6.0] > 0  # max-outs, or force-offs when coordinated
    assert logged[4.0] > logged[5.0] + logged[6.0]  # but mostly gap-outs
    assert logged[1.0] > 100
    assert abs(logged[1.0] - logged[8.0]) <= len(SIGNALS[0].phases)  # a green at the run's end
    greens = sorted(e.time for u in reports for e in u.events if e.value == 1.0)
    cycles = {round(b - a) for a, b in itertools.pairwise(greens) if b - a > 20}
    assert len(cycles) > 5  # actuated: no two cycles alike
    # A monitor reporting every minute sees each phase red at most reports.
    for phase in SIGNALS[0].phases:
        reds = [u for u in reports if f"lamp/{phase}/red" in u.readings]
        assert len(reds) > 0.4 * len(reports)


def test_flash_conflict_and_mains_failure_change_what_the_monitor_reports() -> None:
    sim = simulator(NOON)
    at = NOON + timedelta(minutes=5)
    sim.inject(inject(FaultType.SIGNAL_FLASH, SIGNALS[0].code, at, 1))
    sim.inject(inject(FaultType.CONFLICT_FLASH, SIGNALS[1].code, at, 1))
    sim.inject(inject(FaultType.MAINS_FAILURE, SIGNALS[2].code, at, 4))
    everything = ups(run(sim, 5 * HOUR))
    during = [u for u in everything if at.timestamp() + 60 < u.time < at.timestamp() + HOUR]
    flash = of(during, 0)
    assert {(u.readings["mode"].string_value, u.readings["mmu"].string_value) for u in flash} == {
        ("flash", "ok")
    }
    assert not [e for u in flash for e in u.events if e.value == 1.0]  # no cycling
    assert codes(of(everything, 0))[173.0, "3"] == codes(of(everything, 0))[173.0, "2"] == 1
    conflict = of(during, 1)
    assert {u.readings["mmu"].string_value for u in conflict} == {"conflict"}
    logged = codes(of(everything, 1))
    assert logged[173.0, "6"] == logged[174.0, "16"] == logged[174.0, "0"] == 1
    power = [u for u in of(everything, 2) if at.timestamp() < u.time < at.timestamp() + 4 * HOUR]
    assert all(u.readings["mains"].bool_value is False for u in power)
    batteries = [u.readings["battery"].value or 0 for u in power]
    assert batteries == sorted(batteries, reverse=True)
    assert {u.readings["mode"].string_value for u in power} == {"normal", "dark"}
    assert codes(of(everything, 2))[182.0, "1"] == codes(of(everything, 2))[184.0, "1"] == 1


def test_a_long_mains_failure_and_a_long_opening_leave_their_consequences_in_the_truth(
    tmp_path: Path,
) -> None:
    truth = tmp_path / "truth.jsonl"
    booked: list[tuple[str, float, float]] = []

    def book(asset: str, start: float, end: float) -> bool:
        booked.append((asset, start, end))
        return asset != SIGNALS[3].code  # that one's window is refused

    sim = simulator(NOON, truth=truth)
    sim.crews.windows = book
    at = NOON + timedelta(minutes=5)
    sim.inject(inject(FaultType.MAINS_FAILURE, SIGNALS[0].code, at, 4))
    sim.inject(inject(FaultType.DOOR_OPEN_AUTHORISED, SIGNALS[1].code, at, 3))
    sim.inject(inject(FaultType.DOOR_OPEN_UNAUTHORISED, SIGNALS[2].code, at, 0.5))
    sim.inject(inject(FaultType.DOOR_OPEN_AUTHORISED, SIGNALS[3].code, at, 0.5))
    run_and_close(sim, 5 * HOUR)
    t0 = at.timestamp()
    found = {(e.fault, e.asset): e for e in read_truth(truth)}
    assert set(found) == {
        ("mainsFailure", SIGNALS[0].code),
        ("batteryLow", SIGNALS[0].code),
        ("signalDark", SIGNALS[0].code),
        ("doorOpenAuthorised", SIGNALS[1].code),
        ("doorOpenTooLong", SIGNALS[1].code),
        ("doorOpenUnauthorised", SIGNALS[2].code),
        ("doorOpenUnauthorised", SIGNALS[3].code),  # no window could be booked: a break-in
    }
    # 25.6 V draining 1.2 V an hour: below 23 V after 2 h 10 min, empty at 22 V after 3 h.
    assert found["batteryLow", SIGNALS[0].code].start.timestamp() == t0 + 2.6 / 1.2 * HOUR
    assert found["signalDark", SIGNALS[0].code].start.timestamp() == t0 + 3 * HOUR
    assert found["signalDark", SIGNALS[0].code].end == found["mainsFailure", SIGNALS[0].code].end
    long = found["doorOpenTooLong", SIGNALS[1].code]
    assert (long.start.timestamp(), long.device) == (t0, SIGNALS[1].device)
    assert booked == [
        (SIGNALS[1].code, t0 - 900.0, t0 + 3 * HOUR + 900.0),
        (SIGNALS[3].code, t0 - 900.0, t0 + 0.5 * HOUR + 900.0),
    ]


def test_door_detector_and_cabinet_faults_leave_their_events(tmp_path: Path) -> None:
    sim = simulator(NOON)
    at = NOON + timedelta(minutes=5)
    sim.inject(inject(FaultType.DOOR_OPEN_UNAUTHORISED, SIGNALS[0].code, at, 0.5))
    sim.inject(inject(FaultType.DETECTOR_FAULT, SIGNALS[1].code, at, 1, level=82.0))
    sim.inject(inject(FaultType.DETECTOR_FAULT, SIGNALS[2].code, at, 1, level=87.0))
    sim.inject(inject(FaultType.CABINET_ALARM, SIGNALS[3].code, at, 1))
    later = at + timedelta(hours=2)
    sim.inject(inject(FaultType.PEDESTRIAN_DETECTOR_FAULT, SIGNALS[0].code, later, 1))
    sim.inject(inject(FaultType.MANUAL_CONTROL, SIGNALS[1].code, later, 0.5))
    sim.inject(inject(FaultType.STOP_TIME, SIGNALS[2].code, later, 0.5))
    everything = ups(run(sim, 4 * HOUR))
    door = of(everything, 0)
    assert [u.readings["door"].string_value for u in door].count("open") == 30
    assert codes(door)[200.0, "1"] == codes(door)[201.0, "1"] == 1
    stuck = of(everything, 1)
    t0 = at.timestamp()
    (channel,) = {
        e.string_value for u in stuck for e in u.events if e.value == 82 and abs(e.time - t0) < 0.1
    }
    during = [e for u in stuck if t0 + 60 < u.time < t0 + HOUR for e in u.events]
    assert not [e for e in during if e.value in (81.0, 82.0) and e.string_value == channel]
    assert codes(stuck)[178.0, "1"] == codes(stuck)[178.0, "0"] == 1
    assert "manual" in {u.readings["mode"].string_value for u in stuck}
    shorted = codes(of(everything, 2))
    assert sum(n for (code, _), n in shorted.items() if code == 87.0) == 1
    assert sum(n for (code, _), n in shorted.items() if code == 83.0) == 1
    assert shorted[180.0, "1"] == shorted[180.0, "0"] == 1
    inputs = sorted(str(param) for code, param in codes(of(everything, 3)) if code == 175.0)
    assert inputs[0] == "0"
    assert inputs[1:] in (["2"], ["4"], ["8"])  # input 2, 3 or 4 on, then all off
    assert sum(n for (code, _), n in codes(door).items() if code in (91.0, 92.0)) == 2
