"""A small street in George Town for the fault detector's scenario tests.

One cabinet (``CAB-1``) with its meter ``CM-1`` feeds five 100 W LED lights
(``N1``..``N5``); an HPS light of 150 W (``H1``) hangs on no cabinet; one LED
light (``N21``) hangs on a cabinet without a meter (``CAB-2``). A
:class:`Fleet` drives them all in 300 s steps, each device saying what a
healthy one says at that time (burning from sunset to sunrise, dimmed to 50%
from 00:00 to 05:00 local), unless a test changes a :class:`Node`. The
detector's wall clock is a :class:`FakeWall` the fleet moves with the stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Final
from zoneinfo import ZoneInfo

from signalight.adapters.sql.database import SqlDatabase
from signalight.domain.alarms import Alarm, AlarmQuery, AlarmType, EventKind
from signalight.domain.assets import AssetKind, AssetRecord, AssetStatus, LuminaireType
from signalight.domain.cities import City
from signalight.domain.faults import DEFAULT_CURVES, PowerCurve
from signalight.domain.readings import Reading
from signalight.domain.sun import Daylight, SunTable
from signalight.domain.telemetry import Accepted, DeviceRef
from signalight.services.detection import Detector
from tests.conftest import make_city

ZONE: Final = ZoneInfo("Asia/Kuala_Lumpur")
STEP: Final = 300.0  # every device reports every five minutes
LAT, LON = 5.38, 100.40  # George Town; every asset stands in this 0.01-degree sun cell
CABINET_LIGHTS: Final = ("N1", "N2", "N3", "N4", "N5")
HEALTHY: Final = 0.98  # a healthy lamp draws this share of what its curve expects


def local(day: int, hour: int, minute: int = 0, second: int = 0) -> float:
    """Epoch seconds of a local time in George Town, on a day of January 2026."""
    return datetime(2026, 1, day, hour, minute, second, tzinfo=ZONE).timestamp()


def daylight(day: int) -> Daylight:
    """Sunrise and sunset over the street on a day of January 2026 (about 07:32 and 19:23)."""
    table = SunTable(ZONE)
    return table.daylight(table.cell(LAT, LON), date(2026, 1, day))


def street() -> list[AssetRecord]:
    """The street's assets, as an inventory file would state them."""

    def light(code: str, device: str, index: int, **more: object) -> AssetRecord:
        values: dict[str, object] = {
            "kind": AssetKind.STREETLIGHT,
            "code": code,
            "lat": LAT + 0.0005 * index,
            "lon": LON + 0.0005 * index,
            "luminaire": LuminaireType.LED,
            "rated_watts": 100.0,
            "device": device,
        }
        values.update(more)
        return AssetRecord(**values)  # type: ignore[arg-type]

    return [
        AssetRecord(kind=AssetKind.CABINET, code="CAB-1", lat=LAT, lon=LON, device="CM-1"),
        AssetRecord(kind=AssetKind.CABINET, code="CAB-2", lat=LAT + 0.005, lon=LON + 0.005),
        *(light(f"SL-{i}", f"N{i}", i, cabinet="CAB-1") for i in range(1, 6)),
        light("SL-H", "H1", 6, luminaire=LuminaireType.HPS, rated_watts=150.0),
        light("SL-21", "N21", 7, cabinet="CAB-2"),
    ]


class FakeWall:
    """The detector's wall clock, moved by the test."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass(slots=True)
class Node:
    """What one device says at its next report; ``None`` fields follow a healthy device."""

    ref: DeviceRef
    rated: float | None = None  # lights
    curve: PowerCurve | None = None  # lights
    on: bool | None = None  # None: on from sunset to sunrise
    dim: float | None = None  # None: the city's night dimming
    power: float | None = None  # None: what a healthy lamp draws at its dim level
    voltage: float = 230.0
    pf: float = 0.95
    tilt: float = 1.0
    fault: str | None = None
    mains: bool = True  # a cabinet meter's supply
    silent: bool = False


class Fleet:
    """The street, its detector, and a clock that runs in 300 s steps."""

    def __init__(self, db: SqlDatabase, *, start: float, city: City | None = None) -> None:
        self.db = db
        self.city = city or make_city(db, lat=LAT, lon=LON, timezone="Asia/Kuala_Lumpur")
        self.records = {r.code: r for r in street()}
        db.assets.upsert_assets(self.city.pk, list(self.records.values()))
        refs = {d.uid: d for d in db.telemetry.devices() if d.city_id == self.city.pk}
        rated = {r.device: r for r in self.records.values() if r.kind is AssetKind.STREETLIGHT}
        self.nodes: dict[str, Node] = {"CM-1": Node(refs["CM-1"])}
        for uid, record in rated.items():
            assert uid is not None
            assert record.luminaire is not None
            self.nodes[uid] = Node(
                refs[uid], rated=record.rated_watts, curve=DEFAULT_CURVES[record.luminaire]
            )
        self.t = start - STEP  # the first step reports at ``start``
        self.wall = FakeWall(start - STEP)
        self.detector = self.new_detector()

    def new_detector(self) -> Detector:
        """A detector over the fleet's database and wall clock, as after a restart."""
        return Detector(self.db.alarms, self.db.fleet, self.db.cities, wall=self.wall)

    def restart(self) -> None:
        """Replace the detector with a new one on the same database."""
        self.detector = self.new_detector()

    def set_status(self, code: str, status: AssetStatus) -> None:
        """Change an asset's status in the inventory."""
        self.records[code] = replace(self.records[code], status=status)
        self.db.assets.upsert_assets(self.city.pk, [self.records[code]])

    # What the devices say.

    def message(self, uid: str, t: float | None = None) -> Accepted:
        """The report ``uid`` sends at ``t`` (the fleet's time by default)."""
        t = self.t if t is None else t
        node = self.nodes[uid]
        if node.rated is None:
            volts = 230.0 if node.mains else 0.0
            readings = [
                Reading(t, "mains", bool_value=node.mains),
                *(Reading(t, f"voltage/l{line}", volts) for line in (1, 2, 3)),
            ]
            return Accepted(node.ref, readings, t)
        on = self.night(t) if node.on is None else node.on
        dim = self.scheduled_dim(t) if node.dim is None else node.dim
        power = node.power
        if power is None:
            assert node.curve is not None
            power = node.rated * node.curve.share(dim) * HEALTHY if on else 0.0
        readings = [
            Reading(t, "on", bool_value=on),
            Reading(t, "dim", dim),
            Reading(t, "power", power),
            Reading(t, "voltage", node.voltage),
            Reading(t, "pf", node.pf),
            Reading(t, "tilt", node.tilt),
        ]
        if node.fault is not None:
            readings.append(Reading(t, "fault", string_value=node.fault))
        return Accepted(node.ref, readings, t)

    def status(self, uid: str, value: str = "offline", t: float | None = None) -> Accepted:
        """A last-will or birth status message of ``uid``."""
        t = self.t if t is None else t
        return Accepted(self.nodes[uid].ref, [Reading(t, "status", string_value=value)], t)

    @staticmethod
    def night(t: float) -> bool:
        """Whether a photocell keeps the lamps on at ``t``."""
        sun = daylight(datetime.fromtimestamp(t, ZONE).day)
        return t < sun.sunrise or t >= sun.sunset

    @staticmethod
    def scheduled_dim(t: float) -> float:
        """The city's night dimming: 50% from 00:00 to 05:00 local."""
        return 50.0 if datetime.fromtimestamp(t, ZONE).hour < 5 else 100.0

    # The clock.

    def batch(self, extra: Sequence[Accepted] = ()) -> list[Accepted]:
        """Move one step on and return what every device that is not silent says then."""
        self.t += STEP
        said = [self.message(uid) for uid, node in self.nodes.items() if not node.silent]
        return [*said, *extra]

    def step(self, count: int = 1, *, extra: Sequence[Accepted] = ()) -> None:
        """Run ``count`` steps: every device reports, the detector judges, ticks and stores."""
        for index in range(count):
            batch = self.batch(extra if index == 0 else ())
            self.wall.now = max(self.wall.now, self.t)
            self.detector.observe(batch)
            self.detector.tick()
            self.detector.flush()

    def until(self, t: float) -> None:
        """Run steps until the fleet's time reaches ``t`` (a step time)."""
        while self.t + STEP <= t:
            self.step()
        assert self.t == t, "run to a step time"

    def send(self, *messages: Accepted) -> None:
        """Messages outside the steps; the wall clock moves to the newest of them."""
        self.wall.now = max(self.wall.now, *(m.readings[-1].time for m in messages))
        self.detector.observe(list(messages))
        self.detector.flush()

    def report(self, uid: str, t: float) -> None:
        """One report of ``uid`` at ``t``, outside the steps."""
        self.send(self.message(uid, t))

    def idle(self, until: float, every: float = 30.0) -> None:
        """Nothing arrives: the wall clock runs to ``until`` and the detector ticks on the way."""
        while self.wall.now < until:
            self.wall.now = min(self.wall.now + every, until)
            self.detector.tick()
            self.detector.flush()

    # What the detector stored.

    def alarms(self, kind: AlarmType | None = None, code: str | None = None) -> list[Alarm]:
        """The city's alarms, held ones too, oldest first; of one type and asset if given."""
        query = AlarmQuery(
            types=frozenset({kind}) if kind else frozenset(), include_held=True, limit=1000
        )
        found = self.db.alarms.query_alarms(self.city.pk, query).items
        return [a for a in reversed(found) if code is None or a.asset_code == code]

    def only(self, kind: AlarmType, code: str) -> Alarm:
        """The one alarm of ``kind`` on the asset ``code``."""
        found = self.alarms(kind, code)
        assert len(found) == 1, found
        return found[0]

    def events(self, alarm: Alarm) -> list[EventKind]:
        """The kinds of an alarm's events, oldest first."""
        return [e.kind for e in self.db.alarms.history(self.city.pk, alarm.pk)]

    def summary(self) -> list[tuple[str, str | None, str]]:
        """(type, asset code, state) of every alarm, oldest first: what a failed test shows."""
        return [(str(a.type), a.asset_code, str(a.state)) for a in self.alarms()]
