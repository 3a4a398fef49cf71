"""What each light's schedule asks of it now, for the fault rules.

The rules judge a light against its own plan: dimmingFailure against the
level its profile asks at that moment, lampUnexpectedOn by day and in a
switch-off window, lampFailure (dark all night) only while it should burn.
A city that assigned no profile follows its default profile (its
detection settings' night dimming), as the rules did before profiles.

Plans are made once per (profile, grid cell, night) and their answer kept
over a span (between two changes of level, or inside a change's margin):
most reports fall in the span of the one before. Lights share the span of
their profile and cell, so a million lights cost a few hundred spans.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import TYPE_CHECKING, Final

from signalight.domain.assignments import CitySchedules, LightKeys, default_profile
from signalight.domain.schedules import NOON, NightSun, Plan, Profile, night_of, night_plan

if TYPE_CHECKING:
    from signalight.domain.faults import DetectionSettings, DeviceProfile
    from signalight.domain.sun import Cell, LocalDays, SunTable
    from signalight.ports.schedules import ScheduleStore

__all__ = ["LightPlans", "city_default"]

_KEPT: Final = 50_000  # plans and spans kept before the caches start again


def city_default(settings: DetectionSettings) -> Profile:
    """The profile of a light that none is assigned to, from the city's settings."""
    return default_profile(settings.night_dim, settings.dim_from, settings.dim_until)


class LightPlans:
    """A city's schedules, asked light by light and moment by moment."""

    def __init__(self, days: LocalDays, sun: SunTable, settings: DetectionSettings) -> None:
        self._days = days
        self._sun = sun
        self._edge = settings.dim_edge_s
        self._settings = settings
        self.revision = 0  # of the store's schedules followed
        self._schedules = CitySchedules({}, [], [], [], city_default(settings))
        self._uniform = True  # nothing assigned and no override: every light on the default
        self._plans: dict[tuple[int, Cell, date], Plan] = {}
        self._spans: dict[tuple[object, ...], tuple[float, float, float, bool]] = {}

    @property
    def schedules(self) -> CitySchedules:
        """The schedules the plans follow."""
        return self._schedules

    def follow(
        self, store: ScheduleStore | None, city_id: int, settings: DetectionSettings, now: float
    ) -> None:
        """Read the city's schedules again if they or its settings changed since the last look.

        Overrides that expired a day before ``now`` are left out (a backlog
        being judged lags the wall clock by hours, not days).
        """
        revision = store.revision(city_id) if store is not None else 0
        if revision == self.revision and settings == self._settings:
            return
        default = city_default(settings)
        schedules = (
            store.city_schedules(city_id, default, since=now - 86_400.0)
            if store is not None
            else CitySchedules({}, [], [], [], default)
        )
        self.use(schedules, settings)
        self.revision = revision

    def use(self, schedules: CitySchedules, settings: DetectionSettings) -> None:
        """Follow these schedules (read again from the store, or the settings changed)."""
        self._schedules = schedules
        self._settings = settings
        self._edge = settings.dim_edge_s
        self._uniform = not (
            schedules.profiles or schedules.has_overrides() or schedules.has_assignments()
        )
        self._plans.clear()
        self._spans.clear()

    def at(self, profile: DeviceProfile, cell: Cell, t: float) -> tuple[float, bool]:
        """The level the light's plan asks at ``t`` (0: off) and whether a change is near."""
        if self._uniform:
            key: tuple[object, ...] = (None, cell)
            found = self._spans.get(key)
            if found is not None and found[0] <= t < found[1]:
                return found[2], found[3]
            night = self._night_of(t)
            plan = self._plan(self._schedules.default, cell, night)
        else:
            night = self._night_of(t)
            keys = LightKeys(
                profile.asset_code or "", profile.group, profile.cabinet_code, profile.street_class
            )
            choice = self._schedules.choose(keys, night)
            plan = self._plan(choice.profile, cell, night)
            spans: tuple[tuple[float, float, float], ...] = ()
            if self._schedules.has_overrides():
                noon0 = self._days.on(night, NOON)
                found_overrides = self._schedules.overrides_for(keys, noon0, noon0 + 86_400.0)
                spans = tuple((o.starts, o.expires, o.level) for o in found_overrides)
                if spans:
                    plan = plan.overridden(list(spans))
            key = (id(choice.profile), cell, spans)
            found = self._spans.get(key)
            if found is not None and found[0] <= t < found[1]:
                return found[2], found[3]
        span = self._span(plan, night, t)
        if len(self._spans) > _KEPT:
            self._spans.clear()
        self._spans[key] = span
        return span[2], span[3]

    def _night_of(self, t: float) -> date:
        """The local day whose night (noon to noon) holds ``t``."""
        return night_of(self._days, t)

    def _plan(self, profile: Profile, cell: Cell, night: date) -> Plan:
        key = (id(profile), cell, night)
        found = self._plans.get(key)
        if found is None:
            if len(self._plans) > _KEPT:
                self._plans.clear()
            sun = NightSun(
                self._sun.twilight(cell, night), self._sun.twilight(cell, night + timedelta(days=1))
            )
            found = self._plans[key] = night_plan(profile, night, sun, self._days)
        return found

    def _span(self, plan: Plan, night: date, t: float) -> tuple[float, float, float, bool]:
        """``(low, high, level, near)``: the answer at ``t`` and the span it holds over."""
        edge = self._edge
        low = self._days.on(night, NOON)
        high = self._days.on(night + timedelta(days=1), NOON)
        for step in plan.steps:
            for bound in (step - edge, step + edge):
                if bound <= t:
                    low = max(low, bound)
                else:
                    high = min(high, bound)
        level = plan.level_at(t)
        near = plan.near_step(t, edge)
        if not math.isfinite(low) or not math.isfinite(high):  # pragma: no cover - noon is finite
            return (t, t, level, near)
        return (low, high, level, near)
