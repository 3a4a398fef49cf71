"""A city's assets and devices in SQL, written in bulk and read by page."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Select, delete, func, select, update
from sqlalchemy.orm import aliased

from signalight.adapters.sql.asset_writer import SqlAssetWriter
from signalight.adapters.sql.errors import translated
from signalight.adapters.sql.inventory_changes import settle_inventory
from signalight.adapters.sql.tables import alarms, assets, device_states, devices
from signalight.domain.assets import (
    Asset,
    AssetKind,
    AssetQuery,
    AssetRecord,
    AssetStatus,
    Device,
    DeviceKind,
    LuminaireType,
    Page,
    StreetClass,
    UpsertResult,
)
from signalight.domain.errors import ConflictError, NotFoundError
from signalight.domain.inventory import ExistingAsset, ExistingDevice

_cabinet = aliased(assets, name="cabinet")
_ASSET_COLUMNS = (
    *assets.c,
    _cabinet.c.code.label("cabinet_code"),
    devices.c.uid.label("device_uid"),
    devices.c.firmware.label("device_firmware"),
)


def _asset_select() -> Select[Any]:
    return (
        select(*_ASSET_COLUMNS)
        .select_from(assets)
        .outerjoin(_cabinet, _cabinet.c.id == assets.c.cabinet_id)
        .outerjoin(devices, devices.c.asset_id == assets.c.id)
    )


class SqlAssetRepository:
    """Assets in ``assets`` and the devices bound to them in ``devices``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def existing_assets(
        self, city_id: int, codes: Collection[str] | None = None
    ) -> dict[str, ExistingAsset]:
        """The city's asset codes (all, or just ``codes``) with their kind and bound device."""
        query = (
            select(assets.c.code, assets.c.kind, devices.c.uid)
            .outerjoin(devices, devices.c.asset_id == assets.c.id)
            .where(assets.c.city_id == city_id)
        )
        if codes is not None:
            query = query.where(assets.c.code.in_(list(codes)))
        with translated("read asset codes"), self._engine.connect() as conn:
            return {
                code: ExistingAsset(AssetKind(kind), uid) for code, kind, uid in conn.execute(query)
            }

    def existing_devices(
        self, city_id: int, uids: Collection[str] | None = None
    ) -> dict[str, ExistingDevice]:
        """The city's device ids (all, or just ``uids``) with kind and the asset bound to each."""
        query = (
            select(devices.c.uid, devices.c.kind, assets.c.code)
            .outerjoin(assets, assets.c.id == devices.c.asset_id)
            .where(devices.c.city_id == city_id)
        )
        if uids is not None:
            query = query.where(devices.c.uid.in_(list(uids)))
        with translated("read device ids"), self._engine.connect() as conn:
            return {
                uid: ExistingDevice(DeviceKind(kind), code)
                for uid, kind, code in conn.execute(query)
            }

    @contextmanager
    def bulk_writer(self, city_id: int) -> Iterator[SqlAssetWriter]:
        """A writer for the city's records, in one transaction committed at the end.

        An exception inside the block rolls everything back.
        """
        with translated("write assets"), self._engine.begin() as conn:
            now = datetime.now(UTC)
            yield SqlAssetWriter(conn, city_id, now)
            settle_inventory(conn, city_id, now.timestamp())

    def upsert_assets(self, city_id: int, records: Sequence[AssetRecord]) -> UpsertResult:
        """Insert or update (by code) all records in one transaction: all or nothing.

        Cabinets are written first so that the lights they feed can point at
        them. A device named by a record is created or bound to it; a record
        without a device leaves any existing binding alone.
        """
        with self.bulk_writer(city_id) as writer:
            writer.write(records)
        return writer.result()

    def query_assets(self, city_id: int, query: AssetQuery) -> Page[Asset]:
        """One page of the city's assets that match ``query``, by ascending id."""
        stmt = _asset_select().where(assets.c.city_id == city_id, assets.c.id > query.after_id)
        if query.kind is not None:
            stmt = stmt.where(assets.c.kind == query.kind.value)
        if query.status is not None:
            stmt = stmt.where(assets.c.status == query.status.value)
        if query.cabinet_id is not None:
            stmt = stmt.where(assets.c.cabinet_id == query.cabinet_id)
        if query.code is not None:
            stmt = stmt.where(assets.c.code == query.code)
        if query.bbox is not None:
            west, south, east, north = query.bbox
            stmt = stmt.where(assets.c.lon.between(west, east), assets.c.lat.between(south, north))
        stmt = stmt.order_by(assets.c.id).limit(query.limit + 1)
        with translated("query assets"), self._engine.connect() as conn:
            items = [_asset(row) for row in conn.execute(stmt).mappings()]
        more = len(items) > query.limit
        items = items[: query.limit]
        return Page(items, items[-1].id if more else None)

    def get_asset(self, city_id: int, asset_id: int) -> Asset:
        """One asset of the city; NotFoundError if it is not there."""
        stmt = _asset_select().where(assets.c.city_id == city_id, assets.c.id == asset_id)
        with translated("get asset"), self._engine.connect() as conn:
            row = conn.execute(stmt).mappings().first()
        if row is None:
            raise NotFoundError(f"no asset {asset_id} in this city")
        return _asset(row)

    def delete_asset(self, city_id: int, asset_id: int) -> bool:
        """Remove an asset, or retire it if it has a history; ConflictError while it feeds others.

        An asset with a device bound or with alarms is not deleted: its status
        becomes ``removed``, its device is unbound (kept, with its readings,
        to be fitted elsewhere) and its open alarms are closed, so that its
        history stays. An asset with none of these is deleted.

        Returns:
            True if the asset was deleted, False if it was retired.
        """
        with translated("delete asset"), self._engine.begin() as conn:
            found = conn.execute(
                select(assets.c.id).where(assets.c.city_id == city_id, assets.c.id == asset_id)
            ).first()
            if found is None:
                raise NotFoundError(f"no asset {asset_id} in this city")
            fed = conn.execute(
                select(func.count()).where(
                    assets.c.cabinet_id == asset_id,
                    assets.c.status != AssetStatus.REMOVED.value,
                )
            ).scalar_one()
            if fed:
                raise ConflictError(f"asset {asset_id} still feeds {fed} assets; move them first")
            bound = conn.execute(
                select(func.count()).where(devices.c.asset_id == asset_id)
            ).scalar_one()
            alarmed = conn.execute(
                select(func.count()).where(alarms.c.asset_id == asset_id)
            ).scalar_one()
            feeds_history = conn.execute(
                select(func.count()).where(assets.c.cabinet_id == asset_id)
            ).scalar_one()
            now = datetime.now(UTC)
            retire = bool(bound or alarmed or feeds_history)
            if retire:
                conn.execute(
                    update(assets)
                    .where(assets.c.id == asset_id)
                    .values(status=AssetStatus.REMOVED.value, updated_at=now)
                )
                conn.execute(
                    update(devices).where(devices.c.asset_id == asset_id).values(asset_id=None)
                )
            else:
                conn.execute(delete(assets).where(assets.c.id == asset_id))
            settle_inventory(conn, city_id, now.timestamp())
        return not retire

    def iter_assets(self, city_id: int) -> Iterator[Asset]:
        """Every asset of the city, cabinets first, streamed in chunks."""
        cabinet_first = (assets.c.kind != AssetKind.CABINET.value).label("not_cabinet")
        stmt = (
            _asset_select()
            .where(assets.c.city_id == city_id)
            .order_by(cabinet_first, assets.c.id)
            .execution_options(yield_per=2000)
        )
        with translated("export assets"), self._engine.connect() as conn:
            for row in conn.execute(stmt).mappings():
                yield _asset(row)

    def count_assets(self, city_id: int) -> dict[AssetKind, int]:
        """How many assets of each kind the city has."""
        stmt = (
            select(assets.c.kind, func.count())
            .where(assets.c.city_id == city_id)
            .group_by(assets.c.kind)
        )
        with translated("count assets"), self._engine.connect() as conn:
            counts = {AssetKind(kind): n for kind, n in conn.execute(stmt)}
        return {kind: counts.get(kind, 0) for kind in AssetKind}

    def query_devices(
        self, city_id: int, kind: DeviceKind | None, after_id: int, limit: int
    ) -> Page[Device]:
        """One page of the city's devices by ascending id."""
        stmt = _device_select().where(devices.c.city_id == city_id, devices.c.id > after_id)
        if kind is not None:
            stmt = stmt.where(devices.c.kind == kind.value)
        stmt = stmt.order_by(devices.c.id).limit(limit + 1)
        with translated("query devices"), self._engine.connect() as conn:
            items = [_device(row) for row in conn.execute(stmt).mappings()]
        more = len(items) > limit
        items = items[:limit]
        return Page(items, items[-1].id if more and items[-1].id is not None else None)

    def get_device(self, city_id: int, uid: str) -> Device:
        """One device of the city by its id; NotFoundError if none."""
        stmt = _device_select().where(devices.c.city_id == city_id, devices.c.uid == uid)
        with translated("get device"), self._engine.connect() as conn:
            row = conn.execute(stmt).mappings().first()
        if row is None:
            raise NotFoundError(f"no device {uid!r} in this city")
        return _device(row)


def _asset(row: Any) -> Asset:  # noqa: ANN401 (a SQLAlchemy row mapping)
    return Asset(
        id=row["id"],
        city_id=row["city_id"],
        kind=AssetKind(row["kind"]),
        code=row["code"],
        name=row["name"],
        lat=row["lat"],
        lon=row["lon"],
        status=AssetStatus(row["status"]),
        street=row["street"],
        street_class=StreetClass(row["street_class"]) if row["street_class"] else None,
        cabinet=row["cabinet_code"],
        cabinet_id=row["cabinet_id"],
        group=row["group_name"],
        installed_on=row["installed_on"],
        luminaire=LuminaireType(row["luminaire"]) if row["luminaire"] else None,
        rated_watts=row["rated_watts"],
        lamp_changed_on=row["lamp_changed_on"],
        controller_id=row["controller_id"],
        controller_vendor=row["controller_vendor"],
        phases=tuple(row["phases"]),
        device=row["device_uid"],
        device_firmware=row["device_firmware"] or "",
        updated_at=row["updated_at"],
    )


def _device_select() -> Select[Any]:
    # When a device last spoke is ingest's to know: its live state holds it.
    return (
        select(
            *devices.c,
            assets.c.code.label("asset_code"),
            device_states.c.last_seen.label("last_message_at"),
        )
        .outerjoin(assets, assets.c.id == devices.c.asset_id)
        .outerjoin(device_states, device_states.c.device_id == devices.c.id)
    )


def _device(row: Any) -> Device:  # noqa: ANN401 (a SQLAlchemy row mapping)
    return Device(
        id=row["id"],
        city_id=row["city_id"],
        uid=row["uid"],
        kind=DeviceKind(row["kind"]),
        firmware=row["firmware"],
        asset_id=row["asset_id"],
        asset_code=row["asset_code"],
        last_seen_at=(
            None
            if row["last_message_at"] is None
            else datetime.fromtimestamp(row["last_message_at"], UTC)
        ),
        has_credentials=row["credential_hash"] is not None,
    )
