"""What the map, the home figures and the network page read of a city's live state."""

from __future__ import annotations

from typing import Protocol

from signalight.domain.assets import AssetKind
from signalight.domain.status import AlarmMark, MapAsset

__all__ = ["StatusReads"]


class StatusReads(Protocol):
    """A city's assets with their devices' newest messages, its open alarms, its repairs.

    Each read is one query over the whole city, never one per asset.
    """

    def map_assets(
        self,
        city_id: int,
        bbox: tuple[float, float, float, float] | None = None,
        kind: AssetKind | None = None,
    ) -> list[MapAsset]:
        """The city's assets (in the bbox, of the kind, if given) by id, with their devices."""
        ...

    def stamp(self, city_id: int) -> tuple[int, int]:
        """The city's inventory version and its newest alarm event's id.

        Between two reads of the same stamp, only the clock changes what the map shows.
        """
        ...

    def open_alarms(self, city_id: int) -> dict[int, list[AlarmMark]]:
        """The city's raised and acknowledged alarms (held ones too), by asset id."""
        ...

    def repairs(self, city_id: int, since: float, until: float) -> list[tuple[float, float]]:
        """(began, cleared) of each clearing of an alarm in [since, until), epoch seconds.

        ``began`` is when that occurrence was raised (or held, or reopened).
        """
        ...
