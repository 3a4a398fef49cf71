"""The detector following the inventory: a city's devices re-read when its version moves.

Every change of a city's assets or devices moves the city's inventory
version on (``adapters/sql/inventory_changes.py``, in whichever process made
it). :meth:`InventoryFollower.follow` reads the versions at each of the
detector's ticks and, for a city whose version moved, re-reads the profiles
of its watched devices and the cabinets they hang on.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from signalight.services.fault_memory import METER, NO_COUNTERS, Cabinet, CityState, Watch

if TYPE_CHECKING:
    from signalight.domain.faults import DeviceProfile
    from signalight.ports import FleetInventory
    from signalight.services.alarm_book import AlarmBook

__all__ = ["InventoryFollower"]


class InventoryFollower:
    """Keeps the detector's watches and cabinets in step with the inventory."""

    def __init__(
        self,
        inventory: FleetInventory,
        watches: dict[int, Watch],
        cabinets: dict[int, Cabinet],
        cities: Mapping[int, CityState],
        book: AlarmBook,
        wall: Callable[[], float],
    ) -> None:
        self._inventory = inventory
        self._watches = watches
        self._cabinets = cabinets
        self._cities = cities
        self.book = book
        self._wall = wall
        self._versions: dict[int, int] | None = None  # each city's version, as followed

    def follow(self) -> None:
        """Reload the profiles of the cities whose inventory changed since the last tick."""
        versions = self._inventory.versions()
        followed, self._versions = self._versions, versions
        if followed is None:  # the first look: every profile is read fresh anyway
            return
        moved = {city for city, version in versions.items() if followed.get(city) != version}
        if moved:
            self.refresh(moved)

    def refresh(self, city_ids: Collection[int]) -> int:
        """Reload the profiles of these cities' watched devices; returns how many changed.

        A device whose asset, status or cabinet changed (unbound, bound
        elsewhere, retired, taken out of service) or that is gone: the alarms
        open on it are closed (the store closed them already if the change
        came through it: then nothing is written twice), its streaks are
        forgotten, and it is judged by its new profile from now on.
        """
        cities = set(city_ids)
        ids = [d for d, w in self._watches.items() if w.city.id in cities]
        fresh = {p.device_id: p for p in self._inventory.profiles(ids)}
        wall = self._wall()
        cabinets: set[int] = set()
        changed = 0
        for device_id in ids:
            w = self._watches[device_id]
            old, new = w.profile, fresh.get(device_id)
            if new is not None and _same_duty(old, new):
                continue
            changed += 1
            now = w.city.now(wall)
            for alarm in list(w.alarms.values()):
                self.book.end(alarm, w, now)
            w.alarms, w.counters = {}, NO_COUNTERS
            cabinets.update(
                c for c in (old.cabinet_id, new.cabinet_id if new else None) if c is not None
            )
            if old.kind == METER and old.asset_id is not None:
                cabinets.add(old.asset_id)
            if new is None:
                del self._watches[device_id]
                continue
            w.profile = replace(new, uid=old.uid) if new.uid == old.uid else new
        for asset_id in cabinets & self._cabinets.keys():
            self._reload_cabinet(asset_id, wall)
        return changed

    def _reload_cabinet(self, asset_id: int, wall: float) -> None:
        """A cabinet's lights and meter read again; an incident over no light and no meter ends."""
        cabinet = self._cabinets[asset_id]
        cabinet.lights = self._inventory.cabinet_lights([asset_id]).get(asset_id, [])
        code, cabinet.meter = self._inventory.cabinet(asset_id)
        cabinet.code = code or cabinet.code
        incident = cabinet.incident
        if cabinet.lights or cabinet.meter is not None or incident is None:
            return
        now = self._cities[incident.city_id].now(wall) if incident.city_id in self._cities else wall
        self.book.end(incident, cabinet, now)
        del self._cabinets[asset_id]


def _same_duty(old: DeviceProfile, new: DeviceProfile) -> bool:
    """Whether a device's new profile asks the same of the rules (its id strings aside)."""
    return (
        old.city_id == new.city_id
        and old.asset_id == new.asset_id
        and old.in_service == new.in_service
        and old.cabinet_id == new.cabinet_id
        and old.luminaire == new.luminaire
        and old.rated_watts == new.rated_watts
        and old.asset_code == new.asset_code
    )
