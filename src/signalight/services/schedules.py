"""Lighting schedules: profiles, assignments, calendar and overrides, and what a light does.

Roles: a city's admins edit its profiles, assignments and calendar;
operators and admins add and end overrides; any role of the city reads.
An entry whose key names no asset, group, cabinet or street class of the
city is refused. :meth:`Schedules.day` answers what one light should do
on a local day and why; :meth:`Schedules.plans` plans every light of a
city at once (grouped, see ``schedule_plans.py``), and
:meth:`Schedules.planned_wh` turns plans into energy.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Final, Protocol
from zoneinfo import ZoneInfo

from signalight.domain.assets import LuminaireType, StreetClass
from signalight.domain.assignments import (
    ALL_DAYS,
    Assignment,
    CalendarEntry,
    CitySchedules,
    LightKeys,
    Override,
    Scope,
    default_profile,
)
from signalight.domain.errors import ConflictError, InvalidInputError, NotFoundError
from signalight.domain.schedule_days import ScheduledLight
from signalight.domain.users import Role, User
from signalight.services.auth import require_role
from signalight.services.schedule_plans import plan_day, plan_lights, profile_named

if TYPE_CHECKING:
    from signalight.domain.cities import City
    from signalight.domain.faults import DetectionSettings
    from signalight.domain.schedule_days import DaySchedule
    from signalight.domain.schedules import Plan, Profile
    from signalight.ports import Clock
    from signalight.ports.schedule_lights import LightDirectory
    from signalight.ports.schedules import ScheduleStore

__all__ = ["RatedLight", "Schedules"]

log = logging.getLogger(__name__)

MODE_LEVELS: Final = {"on": 100.0, "off": 0.0}
_STREET_CLASSES: Final = frozenset(c.value for c in StreetClass)
_LUMINAIRES: Final = {t.value: t for t in LuminaireType}


class RatedLight(Protocol):
    """A light whose planned energy is asked for (the energy service's metered lights)."""

    @property
    def asset_id(self) -> int: ...  # noqa: D102 - a field
    @property
    def code(self) -> str: ...  # noqa: D102 - a field
    @property
    def cabinet(self) -> str: ...  # noqa: D102 - the feeding cabinet's code; "" when none
    @property
    def group(self) -> str: ...  # noqa: D102 - a field
    @property
    def street_class(self) -> str: ...  # noqa: D102 - a field
    @property
    def lat(self) -> float: ...  # noqa: D102 - a field
    @property
    def lon(self) -> float: ...  # noqa: D102 - a field
    @property
    def rated_watts(self) -> float | None: ...  # noqa: D102 - a field
    @property
    def luminaire(self) -> str | None: ...  # noqa: D102 - a field


class Schedules:
    """A city's lighting schedules, with the roles that may change them, and its plans.

    Args:
        store: Where schedules are kept.
        lights: The cities' streetlights and the keys entries may name.
        settings_of: A city's detection settings by its id (its default profile's dimming
            and its luminaires' power curves).
        clock: The time of overrides and of "today".
    """

    def __init__(
        self,
        store: ScheduleStore,
        lights: LightDirectory,
        settings_of: Callable[[int], DetectionSettings],
        clock: Clock,
    ) -> None:
        self._store = store
        self._lights = lights
        self._settings_of = settings_of
        self._clock = clock

    # Profiles.

    def profiles(self, city: City, user: User) -> dict[int, Profile]:
        """The city's profiles by id (any role of the city)."""
        require_role(user, city, Role.VIEWER)
        return self._store.profiles(city.pk)

    def profile(self, city: City, user: User, profile_id: int) -> Profile:
        """One profile of the city; NotFoundError if none."""
        found = self.profiles(city, user).get(profile_id)
        if found is None:
            raise NotFoundError(f"no schedule profile {profile_id} in {city.slug!r}")
        return found

    def profile_id(self, city: City, user: User, name: str) -> int:
        """The id of the city's profile called ``name``; NotFoundError if none."""
        found = profile_named(self.profiles(city, user), name)
        if found is None:
            raise NotFoundError(f"no schedule profile named {name!r} in {city.slug!r}")
        return found

    def add_profile(self, city: City, user: User, profile: Profile) -> int:
        """Store a new profile (admin); ConflictError on a taken name."""
        require_role(user, city, Role.ADMIN)
        profile_id = self._store.add_profile(city.pk, profile.check(), actor=user.username)
        log.info("profile %r added in %s by %s", profile.name, city.slug, user.username)
        return profile_id

    def replace_profile(self, city: City, user: User, profile_id: int, profile: Profile) -> None:
        """Change a profile in place (admin)."""
        require_role(user, city, Role.ADMIN)
        self._store.replace_profile(city.pk, profile_id, profile.check(), actor=user.username)

    def delete_profile(self, city: City, user: User, profile_id: int) -> None:
        """Remove a profile (admin); ConflictError while an assignment or entry uses it."""
        require_role(user, city, Role.ADMIN)
        self._store.delete_profile(city.pk, profile_id, actor=user.username)

    # Assignments and calendar.

    def assignments(self, city: City, user: User) -> list[Assignment]:
        """The city's assignments (any role)."""
        require_role(user, city, Role.VIEWER)
        return self._store.assignments(city.pk)

    def assign(
        self, city: City, user: User, scope: Scope, key: str, profile_id: int,
        weekdays: Collection[int] = ALL_DAYS,
    ) -> Assignment:  # fmt: skip
        """Lights of ``scope``/``key`` follow the profile on ``weekdays`` (admin)."""
        require_role(user, city, Role.ADMIN)
        assignment = Assignment(0, scope, key, profile_id, frozenset(weekdays)).check()
        self._check_key(city, scope, key)
        self._check_profile(city, profile_id)
        new_id = self._store.add_assignment(city.pk, assignment, actor=user.username)
        return Assignment(new_id, scope, key, profile_id, assignment.weekdays)

    def unassign(self, city: City, user: User, assignment_id: int) -> None:
        """Remove an assignment (admin)."""
        require_role(user, city, Role.ADMIN)
        self._store.delete_assignment(city.pk, assignment_id, actor=user.username)

    def calendar(self, city: City, user: User) -> list[CalendarEntry]:
        """The city's calendar entries (any role)."""
        require_role(user, city, Role.VIEWER)
        return self._store.calendar(city.pk)

    def add_calendar_entry(
        self, city: City, user: User, name: str, first: date, last: date, profile_id: int,
        scope: Scope = Scope.CITY, key: str = "",
    ) -> CalendarEntry:  # fmt: skip
        """From night ``first`` to ``last`` the scope's lights follow the profile (admin)."""
        require_role(user, city, Role.ADMIN)
        entry = CalendarEntry(0, name.strip(), first, last, scope, key, profile_id).check()
        self._check_key(city, scope, key)
        self._check_profile(city, profile_id)
        new_id = self._store.add_calendar_entry(city.pk, entry, actor=user.username)
        return CalendarEntry(new_id, entry.name, first, last, scope, key, profile_id)

    def delete_calendar_entry(self, city: City, user: User, entry_id: int) -> None:
        """Remove a calendar entry (admin)."""
        require_role(user, city, Role.ADMIN)
        self._store.delete_calendar_entry(city.pk, entry_id, actor=user.username)

    # Overrides.

    def overrides(self, city: City, user: User, *, since: datetime | None = None) -> list[Override]:
        """The city's overrides that expire after ``since`` (default: now), any role."""
        require_role(user, city, Role.VIEWER)
        at = (since or self._clock.now()).timestamp()
        return self._store.overrides(city.pk, since=at)

    def add_override(
        self, city: City, user: User, scope: Scope, key: str, *, mode: str,
        level: float | None = None, expires_at: datetime | None = None,
        duration: timedelta | None = None, reason: str,
    ) -> Override:  # fmt: skip
        """Lights of the scope burn on, off or at ``level`` from now (operator and up).

        ``mode`` is ``on`` (100 %), ``off`` or ``level`` (with ``level``); the
        override ends at ``expires_at`` or after ``duration`` (one of them).
        """
        require_role(user, city, Role.OPERATOR)
        value = _level_of(mode, level)
        now = self._clock.now()
        if (expires_at is None) == (duration is None):
            raise InvalidInputError("an override needs expires_at or a duration (one of them)")
        expires = expires_at if expires_at is not None else now + (duration or timedelta())
        override = Override(
            0, scope, key, value, now.timestamp(), expires.timestamp(), reason.strip(),
            user.username,
        ).check()  # fmt: skip
        self._check_key(city, scope, key)
        new_id = self._store.add_override(city.pk, override)
        log.info("override %s at %g%% on %s %s in %s by %s", new_id, value, scope, key,
                 city.slug, user.username)  # fmt: skip
        return Override(
            new_id, scope, key, value, override.starts, override.expires, override.reason,
            user.username,
        )  # fmt: skip

    def end_override(self, city: City, user: User, override_id: int) -> Override:
        """End an override now (operator and up); ConflictError if it is over already."""
        require_role(user, city, Role.OPERATOR)
        now = self._clock.now().timestamp()
        running = any(o.id == override_id for o in self._store.overrides(city.pk, since=now))
        ended = self._store.end_override(city.pk, override_id, at=now, actor=user.username)
        if not running:  # the store changed nothing (NotFoundError if there was none)
            raise ConflictError(f"override {override_id} is over already")
        return ended

    # Plans.

    def today(self, city: City) -> date:
        """Today's date in the city's time zone."""
        return self._clock.now().astimezone(ZoneInfo(city.timezone)).date()

    def day(self, city: City, asset_code: str, day: date | None = None) -> DaySchedule:
        """What the streetlight ``asset_code`` should do on local ``day`` (default today), and why.

        Raises:
            NotFoundError: No such streetlight in the city.
        """
        light = self._lights.light(city.pk, asset_code)
        if light is None:
            raise NotFoundError(f"no streetlight {asset_code!r} in {city.slug!r}")
        day = day or self.today(city)
        return plan_day(self._schedules(city, day), light, day, city.timezone)

    def plans(self, city: City, day: date) -> dict[int, Plan]:
        """The plan of local ``day`` of every streetlight of the city, by asset id."""
        lights = self._lights.lights(city.pk)
        return plan_lights(self._schedules(city, day), lights, day, city.timezone)

    def planned_wh(self, city: City, lights: Sequence[RatedLight], day: date) -> dict[int, float]:
        """Per asset id, the Wh each light would draw on local ``day`` following its plan.

        Rated power times the luminaire's power curve share at each level
        (the city's detection settings' curves). A light with no rated
        power is left out: its energy cannot be planned. Matches the energy
        service's ``PlannedEnergy``.
        """
        settings = self._settings_of(city.pk)
        rated = [light for light in lights if light.rated_watts is not None]
        scheduled = [
            ScheduledLight(
                light.asset_id,
                LightKeys(light.code, light.group, light.cabinet, light.street_class),
                light.lat,
                light.lon,
                _LUMINAIRES.get(light.luminaire or ""),
                light.rated_watts,
            )
            for light in rated
        ]
        plans = plan_lights(self._schedules(city, day), scheduled, day, city.timezone)
        return {
            light.id: plans[light.id].energy_wh(
                light.rated_watts or 0.0, settings.curve(light.luminaire).share
            )
            for light in scheduled
        }

    def revision(self, city: City) -> int:
        """The city's schedule revision: it moves with every change."""
        return self._store.revision(city.pk)

    def _schedules(self, city: City, day: date) -> CitySchedules:
        settings = self._settings_of(city.pk)
        default = default_profile(settings.night_dim, settings.dim_from, settings.dim_until)
        # Overrides that ended two days before the day cannot reach into it.
        since = datetime.combine(day, datetime.min.time(), ZoneInfo(city.timezone)).timestamp()
        return self._store.city_schedules(city.pk, default, since=since - 2 * 86_400)

    def _check_key(self, city: City, scope: Scope, key: str) -> None:
        if scope is Scope.STREET_CLASS:
            if key not in _STREET_CLASSES:
                known = ", ".join(sorted(_STREET_CLASSES))
                raise InvalidInputError(f"key: no street class {key!r} (one of {known})")
        elif scope is not Scope.CITY and not self._lights.has_key(city.pk, scope, key):
            what = "streetlight" if scope is Scope.ASSET else str(scope)
            raise InvalidInputError(f"key: no {what} {key!r} in {city.slug!r}")

    def _check_profile(self, city: City, profile_id: int) -> None:
        if profile_id not in self._store.profiles(city.pk):
            raise InvalidInputError(f"profile: no schedule profile {profile_id} in {city.slug!r}")


def _level_of(mode: str, level: float | None) -> float:
    if mode in MODE_LEVELS:
        if level is not None and level != MODE_LEVELS[mode]:
            raise InvalidInputError(f"mode {mode} takes no level")
        return MODE_LEVELS[mode]
    if mode == "level":
        if level is None:
            raise InvalidInputError("mode level needs its level (0 to 100)")
        return float(level)
    raise InvalidInputError(f"mode: on, off or level, not {mode!r}")
