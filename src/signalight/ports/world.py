"""Outside services that are not ours: the clock and the offline gazetteer."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from signalight.domain.cities import Place

__all__ = ["Clock", "Gazetteer"]


class Clock(Protocol):
    """The current time, so rules and tests do not read the wall clock directly."""

    def now(self) -> datetime:
        """The current timezone-aware UTC time."""
        ...


class Gazetteer(Protocol):
    """Where a city's centre, time zone and currency come from when not given."""

    def lookup(self, name: str, country: str | None = None) -> Place:
        """The best match for a place name; NotFoundError if none."""
        ...

    def currency(self, country: str) -> str:
        """A country's ISO 4217 currency."""
        ...

    def timezone_at(self, lat: float, lon: float) -> str:
        """The IANA time zone at a point."""
        ...

    def nearest(self, lat: float, lon: float) -> Place:
        """The place nearest a point, which tells its country; NotFoundError if none is near."""
        ...
