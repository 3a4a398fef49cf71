"""Alarms: what the detector stores and reads back, and what operators do."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Protocol

from signalight.domain.alarms import (
    Alarm,
    AlarmEvent,
    AlarmQuery,
    AlarmState,
    AlarmType,
    EventKind,
)
from signalight.domain.assets import (
    Page,
)
from signalight.domain.telemetry import DeadLetter

__all__ = ["AlarmSink", "AlarmStore", "DetectorStore"]


class AlarmSink(Protocol):
    """Where the detector's decisions go: the alarm store, as the recorder sees it."""

    def record(self, changes: Sequence[tuple[Alarm, EventKind, float]]) -> list[AlarmEvent]:
        """Store the detector's steps in one transaction, in order; returns their events.

        ``RAISED`` and ``HELD`` insert the alarm (setting its id); ``CLEARED``,
        ``RELEASED`` and ``CLOSED`` move it on if it is still where the step
        expects; ``REOPENED`` reopens a cleared alarm, or raises it anew (new
        id) if an operator closed it meanwhile.
        """
        ...

    def reject(self, letters: Sequence[DeadLetter]) -> None:
        """Keep steps that could not be stored as dead letters (a deleted city's: no city)."""
        ...


class DetectorStore(AlarmSink, Protocol):
    """What the fault detector needs of the alarm store: its sink, and what it reads at start."""

    def open_alarms(self) -> list[Alarm]:
        """Every alarm not closed, of every city (the detector's start)."""
        ...

    def detection_overrides(self) -> dict[int, dict[str, object]]:
        """Each city's detection setting overrides, by city id."""
        ...


class AlarmStore(DetectorStore, Protocol):
    """Alarms, their history as events, and each city's detection settings.

    The detector writes what it decided with ``record`` (see
    :class:`DetectorStore`, the part the detector sees); operators act
    through the other methods. Each state change is guarded by the state it
    expects, so an operator's acknowledgement and the detector's clearing
    never overwrite each other.
    """

    def get_alarm(self, city_id: int, alarm_id: int) -> Alarm:
        """One alarm of the city; NotFoundError if none."""
        ...

    def query_alarms(self, city_id: int, query: AlarmQuery) -> Page[Alarm]:
        """The city's alarms that match, newest first; ``next_after`` continues before it."""
        ...

    def alarm_counts(
        self, city_id: int, states: Collection[AlarmState]
    ) -> list[tuple[AlarmType, str, int]]:
        """How many of the city's alarms in ``states`` (not held) per type and severity."""
        ...

    def act(
        self, city_id: int, alarm_id: int, kind: EventKind, actor: str, at: float, note: str
    ) -> Alarm:
        """An operator's step: acknowledge, note or close; returns the alarm after it.

        Raises:
            NotFoundError: The city has no such alarm.
            ConflictError: The alarm is not in a state that allows the step
                (closing an active alarm, acknowledging a closed one).
        """
        ...

    def history(self, city_id: int, alarm_id: int) -> list[AlarmEvent]:
        """One alarm's events, oldest first."""
        ...

    def events_after(
        self, after_id: int, limit: int, city_ids: Collection[int] | None = None
    ) -> list[AlarmEvent]:
        """Events with ids above ``after_id`` (of some cities, or all), oldest first."""
        ...

    def last_event_id(self) -> int:
        """The newest event's id of any city, 0 if there is none: where a live feed starts."""
        ...

    def set_detection_overrides(
        self, city_id: int, overrides: Mapping[str, object], at: float
    ) -> None:
        """Replace the city's overrides."""
        ...
