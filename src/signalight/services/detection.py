"""Fault detection: the rules of ``docs/faults.md`` judged on each stored message and on the clock.

The :class:`Detector` keeps, per device, what the rules need from one report
to the next (the reporting interval it has learnt, lit/dark changes, streaks
of bad or good evidence, its open alarms) and, per cabinet, its outage
incident; it follows each city's clock and inventory, and hands each report
and each timed check to the rules, which it holds as objects:
:class:`LightRules` (a light's report, sunrise), :class:`OutageRules`
(cabinets, silence) and :class:`SignalRules` (a signal cabinet's monitor).
They weigh evidence through a :class:`Judge` (``verdicts.py``), and an
:class:`AlarmBook` (``alarm_book.py``) keeps the alarms' life and the steps
to store.

About 450 lines: the stream's clock (held while ingest cannot store), the
watches and their seeding, which every rule shares; the rules, the book and
the inventory follower are out.

Time is the stream's own: each city has a clock that follows the times its
devices report (a replayed week is judged on its own clock) and runs on with
the wall clock while nothing arrives, so that silence and sunrise are judged
when no data comes. The detector itself is not thread-safe; :class:`DetectionLoop`
runs it for ingest (on ingest's writer thread, after each stored batch) and
stores its alarms.
"""

from __future__ import annotations

import heapq
import logging
import math
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Final

from signalight.domain.alarms import Alarm, AlarmState, AlarmType
from signalight.domain.faults import DetectionSettings
from signalight.services.alarm_book import AlarmBook
from signalight.services.alarm_recorder import AlarmRecorder
from signalight.services.fault_memory import (
    GOOD,
    LIGHT_NODE,
    METER,
    SIGNAL_MONITOR,
    Cabinet,
    CityState,
    Due,
    Watch,
    schedule,
)
from signalight.services.inventory_follow import InventoryFollower
from signalight.services.light_rules import LightRules
from signalight.services.outage_rules import OutageRules
from signalight.services.signal_rules import DoorAuthority, SignalRules
from signalight.services.verdicts import Judge

if TYPE_CHECKING:
    from signalight.domain.alarms import AlarmEvent
    from signalight.domain.readings import Reading
    from signalight.domain.telemetry import Accepted, DeviceRef
    from signalight.ports import CityRepository, DetectorStore, FleetInventory
    from signalight.ports.schedules import ScheduleStore

__all__ = ["Detector", "DetectorStats"]

log = logging.getLogger(__name__)

_SETTINGS_EVERY: Final = 60.0  # seconds between reloads of the cities' settings
_BEHIND_S: Final = 2.0  # a batch received this long before it is judged: ingest is behind
_SEED_CHUNK: Final = 5000


@dataclass(frozen=True, slots=True)
class DetectorStats:
    """What the detector has done, for metrics and the benchmark."""

    messages: int
    devices: int
    raised: int
    held: int
    cleared: int
    pending: int


class Detector:
    """The fault rules over a stream of stored messages; single-threaded.

    Call :meth:`observe` with each stored batch, :meth:`tick` now and then
    (with the wall time) for the rules that fire without data, and
    :meth:`flush` to store what was decided.
    """

    def __init__(
        self,
        store: DetectorStore,
        inventory: FleetInventory,
        cities: CityRepository,
        *,
        defaults: DetectionSettings | None = None,
        wall: Callable[[], float] = time.time,
        door_authority: DoorAuthority | None = None,
        schedules: ScheduleStore | None = None,
    ) -> None:
        self._store = store
        self._schedules = schedules  # each light's plan; None: every city on its default
        self._inventory = inventory
        self._cities_repo = cities
        self._defaults = defaults or DetectionSettings()
        self._wall = wall
        self._cities: dict[int, CityState] = {}
        self._watches: dict[int, Watch] = {}
        self._cabinets: dict[int, Cabinet] = {}
        self._restored: dict[int, dict[AlarmType, Alarm]] = {}  # open alarms by device, at start
        self._restored_incidents: dict[int, Alarm] = {}
        self._restored_held: dict[int, list[int]] = {}  # devices held, by incident id
        # A status carries no device time, so "did the meter speak after this will?"
        # is told by arrival: the number of the message being judged, and of each
        # will still standing, by device.
        self._arrival = 0
        self._wills: dict[int, int] = {}
        self._settings_at = -math.inf
        self.messages = 0
        self._held_at: float | None = None  # when ingest stalled (wall), while it is
        self.book = AlarmBook(AlarmRecorder(store, wall=wall), self._cities, wall)
        self._verdicts = Judge(self.book)
        self.lights = LightRules(self._verdicts)
        self.outages = OutageRules(
            self._verdicts,
            self.book,
            watches=self._watches,
            wills=self._wills,
            cabinet=self._cabinet,
            watch_all=self._watch_all,
            flush=self.flush,
        )
        self.signals = SignalRules(
            self._verdicts,
            self.book,
            watches=self._watches,
            cabinet=self._cabinet,
            door_authority=door_authority,
        )
        self._inventory_follower = InventoryFollower(
            inventory, self._watches, self._cabinets, self._cities, self.book, wall
        )
        self._load_cities()
        self._restore()

    # Set-up.

    def _load_cities(self) -> None:
        overrides = self._store.detection_overrides()
        for city in self._cities_repo.list_cities():
            settings = self._defaults
            try:
                settings = self._defaults.merged(overrides.get(city.pk, {}))
            except Exception:  # a bad override stored by an older version: keep the defaults
                log.exception("city %s: detection settings ignored", city.slug)
            found = self._cities.get(city.pk)
            if found is None:
                found = self._cities[city.pk] = CityState(city.pk, city.timezone, settings)
                found.centre = found.sun.cell(city.lat, city.lon)
            found.settings = settings
            found.plans.follow(self._schedules, city.pk, settings, found.now(self._wall()))
        self._settings_at = self._wall()

    def _restore(self) -> None:
        for alarm in self._store.open_alarms():
            if alarm.type is AlarmType.SUPPLY_LOSS and alarm.asset_id is not None:
                self._restored_incidents[alarm.asset_id] = alarm
            elif alarm.device_id is not None:
                self._restored.setdefault(alarm.device_id, {})[alarm.type] = alarm
                if alarm.held and alarm.parent_id is not None:
                    self._restored_held.setdefault(alarm.parent_id, []).append(alarm.device_id)
            if alarm.state is AlarmState.CLEARED:
                self.book.settling(alarm, None)

    def _watch_all(
        self, device_ids: Iterable[int], refs: Mapping[int, DeviceRef] | None = None
    ) -> None:
        """Watch these devices from now on; ``refs``, ingest's own, lend their ids' strings.

        A million devices' ids would otherwise be held twice, once by ingest's
        directory and once here (58 MB, measured).
        """
        missing = [d for d in device_ids if d not in self._watches]
        if not missing:
            return
        for found in self._inventory.profiles(missing):
            ref = refs.get(found.device_id) if refs is not None else None
            profile = (
                replace(found, uid=ref.uid) if ref is not None and ref.uid == found.uid else found
            )
            city = self._cities.get(profile.city_id)
            if city is None:
                self._load_cities()
                city = self._cities.get(profile.city_id)
                if city is None:
                    continue
            interval = city.settings.default_interval_s.get(profile.kind, 300.0)
            watch = Watch(profile, city, interval)
            restored = self._restored.pop(profile.device_id, None)
            if restored:
                watch.own()
                watch.alarms.update(restored)
            for alarm in watch.alarms.values():
                if alarm.state is AlarmState.CLEARED:
                    self.book.settling(alarm, watch)
            self._watches[profile.device_id] = watch

    def _cabinet(self, asset_id: int) -> Cabinet:
        found = self._cabinets.get(asset_id)
        if found is None:
            lights = self._inventory.cabinet_lights([asset_id]).get(asset_id, [])
            code, meter = self._inventory.cabinet(asset_id)
            found = Cabinet(asset_id, lights, meter)
            found.code = code
            found.incident = self._restored_incidents.pop(asset_id, None)
            if found.incident is not None:
                found.held = self._restored_held.pop(found.incident.id or -1, [])
                found.source = str(found.incident.detail.get("source", "meter"))
                found.code = found.incident.asset_code or code
                if found.incident.state is AlarmState.CLEARED:
                    self.book.settling(found.incident, found)
            self._cabinets[asset_id] = found
        return found

    def seed(self, heard: Iterable[tuple[int, float]]) -> int:
        """Watch devices heard before this detector started, so their silence is judged.

        A seeded device has been heard, not judged: the reports this detector
        is then given are judged even if no newer than the seed's time (a
        ``detect`` process reads its own backlog of what the workers stored).

        Args:
            heard: ``(device id, time of its newest reading)``, from the live state.

        Returns:
            How many devices are watched from it.
        """
        last = dict(heard)
        ids = list(last)
        for start in range(0, len(ids), _SEED_CHUNK):
            self._watch_all(ids[start : start + _SEED_CHUNK])
        wall = self._wall()
        seeded = 0
        for device_id, at in last.items():
            w = self._watches.get(device_id)
            if w is None or w.last_seen >= at:
                continue
            w.last_seen = at
            city = w.city
            if at > city.stream:  # the stream resumes where it stopped, not at the wall's now
                city.stream, city.wall = at, wall
            schedule(city, at + city.settings.silent_intervals * w.interval, Due.SILENCE, w)
            seeded += 1
        return seeded

    # The stream.

    def observe(self, accepted: Sequence[Accepted]) -> None:
        """Judge a stored batch of messages, oldest first."""
        if not accepted:
            return
        refs = {item.device.id: item.device for item in accepted}
        self._watch_all(refs.keys(), refs)
        wall = self._wall()
        times: dict[int, list[float]] = {}
        for item in accepted:
            last = item.readings[-1]
            if last.name != "status":  # a status carries when it was received, not device time
                times.setdefault(item.device.city_id, []).append(last.time)
        # Behind: ingest stores what it received a while ago (a backlog, a burst
        # it works through). The clock then follows the reports, not the wall,
        # or every device would seem silent while its reports wait their turn.
        behind = wall - max(item.received_at for item in accepted) > _BEHIND_S
        for city_id, seen in times.items():
            city = self._cities.get(city_id)
            if city is not None:
                seen.sort()
                ahead = city.stream if behind else city.now(wall)
                city.stream = max(ahead, seen[len(seen) // 2])
                city.wall = wall
        watches = self._watches
        arrival = self._arrival
        for item in accepted:
            arrival += 1
            watch = watches.get(item.device.id)
            if watch is not None:
                self._arrival = arrival
                self._message(watch, item.readings)
        self._arrival = arrival
        self.messages += len(accepted)
        for city_id in {item.device.city_id for item in accepted}:
            city = self._cities.get(city_id)
            if city is not None and city.stream > -math.inf:
                self._run_due(city, city.now(wall))

    def _message(self, w: Watch, readings: list[Reading]) -> None:
        first = readings[0]
        if first.name == "status":
            self._status(w, first.string_value == "offline", first.time)
            return
        t = first.time
        if readings[-1].time > t:  # a pack's readings share a time or run forward
            t = max(r.time for r in readings)
        if t <= w.last_seen and w.judged:
            return  # an older message, buffered or redelivered: the rules have judged newer
        self._uplink(w, t)
        profile = w.profile
        if not profile.in_service or profile.asset_id is None:
            return  # out of service, or bound to no asset: nothing is judged
        if profile.kind == LIGHT_NODE:
            cabinet = self._cabinets.get(profile.cabinet_id) if profile.cabinet_id else None
            if cabinet is not None:
                self.outages.lights_back(cabinet, w.city, t)
            self.lights.light(w, {r.name: r for r in readings}, t)
        elif profile.kind == METER:
            self._cabinet(profile.asset_id).heard = self._arrival
            self.outages.meter(w, {r.name: r for r in readings}, t)
        elif profile.kind == SIGNAL_MONITOR:  # its many events: the whole pack, in order
            self.signals.monitor(w, readings, t)

    def _status(self, w: Watch, offline: bool, received: float) -> None:
        """The device's last will (or itself) said offline, or it said online again.

        A status carries no device time: it is placed on the city's clock
        (its receipt time before the city's first report).
        """
        if not offline:
            w.offline_at = None
            self._wills.pop(w.profile.device_id, None)
            return
        city = w.city
        now = city.now(self._wall())
        w.offline_at = now = received if now == -math.inf else now
        self._wills[w.profile.device_id] = self._arrival
        schedule(city, now + city.settings.offline_hold_s, Due.SILENCE, w)

    def _uplink(self, w: Watch, t: float) -> None:
        """The device spoke at ``t``: learn its interval, end its silence, watch for the next."""
        learnt_from = w.interval
        w.heard(t)
        if w.offline_at is not None:
            w.offline_at = None
            self._wills.pop(w.profile.device_id, None)
        w.waited = False
        if AlarmType.COMMUNICATION_FAILURE in w.alarms:
            self._verdicts.judge(w, AlarmType.COMMUNICATION_FAILURE, GOOD, t, clear_now=True)
        city = w.city
        deadline = t + city.settings.silent_intervals * w.interval
        # A shorter interval learnt brings the check forward: the first one was
        # set from the kind's default, which may be twenty times too long.
        if w.due is None or (w.interval < learnt_from and deadline < w.due):
            schedule(city, deadline, Due.SILENCE, w)

    # Timed checks.

    def _run_due(self, city: CityState, now: float) -> None:
        due = city.due
        while due and due[0][0] <= now:
            when, device_id, kind = heapq.heappop(due)
            w = self._watches.get(device_id)
            if w is None:
                continue
            if kind == Due.SILENCE:
                if w.due is not None and w.due <= when:
                    w.due = None
                self.outages.silence(city, w, now)
            elif kind == Due.SUNRISE:
                self.lights.sunrise(w, now)
            elif kind == Due.MAINS:
                self.signals.timed(w, now)
            else:
                self.outages.release(w, now)

    # The clock and the store.

    def hold(self) -> None:
        """Stop the cities' clocks: ingest cannot store, so no news says nothing of the devices."""
        if self._held_at is None:
            self._held_at = self._wall()
            log.warning("ingest cannot store: the fault rules' clocks stop until it can")

    def resume(self) -> None:
        """Start the clocks again where they stopped: the held time never passed for the rules."""
        if self._held_at is None:
            return
        held, self._held_at = max(0.0, self._wall() - self._held_at), None
        for city in self._cities.values():
            city.wall += held
        log.warning("ingest stores again: the fault rules' clocks go on (held %.0f s)", held)

    def tick(self) -> None:
        """Run the timed rules of every city up to its clock; close alarms cleared long enough."""
        if self._held_at is not None:
            return  # no timed rule while the clocks are held
        wall = self._wall()
        if wall - self._settings_at >= _SETTINGS_EVERY:
            try:
                self._load_cities()
            except Exception:
                log.exception("reloading detection settings failed; keeping the old ones")
                self._settings_at = wall
        try:
            self._inventory_follower.follow()
        except Exception:
            log.exception("following the inventory failed; trying again at the next tick")
        for city in self._cities.values():
            if city.stream > -math.inf:
                self._run_due(city, city.now(wall))
        self.book.close_settled(wall)

    def refresh(self, city_ids: Collection[int]) -> int:
        """Reload the profiles of these cities' watched devices (see :class:`InventoryFollower`)."""
        return self._inventory_follower.refresh(city_ids)

    def flush(self) -> list[AlarmEvent]:
        """Store what was decided since the last flush (see :class:`AlarmRecorder`).

        Raises:
            StorageUnavailableError: the database was away; what it could not
                store is kept and stored first at the next flush.
        """
        return self.book.flush(self._parent_of)

    def _parent_of(self, alarm: Alarm) -> Alarm | None:
        w = self._watches.get(alarm.device_id or -1)
        if w is None or w.profile.cabinet_id is None:
            return None
        cabinet = self._cabinets.get(w.profile.cabinet_id)
        return cabinet.incident if cabinet is not None else None

    @property
    def recorder(self) -> AlarmRecorder:
        """What stores the alarms, with its counts of refused and waiting steps."""
        return self.book.recorder

    def stats(self) -> DetectorStats:
        """What the detector has done so far."""
        return DetectorStats(
            self.messages,
            len(self._watches),
            self.book.raised,
            self.book.held,
            self.book.cleared,
            self.book.pending,
        )

    def clock(self, city_id: int) -> datetime | None:
        """A city's stream clock, or None before its first message."""
        city = self._cities.get(city_id)
        if city is None or city.stream == -math.inf:
            return None
        return datetime.fromtimestamp(city.now(self._wall()), city.zone)
