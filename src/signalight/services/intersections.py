"""A city's intersections as operators watch them: live state, what the controller does, events.

Reads the intersections with their monitors' newest values and open alarms
(:class:`IntersectionReads`), and the controllers' events
(:class:`EventReads`), and tells each one's state in words
(:func:`intersection_state`). Viewers and up read them (the API checks the
city role).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol

from signalight.domain.errors import InvalidInputError, NotFoundError
from signalight.domain.intersections import IntersectionState, intersection_state
from signalight.domain.signals import ControllerEvent

if TYPE_CHECKING:
    from signalight.domain.cities import City
    from signalight.domain.intersections import IntersectionRow

__all__ = ["EventReads", "IntersectionReads", "IntersectionView", "Intersections"]

LAST_EVENTS: Final = 30  # the events an intersection's page shows
MAX_EVENTS: Final = 10_000  # a page of events at most
MAX_SPAN_S: Final = 31 * 86_400.0  # events are read a month at most at a time
_INTERVAL: Final = 60.0  # a monitor's reporting interval, as the fault rules first assume


class IntersectionReads(Protocol):
    """The intersections of a city with their monitor's state and open alarms."""

    def intersections(self, city_id: int, code: str | None = None) -> list[IntersectionRow]:
        """By code; one if ``code`` is given."""
        ...


class EventReads(Protocol):
    """A controller's stored events."""

    def events(
        self,
        city_id: int,
        asset_id: int,
        start: float,
        end: float,
        *,
        codes: Iterable[int] | None = None,
        limit: int = 10_000,
        newest_first: bool = False,
    ) -> list[ControllerEvent]:
        """An intersection's events with ``start <= time < end``."""
        ...


@dataclass(frozen=True, slots=True)
class IntersectionView:
    """An intersection, its state, and what authorises its open door (None: nothing, or shut)."""

    row: IntersectionRow
    state: IntersectionState
    door_authorised: str | None = None


DoorCheck = Callable[[int, int, float], "str | None"]  # (city, asset, time): what authorises it


class Intersections:
    """The signals pages' and API's reads."""

    def __init__(
        self,
        reads: IntersectionReads,
        events: EventReads,
        *,
        door: DoorCheck | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._reads = reads
        self._events = events
        self._door = door
        self._clock = clock

    def all(self, city: City) -> list[IntersectionView]:
        """Every intersection of the city, by code (the state from the monitor's values)."""
        now = self._clock()
        views = []
        for row in self._reads.intersections(city.pk):
            state = intersection_state(row.values, now=now, interval_s=_INTERVAL)
            views.append(self._view(city, row, state, now))
        return views

    def get(self, city: City, code: str) -> IntersectionView:
        """One intersection with its newest events; NotFoundError if the city has none so coded."""
        found = self._reads.intersections(city.pk, code)
        if not found:
            raise NotFoundError(f"no intersection {code!r} in {city.slug!r}")
        row = found[0]
        now = self._clock()
        newest = self._events.events(
            city.pk, row.id, 0.0, now + 86_400.0, limit=LAST_EVENTS, newest_first=True
        )
        state = intersection_state(row.values, newest, now=now, interval_s=_INTERVAL)
        return self._view(city, row, state, now)

    def _view(
        self, city: City, row: IntersectionRow, state: IntersectionState, now: float
    ) -> IntersectionView:
        """The view, asking what authorises the door only while it is open (rare)."""
        if state.door != "open" or self._door is None:
            return IntersectionView(row, state)
        return IntersectionView(row, state, self._door(city.pk, row.id, now))

    def events(
        self,
        city: City,
        code: str,
        start: float,
        end: float,
        *,
        codes: Iterable[int] | None = None,
        limit: int = 1000,
    ) -> list[ControllerEvent]:
        """An intersection's events in ``[start, end)``, oldest first, at most ``limit``."""
        if end <= start:
            raise InvalidInputError("'to' must be after 'from'")
        if end - start > MAX_SPAN_S:
            raise InvalidInputError("events are read 31 days at most at a time")
        if not 1 <= limit <= MAX_EVENTS:
            raise InvalidInputError(f"limit must be 1..{MAX_EVENTS}")
        found = self._reads.intersections(city.pk, code)
        if not found:
            raise NotFoundError(f"no intersection {code!r} in {city.slug!r}")
        return self._events.events(city.pk, found[0].id, start, end, codes=codes, limit=limit)
