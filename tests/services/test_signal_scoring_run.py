"""A simulated day of a city's intersections, judged by the real detector and scored.

Every signal fault type strikes at many times its real rate (each fault
shorter, so that an intersection is free for the next), crews open cabinets
in maintenance windows the simulator books, and the score must find every
type with recall and precision of at least 0.98, and flash, dark, conflict
flash and break-ins raised within one reporting interval of the monitor.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Final

from signalight.adapters.sql.database import SqlDatabase
from signalight.domain.assets import AssetKind
from signalight.domain.cities import City
from signalight.domain.telemetry import DeadLetter
from signalight.services import scoring
from signalight.services.detection import Detector
from signalight.services.ingest import IngestService, Message
from signalight.sim.faults import DEFAULT_SPECS, FaultSpec, FaultType, Injection
from signalight.sim.fleet_model import SimConfig
from signalight.sim.generator import generate_fleet
from signalight.sim.telemetry import Simulator
from signalight.sim.truth import TruthLog, read_truth
from tests.conftest import make_city
from tests.services.detection_rig import FakeWall

START: Final = datetime(2026, 1, 15, 0, 0, tzinfo=UTC)
DAY: Final = 86_400.0
TICK_S: Final = 30.0  # the detector's timed rules and the store, every half minute of the run
SIGNAL_TYPES: Final = frozenset(
    {str(kind) for kind in DEFAULT_SPECS if DEFAULT_SPECS[kind].kinds == {AssetKind.INTERSECTION}}
    | {"communicationFailure"}
) - {str(FaultType.DOOR_OPEN_AUTHORISED)}
AT_ONCE: Final = ("signalFlash", "signalDark", "conflictFlash", "doorOpenUnauthorised")
SHOWN: Final = ("faults", "expected", "recall", "precision", "delay_max_intervals")
# Per intersection and day, and a median duration in hours: some 15 of each type a day
# over the city's intersections, each over within hours.
RATES: Final = {
    FaultType.SIGNAL_FLASH: (0.6, 0.5),
    FaultType.SIGNAL_DARK: (0.5, 0.5),
    FaultType.CONFLICT_FLASH: (0.5, 0.5),
    FaultType.RED_LAMP_FAILURE: (0.5, 1.0),
    FaultType.MANUAL_CONTROL: (0.5, 0.5),
    FaultType.STOP_TIME: (0.4, 0.25),
    FaultType.MAINS_FAILURE: (0.5, 1.0),
    FaultType.BATTERY_LOW: (0.4, 1.0),
    FaultType.DOOR_OPEN_UNAUTHORISED: (0.6, 0.3),
    FaultType.DOOR_OPEN_AUTHORISED: (1.0, 0.75),
    FaultType.CABINET_ALARM: (0.5, 1.0),
    FaultType.DETECTOR_FAULT: (0.5, 1.0),
    FaultType.PEDESTRIAN_DETECTOR_FAULT: (0.5, 1.0),
    FaultType.COMMUNICATION_FAILURE: (0.4, 0.5),
}


def specs() -> dict[FaultType, FaultSpec]:
    """The signal types at the test's rates, none lasting to the end; nothing strikes lights."""
    out = {}
    for kind, spec in DEFAULT_SPECS.items():
        rate, median = RATES.get(kind, (0.0, None))
        out[kind] = replace(spec, per_day=rate, median_h=median or spec.median_h, lasting=0.0)
    return out


def simulated_day(db: SqlDatabase, tmp_path: Path) -> tuple[City, Path]:
    """A day of 27 intersections simulated, judged by the detector; the city and its truth."""
    city = make_city(db)
    fleet = generate_fleet(city, lights=1000, intersections=40, seed=5, today=date(2026, 1, 1))
    signals = [r for r in fleet.records if r.kind is AssetKind.INTERSECTION]
    db.assets.upsert_assets(city.pk, signals)
    ids = {a.id: a.code for a in db.assets.iter_assets(city.pk)}
    windows: dict[str, list[tuple[float, float]]] = defaultdict(list)

    def book(asset: str, start: float, end: float) -> bool:
        windows[asset].append((start, end))
        return True

    def authority(_city: int, asset_id: int, at: float) -> str | None:
        spans = windows.get(ids[asset_id], [])
        return next((f"window {s:.0f}" for s, e in spans if s <= at < e), None)

    truth_path = tmp_path / "truth.jsonl"
    truth = TruthLog.open(truth_path, city.slug)
    t0 = START.timestamp()
    config = SimConfig(seed=11)
    sim = Simulator(city, signals, config, start=START, truth=truth, specs=specs(), windows=book)
    # Crews that stay on, and mains failures long enough to drain the battery.
    for n, hours in ((0, 3.0), (1, 2.5), (2, 4.0)):
        stay = Injection(FaultType.DOOR_OPEN_TOO_LONG, signals[n].code, t0 + 600.0, hours * 3600)
        sim.inject(stay)
    for n in (3, 4):
        sim.inject(Injection(FaultType.MAINS_FAILURE, signals[n].code, t0 + 900.0, 4 * 3600))
    wall = FakeWall(t0)
    ingest = IngestService(db.telemetry)
    detector = Detector(db.alarms, db.fleet, db.cities, wall=wall, door_authority=authority)
    next_tick = t0 + TICK_S
    for t, topic, payload in sim.messages(t0 + DAY):
        wall.now = max(wall.now, t)
        accepted = ingest.check(Message(topic, payload, t))
        if not isinstance(accepted, DeadLetter):
            detector.observe([accepted])
        if t >= next_tick:
            detector.tick()
            detector.flush()
            next_tick = t + TICK_S
    detector.tick()
    detector.flush()
    truth.close()
    return city, truth_path


def test_a_simulated_day_of_signal_faults_scores_clean(tmp_path: Path) -> None:
    db = SqlDatabase.connect(f"sqlite:///{tmp_path / 'run.db'}")
    db.migrate()
    try:
        city, truth_path = simulated_day(db, tmp_path)
        truths = scoring.truths_of(read_truth(truth_path), city.slug)
        sites = scoring.sites_of(db.assets.iter_assets(city.pk))
        alarms = scoring.raisings(db.alarms, city.pk, scoring.all_alarms(db.alarms, city.pk))
        t0 = START.timestamp()
        result = scoring.score(truths, alarms, sites, zone=city.timezone, start=t0, end=t0 + DAY)
    finally:
        db.close()
    rows = {str(r["type"]): r for r in scoring.table(result)}
    figures = {name: {k: rows[name][k] for k in SHOWN} for name in SIGNAL_TYPES if name in rows}
    for name in SIGNAL_TYPES:
        expected, recall, precision = (rows[name][k] for k in ("expected", "recall", "precision"))
        assert isinstance(expected, int)
        assert expected >= 3, figures  # every type was put to the test
        assert isinstance(recall, float)
        assert isinstance(precision, float)
        assert min(recall, precision) >= 0.98, figures
    for name in AT_ONCE:
        most = rows[name]["delay_max_intervals"]
        assert isinstance(most, float)
        assert most <= 1.0, figures
    assert result.authorised_openings >= 10
    assert result.break_ins_on_them == 0
