"""A city's assets and devices in SQL, written in bulk and read by page."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Select, delete, func, select
from sqlalchemy.orm import aliased

from signalight.adapters.sql.bulk import Row, insert_rows, update_rows
from signalight.adapters.sql.errors import translated
from signalight.adapters.sql.tables import assets, devices
from signalight.domain.assets import (
    DEVICE_KIND_FOR_ASSET,
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

    def existing_assets(self, city_id: int) -> dict[str, ExistingAsset]:
        """Every asset code of the city with its kind and bound device."""
        query = (
            select(assets.c.code, assets.c.kind, devices.c.uid)
            .outerjoin(devices, devices.c.asset_id == assets.c.id)
            .where(assets.c.city_id == city_id)
        )
        with translated("read asset codes"), self._engine.connect() as conn:
            return {
                code: ExistingAsset(AssetKind(kind), uid) for code, kind, uid in conn.execute(query)
            }

    def existing_devices(self, city_id: int) -> dict[str, ExistingDevice]:
        """Every device id of the city with its kind and the asset code it is bound to."""
        query = (
            select(devices.c.uid, devices.c.kind, assets.c.code)
            .outerjoin(assets, assets.c.id == devices.c.asset_id)
            .where(devices.c.city_id == city_id)
        )
        with translated("read device ids"), self._engine.connect() as conn:
            return {
                uid: ExistingDevice(DeviceKind(kind), code)
                for uid, kind, code in conn.execute(query)
            }

    def upsert_assets(self, city_id: int, records: Sequence[AssetRecord]) -> UpsertResult:
        """Insert or update (by code) all records in one transaction: all or nothing.

        Cabinets are written first so that the lights they feed can point at
        them. A device named by a record is created or bound to it; a record
        without a device leaves any existing binding alone.
        """
        now = datetime.now(UTC)
        cabinets = [r for r in records if r.kind is AssetKind.CABINET]
        others = [r for r in records if r.kind is not AssetKind.CABINET]
        with translated("write assets"), self._engine.begin() as conn:
            ids = _code_ids(conn, city_id)
            inserted, updated = _write(conn, city_id, cabinets, ids, now)
            ids = _code_ids(conn, city_id) if inserted else ids
            more_inserted, more_updated = _write(conn, city_id, others, ids, now)
            if more_inserted:
                ids = _code_ids(conn, city_id)
            bound = _bind_devices(conn, city_id, records, ids, now)
        by_kind: dict[str, int] = {}
        for record in records:
            by_kind[record.kind] = by_kind.get(record.kind, 0) + 1
        return UpsertResult(inserted + more_inserted, updated + more_updated, bound, by_kind)

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

    def delete_asset(self, city_id: int, asset_id: int) -> None:
        """Remove an asset; ConflictError while others reference it as their cabinet."""
        with translated("delete asset"), self._engine.begin() as conn:
            fed = conn.execute(
                select(func.count()).where(assets.c.cabinet_id == asset_id)
            ).scalar_one()
            if fed:
                raise ConflictError(f"asset {asset_id} still feeds {fed} assets; move them first")
            done = conn.execute(
                delete(assets).where(assets.c.city_id == city_id, assets.c.id == asset_id)
            )
        if done.rowcount != 1:
            raise NotFoundError(f"no asset {asset_id} in this city")

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


def _code_ids(conn: Connection, city_id: int) -> dict[str, int]:
    rows = conn.execute(select(assets.c.code, assets.c.id).where(assets.c.city_id == city_id))
    return {code: asset_id for code, asset_id in rows}  # noqa: C416 (a Result is not a mapping source)


ASSET_COLUMNS = (
    "city_id", "kind", "code", "name", "lat", "lon", "status", "street", "street_class",
    "cabinet_id", "group_name", "installed_on", "luminaire", "rated_watts", "lamp_changed_on",
    "controller_id", "controller_vendor", "phases", "updated_at",
)  # fmt: skip
DEVICE_COLUMNS = ("city_id", "uid", "kind", "firmware", "asset_id", "created_at")


def _row(city_id: int, record: AssetRecord, ids: dict[str, int], now: datetime) -> Row:
    """The values of ``record`` in ASSET_COLUMNS order."""
    cabinet_id = None
    if record.cabinet is not None:
        cabinet_id = ids.get(record.cabinet)
        if cabinet_id is None:
            raise ConflictError(f"cabinet {record.cabinet!r} of {record.code!r} does not exist")
    return (
        city_id,
        record.kind.value,
        record.code,
        record.name,
        record.lat,
        record.lon,
        record.status.value,
        record.street,
        record.street_class.value if record.street_class else None,
        cabinet_id,
        record.group,
        record.installed_on,
        record.luminaire.value if record.luminaire else None,
        record.rated_watts,
        record.lamp_changed_on,
        record.controller_id,
        record.controller_vendor,
        record.phases,
        now,
    )


def _write(
    conn: Connection,
    city_id: int,
    records: Sequence[AssetRecord],
    ids: dict[str, int],
    now: datetime,
) -> tuple[int, int]:
    new_rows: list[Row] = []
    changed_rows: list[Row] = []
    for record in records:
        row = _row(city_id, record, ids, now)
        stored_id = ids.get(record.code)
        if stored_id is None:
            new_rows.append(row)
        else:
            # The city and code of a stored asset never change; the id goes last.
            changed_rows.append((*row[3:], stored_id))
    insert_rows(conn, assets, ASSET_COLUMNS, new_rows)
    update_rows(conn, assets, ASSET_COLUMNS[3:], changed_rows)
    return len(new_rows), len(changed_rows)


def _bind_devices(
    conn: Connection,
    city_id: int,
    records: Sequence[AssetRecord],
    ids: dict[str, int],
    now: datetime,
) -> int:
    wanted = [r for r in records if r.device is not None]
    if not wanted:
        return 0
    stored = {
        uid: (device_id, asset_id)
        for uid, device_id, asset_id in conn.execute(
            select(devices.c.uid, devices.c.id, devices.c.asset_id).where(
                devices.c.city_id == city_id
            )
        )
    }
    bound_to = {asset_id: uid for uid, (_, asset_id) in stored.items() if asset_id is not None}
    unbind: list[Row] = []
    new_rows: list[Row] = []
    changed_rows: list[Row] = []
    for record in wanted:
        uid = record.device
        assert uid is not None  # noqa: S101 (filtered above)
        asset_id = ids[record.code]
        previous = bound_to.get(asset_id)
        if previous is not None and previous != uid:
            # The asset gets a new node: the old one is unbound, not deleted,
            # so its history stays and it can be fitted elsewhere.
            unbind.append((None, stored[previous][0]))
        if uid in stored:
            if stored[uid][1] != asset_id or record.device_firmware:
                changed_rows.append((asset_id, record.device_firmware, stored[uid][0]))
        else:
            kind = DEVICE_KIND_FOR_ASSET[record.kind].value
            new_rows.append((city_id, uid, kind, record.device_firmware, asset_id, now))
    update_rows(conn, devices, ("asset_id",), unbind)
    update_rows(conn, devices, ("asset_id", "firmware"), changed_rows)
    insert_rows(conn, devices, DEVICE_COLUMNS, new_rows)
    return len(wanted)


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
    return select(*devices.c, assets.c.code.label("asset_code")).outerjoin(
        assets, assets.c.id == devices.c.asset_id
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
        last_seen_at=row["last_seen_at"],
        has_credentials=row["credential_hash"] is not None,
    )
