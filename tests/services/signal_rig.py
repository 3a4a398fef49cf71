"""Two intersections in George Town for the traffic-signal rules' scenario tests.

``TS-1`` (monitor ``S1``, phases 2, 4, 6, 8) stands alone; ``TS-2`` (monitor
``S2``) is fed by the lighting cabinet ``CAB-1`` whose meter is ``CM-1``.
A test builds each report by hand (:func:`pack`), as an outside client
would publish it, and hands it to a real :class:`Detector` over SQLite;
the monitors report every 60 s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import orjson

from signalight.adapters.sql.database import SqlDatabase
from signalight.domain.alarms import Alarm, AlarmQuery, AlarmType, EventKind
from signalight.domain.assets import AssetKind, AssetRecord
from signalight.domain.faults import DetectionSettings
from signalight.domain.readings import Reading
from signalight.domain.telemetry import Accepted, DeadLetter
from signalight.domain.topics import Channel, device_topic
from signalight.services.detection import Detector
from signalight.services.ingest import IngestService, Message
from signalight.services.signal_rules import DoorAuthority
from tests.conftest import make_city
from tests.services.detection_rig import LAT, LON, FakeWall, local

STEP: Final = 60.0
T0: Final = local(15, 10)  # 10:00 local on 15 January 2026
# Phase 2 and 6 green, 4 and 8 red: what a healthy monitor of TS-1 says mid-cycle.
HEALTHY_LAMPS: Final = {2: {"green": 0.36}, 6: {"green": 0.36}, 4: {"red": 0.24}, 8: {"red": 0.24}}

Event = tuple[float, int, int]  # time, code, parameter


def pack(
    t: float,
    *,
    mode: str | None = "normal",
    mmu: str | None = "ok",
    door: str | None = "closed",
    mains: bool | None = True,
    battery: float | None = 27.2,
    lamps: Mapping[int, Mapping[str, float]] | None = HEALTHY_LAMPS,
    events: Sequence[Event] = (),
) -> list[Reading]:
    """A monitor's report at ``t``; a field set to None is left out of it."""
    readings: list[Reading] = []
    if mode is not None:
        readings.append(Reading(t, "mode", string_value=mode))
    if mmu is not None:
        readings.append(Reading(t, "mmu", string_value=mmu))
    if door is not None:
        readings.append(Reading(t, "door", string_value=door))
    if mains is not None:
        readings.append(Reading(t, "mains", bool_value=mains))
    if battery is not None:
        readings.append(Reading(t, "battery", battery))
    for phase, colours in (lamps or {}).items():
        readings += [Reading(t, f"lamp/{phase}/{c}", amps) for c, amps in colours.items()]
    readings += [Reading(at, "event", float(code), string_value=str(p)) for at, code, p in events]
    return readings


def only_events(*events: Event) -> dict[str, Any]:
    """The fields of :func:`pack` for a controller that sends its events and nothing else."""
    return {
        "mode": None,
        "mmu": None,
        "door": None,
        "mains": None,
        "battery": None,
        "lamps": None,
        "events": events,
    }


class Crossing:
    """The intersections, their detector, and a clock the test moves."""

    def __init__(
        self,
        db: SqlDatabase,
        *,
        settings: DetectionSettings | None = None,
        door_authority: DoorAuthority | None = None,
    ) -> None:
        self.db = db
        self.city = make_city(db, lat=LAT, lon=LON, timezone="Asia/Kuala_Lumpur")
        db.assets.upsert_assets(
            self.city.pk,
            [
                AssetRecord(kind=AssetKind.CABINET, code="CAB-1", lat=LAT, lon=LON, device="CM-1"),
                AssetRecord(
                    kind=AssetKind.INTERSECTION,
                    code="TS-1",
                    lat=LAT,
                    lon=LON,
                    phases=(2, 4, 6, 8),
                    device="S1",
                ),
                AssetRecord(
                    kind=AssetKind.INTERSECTION,
                    code="TS-2",
                    lat=LAT,
                    lon=LON,
                    phases=(2, 4, 6, 8),
                    cabinet="CAB-1",
                    device="S2",
                ),
            ],
        )
        self.refs = {d.uid: d for d in db.telemetry.devices() if d.city_id == self.city.pk}
        self.wall = FakeWall(T0)
        self._settings, self._authority = settings, door_authority
        self.detector = self.new_detector()
        self.t = T0

    def new_detector(self) -> Detector:
        """A detector over the crossing's database and wall clock, as after a restart."""
        return Detector(
            self.db.alarms,
            self.db.fleet,
            self.db.cities,
            defaults=self._settings,
            wall=self.wall,
            door_authority=self._authority,
        )

    def send(self, uid: str, readings: list[Reading]) -> None:
        """One report of ``uid``, judged and its alarms stored."""
        newest = max(r.time for r in readings)
        self.wall.now = max(self.wall.now, newest)
        self.detector.observe([Accepted(self.refs[uid], readings, newest)])
        self.detector.tick()
        self.detector.flush()

    def publish(self, uid: str, pack: list[dict[str, Any]]) -> None:
        """A SenML pack as an outside client publishes it on ``uid``'s topic, through ingest."""
        topic = device_topic(self.city.slug, uid, Channel.UP)
        message = Message(topic, orjson.dumps(pack), self.t)
        accepted = IngestService(self.db.telemetry).check(message)
        assert not isinstance(accepted, DeadLetter), accepted
        self.wall.now = max(self.wall.now, self.t)
        self.detector.observe([accepted])
        self.detector.tick()
        self.detector.flush()

    def report(self, uid: str = "S1", **fields: Any) -> float:
        """Move the clock one step and have ``uid`` report (``fields`` as for :func:`pack`)."""
        self.t += STEP
        self.send(uid, pack(self.t, **fields))
        return self.t

    def meter(self, *, mains: bool) -> None:
        """The cabinet meter's report at the clock's time."""
        volts = 230.0 if mains else 0.0
        readings = [
            Reading(self.t, "mains", bool_value=mains),
            *(Reading(self.t, f"voltage/l{n}", volts) for n in (1, 2, 3)),
        ]
        self.send("CM-1", readings)

    def idle(self, until: float) -> None:
        """Nothing arrives; the wall clock runs to ``until`` and the detector ticks."""
        while self.wall.now < until:
            self.wall.now = min(self.wall.now + 10.0, until)
            self.detector.tick()
            self.detector.flush()

    def alarms(self, kind: AlarmType | None = None, code: str = "TS-1") -> list[Alarm]:
        """The alarms on ``code``, held ones too, oldest first; of one type if given."""
        query = AlarmQuery(
            types=frozenset({kind}) if kind else frozenset(), include_held=True, limit=1000
        )
        found = self.db.alarms.query_alarms(self.city.pk, query).items
        return [a for a in reversed(found) if a.asset_code == code]

    def only(self, kind: AlarmType, code: str = "TS-1") -> Alarm:
        """The one alarm of ``kind`` on ``code``."""
        found = self.alarms(kind, code)
        assert len(found) == 1, self.summary()
        return found[0]

    def events(self, alarm: Alarm) -> list[EventKind]:
        """The kinds of an alarm's events, oldest first."""
        return [e.kind for e in self.db.alarms.history(self.city.pk, alarm.pk)]

    def summary(self, code: str = "TS-1") -> list[tuple[str, str]]:
        """(type, state) of every alarm on ``code``, oldest first: what a failed test shows."""
        return [(str(a.type), str(a.state)) for a in self.alarms(code=code)]
