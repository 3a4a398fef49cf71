"""Lighting schedules: each city's dimming profiles, assignments, calendar and overrides."""

from __future__ import annotations

from typing import Protocol

from signalight.domain.assignments import Assignment, CalendarEntry, CitySchedules, Override
from signalight.domain.schedules import Profile

__all__ = ["ScheduleStore"]


class ScheduleStore(Protocol):
    """The schedules of every city; every read and write names the city.

    Every change bumps the city's schedule revision, so that the fault
    rules (which keep the city's schedules in memory) know to read them
    again, and is kept in the audit log with who made it.
    """

    def profiles(self, city_id: int) -> dict[int, Profile]:
        """The city's profiles by id."""
        ...

    def add_profile(self, city_id: int, profile: Profile, *, actor: str) -> int:
        """Store a new profile; returns its id. ConflictError if its name is taken."""
        ...

    def replace_profile(
        self, city_id: int, profile_id: int, profile: Profile, *, actor: str
    ) -> None:
        """Change a profile in place. NotFoundError if none; ConflictError on a taken name."""
        ...

    def delete_profile(self, city_id: int, profile_id: int, *, actor: str) -> None:
        """Remove a profile. NotFoundError if none; ConflictError while anything uses it."""
        ...

    def assignments(self, city_id: int) -> list[Assignment]:
        """The city's assignments."""
        ...

    def add_assignment(self, city_id: int, assignment: Assignment, *, actor: str) -> int:
        """Store an assignment (its id is ignored); returns its id."""
        ...

    def delete_assignment(self, city_id: int, assignment_id: int, *, actor: str) -> None:
        """Remove an assignment. NotFoundError if none."""
        ...

    def calendar(self, city_id: int) -> list[CalendarEntry]:
        """The city's calendar entries."""
        ...

    def add_calendar_entry(self, city_id: int, entry: CalendarEntry, *, actor: str) -> int:
        """Store a calendar entry (its id is ignored); returns its id."""
        ...

    def delete_calendar_entry(self, city_id: int, entry_id: int, *, actor: str) -> None:
        """Remove a calendar entry. NotFoundError if none."""
        ...

    def overrides(self, city_id: int, *, since: float) -> list[Override]:
        """The city's overrides that expire after ``since``."""
        ...

    def add_override(self, city_id: int, override: Override) -> int:
        """Store an override (its id is ignored; its ``by`` is the actor); returns its id."""
        ...

    def end_override(self, city_id: int, override_id: int, *, at: float, actor: str) -> Override:
        """Make an override expire at ``at`` (if later than that); returns it after."""
        ...

    def revision(self, city_id: int) -> int:
        """A number that grows with every change to the city's schedules."""
        ...

    def city_schedules(self, city_id: int, default: Profile, *, since: float) -> CitySchedules:
        """All of the city's schedules at once, with the overrides that expire after ``since``."""
        ...
