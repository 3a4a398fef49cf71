"""Sunrise, sunset and local days, cached per grid cell and day (the simulator and the fault rules).

Astral takes about 15 microseconds per sunrise, too slow to ask for each of
20,000 poles every day, so poles share the times of the grid cell they stand
in: in a cell of 0.01 degrees (about 1.1 km) sunset moves by a few seconds,
far less than the minute by which two photocells differ.
"""

from __future__ import annotations

import bisect
import math
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from astral import Observer
from astral.sun import elevation, sunrise, sunset

from signalight.domain.sun_events import CIVIL, HORIZON, Crossing, altitude, crossings

CELL_DEG = 0.01
Cell = tuple[int, int]


class Daylight(NamedTuple):
    """When the sun rises and sets on one local day, as UTC epoch seconds.

    On a polar day the sun rose before and sets after the day (``-inf``,
    ``inf``); in a polar night it rises after it and set before (``inf``, ``-inf``).
    """

    sunrise: float
    sunset: float

    def is_night(self, t: float) -> bool:
        """Whether the sun is down at ``t`` (which must fall on this day)."""
        return t < self.sunrise or t >= self.sunset


class Twilight(NamedTuple):
    """Civil dawn, sunrise, sunset and civil dusk on one local day, as UTC epoch seconds.

    An event that does not happen that day is infinite, as in :class:`Daylight`:
    ``-inf`` for a rise (or dawn) when the sun stays above its line all day and
    ``inf`` when it stays below; the reverse for a set (or dusk).
    """

    dawn: float
    sunrise: float
    sunset: float
    dusk: float


class LocalDay(NamedTuple):
    """One calendar day in the city's time zone, as UTC epoch seconds."""

    day: date
    start: float  # local midnight
    end: float  # the next local midnight


class LocalDays:
    """The city's local days, found by bisection once computed."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self._starts: list[float] = []
        self._days: list[LocalDay] = []

    def at(self, t: float) -> LocalDay:
        """The local day that ``t`` falls on."""
        index = bisect.bisect_right(self._starts, t) - 1
        if index >= 0 and t < self._days[index].end:
            return self._days[index]
        day = datetime.fromtimestamp(t, self.zone).date()
        found = LocalDay(day, self._midnight(day), self._midnight(day + timedelta(days=1)))
        index = bisect.bisect_right(self._starts, found.start)
        self._starts.insert(index, found.start)
        self._days.insert(index, found)
        return found

    def clock(self, day: LocalDay, clock: time) -> float:
        """The epoch time of a local wall-clock time on ``day``."""
        return datetime.combine(day.day, clock, tzinfo=self.zone).timestamp()

    def on(self, day: date, clock: time) -> float:
        """The epoch time of a local wall-clock time on calendar date ``day``."""
        return datetime.combine(day, clock, tzinfo=self.zone).timestamp()

    def _midnight(self, day: date) -> float:
        return datetime.combine(day, time(0), tzinfo=self.zone).timestamp()


class SunTable:
    """Sunrise and sunset per grid cell and local day, computed once each."""

    def __init__(self, zone: ZoneInfo, cell_deg: float = CELL_DEG) -> None:
        self.zone = zone
        self.cell_deg = cell_deg
        self._cache: dict[tuple[Cell, date], Daylight] = {}
        self._twilight: dict[tuple[Cell, date], Twilight] = {}

    def cell(self, lat: float, lon: float) -> Cell:
        """The grid cell a point falls in."""
        return (math.floor(lat / self.cell_deg), math.floor(lon / self.cell_deg))

    def daylight(self, cell: Cell, day: date) -> Daylight:
        """Sunrise and sunset in ``cell`` on local ``day``."""
        key = (cell, day)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._compute(cell, day)
        return found

    def twilight(self, cell: Cell, day: date) -> Twilight:
        """Civil dawn, sunrise, sunset and civil dusk in ``cell`` on local ``day``.

        Searched for (:mod:`sun_events`), to seconds even where the sun skims
        the horizon: the first rise and the last set of the local day.
        """
        key = (cell, day)
        found = self._twilight.get(key)
        if found is None:
            observer = self._observer(cell)
            start = datetime.combine(day, time(0), tzinfo=self.zone).timestamp()
            end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.zone).timestamp()
            found_at = crossings(observer, start, end, (HORIZON, CIVIL))
            noon = datetime.combine(day, time(12), tzinfo=self.zone).timestamp()
            high = altitude(observer, noon)
            rise, set_ = _first_last(found_at[HORIZON], up=high > HORIZON)
            dawn_, dusk_ = _first_last(found_at[CIVIL], up=high > CIVIL)
            found = self._twilight[key] = Twilight(dawn_, rise, set_, dusk_)
        return found

    def _observer(self, cell: Cell) -> Observer:
        return Observer((cell[0] + 0.5) * self.cell_deg, (cell[1] + 0.5) * self.cell_deg)

    def _compute(self, cell: Cell, day: date) -> Daylight:
        observer = self._observer(cell)
        try:
            rise = sunrise(observer, day, self.zone).timestamp()
            set_ = sunset(observer, day, self.zone).timestamp()
        except ValueError:
            # The sun stays up (or down) all day: look at it at local noon.
            noon = datetime.combine(day, time(12), tzinfo=self.zone).astimezone(UTC)
            if elevation(observer, noon) > 0:
                return Daylight(-math.inf, math.inf)
            return Daylight(math.inf, -math.inf)
        return Daylight(rise, set_)


def _first_last(found: list[Crossing], *, up: bool) -> tuple[float, float]:
    """The day's first rise and last set; infinite where there is none (see :class:`Daylight`).

    ``up``: the sun is above the line at noon, said when a crossing is missing.
    """
    rises = [c.t for c in found if c.rising]
    sets = [c.t for c in found if not c.rising]
    rise = rises[0] if rises else (-math.inf if up else math.inf)
    set_ = sets[-1] if sets else (math.inf if up else -math.inf)
    return rise, set_
