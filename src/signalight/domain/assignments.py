"""Which profile a light follows on a night, and the overrides over it.

Precedence, strongest first:

1. a manual **override** (on, off or a level) on the light, its group, its
   cabinet or the city, until it expires: the newest one in force wins;
2. a **calendar** entry (a holiday, a festival night) that covers the night;
3. the weekday **assignment**.

Within 2 and 3 the most specific scope wins: the asset, then its group,
its cabinet, its street class, the city. A group is a deliberate choice by
the city's engineer (the lights of a park path), a cabinet only the wiring
that feeds them, so a group is the more specific. At one scope, an
assignment for some weekdays beats one for every day. Where nothing is
assigned, the city's default profile applies (:func:`default_profile`,
from its detection settings' night dimming): the rules judged by it before
profiles existed, and still do for a city that sets none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from enum import StrEnum
from typing import Final, NamedTuple

from signalight.domain.errors import InvalidInputError
from signalight.domain.schedules import Anchor, Profile, Step

__all__ = [
    "ALL_DAYS",
    "SCOPES",
    "Assignment",
    "CalendarEntry",
    "Choice",
    "CitySchedules",
    "LightKeys",
    "Override",
    "Scope",
    "default_profile",
]

ALL_DAYS: Final = frozenset(range(7))  # Monday 0 .. Sunday 6, as date.weekday()
MAX_REASON: Final = 500


class Scope(StrEnum):
    """What an assignment, calendar entry or override applies to."""

    ASSET = "asset"  # key: the asset's code
    GROUP = "group"  # key: the group's name
    CABINET = "cabinet"  # key: the cabinet's code
    STREET_CLASS = "street_class"  # key: a StreetClass value
    CITY = "city"  # key: ""


SCOPES: Final = (Scope.ASSET, Scope.GROUP, Scope.CABINET, Scope.STREET_CLASS, Scope.CITY)


class LightKeys(NamedTuple):
    """What a light is known by, scope by scope."""

    code: str
    group: str = ""
    cabinet: str = ""
    street_class: str = ""

    def key(self, scope: Scope) -> str | None:
        """The light's key at ``scope``; None where it has none (no group, no cabinet)."""
        if scope is Scope.CITY:
            return ""
        value: str = self[_FIELD[scope]]
        return value or None


_FIELD: Final = {Scope.ASSET: 0, Scope.GROUP: 1, Scope.CABINET: 2, Scope.STREET_CLASS: 3}


def _check_scope(scope: Scope, key: str) -> list[str]:
    if scope is Scope.CITY:
        return [] if key == "" else ["a city-wide entry takes no key"]
    return [] if 0 < len(key) <= 100 else [f"a {scope} entry needs its key (1 to 100 characters)"]  # noqa: PLR2004


@dataclass(frozen=True, slots=True)
class Assignment:
    """Lights of ``scope``/``key`` follow ``profile_id`` on the nights of ``weekdays``."""

    id: int
    scope: Scope
    key: str
    profile_id: int
    weekdays: frozenset[int] = ALL_DAYS

    def check(self) -> Assignment:
        """The assignment, or InvalidInputError saying what is wrong with it."""
        found = _check_scope(self.scope, self.key)
        if not self.weekdays or not self.weekdays <= ALL_DAYS:
            found.append("weekdays are 0 (Monday) to 6 (Sunday), at least one")
        if found:
            raise InvalidInputError("; ".join(found))
        return self


@dataclass(frozen=True, slots=True)
class CalendarEntry:
    """From night ``first`` to night ``last`` (inclusive) the scope's lights follow the profile."""

    id: int
    name: str
    first: date
    last: date
    scope: Scope
    key: str
    profile_id: int

    def check(self) -> CalendarEntry:
        """The entry, or InvalidInputError saying what is wrong with it."""
        found = _check_scope(self.scope, self.key)
        if not 0 < len(self.name) <= 100:  # noqa: PLR2004
            found.append("a calendar entry's name must be 1 to 100 characters")
        if self.last < self.first:
            found.append("a calendar entry's last night must not come before its first")
        elif (self.last - self.first).days > 366:  # noqa: PLR2004
            found.append("a calendar entry spans at most a year")
        if found:
            raise InvalidInputError("; ".join(found))
        return self


@dataclass(frozen=True, slots=True)
class Override:
    """Lights of the scope burn at ``level`` (0: off, 100: on) from ``starts`` until ``expires``."""

    id: int
    scope: Scope
    key: str
    level: float
    starts: float  # UTC epoch seconds
    expires: float
    reason: str
    by: str  # who asked

    def check(self) -> Override:
        """The override, or InvalidInputError saying what is wrong with it."""
        found = _check_scope(self.scope, self.key)
        if not 0 <= self.level <= 100:  # noqa: PLR2004 - percent
            found.append("an override's level must be between 0 and 100")
        if self.expires <= self.starts:
            found.append("an override must expire after it starts")
        elif self.expires - self.starts > 31 * 86_400:
            found.append("an override lasts at most 31 days: use a calendar entry for longer")
        if not 0 < len(self.reason.strip()) <= MAX_REASON:
            found.append(f"an override needs its reason (1 to {MAX_REASON} characters)")
        if found:
            raise InvalidInputError("; ".join(found))
        return self


class Choice(NamedTuple):
    """The profile a light follows on a night, and why."""

    profile_id: int | None  # None: the city's default
    profile: Profile
    source: str  # "calendar 'Hari Raya' (city)", "assignment (street_class residential)", ...


def default_profile(night_dim: float, dim_from: time, dim_until: time) -> Profile:
    """The profile a city follows where it assigned none: on at sunset, dimmed by the clock."""
    steps = [Step(Anchor.SUNSET, 100.0)]
    if night_dim < 100 and dim_from != dim_until:  # noqa: PLR2004 - percent
        steps += [
            Step(Anchor.CLOCK, night_dim, at=dim_from),
            Step(Anchor.CLOCK, 100.0, at=dim_until),
        ]
    steps.append(Step(Anchor.SUNRISE, 0.0))
    return Profile("city default", tuple(steps))


class CitySchedules:
    """A city's profiles, assignments, calendar and overrides, answering for one light."""

    def __init__(
        self,
        profiles: dict[int, Profile],
        assignments: list[Assignment],
        calendar: list[CalendarEntry],
        overrides: list[Override],
        default: Profile,
    ) -> None:
        self.profiles = profiles
        self.default = default
        self.overrides = sorted(overrides, key=lambda o: (o.starts, o.id))
        self._assigned: dict[tuple[Scope, str], list[Assignment]] = {}
        for a in assignments:
            self._assigned.setdefault((a.scope, a.key), []).append(a)
        for found in self._assigned.values():
            found.sort(key=lambda a: (len(a.weekdays), a.id))  # fewest weekdays first
        self._calendar: dict[tuple[Scope, str], list[CalendarEntry]] = {}
        for e in calendar:
            self._calendar.setdefault((e.scope, e.key), []).append(e)

    def choose(self, light: LightKeys, night: date) -> Choice:
        """The profile ``light`` follows on the night of local day ``night``."""
        for scope in SCOPES:
            key = light.key(scope)
            if key is None:
                continue
            for entry in self._calendar.get((scope, key), ()):
                if entry.first <= night <= entry.last and entry.profile_id in self.profiles:
                    where = f"{scope} {key}" if key else scope
                    return Choice(
                        entry.profile_id,
                        self.profiles[entry.profile_id],
                        f"calendar '{entry.name}' ({where})",
                    )
        weekday = night.weekday()
        for scope in SCOPES:
            key = light.key(scope)
            if key is None:
                continue
            for a in self._assigned.get((scope, key), ()):
                if weekday in a.weekdays and a.profile_id in self.profiles:
                    where = f"{scope} {key}" if key else scope
                    return Choice(
                        a.profile_id, self.profiles[a.profile_id], f"assignment ({where})"
                    )
        return Choice(None, self.default, "city default (no profile assigned)")

    def overrides_for(self, light: LightKeys, start: float, end: float) -> list[Override]:
        """The overrides on ``light`` in force at some time in ``[start, end)``, oldest first."""
        keys = {(scope, light.key(scope)) for scope in SCOPES}
        return [
            o
            for o in self.overrides
            if o.starts < end and o.expires > start and (o.scope, o.key) in keys
        ]

    def has_assignments(self) -> bool:
        """Whether any assignment or calendar entry exists."""
        return bool(self._assigned or self._calendar)

    def keys_at(self, scope: Scope) -> set[str]:
        """The keys of ``scope`` that an assignment or calendar entry names."""
        return {k for s, k in (*self._assigned, *self._calendar) if s is scope}

    def has_overrides(self) -> bool:
        """Whether any override exists (most cities, most nights: none)."""
        return bool(self.overrides)
