"""What the fault rules remember between reports: a city's clock and sun, a device, a cabinet."""

from __future__ import annotations

import heapq
import math
import zoneinfo
from enum import IntEnum
from typing import Final

from signalight.domain.alarms import Alarm, AlarmType
from signalight.domain.assets import DeviceKind
from signalight.domain.faults import DetectionSettings, DeviceProfile, Evidence
from signalight.domain.sun import Cell, LocalDays, SunTable
from signalight.services.light_plans import LightPlans

__all__ = [
    "Cabinet",
    "CityState",
    "Due",
    "Sun",
    "Watch",
    "above",
    "below",
    "schedule",
    "sun_at",
]

BAD, GOOD, UNKNOWN = Evidence.BAD, Evidence.GOOD, Evidence.UNKNOWN
LIGHT_NODE: Final = DeviceKind.STREETLIGHT_NODE.value
METER: Final = DeviceKind.CABINET_METER.value
SIGNAL_MONITOR: Final = DeviceKind.SIGNAL_MONITOR.value
DARK_INTERVALS: Final = 1.5  # a light this many intervals late counts as dark for an outage
NEVER: Final = -math.inf
NO_DAY: Final = (NEVER, NEVER, 0.0, 0.0)
# Shared empty containers of a watch that has written none yet; never written to.
NO_CHANGES: Final[list[float]] = []
NO_COUNTERS: Final[dict[AlarmType, int]] = {}
NO_ALARMS: Final[dict[AlarmType, Alarm]] = {}
_DAYLIGHT_KEPT: Final = 200_000  # cell-days kept (a city spans a few hundred cells)
_MAX_GAP: Final = 6 * 3600.0  # a longer gap is an outage, not the device's interval
_ODD_TO_LEARN: Final = 3


class Sun(IntEnum):
    """Where the sun is at a pole, for the rules of on and off."""

    DAY = 0
    NIGHT = 1
    TWILIGHT = 2  # within the margin of sunrise or sunset: on/off not judged


class Due(IntEnum):
    """What a timed check on a device looks at."""

    SILENCE = 0
    SUNRISE = 1
    RELEASE = 2
    MAINS = 3  # an intersection's mains failure waited for its cabinet meter's word


class CityState:
    """A city's clock, settings, sun and lights' plans, and its timed checks."""

    def __init__(self, city_id: int, zone: str, settings: DetectionSettings) -> None:
        self.id = city_id
        self.zone = zoneinfo.ZoneInfo(zone)
        self.settings = settings
        self.days = LocalDays(self.zone)
        self.sun = SunTable(self.zone)
        self.centre: Cell = (0, 0)
        self.stream = -math.inf  # the newest time the stream has vouched for
        self.wall = 0.0  # when it did, by the wall clock
        self.due: list[tuple[float, int, Due]] = []  # (when, device id, what)
        self.plans = LightPlans(self.days, self.sun, settings)
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

    def now(self, wall: float) -> float:
        """The city's stream time, run on by the wall clock since the stream last spoke."""
        return self.stream + max(0.0, wall - self.wall)


class Watch:
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
        "judged",
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

    def __init__(self, profile: DeviceProfile, city: CityState, interval: float) -> None:
        self.profile = profile
        self.city = city
        self.cell: Cell = (
            city.shared_cell(city.sun.cell(profile.lat, profile.lon))
            if profile.lat is not None and profile.lon is not None
            else city.centre
        )
        self.interval = interval
        self.odd = 0  # gaps in a row far from the interval (a missed report, an outage, a change)
        self.last_seen = NEVER  # the time of its newest uplink
        # whether a report of it was judged; a watch seeded from the store was not,
        # and judges the reports it is then given however old (see Detector.seed)
        self.judged = False
        self.offline_at: float | None = None  # when its last will (or it) said offline
        self.on = False  # what it last said of its switch
        self.lit: bool | None = None  # whether it last burned (switched on and drawing power)
        self.on_since = NEVER
        self.last_lit = NEVER
        self.off_since: float | None = None  # reports "off" at night since
        # The next three start as shared empty ones and get their own on the first
        # write (see _own): a million healthy devices need none of them.
        self.changes: list[float] = NO_CHANGES  # lit/dark changes by night, in the window
        self.counters: dict[AlarmType, int] = NO_COUNTERS  # >0 bad streak, <0 good streak
        self.alarms: dict[AlarmType, Alarm] = NO_ALARMS  # open (not closed) alarms
        self.day: tuple[float, float, float, float] = NO_DAY  # start, end, sunrise, sunset
        self.due: float | None = None  # a pending silence check
        self.sunrise_due = NEVER
        self.waited = False  # a silence check already waited once for the cabinet's meter

    @property
    def rise(self) -> float:
        """Sunrise at the pole on the local day of its last report."""
        return self.day[2]

    @property
    def set(self) -> float:
        """Sunset at the pole on the local day of its last report."""
        return self.day[3]

    def heard(self, t: float) -> None:
        """The device spoke at ``t``: learn its reporting interval from the gap since its last.

        A gap near the interval moves it a fifth of the way; a missed report
        or an outage does not move it at all, unless such gaps keep coming
        (the device reports at another pace: the newest gap is taken).
        """
        gap = t - self.last_seen
        if 0 < gap < _MAX_GAP:  # not before a seeded time (see Detector.seed)
            interval = self.interval
            if 0.5 * interval <= gap <= 1.5 * interval:
                self.interval = interval + 0.2 * (gap - interval)
                self.odd = 0
            else:
                self.odd += 1
                if self.odd >= _ODD_TO_LEARN:
                    self.interval, self.odd = gap, 0
        self.last_seen = t
        self.judged = True

    def own(self) -> None:
        """Give the watch containers of its own before it writes to them."""
        if self.alarms is NO_ALARMS:
            self.alarms = {}
        if self.counters is NO_COUNTERS:
            self.counters = {}
        if self.changes is NO_CHANGES:
            self.changes = []


class Cabinet:
    """A cabinet's lights and meter, and its outage incident."""

    __slots__ = ("asset_id", "code", "heard", "held", "incident", "lights", "meter", "source")

    def __init__(self, asset_id: int, lights: list[int], meter: int | None) -> None:
        self.asset_id = asset_id
        self.code: str | None = None
        self.lights = lights
        self.meter = meter
        self.heard = 0  # the detector's arrival number of the meter's newest report
        self.incident: Alarm | None = None
        self.source = ""  # "meter" or "lights": what showed the outage
        self.held: list[int] = []  # devices whose alarms are held under the incident


def schedule(city: CityState, when: float, kind: Due, w: Watch) -> None:
    """Look at ``w`` for ``kind`` when the city's clock reaches ``when``."""
    heapq.heappush(city.due, (when, w.profile.device_id, kind))
    if kind is Due.SILENCE:
        w.due = when if w.due is None else min(w.due, when)


def sun_at(w: Watch, t: float) -> Sun:
    """Where the sun is at the pole of ``w`` at ``t``, with the city's margin around it."""
    if not w.day[0] <= t < w.day[1]:
        w.day = w.city.daylight(w.cell, t)
    margin = w.city.settings.sun_margin_s
    if w.rise + margin <= t < w.set - margin:
        return Sun.DAY
    if t < w.rise - margin or t >= w.set + margin:
        return Sun.NIGHT
    return Sun.TWILIGHT


def above(value: float, bad_above: float, good_below: float) -> Evidence:
    """BAD above one threshold, GOOD below a lower one, UNKNOWN between: the hysteresis band."""
    return BAD if value > bad_above else GOOD if value < good_below else UNKNOWN


def below(value: float, bad_below: float, good_above: float) -> Evidence:
    """BAD below one threshold, GOOD at or above a higher one, UNKNOWN between."""
    return BAD if value < bad_below else GOOD if value >= good_above else UNKNOWN
