"""A small synthetic city and helpers to run the telemetry simulator over it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from signalight.codecs.senml import decode_pack
from signalight.domain.assets import DEVICE_KIND_FOR_ASSET, AssetKind, AssetRecord
from signalight.domain.cities import City
from signalight.domain.readings import Reading
from signalight.sim.fleet_model import SimConfig
from signalight.sim.generator import generate_fleet
from signalight.sim.telemetry import Message, Simulator
from signalight.sim.truth import TruthLog

CITY = City(
    slug="sim-city",
    name="Sim City",
    country="MY",
    timezone="Asia/Kuala_Lumpur",
    lat=5.38,
    lon=100.40,
    currency="MYR",
)
# 15 January 2026 in George Town: sunrise 07:32, sunset 19:23 local (UTC+8).
NOON = datetime(2026, 1, 15, 4, 0, tzinfo=UTC)  # 12:00 local
EVENING = datetime(2026, 1, 15, 14, 0, tzinfo=UTC)  # 22:00 local
SMALL_HOURS = datetime(2026, 1, 15, 17, 30, tzinfo=UTC)  # 01:30 local, dimmed
RECORDS = generate_fleet(CITY, lights=300, intersections=4, seed=3, today=date(2026, 1, 1)).records
QUIET = SimConfig(seed=1, fault_rate_scale=0.0)


@dataclass(frozen=True)
class Up:
    """A decoded report."""

    time: float
    device: str
    readings: dict[str, Reading]
    events: list[Reading]


def simulator(
    start: datetime,
    config: SimConfig = QUIET,
    truth: Path | None = None,
    records: list[AssetRecord] = RECORDS,
) -> Simulator:
    log = TruthLog.open(truth, CITY.slug) if truth is not None else None
    return Simulator(CITY, records, config, start=start, truth=log)


def run(sim: Simulator, seconds: float) -> list[Message]:
    return list(sim.messages(sim.now + seconds))


def run_and_close(sim: Simulator, seconds: float) -> list[Message]:
    """Run, then close the ground-truth log so that the test can read it whole."""
    messages = run(sim, seconds)
    if sim.truth is not None:
        sim.truth.close()
    return messages


def device_of(topic: str) -> str:
    return topic.split("/")[2]


KINDS = {record.device: DEVICE_KIND_FOR_ASSET[record.kind] for record in RECORDS if record.device}
BY_DEVICE = {record.device: record for record in RECORDS if record.device}
BY_CODE = {record.code: record for record in RECORDS}


def ups(messages: list[Message]) -> list[Up]:
    """Every report, decoded and checked against the catalogue of its device's kind."""
    decoded = []
    for t, topic, payload in messages:
        if not topic.endswith("/up"):
            continue
        device = device_of(topic)
        readings = decode_pack(payload, device=device, kind=KINDS[device], now=t)
        values = {r.name: r for r in readings if r.name != "event"}
        decoded.append(Up(t, device, values, [r for r in readings if r.name == "event"]))
    return decoded


def statuses(messages: list[Message]) -> list[tuple[float, str, bytes]]:
    return [(t, device_of(topic), p) for t, topic, p in messages if topic.endswith("/status")]


def lights_of(cabinet: str) -> list[AssetRecord]:
    return [r for r in RECORDS if r.kind is AssetKind.STREETLIGHT and r.cabinet == cabinet]


def first(kind: AssetKind) -> AssetRecord:
    return next(r for r in RECORDS if r.kind is kind and r.device)
