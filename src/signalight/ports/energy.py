"""What the energy reports need from the database: the metered lights and what they used."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from signalight.domain.energy import EnergyRow, MeteredLight
    from signalight.domain.energy_periods import Grouping

__all__ = ["EnergyReads", "HourRow"]

# An hour's start, its period (-1: none), its dark share (0..1) and its period's start
# (-1: none), all UTC epoch seconds but the period and the share.
HourRow = tuple[float, int, float, float]


class EnergyReads(Protocol):
    """A city's metered streetlights and their energy per key and period."""

    def lights(self, city_id: int) -> list[MeteredLight]:
        """The city's streetlights in service with a device."""
        ...

    def energy(self, city_id: int, hours: Sequence[HourRow], grouping: Grouping) -> list[EnergyRow]:
        """What the lights used per key and period, counted from the hourly rollups."""
        ...

    def settled_days(self, city_id: int, start: float, end: float) -> set[float]:
        """The city's settled days (their local midnights) in ``[start, end)``."""
        ...

    def settle(
        self, city_id: int, hours: Sequence[HourRow], days: Sequence[float], at: float
    ) -> None:
        """Store what each light used on ``days``, counted over ``hours``, and mark them settled."""
        ...

    def settled_energy(
        self, city_id: int, days: Sequence[tuple[float, int]], grouping: Grouping
    ) -> list[EnergyRow]:
        """What the lights used per key and period on settled days (midnight, period)."""
        ...
