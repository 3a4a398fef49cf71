"""The devices ingest knows, by city and id: cached, and looked up again on a miss."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from signalight.domain.telemetry import DeviceRef
    from signalight.ports import TelemetryStore

__all__ = ["DeviceDirectory"]


class DeviceDirectory:
    """Registered devices by (city, id), loaded once and looked up again on a miss.

    A miss asks the store at most once a minute per name, so a flood of
    messages from an unknown device cannot become a flood of queries.
    """

    RETRY_S: Final = 60.0

    def __init__(self, store: TelemetryStore) -> None:
        self._store = store
        self._devices: dict[tuple[str, str], DeviceRef] = {}
        self._misses: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self.reload()

    def reload(self) -> None:
        """Read every device again (after an inventory import, say)."""
        devices = {(ref.city_slug, ref.uid): ref for ref in self._store.devices()}
        with self._lock:
            self._devices = devices
            self._misses.clear()

    def __len__(self) -> int:
        return len(self._devices)

    def get(self, city_slug: str, uid: str) -> DeviceRef | None:
        """The device, or None if the city has none of that id."""
        key = (city_slug, uid)
        found = self._devices.get(key)
        if found is not None:
            return found
        now = time.monotonic()
        with self._lock:
            missed = self._misses.get(key)
            if missed is not None and now - missed < self.RETRY_S:
                return None
            found = self._store.find_device(city_slug, uid)
            if found is None:
                if len(self._misses) > 100_000:  # noqa: PLR2004 - a bound, not a tunable
                    self._misses.clear()
                self._misses[key] = now
            else:
                self._devices[key] = found
            return found
