"""The inventory as the fault rules see it: each device with its asset, each cabinet's lights."""

from __future__ import annotations

import sys
from collections.abc import Collection
from typing import Any, Final

from sqlalchemy import Engine, select

from signalight.adapters.sql.errors import translated
from signalight.adapters.sql.tables import assets, devices, inventory_versions
from signalight.domain.assets import AssetKind, AssetStatus, LuminaireType
from signalight.domain.faults import DeviceProfile

__all__ = ["SqlFleetInventory"]

feeders = assets.alias("feeders")  # the cabinet that feeds an asset
_IN_CHUNK: Final = 5000  # ids per IN (...) list (SQLite allows 32,766 parameters)


class SqlFleetInventory:
    """Implements ``FleetInventory`` over one engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def versions(self) -> dict[int, int]:
        """Each city's inventory version, moved on by every change of its assets or devices."""
        with translated("read inventory versions"), self._engine.connect() as conn:
            rows = conn.execute(select(inventory_versions.c.city_id, inventory_versions.c.version))
            return {int(city): int(version) for city, version in rows}

    def profiles(self, device_ids: Collection[int]) -> list[DeviceProfile]:
        """The devices' profiles."""
        ids = sorted(set(device_ids))
        found: list[DeviceProfile] = []
        statement = select(
            devices.c.id,
            devices.c.city_id,
            devices.c.uid,
            devices.c.kind,
            assets.c.id,
            assets.c.code,
            assets.c.status,
            assets.c.cabinet_id,
            assets.c.luminaire,
            assets.c.rated_watts,
            assets.c.lat,
            assets.c.lon,
            assets.c.group_name,
            assets.c.street_class,
            feeders.c.code,
        ).select_from(
            devices.outerjoin(assets, assets.c.id == devices.c.asset_id).outerjoin(
                feeders, feeders.c.id == assets.c.cabinet_id
            )
        )
        with translated("read device profiles"), self._engine.connect() as conn:
            for start in range(0, len(ids), _IN_CHUNK):
                rows = conn.execute(
                    statement.where(devices.c.id.in_(ids[start : start + _IN_CHUNK]))
                )
                found += [_profile(row) for row in rows]
        return found

    def cabinet_lights(self, cabinet_ids: Collection[int]) -> dict[int, list[int]]:
        """The device ids of the lights each cabinet powers."""
        ids = sorted(set(cabinet_ids))
        out: dict[int, list[int]] = {cabinet: [] for cabinet in ids}
        statement = (
            select(assets.c.cabinet_id, devices.c.id)
            .join(devices, devices.c.asset_id == assets.c.id)
            .where(assets.c.kind == AssetKind.STREETLIGHT)
        )
        with translated("read cabinet lights"), self._engine.connect() as conn:
            for start in range(0, len(ids), _IN_CHUNK):
                chunk = ids[start : start + _IN_CHUNK]
                for cabinet, device in conn.execute(
                    statement.where(assets.c.cabinet_id.in_(chunk))
                ):
                    out[int(cabinet)].append(int(device))
        return out

    def cabinet(self, cabinet_id: int) -> tuple[str | None, int | None]:
        """A cabinet's code and the device (its meter) bound to it, if any."""
        with translated("read cabinet"), self._engine.connect() as conn:
            code = conn.execute(select(assets.c.code).where(assets.c.id == cabinet_id)).scalar()
            found = conn.execute(
                select(devices.c.id).where(devices.c.asset_id == cabinet_id)
            ).scalar()
            return code, None if found is None else int(found)


def _profile(row: Any) -> DeviceProfile:  # noqa: ANN401 - a result row
    (device_id, city_id, uid, kind, asset_id, code, status, cabinet, luminaire, watts, lat, lon) = (
        row[:12]
    )
    group, street_class, cabinet_code = row[12:]
    return DeviceProfile(
        device_id=device_id,
        city_id=city_id,
        uid=uid,
        kind=sys.intern(kind),  # a handful of kinds, a million devices
        asset_id=asset_id,
        asset_code=code,
        # A device bound to no asset is in no street: spare stock, or taken down with its asset.
        in_service=status == AssetStatus.IN_SERVICE,
        cabinet_id=cabinet,
        luminaire=LuminaireType(luminaire) if luminaire else None,
        rated_watts=watts,
        lat=lat,
        lon=lon,
        group=sys.intern(group or ""),  # shared by many lights
        cabinet_code=sys.intern(cabinet_code or ""),
        street_class=sys.intern(street_class or ""),
    )
