"""The simulator, the fault rules and the scorer together: injected faults score clean."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from signalight.adapters.sql.database import SqlDatabase
from signalight.domain.assets import AssetKind
from signalight.domain.telemetry import DeadLetter
from signalight.services import scoring
from signalight.services.detection import Detector
from signalight.services.ingest import IngestService, Message
from signalight.sim.faults import FaultType, Injection
from signalight.sim.fleet_model import SimConfig
from signalight.sim.generator import generate_fleet
from signalight.sim.telemetry import Simulator
from signalight.sim.truth import TruthLog, read_truth
from tests.conftest import make_city

START = datetime(2026, 1, 15, 13, 0, tzinfo=UTC)  # 21:00 in George Town: dark, not dimmed
HOURS = 3
BATCH = 100  # small batches: the detector's clock follows the stream closely


def test_injected_supply_driver_and_short_outage_faults_score_clean(tmp_path: Path) -> None:
    db = SqlDatabase.connect(f"sqlite:///{tmp_path / 'run.db'}")
    db.migrate()
    try:
        city = make_city(db)
        fleet = generate_fleet(city, lights=200, intersections=0, seed=3, today=date(2026, 1, 1))
        db.assets.upsert_assets(city.pk, fleet.records)
        cabinets = [r for r in fleet.records if r.kind is AssetKind.CABINET and r.device]
        assert len(cabinets) >= 4
        high, low, dark, driven = (c.code for c in cabinets[:4])
        lights = [
            r.code
            for r in fleet.records
            if r.kind is AssetKind.STREETLIGHT and r.device and r.cabinet == driven
        ]
        t0 = START.timestamp()
        injections = [
            Injection(FaultType.HIGH_VOLTAGE, high, t0 + 1800.0, 3600.0),
            Injection(FaultType.LOW_VOLTAGE, low, t0 + 1800.0, 3600.0),
            # Seven minutes without mains: one meter report says so.
            Injection(FaultType.SUPPLY_LOSS, dark, t0 + 1800.0, 420.0),
            Injection(FaultType.HIGH_POWER, lights[0], t0 + 1800.0, 3600.0),
            Injection(FaultType.LOW_POWER_FACTOR, lights[1], t0 + 1800.0, 3600.0),
            Injection(FaultType.NODE_FAULT, lights[2], t0 + 1800.0, 3600.0),
        ]
        truth_path = tmp_path / "truth.jsonl"
        truth = TruthLog.open(truth_path, city.slug)
        config = SimConfig(seed=3, fault_rate_scale=0.0)
        sim = Simulator.from_store(db.assets, city, config, start=START, truth=truth)
        for injection in injections:
            sim.inject(injection)
        ingest = IngestService(db.telemetry)
        detector = Detector(db.alarms, db.fleet, db.cities)
        batch: list[Message] = []
        end = t0 + HOURS * 3600.0
        for t, topic, payload in sim.messages(end):
            batch.append(Message(topic, payload, t))
            if len(batch) == BATCH:
                detector.observe(
                    [c for c in map(ingest.check, batch) if not isinstance(c, DeadLetter)]
                )
                detector.tick()
                detector.flush()
                batch = []
        truth.close()

        truths = scoring.truths_of(read_truth(truth_path), city.slug)
        assert len(truths) == len(injections)
        sites = scoring.sites_of(db.assets.iter_assets(city.pk))
        alarms = scoring.all_alarms(db.alarms, city.pk)
        result = scoring.score(truths, alarms, sites, zone=city.timezone, start=t0, end=end)
        rows = {str(r["type"]): r for r in scoring.table(result)}
        for injection in injections:
            figures = rows[str(injection.type)]
            counts = (figures["faults"], figures["expected"], figures["detected"])
            assert counts == (1, 1, 1), figures
            assert figures["precision"] == 1.0, figures
        voltage_alarms = rows["highVoltage"]["alarms"]
        assert isinstance(voltage_alarms, int)
        assert voltage_alarms > 1  # the cabinet's lights saw it too
        assert (result.outages, result.incidents) == (1, 1)
        assert scoring.passes(result), rows
    finally:
        db.close()
