"""Plans of a city's lights for a day: one light with its reasons, or every light at once.

Every light of a city for a day is planned fast by grouping: lights that
follow the same profiles on the two nights of the day and stand in the
same grid cell of 0.01 degrees (sunset moves by seconds within one) share
one plan, computed once. Lights under an override are planned apart.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

from signalight.domain.assignments import LightKeys, Scope
from signalight.domain.schedule_days import DaySchedule, NightChoice, day_plan, day_span
from signalight.domain.sun import LocalDays, SunTable

if TYPE_CHECKING:
    from signalight.domain.assignments import Choice, CitySchedules, Override
    from signalight.domain.schedule_days import ScheduledLight
    from signalight.domain.schedules import Plan, Profile

__all__ = ["EXACT_CELL_DEG", "plan_day", "plan_lights"]

# The grid of one light's own day: a millionth of a degree (11 cm) is its spot.
EXACT_CELL_DEG: Final = 1e-6
# The grid of a city's plans at once: in 0.05 degrees (5.5 km) sunset moves by at most
# 12 s in the tropics and about a minute at 65 degrees, less than photocells differ,
# and a 30 km city is some 40 cells to search the sun's crossings for, not 700.
PLAN_CELL_DEG: Final = 0.05
# The scopes of a light's own keys, in LightKeys' order.
_LIGHT_SCOPES: Final = (Scope.ASSET, Scope.GROUP, Scope.CABINET, Scope.STREET_CLASS)


def plan_day(schedules: CitySchedules, light: ScheduledLight, day: date, zone: str) -> DaySchedule:
    """What ``light`` should do on local ``day``, and why, by the sun at its own coordinates."""
    tz = ZoneInfo(zone)
    days, sun = LocalDays(tz), SunTable(tz, EXACT_CELL_DEG)
    cell = sun.cell(light.lat, light.lon)
    start, end = day_span(days, day)
    before = day - timedelta(days=1)
    choices = (schedules.choose(light.keys, before), schedules.choose(light.keys, day))
    overrides = tuple(schedules.overrides_for(light.keys, start, end))
    plan = day_plan((choices[0].profile, choices[1].profile), day, sun, cell, days, overrides)
    nights = (_night(before, choices[0]), _night(day, choices[1]))
    return DaySchedule(
        light.keys.code, day, zone, start, end, plan, nights, overrides, sun.twilight(cell, day)
    )


def plan_lights(
    schedules: CitySchedules, lights: list[ScheduledLight], day: date, zone: str
) -> dict[int, Plan]:
    """The plan of local ``day`` of each light, by id (lights alike share one Plan)."""
    tz = ZoneInfo(zone)
    days, sun = LocalDays(tz), SunTable(tz, PLAN_CELL_DEG)
    start, end = day_span(days, day)
    before = day - timedelta(days=1)
    chooser = _Chooser(schedules, before, day)
    overrides = None
    if schedules.has_overrides():
        overrides = _OverrideIndex(
            [o for o in schedules.overrides if o.starts < end and o.expires > start]
        )
    plans: dict[int, Plan] = {}
    shared: dict[tuple[int | None, int | None, tuple[int, int]], Plan] = {}
    for light in lights:
        first, second = chooser.choices(light.keys)
        cell = sun.cell(light.lat, light.lon)
        key = (first.profile_id, second.profile_id, cell)
        plan = shared.get(key)
        if plan is None:
            plan = shared[key] = day_plan((first.profile, second.profile), day, sun, cell, days)
        if overrides is not None:
            found = overrides.on(light.keys)
            if found:
                plan = day_plan((first.profile, second.profile), day, sun, cell, days, found)
        plans[light.id] = plan
    return plans


def _night(night: date, choice: Choice) -> NightChoice:
    return NightChoice(night, choice.profile_id, choice.profile, choice.source)


class _Chooser:
    """The choices of the two nights, once per set of the keys that entries name.

    A light's choice depends only on those of its keys that some assignment
    or calendar entry names: the others are blanked, so that thousands of
    lights share a handful of answers.
    """

    def __init__(self, schedules: CitySchedules, before: date, day: date) -> None:
        self._schedules = schedules
        self._nights = (before, day)
        self._named = [schedules.keys_at(scope) for scope in _LIGHT_SCOPES]
        self._cache: dict[LightKeys, tuple[Choice, Choice]] = {}

    def choices(self, keys: LightKeys) -> tuple[Choice, Choice]:
        """The choices of the night before and of the day's night."""
        code, group, cabinet, street_class = self._named
        keys = LightKeys(
            keys.code if keys.code in code else "",
            keys.group if keys.group in group else "",
            keys.cabinet if keys.cabinet in cabinet else "",
            keys.street_class if keys.street_class in street_class else "",
        )
        found = self._cache.get(keys)
        if found is None:
            choose = self._schedules.choose
            found = self._cache[keys] = (
                choose(keys, self._nights[0]),
                choose(keys, self._nights[1]),
            )
        return found


class _OverrideIndex:
    """The overrides of a day by scope and key, to find a light's in a few lookups."""

    def __init__(self, overrides: list[Override]) -> None:
        self._city = [o for o in overrides if o.scope is Scope.CITY]
        self._by = [{o.key: [] for o in overrides if o.scope is scope} for scope in _LIGHT_SCOPES]  # type: list[dict[str, list[Override]]]
        for o in overrides:
            if o.scope is not Scope.CITY:
                self._by[_LIGHT_SCOPES.index(o.scope)][o.key].append(o)

    def on(self, keys: LightKeys) -> list[Override]:
        """The overrides on a light with these keys, oldest first."""
        found = list(self._city)
        for by, key in zip(self._by, keys, strict=True):
            if key and key in by:
                found.extend(by[key])
        return sorted(found, key=lambda o: (o.starts, o.id)) if found else found


def profile_named(profiles: dict[int, Profile], name: str) -> int | None:
    """The id of the profile called ``name``, or None."""
    return next((pid for pid, p in profiles.items() if p.name == name), None)
