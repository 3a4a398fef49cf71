"""Device telemetry: readings, live state, rollups and dead letters."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from typing import Protocol

from signalight.domain.readings import Reading, RejectReason
from signalight.domain.telemetry import Accepted, DeadLetter, DeviceRef, DeviceState, HourlyRollup

__all__ = ["TelemetryStore"]


class TelemetryStore(Protocol):
    """Readings, live device state, hourly rollups and dead letters.

    ``write`` is one transaction: when it returns, everything given is stored
    and the messages may be acknowledged; when it raises, nothing is.
    """

    def devices(self) -> Iterator[DeviceRef]:
        """Every registered device of every city, for ingest's lookup table."""
        ...

    def find_device(self, city_slug: str, uid: str) -> DeviceRef | None:
        """One device by its city and id, or None."""
        ...

    def write(self, accepted: Sequence[Accepted], dead: Sequence[DeadLetter]) -> int:
        """Store a batch of readings and dead letters in one transaction.

        A reading already stored is skipped (idempotent on device, time and
        name); the devices' state is merged; the hourly rollups count only
        readings new to the store.

        Returns:
            How many readings were new.
        """
        ...

    def device_state(self, city_id: int, device_id: int) -> DeviceState | None:
        """The device's live state, or None if it has never reported."""
        ...

    def readings(
        self,
        city_id: int,
        device_id: int,
        start: float,
        end: float,
        names: Collection[str] | None,
        limit: int,
    ) -> list[Reading]:
        """A device's readings with ``start <= time < end``, oldest first, at most ``limit``."""
        ...

    def hourly(self, city_id: int, device_id: int, start: float, end: float) -> list[HourlyRollup]:
        """A device's hourly rollups whose hour starts in ``[start, end)``, oldest first."""
        ...

    def dead_letters(
        self, city_id: int | None, limit: int, before_id: int | None = None
    ) -> list[DeadLetter]:
        """Dead letters, newest first: one city's (None: all, for the service operator)."""
        ...

    def dead_letter_counts(self, city_id: int | None) -> dict[RejectReason, int]:
        """How many dead letters there are per reason."""
        ...

    def heard_since(self, since: float) -> Iterator[tuple[int, float]]:
        """``(device id, time of its newest reading)`` of each device heard since ``since``."""
        ...

    def prune(self, before: float) -> int:
        """Delete raw readings and dead letters older than ``before``; returns readings deleted.

        Hourly rollups and live state are kept.
        """
        ...
