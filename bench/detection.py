"""Fault detection scored against ground truth: a simulated week of a 20,000-light city.

The fleet simulator runs the city for a simulated week at its default fault
rates, writing the ground truth; every message goes through ingest's checks
(decoding, validation) and the fault rules, whose alarms are stored in a real
SQLite alarm store; then the alarms are scored against the truth, per type.
Readings are not stored: this measures the rules, not the store (see
bench/ingest.py for ingest with detection through the broker).

Then a city-wide outage: every cabinet loses mains at once, and the time the
rules take to judge that burst and store its alarms is measured.

Figures printed beside their same-run reference: the rules' cost per message
against the cost of ingest's own checks of the same messages.

Usage: python bench/detection.py [--lights 20000] [--days 7] [--seed 11]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from signalight.adapters.sql.database import SqlDatabase
from signalight.domain.cities import City
from signalight.domain.telemetry import Accepted, DeadLetter
from signalight.gcpause import settle_for_streaming
from signalight.services import scoring
from signalight.services.detection import Detector
from signalight.services.ingest import IngestService, Message
from signalight.sim.faults import FaultType, Injection
from signalight.sim.fleet_model import SimConfig
from signalight.sim.generator import generate_fleet
from signalight.sim.telemetry import Simulator
from signalight.sim.truth import TruthLog, read_truth

CITY = City(
    slug="bench-city",
    name="Bench City",
    country="MY",
    timezone="Asia/Kuala_Lumpur",
    lat=5.38,
    lon=100.40,
    currency="MYR",
)
BATCH = 2000  # ingest's default batch
FLOOR = 0.98
TWO_INTERVALS_S = 600.0  # lights report every 300 s in the simulator's default


class Run:
    """The city, its simulator, ingest's checks and the rules, over one database."""

    def __init__(self, workdir: Path, lights: int, days: float, seed: int) -> None:
        self.db = SqlDatabase.connect(f"sqlite:///{workdir / 'bench.db'}")
        self.db.migrate()
        self.city = self.db.cities.add_city(CITY)
        fleet = generate_fleet(
            self.city, lights=lights, intersections=150, seed=seed, today=date(2026, 1, 1)
        )
        self.db.assets.upsert_assets(self.city.pk, fleet.records)
        self.start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=days + 1)
        self.end = self.start.timestamp() + days * 86_400.0
        self.truth_path = workdir / "truth.jsonl"
        self.truth = TruthLog.open(self.truth_path, self.city.slug)
        self.sim = Simulator.from_store(
            self.db.assets, self.city, SimConfig(seed=seed), start=self.start, truth=self.truth
        )
        self.ingest = IngestService(self.db.telemetry)
        alarms = self.db.alarms
        self.detector = Detector(alarms, self.db.fleet, self.db.cities)
        self.check_s = self.detect_s = self.store_s = 0.0
        self.messages = 0

    def feed(self, until: float) -> None:
        """Everything the fleet says up to ``until``, checked and judged a batch at a time."""
        batch: list[Message] = []
        for t, topic, payload in self.sim.messages(until):
            batch.append(Message(topic, payload, t))
            if len(batch) == BATCH:
                self._judge(batch)
                batch = []
        if batch:
            self._judge(batch)

    def _judge(self, batch: list[Message]) -> None:
        began = time.perf_counter()
        checked = [self.ingest.check(m) for m in batch]
        accepted = [c for c in checked if not isinstance(c, DeadLetter)]
        checked_at = time.perf_counter()
        self.detector.observe(accepted)
        self.detector.tick()
        judged_at = time.perf_counter()
        self.detector.flush()
        stored_at = time.perf_counter()
        self.check_s += checked_at - began
        self.detect_s += judged_at - checked_at
        self.store_s += stored_at - judged_at
        self.messages += len(batch)
        if len(accepted) != len(batch):
            print(f"  {len(batch) - len(accepted)} messages refused by ingest", file=sys.stderr)

    def accepted_of(self, until: float) -> list[Accepted]:
        checked = (
            self.ingest.check(Message(topic, payload, t))
            for t, topic, payload in self.sim.messages(until)
        )
        return [c for c in checked if not isinstance(c, DeadLetter)]


def show(rows: list[dict[str, object]]) -> None:
    def share(value: object) -> str:
        return f"{value:.3f}" if isinstance(value, float) else "-"

    def span(value: object) -> str:
        return f"{value:.0f}" if isinstance(value, int | float) else "-"

    print(
        f"{'type':22}{'faults':>7}{'expect':>7}{'found':>7}{'recall':>8}{'alarms':>7}{'true':>6}"
        f"{'precis':>8}{'med s':>8}{'p95 s':>8}{'vis med':>8}{'vis p95':>8}"
    )
    for row in rows:
        print(
            f"{row['type']!s:22}{row['faults']!s:>7}{row['expected']!s:>7}{row['detected']!s:>7}"
            f"{share(row['recall']):>8}{row['alarms']!s:>7}{row['true_alarms']!s:>6}"
            f"{share(row['precision']):>8}"
            + "".join(f"{span(row[key]):>8}" for key in scoring.TIME_KEYS)
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lights", type=int, default=20_000)
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    settle_for_streaming()
    with tempfile.TemporaryDirectory(prefix="signalight-detect-") as tmp:
        run = Run(Path(tmp), args.lights, args.days, args.seed)
        print(
            f"{run.sim.devices:,} devices, {args.days:g} simulated days"
            f" from {run.start:%Y-%m-%d %H:%M} UTC"
        )
        began = time.perf_counter()
        run.feed(run.end)
        wall = time.perf_counter() - began
        stats = run.detector.stats()
        per = 1e6 / max(run.messages, 1)
        print(
            f"{run.messages:,} messages in {wall:,.0f} s:"
            f" the rules {run.detect_s * per:.1f} µs a message"
            f" (reference, ingest's checks of the same messages: {run.check_s * per:.1f} µs);"
            f" storing alarms {run.store_s:.1f} s in all"
        )
        print(
            f"alarms raised {stats.raised:,}, held under outages {stats.held:,},"
            f" cleared {stats.cleared:,}"
        )
        truths = scoring.truths_of(read_truth(run.truth_path), run.city.slug)
        sites = scoring.sites_of(run.db.assets.iter_assets(run.city.pk))
        alarms = scoring.all_alarms(run.db.alarms, run.city.pk)
        result = scoring.score(
            truths, alarms, sites, zone=run.city.timezone, start=run.start.timestamp(), end=run.end
        )
        rows = scoring.table(result)
        show(rows)
        print(
            f"outages {result.outages}, incidents {result.incidents}, lamp or silence alarms"
            f" under an outage {result.lamp_alarms_in_outage}, held {result.held}"
        )
        quick = [r for r in rows if r["type"] in ("lampFailure", "lampUnexpectedOn")]
        slow = [
            r
            for r in quick
            if not isinstance(r["visible_p95_s"], float | int)
            or float(r["visible_p95_s"]) > TWO_INTERVALS_S
        ]
        ok = scoring.passes(result, FLOOR) and not slow
        print(
            f"floors (recall and precision >= {FLOOR} every type, lamp failure and day burning"
            f" p95 within {TWO_INTERVALS_S:.0f} s of showing, one incident per outage,"
            f" no lamp alarm under an outage): {'met' if ok else 'NOT met'}"
        )

        # A city-wide outage: every cabinet loses mains at the same moment.
        at = run.sim.now + 60.0
        cabinets = [model.code for model in run.sim.model.cabinets if model.fault is None]
        for code in cabinets:
            run.sim.inject(Injection(FaultType.SUPPLY_LOSS, code, at, 3600.0))
        burst = run.accepted_of(at + 900.0)
        before = run.detector.stats()
        began = time.perf_counter()
        for start in range(0, len(burst), BATCH):
            run.detector.observe(burst[start : start + BATCH])
            run.detector.tick()
        judged = time.perf_counter()
        run.detector.flush()
        stored = time.perf_counter()
        after = run.detector.stats()
        made = after.raised + after.held - before.raised - before.held
        print(
            f"city-wide outage: {len(cabinets)} cabinets, {made:,} alarms"
            f" ({after.held - before.held:,} held)"
            f" from {len(burst):,} messages: judged in {judged - began:.2f} s"
            f" ({len(burst) / (judged - began):,.0f} messages/s), stored in {stored - judged:.2f} s"
        )
        run.truth.close()
        run.db.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
