"""What the energy reports need from the database: the metered lights and what they used."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from signalight.domain.energy import EnergyRow, MeteredLight
    from signalight.domain.energy_periods import Grouping

__all__ = ["EnergyReads"]


class EnergyReads(Protocol):
    """A city's metered streetlights and their energy per key and period."""

    def lights(self, city_id: int) -> list[MeteredLight]:
        """The city's streetlights in service with a device."""
        ...

    def energy(
        self, city_id: int, hours: Sequence[tuple[float, int, float]], grouping: Grouping
    ) -> list[EnergyRow]:
        """What the lights used per key and period; ``hours``: (start, period or -1, dark share)."""
        ...
