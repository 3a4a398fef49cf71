"""Writing a city's asset records in batches, inside one transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, select

from signalight.adapters.sql.bulk import Row, insert_rows, update_rows
from signalight.adapters.sql.tables import assets, devices
from signalight.domain.assets import DEVICE_KIND_FOR_ASSET, AssetKind, AssetRecord, UpsertResult
from signalight.domain.errors import ConflictError

ASSET_COLUMNS = (
    "city_id", "kind", "code", "name", "lat", "lon", "status", "street", "street_class",
    "cabinet_id", "group_name", "installed_on", "luminaire", "rated_watts", "lamp_changed_on",
    "controller_id", "controller_vendor", "phases", "updated_at",
)  # fmt: skip
DEVICE_COLUMNS = ("city_id", "uid", "kind", "firmware", "asset_id", "created_at")
LOOKUP_CHUNK = 5000  # codes per IN (...) list, well within SQLite's bound-parameter limit


class SqlAssetWriter:
    """Inserts or updates records by code, and binds their devices.

    The city's codes and devices are read once; each :meth:`write` then
    costs only its own rows, so an import can write piece by piece.
    """

    def __init__(self, conn: Connection, city_id: int, now: datetime) -> None:
        self._conn = conn
        self._city_id = city_id
        self._now = now
        query = select(assets.c.code, assets.c.id).where(assets.c.city_id == city_id)
        self._ids: dict[str, int] = {row.code: row.id for row in conn.execute(query)}
        query = select(devices.c.uid, devices.c.id, devices.c.asset_id).where(
            devices.c.city_id == city_id
        )
        self._devices: dict[str, tuple[int | None, int | None]] = {
            row.uid: (row.id, row.asset_id) for row in conn.execute(query)
        }
        self._bound_to = {a: uid for uid, (_, a) in self._devices.items() if a is not None}
        self._inserted = self._updated = self._bound = 0
        self._by_kind: dict[str, int] = {}

    def write(self, records: Sequence[AssetRecord]) -> None:
        """Write one batch: cabinets first, so the lights they feed can point at them."""
        self._write([r for r in records if r.kind is AssetKind.CABINET])
        self._write([r for r in records if r.kind is not AssetKind.CABINET])
        self._bind_devices([r for r in records if r.device is not None])
        for record in records:
            self._by_kind[record.kind] = self._by_kind.get(record.kind, 0) + 1

    def result(self) -> UpsertResult:
        """What the writes so far changed."""
        return UpsertResult(self._inserted, self._updated, self._bound, dict(self._by_kind))

    def _write(self, records: Sequence[AssetRecord]) -> None:
        new_rows: list[Row] = []
        new_codes: list[str] = []
        changed_rows: list[Row] = []
        for record in records:
            row = self._row(record)
            stored_id = self._ids.get(record.code)
            if stored_id is None:
                new_rows.append(row)
                new_codes.append(record.code)
            else:
                # The city and code of a stored asset never change; the id goes last.
                changed_rows.append((*row[3:], stored_id))
        insert_rows(self._conn, assets, ASSET_COLUMNS, new_rows)
        update_rows(self._conn, assets, ASSET_COLUMNS[3:], changed_rows)
        self._ids.update(self._ids_of(new_codes))
        self._inserted += len(new_rows)
        self._updated += len(changed_rows)

    def _ids_of(self, codes: Sequence[str]) -> Iterable[tuple[str, int]]:
        for start in range(0, len(codes), LOOKUP_CHUNK):
            chunk = codes[start : start + LOOKUP_CHUNK]
            query = select(assets.c.code, assets.c.id).where(
                assets.c.city_id == self._city_id, assets.c.code.in_(chunk)
            )
            yield from ((code, asset_id) for code, asset_id in self._conn.execute(query))

    def _row(self, record: AssetRecord) -> Row:
        """The values of ``record`` in ASSET_COLUMNS order."""
        cabinet_id = None
        if record.cabinet is not None:
            cabinet_id = self._ids.get(record.cabinet)
            if cabinet_id is None:
                raise ConflictError(f"cabinet {record.cabinet!r} of {record.code!r} does not exist")
        return (
            self._city_id,
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
            self._now,
        )

    def _bind_devices(self, records: Sequence[AssetRecord]) -> None:
        unbind: list[Row] = []
        new_rows: list[Row] = []
        changed_rows: list[Row] = []
        for record in records:
            uid = record.device
            assert uid is not None  # noqa: S101 (the caller filtered)
            asset_id = self._ids[record.code]
            previous = self._bound_to.get(asset_id)
            if previous is not None and previous != uid:
                # The asset gets a new node: the old one is unbound, not deleted,
                # so its history stays and it can be fitted elsewhere.
                previous_id = self._devices[previous][0]
                if previous_id is not None:
                    unbind.append((None, previous_id))
                self._devices[previous] = (previous_id, None)
            stored = self._devices.get(uid)
            if stored is None:
                kind = DEVICE_KIND_FOR_ASSET[record.kind].value
                new_rows.append(
                    (self._city_id, uid, kind, record.device_firmware, asset_id, self._now)
                )
            elif stored[0] is not None and (stored[1] != asset_id or record.device_firmware):
                changed_rows.append((asset_id, record.device_firmware, stored[0]))
            self._devices[uid] = (stored[0] if stored else None, asset_id)
            self._bound_to[asset_id] = uid
        update_rows(self._conn, devices, ("asset_id",), unbind)
        update_rows(self._conn, devices, ("asset_id", "firmware"), changed_rows)
        insert_rows(self._conn, devices, DEVICE_COLUMNS, new_rows)
        self._bound += len(records)
