"""The streetlights that schedules plan for, and the keys assignments may name."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from signalight.domain.assignments import Scope
    from signalight.domain.schedule_days import ScheduledLight

__all__ = ["LightDirectory"]


class LightDirectory(Protocol):
    """A city's streetlights by what schedules need of them; every call names the city."""

    def lights(self, city_id: int) -> list[ScheduledLight]:
        """Every streetlight of the city that is not removed."""
        ...

    def light(self, city_id: int, code: str) -> ScheduledLight | None:
        """The city's streetlight with this code, or None."""
        ...

    def has_key(self, city_id: int, scope: Scope, key: str) -> bool:
        """Whether ``key`` names something of ``scope`` in the city (asset, group, cabinet)."""
        ...
