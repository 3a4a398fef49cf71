"""Fault detection: the rules of ``docs/faults.md`` judged on each stored message and on the clock.

The :class:`Detector` keeps, per device, what the rules need from one report
to the next (the reporting interval it has learnt, lit/dark changes, streaks
of bad or good evidence, its open alarms) and, per cabinet, its outage
incident. Each report gives each rule a piece of :class:`Evidence`; a rule
raises after ``confirm_reports`` bad reports in a row and clears after
``clear_reports`` good ones, and a report that cannot tell (a lamp's power
by day) leaves the streak as it is.

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
import threading
import time
import zoneinfo
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import TYPE_CHECKING, Any, Final

from signalight.domain.alarms import Alarm, AlarmState, AlarmType, EventKind
from signalight.domain.assets import DeviceKind
from signalight.domain.faults import HID, DetectionSettings, DeviceProfile, Evidence
from signalight.domain.sun import Cell, LocalDays, SunTable

if TYPE_CHECKING:
    from signalight.domain.alarms import AlarmEvent
    from signalight.domain.readings import Reading
    from signalight.domain.telemetry import Accepted
    from signalight.ports import AlarmStore, CityRepository, FleetInventory

__all__ = ["DetectionLoop", "Detector"]

log = logging.getLogger(__name__)

BAD, GOOD, UNKNOWN = Evidence.BAD, Evidence.GOOD, Evidence.UNKNOWN
_LIGHT: Final = DeviceKind.STREETLIGHT_NODE.value
_METER: Final = DeviceKind.CABINET_METER.value
_OK_FAULTS: Final = frozenset({"", "ok", "none"})
_MAX_GAP: Final = 6 * 3600.0  # a longer gap is an outage, not the device's interval
_DARK_INTERVALS: Final = 1.5  # a light this many intervals late counts as dark for an outage
_SETTINGS_EVERY: Final = 60.0  # seconds between reloads of the cities' settings
_NEVER: Final = -math.inf
_NO_DAY: Final = (_NEVER, _NEVER, 0.0, 0.0)
# Shared empty containers of a watch that has written none yet; never written to.
_NO_CHANGES: Final[list[float]] = []
_NO_COUNTERS: Final[dict[AlarmType, int]] = {}
_NO_ALARMS: Final[dict[AlarmType, Alarm]] = {}
_SEED_CHUNK: Final = 5000
_DAYLIGHT_KEPT: Final = 200_000  # cell-days kept (a city spans a few hundred cells)
_ODD_TO_LEARN: Final = 3


class _Sun(IntEnum):
    DAY = 0
    NIGHT = 1
    TWILIGHT = 2  # within the margin of sunrise or sunset: on/off not judged


class _Due(IntEnum):
    """What a timed check on a device looks at."""

    SILENCE = 0
    SUNRISE = 1
    RELEASE = 2


class _City:
    """A city's clock, settings, sun and dimming hours, and its timed checks."""

    def __init__(self, city_id: int, zone: str, settings: DetectionSettings) -> None:
        self.id = city_id
        self.zone = zoneinfo.ZoneInfo(zone)
        self.settings = settings
        self.days = LocalDays(self.zone)
        self.sun = SunTable(self.zone)
        self.centre: Cell = (0, 0)
        self.stream = -math.inf  # the newest time the stream has vouched for
        self.wall = 0.0  # when it did, by the wall clock
        self.due: list[tuple[float, int, _Due]] = []  # (when, device id, what)
        self._span: tuple[float, float, float, bool] = (0.0, 0.0, 100.0, False)
        self._cells: dict[Cell, Cell] = {}
        self._daylight: dict[tuple[Cell, float], tuple[float, float, float, float]] = {}

    def shared_cell(self, cell: Cell) -> Cell:
        """One tuple per grid cell for all the watches in it."""
        return self._cells.setdefault(cell, cell)

    def daylight(self, cell: Cell, t: float) -> tuple[float, float, float, float]:
        """The local day around ``t`` and its sunrise and sunset in ``cell``, for all its poles."""
        day = self.days.at(t)
        key = (cell, day.start)
        found = self._daylight.get(key)
        if found is None:
            if len(self._daylight) > _DAYLIGHT_KEPT:
                self._daylight.clear()
            rise, set_ = self.sun.daylight(cell, day.day)
            found = self._daylight[key] = (day.start, day.end, rise, set_)
        return found

    def forget_schedule(self) -> None:
        """Drop the dimming answer kept over its span (the settings changed)."""
        self._span = (0.0, 0.0, 100.0, False)

    def now(self, wall: float) -> float:
        """The city's stream time, run on by the wall clock since the stream last spoke."""
        return self.stream + max(0.0, wall - self.wall)

    def scheduled_dim(self, t: float) -> tuple[float, bool]:
        """The dim level the schedule asks at ``t`` and whether ``t`` is near a dimming step.

        The answer holds over a span (between two steps, or inside a step's
        margin), kept until ``t`` leaves it: most reports fall in the last one.
        """
        low, high, level, near = self._span
        if low <= t < high:
            return level, near
        s = self.settings
        day = self.days.at(t)
        if s.night_dim >= 100 or s.dim_from == s.dim_until:  # noqa: PLR2004 - percent: no dimming
            self._span = (day.start, day.end, 100.0, False)
            return 100.0, False
        days = (self.days.at(day.start - 1.0), day, self.days.at(day.end))
        steps = sorted(
            self.days.clock(d, clock) for d in days for clock in (s.dim_from, s.dim_until)
        )
        start, until = self.days.clock(day, s.dim_from), self.days.clock(day, s.dim_until)
        dimmed = start <= t < until if start < until else t >= start or t < until
        level = s.night_dim if dimmed else 100.0
        near = any(abs(t - step) < s.dim_edge_s for step in steps)
        bounds = sorted(
            {
                day.start,
                day.end,
                *steps,
                *(x - s.dim_edge_s for x in steps),
                *(x + s.dim_edge_s for x in steps),
            }
        )
        low = max((b for b in bounds if b <= t), default=day.start)
        high = min((b for b in bounds if b > t), default=day.end)
        self._span = (low, high, level, near)
        return level, near


class _Watch:
    """What the rules remember of one device between its reports."""

    __slots__ = (
        "alarms",
        "cell",
        "changes",
        "city",
        "counters",
        "day",
        "due",
        "interval",
        "last_lit",
        "last_seen",
        "lit",
        "odd",
        "off_since",
        "offline_at",
        "on",
        "on_since",
        "profile",
        "sunrise_due",
        "waited",
    )

    def __init__(self, profile: DeviceProfile, city: _City, interval: float) -> None:
        self.profile = profile
        self.city = city
        self.cell: Cell = (
            city.shared_cell(city.sun.cell(profile.lat, profile.lon))
            if profile.lat is not None and profile.lon is not None
            else city.centre
        )
        self.interval = interval
        self.odd = 0  # gaps in a row far from the interval (a missed report, an outage, a change)
        self.last_seen = _NEVER  # the time of its newest uplink
        self.offline_at: float | None = None  # when its last will (or it) said offline
        self.on = False  # what it last said of its switch
        self.lit: bool | None = None  # whether it last burned (switched on and drawing power)
        self.on_since = _NEVER
        self.last_lit = _NEVER
        self.off_since: float | None = None  # reports "off" at night since
        # The next three start as shared empty ones and get their own on the first
        # write (see _own): a million healthy devices need none of them.
        self.changes: list[float] = _NO_CHANGES  # lit/dark changes by night, in the window
        self.counters: dict[AlarmType, int] = _NO_COUNTERS  # >0 bad streak, <0 good streak
        self.alarms: dict[AlarmType, Alarm] = _NO_ALARMS  # open (not closed) alarms
        self.day: tuple[float, float, float, float] = _NO_DAY  # start, end, sunrise, sunset
        self.due: float | None = None  # a pending silence check
        self.sunrise_due = _NEVER
        self.waited = False  # a silence check already waited once for the cabinet's meter

    @property
    def rise(self) -> float:
        """Sunrise at the pole on the local day of its last report."""
        return self.day[2]

    @property
    def set(self) -> float:
        """Sunset at the pole on the local day of its last report."""
        return self.day[3]

    def own(self) -> None:
        """Give the watch containers of its own before it writes to them."""
        if self.alarms is _NO_ALARMS:
            self.alarms = {}
        if self.counters is _NO_COUNTERS:
            self.counters = {}
        if self.changes is _NO_CHANGES:
            self.changes = []


class _Cabinet:
    """A cabinet's lights and meter, and its outage incident."""

    __slots__ = ("asset_id", "code", "held", "incident", "lights", "meter", "source")

    def __init__(self, asset_id: int, lights: list[int], meter: int | None) -> None:
        self.asset_id = asset_id
        self.code: str | None = None
        self.lights = lights
        self.meter = meter
        self.incident: Alarm | None = None
        self.source = ""  # "meter" or "lights": what showed the outage
        self.held: list[int] = []  # devices whose alarms are held under the incident


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
        store: AlarmStore,
        inventory: FleetInventory,
        cities: CityRepository,
        *,
        defaults: DetectionSettings | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._inventory = inventory
        self._cities_repo = cities
        self._defaults = defaults or DetectionSettings()
        self._wall = wall
        self._cities: dict[int, _City] = {}
        self._watches: dict[int, _Watch] = {}
        self._cabinets: dict[int, _Cabinet] = {}
        self._restored: dict[int, dict[AlarmType, Alarm]] = {}  # open alarms by device, at start
        self._restored_incidents: dict[int, Alarm] = {}
        self._restored_held: dict[int, list[int]] = {}  # devices held, by incident id
        self._cleared: dict[int, tuple[Alarm, _Watch | _Cabinet | None]] = {}  # by id(alarm)
        self._changes: list[tuple[Alarm, EventKind, float]] = []
        self._settings_at = -math.inf
        self.messages = self.raised = self.held = self.cleared = 0
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
                found = self._cities[city.pk] = _City(city.pk, city.timezone, settings)
                found.centre = found.sun.cell(city.lat, city.lon)
            elif found.settings != settings:
                found.settings = settings
                found.forget_schedule()
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
                self._cleared[id(alarm)] = (alarm, None)

    def _watch_all(self, device_ids: Iterable[int]) -> None:
        missing = [d for d in device_ids if d not in self._watches]
        if not missing:
            return
        for profile in self._inventory.profiles(missing):
            city = self._cities.get(profile.city_id)
            if city is None:
                self._load_cities()
                city = self._cities.get(profile.city_id)
                if city is None:
                    continue
            interval = city.settings.default_interval_s.get(profile.kind, 300.0)
            watch = _Watch(profile, city, interval)
            restored = self._restored.pop(profile.device_id, None)
            if restored:
                watch.own()
                watch.alarms.update(restored)
            for alarm in watch.alarms.values():
                if alarm.state is AlarmState.CLEARED:
                    self._cleared[id(alarm)] = (alarm, watch)
            self._watches[profile.device_id] = watch

    def _cabinet(self, asset_id: int) -> _Cabinet:
        found = self._cabinets.get(asset_id)
        if found is None:
            lights = self._inventory.cabinet_lights([asset_id]).get(asset_id, [])
            found = _Cabinet(asset_id, lights, self._inventory.cabinet_device(asset_id))
            found.incident = self._restored_incidents.pop(asset_id, None)
            if found.incident is not None:
                found.held = self._restored_held.pop(found.incident.id or -1, [])
                found.source = str(found.incident.detail.get("source", "meter"))
                found.code = found.incident.asset_code
                if found.incident.state is AlarmState.CLEARED:
                    self._cleared[id(found.incident)] = (found.incident, found)
            self._cabinets[asset_id] = found
        return found

    def seed(self, heard: Iterable[tuple[int, float]]) -> int:
        """Watch devices heard before this detector started, so their silence is judged.

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
            self._schedule(city, at + city.settings.silent_intervals * w.interval, _Due.SILENCE, w)
            seeded += 1
        return seeded

    # The stream.

    def observe(self, accepted: Sequence[Accepted]) -> None:
        """Judge a stored batch of messages, oldest first."""
        if not accepted:
            return
        self._watch_all({item.device.id for item in accepted})
        wall = self._wall()
        times: dict[int, list[float]] = {}
        for item in accepted:
            last = item.readings[-1]
            if last.name != "status":  # a status carries when it was received, not device time
                times.setdefault(item.device.city_id, []).append(last.time)
        for city_id, seen in times.items():
            city = self._cities.get(city_id)
            if city is not None:
                seen.sort()
                city.stream = max(city.now(wall), seen[len(seen) // 2])
                city.wall = wall
        watches = self._watches
        for item in accepted:
            watch = watches.get(item.device.id)
            if watch is not None:
                self._message(watch, item.readings)
        self.messages += len(accepted)
        for city_id in {item.device.city_id for item in accepted}:
            city = self._cities.get(city_id)
            if city is not None and city.stream > -math.inf:
                self._run_due(city, city.now(wall))

    def _message(self, w: _Watch, readings: list[Reading]) -> None:
        first = readings[0]
        if first.name == "status":
            self._status(w, first.string_value == "offline", first.time)
            return
        t = first.time
        if readings[-1].time > t:  # a pack's readings share a time or run forward
            t = max(r.time for r in readings)
        if t <= w.last_seen:
            return  # an older message, buffered or redelivered: the rules have judged newer
        self._uplink(w, t)
        profile = w.profile
        if not profile.in_service or profile.asset_id is None:
            return  # out of service, or bound to no asset: only silence is judged
        values = {r.name: r for r in readings}
        if profile.kind == _LIGHT:
            cabinet = self._cabinets.get(profile.cabinet_id) if profile.cabinet_id else None
            if cabinet is not None:
                self._lights_back(cabinet, w.city, t)
            self._light(w, values, t)
        elif profile.kind == _METER:
            self._meter(w, values, t)

    def _status(self, w: _Watch, offline: bool, received: float) -> None:
        """The device's last will (or itself) said offline, or it said online again.

        A status carries no device time: it is placed on the city's clock
        (its receipt time before the city's first report).
        """
        if not offline:
            w.offline_at = None
            return
        city = w.city
        now = city.now(self._wall())
        w.offline_at = now = received if now == -math.inf else now
        self._schedule(city, now + city.settings.offline_hold_s, _Due.SILENCE, w)

    def _uplink(self, w: _Watch, t: float) -> None:
        """The device spoke at ``t``: learn its interval, end its silence, watch for the next."""
        gap = t - w.last_seen
        if gap < _MAX_GAP:
            # a gap near the interval moves it a little; a missed report or an
            # outage does not move it at all, unless such gaps keep coming
            # (the device reports at another pace: take the newest)
            interval = w.interval
            if 0.5 * interval <= gap <= 1.5 * interval:
                w.interval = interval + 0.2 * (gap - interval)
                w.odd = 0
            else:
                w.odd += 1
                if w.odd >= _ODD_TO_LEARN:
                    w.interval, w.odd = gap, 0
        w.last_seen = t
        w.offline_at = None
        w.waited = False
        if AlarmType.COMMUNICATION_FAILURE in w.alarms:
            self._judge(w, AlarmType.COMMUNICATION_FAILURE, GOOD, t, clear_now=True)
        if w.due is None:
            city = w.city
            self._schedule(city, t + city.settings.silent_intervals * w.interval, _Due.SILENCE, w)

    # Streetlights.

    def _sun(self, w: _Watch, t: float) -> _Sun:
        if not w.day[0] <= t < w.day[1]:
            w.day = w.city.daylight(w.cell, t)
        margin = w.city.settings.sun_margin_s
        if w.rise + margin <= t < w.set - margin:
            return _Sun.DAY
        if t < w.rise - margin or t >= w.set + margin:
            return _Sun.NIGHT
        return _Sun.TWILIGHT

    def _light(self, w: _Watch, values: dict[str, Reading], t: float) -> None:
        s = w.city.settings
        profile = w.profile
        on, power_r, dim_r = values.get("on"), values.get("power"), values.get("dim")
        power = power_r.value if power_r is not None else None
        dim = dim_r.value if dim_r is not None and dim_r.value is not None else 100.0
        curve = s.curve(profile.luminaire)
        rated = profile.rated_watts
        expected = rated * curve.share(dim) if rated else None
        if on is not None and on.bool_value is not None:
            lit = on.bool_value
        elif power is not None and rated:
            lit = power > 0.2 * rated * curve.share(0.0)  # a fifth of the floor
        else:
            return  # neither its switch nor its power: nothing to judge a light by
        sun = self._sun(w, t)
        if lit and not w.on:
            w.on_since = t
        w.on = lit
        warming = profile.luminaire in HID and t - w.on_since < s.hid_warmup_s
        ratio = power / expected if power is not None and expected else None
        # burning: switched on and drawing power; its changes by night are cycling's memory
        burning = lit and (ratio is None or warming or ratio >= s.lamp_low_ratio)
        lit_before = w.last_lit
        self._track(w, t, lit=lit, burning=burning, night=sun is _Sun.NIGHT)
        quiet = not w.counters and not w.alarms  # a healthy light: only bad news matters
        if ratio is not None and lit:
            self._power(w, values, t, ratio, expected, warming=warming, quiet=quiet)
        elif not lit:
            self._dark(w, values, t)
        if sun is _Sun.DAY:
            if lit or not quiet:
                self._day_burning(w, values, t, lit=lit, lit_before=lit_before)
        elif sun is _Sun.NIGHT:
            self._night(w, values, t, lit=lit, quiet=quiet)
            if lit and dim_r is not None:
                self._dimming(w, values, t, dim)
        self._electrical(w, values, t, lit=lit, dim=dim, quiet=quiet)

    @staticmethod
    def _track(w: _Watch, t: float, *, lit: bool, burning: bool, night: bool) -> None:
        """Keep the lit/dark changes by night (cycling) and how long it has said off (dark)."""
        if w.lit is not None and burning != w.lit and night:
            w.own()
            w.changes.append(t)
        w.lit = burning
        if lit:
            w.last_lit = t
            w.off_since = None
        elif night and w.off_since is None:
            w.off_since = t
        changes = w.changes
        window = w.city.settings.cycling_window_s
        while changes and changes[0] < t - window:
            del changes[0]

    def _power(
        self,
        w: _Watch,
        values: dict[str, Reading],
        t: float,
        ratio: float,
        expected: float | None,
        *,
        warming: bool,
        quiet: bool,
    ) -> None:
        """Lamp failure and high power: power against the curve at the reported dim level."""
        s = w.city.settings
        if warming:  # an HID lamp warming up draws less, but never next to nothing
            if ratio < s.lamp_dead_ratio:
                self._judge(w, AlarmType.LAMP_FAILURE, BAD, t, values, expected, confirm=1)
            return
        lamp = _below(ratio, s.lamp_low_ratio, s.lamp_ok_ratio)
        if lamp is BAD or not quiet:
            dead = 1 if ratio < s.lamp_dead_ratio else 0  # out beyond doubt: one report
            self._judge(w, AlarmType.LAMP_FAILURE, lamp, t, values, expected, confirm=dead)
        high = _above(ratio, s.power_high_ratio, s.power_ok_ratio)
        if high is BAD or not quiet:
            self._judge(w, AlarmType.HIGH_POWER, high, t, values, expected)

    def _dark(self, w: _Watch, values: dict[str, Reading], t: float) -> None:
        """Lamp failure of a light that says it is off all night long (and is not cycling)."""
        s = w.city.settings
        if (
            w.off_since is not None
            and t - w.off_since >= s.scheduled_off_s
            and t - w.last_lit >= s.scheduled_off_s
            and len(w.changes) <= 1  # it went out once; cycling goes out and back
            and AlarmType.CYCLING_FAILURE not in w.alarms
        ):
            self._judge(w, AlarmType.LAMP_FAILURE, BAD, t, values)

    def _day_burning(
        self, w: _Watch, values: dict[str, Reading], t: float, *, lit: bool, lit_before: float
    ) -> None:
        """Day burning: lit while the sun is up.

        One report is enough well inside the day, or when the light already
        said it was lit after sunrise (in the margin, where that alone proved
        nothing): it has burned past its photocell's tolerance.
        """
        margin = w.city.settings.sun_margin_s
        sure = w.rise + 2 * margin <= t < w.set - 2 * margin or lit_before >= w.rise
        evidence = BAD if lit else GOOD
        self._judge(w, AlarmType.LAMP_UNEXPECTED_ON, evidence, t, values, confirm=int(sure))

    def _night(
        self, w: _Watch, values: dict[str, Reading], t: float, *, lit: bool, quiet: bool
    ) -> None:
        """Cycling by night, and a look at sunrise for a light that burns."""
        s = w.city.settings
        if lit and w.sunrise_due < t:  # judged again at sunrise, whether it reports or not
            tomorrow = 86_400.0 if t >= w.set else 0.0
            w.sunrise_due = w.rise + tomorrow + s.sun_margin_s
            self._schedule(w.city, w.sunrise_due + 1.0, _Due.SUNRISE, w)
        if len(w.changes) >= s.cycling_changes:
            self._judge(w, AlarmType.CYCLING_FAILURE, BAD, t, values)
        elif not quiet and not w.changes and lit:
            self._judge(w, AlarmType.CYCLING_FAILURE, GOOD, t, values)

    def _dimming(self, w: _Watch, values: dict[str, Reading], t: float, dim: float) -> None:
        """dimmingFailure: lit by night at another level than the schedule's."""
        s = w.city.settings
        scheduled, near = w.city.scheduled_dim(t)
        if near:
            return  # a dimming step: nodes' clocks differ by minutes
        evidence = BAD if abs(dim - scheduled) > s.dim_tolerance else GOOD
        alarm = w.alarms.get(AlarmType.DIMMING_FAILURE)
        if evidence is GOOD and alarm is not None:
            stuck = alarm.detail.get("dim")
            if isinstance(stuck, int | float) and abs(stuck - scheduled) <= s.dim_tolerance:
                return  # stuck where the schedule happens to be: says nothing
        if evidence is BAD or w.counters or w.alarms:
            self._judge(w, AlarmType.DIMMING_FAILURE, evidence, t, values, scheduled)

    def _electrical(
        self,
        w: _Watch,
        values: dict[str, Reading],
        t: float,
        *,
        lit: bool,
        dim: float,
        quiet: bool,
    ) -> None:
        """Voltage, power factor, tilt and the node's own diagnosis."""
        s = w.city.settings
        judge = self._judge
        volts = values.get("voltage")
        if volts is not None and volts.value is not None and volts.value > s.mains_lost_v:
            high = _above(volts.value, s.voltage_high, s.voltage_high_clear)
            if high is BAD or not quiet:
                judge(w, AlarmType.HIGH_VOLTAGE, high, t, values)
            low = _below(volts.value, s.voltage_low, s.voltage_low_clear)
            if low is BAD or not quiet:
                judge(w, AlarmType.LOW_VOLTAGE, low, t, values)
        pf = values.get("pf")
        if lit and dim >= s.pf_min_dim and pf is not None and pf.value is not None:
            low_pf = _below(pf.value, s.pf_low, s.pf_ok)
            if low_pf is BAD or not quiet:
                judge(w, AlarmType.LOW_POWER_FACTOR, low_pf, t, values)
        tilt = values.get("tilt")
        if tilt is not None and tilt.value is not None:
            leaning = _above(abs(tilt.value), s.tilt_max_deg, s.tilt_ok_deg)
            if leaning is BAD or not quiet:
                judge(w, AlarmType.ORIENTATION_CHANGED, leaning, t, values)
        fault = values.get("fault")
        if fault is not None and fault.string_value is not None:
            own = GOOD if fault.string_value.strip().lower() in _OK_FAULTS else BAD
            if own is BAD or not quiet:
                judge(w, AlarmType.NODE_FAULT, own, t, values)

    # Cabinets.

    def _meter(self, w: _Watch, values: dict[str, Reading], t: float) -> None:
        """A cabinet's meter: mains lost is an outage incident; phases out of band an alarm."""
        s = w.city.settings
        mains = values.get("mains")
        phases = [
            r.value
            for name, r in values.items()
            if name.startswith("voltage") and r.value is not None
        ]
        lost = (mains is not None and mains.bool_value is False) or (
            bool(phases) and max(phases) < s.mains_lost_v
        )
        if mains is None and not phases:
            return
        if w.profile.asset_id is not None:
            cabinet = self._cabinet(w.profile.asset_id)
            cabinet.code = w.profile.asset_code
            if lost:
                self._outage(cabinet, w.city, t, "meter", values)
            elif cabinet.incident is not None and cabinet.incident.active:
                self._recovered(cabinet, w.city, t)
        if not lost and phases:  # a phase lost while others hold is low voltage
            self._judge(
                w,
                AlarmType.HIGH_VOLTAGE,
                _above(max(phases), s.voltage_high, s.voltage_high_clear),
                t,
                values,
            )
            self._judge(
                w,
                AlarmType.LOW_VOLTAGE,
                _below(min(phases), s.voltage_low, s.voltage_low_clear),
                t,
                values,
            )

    def _outage(
        self,
        cabinet: _Cabinet,
        city: _City,
        t: float,
        source: str,
        values: dict[str, Reading] | None = None,
    ) -> Alarm:
        incident = cabinet.incident
        if incident is not None and incident.active:
            if source == "meter" and cabinet.source != "meter":
                cabinet.source = "meter"
                incident.detail["source"] = "meter"
            return incident
        detail: dict[str, Any] = {"source": source, "lights": len(cabinet.lights)}
        if values:
            detail |= _figures(values)
        message = (
            "the cabinet meter reports mains lost"
            if source == "meter"
            else "most lights of the cabinet went dark together"
        )
        cabinet.source = source
        cabinet.incident = self._open(
            city,
            AlarmType.SUPPLY_LOSS,
            t,
            message,
            detail,
            asset_id=cabinet.asset_id,
            asset_code=cabinet.code,
            device=None,
            current=incident,
        )
        try:
            self.flush()  # the incident's id, for the alarms held under it
        except Exception:  # the store is away: flush() sets the held alarms' parent later
            log.exception("storing an outage incident failed; it is kept for the next flush")
        return cabinet.incident

    def _recovered(self, cabinet: _Cabinet, city: _City, t: float) -> None:
        incident = cabinet.incident
        if incident is None or not incident.active:
            return
        self._close_out(incident, cabinet, t)
        release_at = t + max(city.settings.offline_hold_s, 0.0)
        self._watch_all(cabinet.held)  # a light held since before a restart has no watch yet
        for device_id in cabinet.held:
            w = self._watches.get(device_id)
            if w is not None:
                self._schedule(city, release_at + _DARK_INTERVALS * w.interval, _Due.RELEASE, w)

    def _lights_back(self, cabinet: _Cabinet, city: _City, t: float) -> None:
        """End an outage that the lights showed once most of them report again."""
        incident = cabinet.incident
        if incident is None or not incident.active or cabinet.source != "lights":
            return
        seen = [self._watches[d] for d in cabinet.lights if d in self._watches]
        dark = sum(
            1
            for lw in seen
            if lw.offline_at is not None or t - lw.last_seen > _DARK_INTERVALS * lw.interval
        )
        if dark < 0.5 * city.settings.outage_share * len(seen):
            self._recovered(cabinet, city, t)

    def _outage_verdict(self, cabinet: _Cabinet, city: _City, w: _Watch, now: float) -> bool | None:
        """Whether the cabinet is in outage (True), is not (False), or its meter will say (None)."""
        s = city.settings
        if cabinet.incident is not None and cabinet.incident.active:
            return True
        meter = self._watches.get(cabinet.meter) if cabinet.meter is not None else None
        dark_since = w.offline_at if w.offline_at is not None else w.last_seen + w.interval
        if meter is not None and meter.last_seen >= dark_since:
            return False  # the meter has spoken since the light went dark, and saw mains
        if self._lights_dark(cabinet, city, now):
            return True
        if (
            meter is not None
            and now - meter.last_seen < s.silent_intervals * meter.interval
            and not w.waited
        ):
            return None
        return False

    def _lights_dark(self, cabinet: _Cabinet, city: _City, now: float) -> bool:
        """Whether most of the cabinet's lights that ever spoke are dark together."""
        s = city.settings
        seen = [self._watches[d] for d in cabinet.lights if d in self._watches]
        seen = [lw for lw in seen if lw.last_seen > -math.inf]
        if len(seen) < s.outage_min_lights:
            return False
        dark = sum(
            1
            for lw in seen
            if lw.offline_at is not None or now - lw.last_seen > _DARK_INTERVALS * lw.interval
        )
        return dark >= s.outage_share * len(seen)

    # Timed checks.

    def _schedule(self, city: _City, when: float, kind: _Due, w: _Watch) -> None:
        heapq.heappush(city.due, (when, w.profile.device_id, kind))
        if kind is _Due.SILENCE:
            w.due = when if w.due is None else min(w.due, when)

    def _run_due(self, city: _City, now: float) -> None:
        due = city.due
        while due and due[0][0] <= now:
            when, device_id, kind = heapq.heappop(due)
            w = self._watches.get(device_id)
            if w is None:
                continue
            if kind == _Due.SILENCE:
                if w.due is not None and w.due <= when:
                    w.due = None
                self._silence(city, w, now)
            elif kind == _Due.SUNRISE:
                self._sunrise(w, now)
            else:
                self._release(w, now)

    def _silence(self, city: _City, w: _Watch, now: float) -> None:
        """Communication failure: silent past its intervals, or offline by its last will."""
        s = city.settings
        limit = s.silent_intervals * w.interval
        comm = w.alarms.get(AlarmType.COMMUNICATION_FAILURE)
        offline = w.offline_at is not None and now - w.offline_at >= s.offline_hold_s
        if (comm is not None and comm.active) or not w.profile.in_service:
            return
        if not offline and now - w.last_seen < limit:
            if w.due is None and w.last_seen > -math.inf:
                self._schedule(city, w.last_seen + limit, _Due.SILENCE, w)
            return
        parent: Alarm | None = None
        if w.profile.kind == _LIGHT and w.profile.cabinet_id is not None:
            cabinet = self._cabinet(w.profile.cabinet_id)
            verdict = self._outage_verdict(cabinet, city, w, now)
            if verdict is None:  # its cabinet's meter will tell within the interval
                w.waited = True
                meter = self._watches.get(cabinet.meter) if cabinet.meter is not None else None
                meter = meter or w
                self._schedule(city, meter.last_seen + 1.2 * meter.interval, _Due.SILENCE, w)
                return
            if verdict:
                parent = self._outage(cabinet, city, now, "lights")
                cabinet.held.append(w.profile.device_id)
        elif w.profile.kind == _METER and w.profile.asset_id is not None:
            # a meter that lost its supply with its lights is part of the outage
            cabinet = self._cabinet(w.profile.asset_id)
            active = cabinet.incident is not None and cabinet.incident.active
            if active or self._lights_dark(cabinet, city, now):
                cabinet.code = w.profile.asset_code
                parent = self._outage(cabinet, city, now, "lights")
                cabinet.held.append(w.profile.device_id)
        if w.offline_at is not None:
            message = "its last will said offline"
        else:
            silent, every = (now - w.last_seen) / 60, w.interval / 60
            message = f"no uplink for {silent:.0f} min (it reports every {every:.0f} min)"
        detail = {
            "last_seen": w.last_seen,
            "interval_s": round(w.interval, 1),
            "offline_at": w.offline_at,
        }
        self._raise(w, AlarmType.COMMUNICATION_FAILURE, now, message, detail, parent=parent)

    def _sunrise(self, w: _Watch, now: float) -> None:
        """Day burning judged at sunrise on what the light last said, if silent since."""
        if not w.lit or not w.profile.in_service or w.last_seen >= w.sunrise_due:
            return
        due = w.last_seen + w.interval
        if now < due:  # a node that reports now and then may yet say it is off: wait for it
            self._schedule(w.city, due + 1.0, _Due.SUNRISE, w)
            return
        if now - w.last_seen > _DARK_INTERVALS * w.interval:
            return  # silent: the silence rule speaks for it
        if self._sun(w, now) is not _Sun.DAY:
            return
        alarm = w.alarms.get(AlarmType.LAMP_UNEXPECTED_ON)
        if alarm is None or not alarm.active:
            self._raise(
                w,
                AlarmType.LAMP_UNEXPECTED_ON,
                now,
                "it said it was on before sunrise and has not said otherwise since",
                {"on_since": w.on_since},
            )

    def _release(self, w: _Watch, now: float) -> None:
        comm = w.alarms.get(AlarmType.COMMUNICATION_FAILURE)
        if comm is None or not comm.held or not comm.active:
            return
        comm.held = False
        comm.raised_at = now
        comm.updated_at = now
        self._changes.append((comm, EventKind.RELEASED, now))
        self.raised += 1

    # Alarms.

    def _judge(
        self,
        w: _Watch,
        kind: AlarmType,
        evidence: Evidence,
        t: float,
        values: dict[str, Reading] | None = None,
        expected: float | None = None,
        *,
        clear_now: bool = False,
        confirm: int = 0,
    ) -> None:
        """Count one report's evidence for a rule; raise or clear when the streak is long enough."""
        if evidence is UNKNOWN:
            return
        counters = w.counters
        streak = counters.get(kind, 0)
        alarm = w.alarms.get(kind)
        s = w.city.settings
        if evidence is BAD:
            streak = streak + 1 if streak > 0 else 1
            if counters is _NO_COUNTERS:
                w.own()
                counters = w.counters
            counters[kind] = streak
            if streak >= (confirm or s.confirm_reports) and (alarm is None or not alarm.active):
                message, detail = _describe(kind, values or {}, expected)
                self._raise(w, kind, t, message, detail)
            return
        if alarm is None or not alarm.active:
            counters.pop(kind, None)
            return
        streak = streak - 1 if streak < 0 else -1
        w.own()
        counters = w.counters
        counters[kind] = streak
        if clear_now or -streak >= s.clear_reports:
            counters.pop(kind, None)
            self._close_out(alarm, w, t)

    def _raise(
        self,
        w: _Watch,
        kind: AlarmType,
        t: float,
        message: str,
        detail: dict[str, Any],
        *,
        parent: Alarm | None = None,
    ) -> None:
        profile = w.profile
        alarm = self._open(
            w.city,
            kind,
            t,
            message,
            detail,
            asset_id=profile.asset_id,
            asset_code=profile.asset_code,
            device=profile,
            current=w.alarms.get(kind),
            parent=parent,
        )
        w.own()
        w.alarms[kind] = alarm

    def _open(
        self,
        city: _City,
        kind: AlarmType,
        t: float,
        message: str,
        detail: dict[str, Any],
        *,
        asset_id: int | None,
        asset_code: str | None,
        device: DeviceProfile | None,
        current: Alarm | None,
        parent: Alarm | None = None,
    ) -> Alarm:
        """Reopen ``current`` if it cleared lately, else raise a new alarm."""
        at = max(t, city.now(self._wall()))
        if current is not None and current.state is AlarmState.CLEARED:
            self._cleared.pop(id(current), None)
            cleared_at = current.cleared_at if current.cleared_at is not None else at
            if (
                at - cleared_at <= city.settings.reopen_window_s
                and not current.held
                and parent is None
            ):
                current.state = AlarmState.RAISED
                current.cleared_at = None
                current.occurrences += 1
                current.observed_at, current.updated_at = t, at
                current.message, current.detail = message, detail
                self._changes.append((current, EventKind.REOPENED, at))
                self.raised += 1
                return current
            self._shut(current, at)
        alarm = Alarm(
            city_id=city.id,
            type=kind,
            severity=city.settings.severity(kind),
            asset_id=asset_id,
            asset_code=asset_code,
            device_id=device.device_id if device else None,
            device_uid=device.uid if device else None,
            raised_at=at,
            observed_at=t,
            updated_at=at,
            message=message,
            detail=detail,
            held=parent is not None,
            parent_id=parent.id if parent is not None else None,
        )
        self._changes.append((alarm, EventKind.HELD if alarm.held else EventKind.RAISED, at))
        if alarm.held:
            self.held += 1
        else:
            self.raised += 1
        return alarm

    def _close_out(self, alarm: Alarm, w: _Watch | _Cabinet | None, t: float) -> None:
        """Clear an active alarm (a held one closes at once: nobody was told of it)."""
        at = (
            max(t, self._cities[alarm.city_id].now(self._wall()))
            if alarm.city_id in self._cities
            else t
        )
        alarm.state = AlarmState.CLEARED
        alarm.cleared_at = alarm.updated_at = at
        self._changes.append((alarm, EventKind.CLEARED, at))
        self.cleared += 1
        if alarm.held:
            self._shut(alarm, at)
            if isinstance(w, _Watch):
                w.alarms.pop(alarm.type, None)
        else:
            self._cleared[id(alarm)] = (alarm, w)

    def _shut(self, alarm: Alarm, at: float) -> None:
        alarm.state = AlarmState.CLOSED
        alarm.closed_at = alarm.updated_at = at
        self._changes.append((alarm, EventKind.CLOSED, at))
        self._cleared.pop(id(alarm), None)

    # The clock and the store.

    def tick(self) -> None:
        """Run the timed rules of every city up to its clock; close alarms cleared long enough."""
        wall = self._wall()
        if wall - self._settings_at >= _SETTINGS_EVERY:
            try:
                self._load_cities()
            except Exception:
                log.exception("reloading detection settings failed; keeping the old ones")
                self._settings_at = wall
        for city in self._cities.values():
            if city.stream > -math.inf:
                self._run_due(city, city.now(wall))
        self._close_settled(wall)

    def _close_settled(self, wall: float) -> None:
        """Close the alarms that stayed cleared for the reopen window."""
        for alarm, owner in list(self._cleared.values()):
            place = self._cities.get(alarm.city_id)
            if place is None or alarm.cleared_at is None:
                continue
            now = place.now(wall)
            if now - alarm.cleared_at <= place.settings.reopen_window_s:
                continue
            self._shut(alarm, now)
            if isinstance(owner, _Watch) and owner.alarms.get(alarm.type) is alarm:
                del owner.alarms[alarm.type]
            elif isinstance(owner, _Cabinet) and owner.incident is alarm:
                owner.incident = None
                owner.held.clear()

    def flush(self) -> list[AlarmEvent]:
        """Store what was decided since the last flush; kept for the next one if the store fails."""
        if not self._changes:
            return []
        changes, self._changes = self._changes, []
        for alarm, kind, _at in changes:
            if kind is EventKind.HELD and alarm.parent_id is None:
                parent = self._parent_of(alarm)
                alarm.parent_id = parent.id if parent is not None else None
        try:
            return self._store.record(changes)
        except Exception:
            self._changes = changes + self._changes
            raise

    def _parent_of(self, alarm: Alarm) -> Alarm | None:
        w = self._watches.get(alarm.device_id or -1)
        if w is None or w.profile.cabinet_id is None:
            return None
        cabinet = self._cabinets.get(w.profile.cabinet_id)
        return cabinet.incident if cabinet is not None else None

    def stats(self) -> DetectorStats:
        """What the detector has done so far."""
        return DetectorStats(
            self.messages,
            len(self._watches),
            self.raised,
            self.held,
            self.cleared,
            len(self._changes),
        )

    def clock(self, city_id: int) -> datetime | None:
        """A city's stream clock, or None before its first message."""
        city = self._cities.get(city_id)
        if city is None or city.stream == -math.inf:
            return None
        return datetime.fromtimestamp(city.now(self._wall()), city.zone)


def _above(value: float, bad_above: float, good_below: float) -> Evidence:
    """BAD above one threshold, GOOD below a lower one, UNKNOWN between: the hysteresis band."""
    return BAD if value > bad_above else GOOD if value < good_below else UNKNOWN


def _below(value: float, bad_below: float, good_above: float) -> Evidence:
    """BAD below one threshold, GOOD at or above a higher one, UNKNOWN between."""
    return BAD if value < bad_below else GOOD if value >= good_above else UNKNOWN


def _figures(values: dict[str, Reading]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, r in values.items():
        value = (
            r.value
            if r.value is not None
            else r.bool_value
            if r.bool_value is not None
            else r.string_value
        )
        if value is not None and name != "status":
            out[name] = round(value, 3) if isinstance(value, float) else value
    return out


_MESSAGES: Final[dict[AlarmType, str]] = {
    AlarmType.LAMP_FAILURE: "draws {power} W where {expected} W is expected at {dim}% dim",
    AlarmType.HIGH_POWER: "draws {power} W, well above the {expected} W expected at {dim}% dim",
    AlarmType.LAMP_UNEXPECTED_ON: "burning while the sun is up",
    AlarmType.CYCLING_FAILURE: "going out and back on while it should burn steadily",
    AlarmType.DIMMING_FAILURE: "dimmed to {dim}% where the schedule says {expected}%",
    AlarmType.HIGH_VOLTAGE: "supply voltage above the band ({volts})",
    AlarmType.LOW_VOLTAGE: "supply voltage below the band ({volts})",
    AlarmType.LOW_POWER_FACTOR: "power factor {pf}",
    AlarmType.ORIENTATION_CHANGED: "the pole leans {tilt} degrees",
    AlarmType.NODE_FAULT: "the node reports {fault!r}",
}


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def _describe(
    kind: AlarmType, values: dict[str, Reading], expected: float | None
) -> tuple[str, dict[str, Any]]:
    """An alarm's message and figures from the report that confirmed it."""
    detail = _figures(values)
    if expected is not None:
        detail["expected"] = round(expected, 2)
    if kind is AlarmType.LAMP_FAILURE and detail.get("on") is False:
        return "says it is off all night, when it should burn", detail
    figures = _Blank(detail, volts=_volts(detail))
    for name in ("power", "expected", "dim"):
        if isinstance(detail.get(name), float):
            figures[name] = f"{detail[name]:.0f}" if name != "power" else f"{detail[name]:.1f}"
    return _MESSAGES.get(kind, str(kind)).format_map(figures), detail


def _volts(figures: dict[str, Any]) -> str:
    return ", ".join(
        f"{name} {value} V" for name, value in figures.items() if name.startswith("voltage")
    )


class DetectionLoop:
    """Runs a :class:`Detector` for ingest: on each stored batch, and on a clock when idle.

    ``submit`` is what ingest calls after each stored batch, on its writer
    thread: the batch is judged there, and every ``tick_s`` the timed rules
    run and the alarms are stored. A thread of its own does the same only
    while no batch comes (silence is judged when nothing arrives). Judging on
    the writer thread, not on a third busy thread, matters: with three threads
    wanting the interpreter, the reader waited for it after every socket read
    and ingest lost a third of its rate (measured). A failed store is kept
    and tried again.
    """

    def __init__(self, detector: Detector, *, tick_s: float = 1.0) -> None:
        self.detector = detector
        self.tick_s = tick_s
        self._lock = threading.Lock()
        self._last_tick = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._idle, name="detection", daemon=True)
        self.failures = 0

    def start(self) -> None:
        """Start the idle clock."""
        self._thread.start()

    def submit(self, accepted: Sequence[Accepted]) -> None:
        """Judge a stored batch; now and then also run the timed rules and store the alarms."""
        if not accepted:
            return
        with self._lock:
            self._safely(lambda: self.detector.observe(accepted))
            if time.monotonic() - self._last_tick >= self.tick_s:
                self._tick()

    def stop(self, timeout: float = 30.0) -> None:
        """Run the timed rules once more, store the alarms, and stop."""
        self._stop.set()
        self._thread.join(timeout)
        with self._lock:
            self._tick()

    def _idle(self) -> None:
        while not self._stop.wait(self.tick_s):
            with self._lock:
                if time.monotonic() - self._last_tick >= self.tick_s:
                    self._tick()

    def _tick(self) -> None:
        self._last_tick = time.monotonic()
        self._safely(self.detector.tick)
        self._safely(self.detector.flush)

    def _safely(self, step: Callable[[], object]) -> None:
        try:
            step()
        except Exception:
            self.failures += 1
            log.exception("fault detection step failed; carrying on")
