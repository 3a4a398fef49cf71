"""Cities, their assets and devices, imports, device credentials; the fleet as rules read it."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from signalight.domain.assets import (
    Asset,
    AssetKind,
    AssetQuery,
    AssetRecord,
    Device,
    DeviceKind,
    Page,
    UpsertResult,
)
from signalight.domain.cities import City
from signalight.domain.faults import DeviceProfile
from signalight.domain.inventory import ExistingAsset, ExistingDevice, ImportRun

__all__ = [
    "AssetRepository",
    "AssetWriter",
    "CityRepository",
    "DeviceCredentialStore",
    "FleetInventory",
    "ImportLog",
]


class CityRepository(Protocol):
    """Cities, the tenants."""

    def add_city(self, city: City) -> City:
        """Store a new city; ConflictError if its slug is taken."""
        ...

    def get_city(self, slug: str) -> City:
        """The city with that slug; NotFoundError if none."""
        ...

    def list_cities(self, ids: Sequence[int] | None = None) -> list[City]:
        """All cities, or those with the given ids, by slug."""
        ...

    def update_city(self, city: City) -> City:
        """Store changed settings of an existing city."""
        ...


class AssetWriter(Protocol):
    """Writes one city's records in batches inside one transaction."""

    def write(self, records: Sequence[AssetRecord]) -> None:
        """Insert or update (by code) one batch, cabinets first, and bind its devices."""
        ...

    def result(self) -> UpsertResult:
        """What the writes so far changed."""
        ...


class AssetRepository(Protocol):
    """One city's inventory of assets and their devices."""

    def bulk_writer(self, city_id: int) -> AbstractContextManager[AssetWriter]:
        """A writer whose batches commit together when the block ends, or not at all."""
        ...

    def existing_assets(
        self, city_id: int, codes: Collection[str] | None = None
    ) -> dict[str, ExistingAsset]:
        """The city's asset codes (all, or just ``codes``) with their kind and bound device."""
        ...

    def existing_devices(
        self, city_id: int, uids: Collection[str] | None = None
    ) -> dict[str, ExistingDevice]:
        """The city's device ids (all, or just ``uids``) with kind and the asset bound to each."""
        ...

    def upsert_assets(self, city_id: int, records: Sequence[AssetRecord]) -> UpsertResult:
        """Insert or update (by code) all records in one transaction: all or nothing."""
        ...

    def query_assets(self, city_id: int, query: AssetQuery) -> Page[Asset]:
        """One page of the city's assets that match ``query``, by ascending id."""
        ...

    def get_asset(self, city_id: int, asset_id: int) -> Asset:
        """One asset of the city; NotFoundError if it is not there."""
        ...

    def delete_asset(self, city_id: int, asset_id: int) -> bool:
        """Delete an asset, or retire one with a history (``removed``); True if deleted.

        ConflictError while in-service assets take their power from it.
        """
        ...

    def iter_assets(self, city_id: int) -> Iterator[Asset]:
        """Every asset of the city, cabinets first, for export."""
        ...

    def count_assets(self, city_id: int) -> dict[AssetKind, int]:
        """How many assets of each kind the city has."""
        ...

    def query_devices(
        self, city_id: int, kind: DeviceKind | None, after_id: int, limit: int
    ) -> Page[Device]:
        """One page of the city's devices by ascending id."""
        ...

    def get_device(self, city_id: int, uid: str) -> Device:
        """One device of the city by its id; NotFoundError if none."""
        ...


class ImportLog(Protocol):
    """Every inventory import attempt, accepted or refused, per city."""

    def record_import(self, city_id: int, run: ImportRun) -> ImportRun:
        """Keep a run; returns it with its id and time."""
        ...

    def list_imports(self, city_id: int, limit: int) -> list[ImportRun]:
        """The city's latest runs, newest first."""
        ...


class DeviceCredentialStore(Protocol):
    """Devices' MQTT credentials, kept as hashes only (the secrets are shown once)."""

    def set_credentials(self, city_id: int, hashes: Mapping[str, str | None]) -> None:
        """Store each device's new hash (None removes it) in one transaction: all or nothing.

        NotFoundError, and nothing stored, if any device is not in the city.
        """
        ...

    def credentials(self, city_id: int | None = None) -> list[tuple[str, str, str]]:
        """``(city slug, device id, hash)`` of every device with credentials, in one city or all."""
        ...


class FleetInventory(Protocol):
    """What the fault rules read of the inventory: devices with their assets, cabinets' lights."""

    def versions(self) -> dict[int, int]:
        """Each city's inventory version: it moves on with every change of assets or devices."""
        ...

    def profiles(self, device_ids: Collection[int]) -> list[DeviceProfile]:
        """The devices' profiles (those that exist)."""
        ...

    def cabinet_lights(self, cabinet_ids: Collection[int]) -> dict[int, list[int]]:
        """The device ids of the lights each cabinet powers."""
        ...

    def cabinet(self, cabinet_id: int) -> tuple[str | None, int | None]:
        """A cabinet's code, and the device (its meter) bound to it if any."""
        ...
