"""Telemetry as people and devices reach it over HTTP: tenant-checked reads and device sign-in.

:class:`TelemetryQueries` finds a device only through the city the caller
was allowed into, so no read can cross tenants. :class:`DeviceAuthenticator`
checks the credentials a device posts its packs with: the same username and
secret as its MQTT account.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Final, NamedTuple

from signalight.domain.errors import NotFoundError

if TYPE_CHECKING:
    from signalight.domain.cities import City
    from signalight.domain.readings import Reading, RejectReason
    from signalight.domain.telemetry import DeadLetter, DeviceRef, DeviceState, HourlyRollup
    from signalight.ports import DeviceCredentialStore, TelemetryStore

__all__ = ["DeviceAuthenticator", "PageMark", "TelemetryQueries", "VerifySecret"]

log = logging.getLogger(__name__)

# (stored hash or None, secret in clear) -> whether they match.
VerifySecret = Callable[[str | None, str], bool]
# (city slug, device id) -> the registered device, or None.
FindDevice = Callable[[str, str], "DeviceRef | None"]


class PageMark(NamedTuple):
    """Where a page of readings ended: the last reading's time, and how many at it were given.

    Readings are ordered by time, then name, so the readings at one instant
    may span two pages; ``given`` says how many of them the next page skips.
    """

    time: float
    given: int


class TelemetryQueries:
    """A city's devices' live state, readings, hourly rollups and dead letters."""

    def __init__(self, store: TelemetryStore) -> None:
        self._store = store

    def device(self, city: City, uid: str) -> DeviceRef:
        """The city's device with that id; NotFoundError if the city has none."""
        found = self._store.find_device(city.slug, uid)
        if found is None or found.city_id != city.pk:
            raise NotFoundError(f"no device {uid!r} in {city.slug!r}")
        return found

    def state(self, device: DeviceRef) -> DeviceState | None:
        """The device's live state, or None if it has never reported."""
        return self._store.device_state(device.city_id, device.id)

    def readings(
        self,
        device: DeviceRef,
        start: float,
        end: float,
        names: Collection[str] | None,
        limit: int,
        after: PageMark | None = None,
    ) -> tuple[list[Reading], PageMark | None]:
        """One page of readings with ``start <= time < end``, oldest first.

        Args:
            device: Whose readings.
            start: UTC epoch seconds, inclusive; ignored when ``after`` is given.
            end: UTC epoch seconds, exclusive.
            names: Only these names (None: all).
            limit: At most this many readings.
            after: Where the previous page ended.

        Returns:
            The page and where it ended, or None for the mark when no reading follows.
        """
        skip = 0
        if after is not None:
            start, skip = after.time, after.given
        fetch = limit + skip + 1
        raw = self._store.readings(device.city_id, device.id, start, end, names, fetch)
        rows = raw
        if skip:
            # The readings at the mark's instant that the previous pages gave come first.
            dropped = 0
            while dropped < min(skip, len(raw)) and raw[dropped].time == start:
                dropped += 1
            rows = raw[dropped:]
        page = rows[:limit]
        if len(rows) <= limit or not page:
            return page, None
        last = page[-1].time
        given = sum(1 for reading in page if reading.time == last)
        if after is not None and last == after.time:
            given += skip
        return page, PageMark(last, given)

    def hourly(self, device: DeviceRef, start: float, end: float) -> list[HourlyRollup]:
        """The device's hourly rollups whose hour starts in ``[start, end)``, oldest first."""
        return self._store.hourly(device.city_id, device.id, start, end)

    def dead_letters(
        self, city: City, limit: int, before_id: int | None = None
    ) -> tuple[list[DeadLetter], int | None]:
        """A page of the city's dead letters, newest first, and the id to continue before."""
        letters = self._store.dead_letters(city.pk, limit + 1, before_id)
        page = letters[:limit]
        more = len(letters) > limit and page and page[-1].id is not None
        return page, page[-1].id if more else None

    def dead_letter_counts(self, city: City) -> dict[RejectReason, int]:
        """How many dead letters the city has, by reason."""
        return self._store.dead_letter_counts(city.pk)


class _CityHashes(NamedTuple):
    loaded_at: float  # monotonic seconds
    hashes: dict[str, str]  # device id -> stored hash


class DeviceAuthenticator:
    """Checks a device's own credentials: username ``{city}/{device}`` and its secret.

    The stored hashes are read a city at a time and kept for ``TTL`` seconds,
    since the credential store reads a whole city at once. A secret that
    does not match the kept hash makes the city be read again (at most every
    ``RETRY`` seconds), so a rotated secret works at once; a revoked or
    replaced one stops working within ``TTL``. The secret itself is verified
    on every request (the hash is cheap by design: see the mosquitto
    adapter). An unknown device is checked against a decoy hash, so that the
    answer takes as long as for a known one.
    """

    TTL: Final = 30.0
    RETRY: Final = 2.0

    def __init__(
        self,
        find_device: FindDevice,
        credentials: DeviceCredentialStore,
        verify: VerifySecret,
        decoy_hash: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._find = find_device
        self._credentials = credentials
        self._verify = verify
        self._decoy = decoy_hash
        self._clock = clock
        self._cities: dict[int, _CityHashes] = {}
        self._lock = threading.Lock()

    def authenticate(self, username: str, secret: str) -> DeviceRef | None:
        """The device whose credentials these are, or None, whatever is wrong."""
        city_slug, _, uid = username.partition("/")
        device = self._find(city_slug, uid) if city_slug and uid and "/" not in uid else None
        if device is None:
            self._verify(self._decoy, secret)  # the same work as for a known device
            return None
        held = self._hashes(device.city_id, refresh=False)
        stored = held.hashes.get(uid)
        if self._verify(stored or self._decoy, secret) and stored is not None:
            return device
        fresh = self._hashes(device.city_id, refresh=True)
        if fresh is not held:
            renewed = fresh.hashes.get(uid)
            if renewed != stored and self._verify(renewed, secret):
                return device
        return None

    def _hashes(self, city_id: int, *, refresh: bool) -> _CityHashes:
        with self._lock:
            now = self._clock()
            held = self._cities.get(city_id)
            if held is not None:
                age = now - held.loaded_at
                if age < (self.RETRY if refresh else self.TTL):
                    return held
            loaded = _CityHashes(
                now, {uid: hashed for _, uid, hashed in self._credentials.credentials(city_id)}
            )
            self._cities[city_id] = loaded
            log.debug("read the device credentials of city %s", city_id)
            return loaded
