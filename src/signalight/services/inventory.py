"""A city's inventory: assets and devices read, saved and removed; imports all or nothing."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from signalight.codecs.inventory_csv import encode_csv, iter_decode_csv
from signalight.codecs.inventory_fields import Decoded, RowError
from signalight.codecs.inventory_geojson import decode_geojson, encode_geojson
from signalight.domain.assets import (
    Asset,
    AssetKind,
    AssetQuery,
    AssetRecord,
    Device,
    DeviceKind,
    Page,
    UpsertResult,
    as_record,
    record_problems,
)
from signalight.domain.cities import City
from signalight.domain.errors import ConflictError, InvalidInputError
from signalight.domain.inventory import CrossRowChecker, ImportRun, cross_row_problems
from signalight.gcpause import collector_paused
from signalight.ports import AssetRepository, ImportLog

log = logging.getLogger(__name__)

EXPORT_CHUNK = 64 * 1024
PIECE_ROWS = 5000  # rows decoded and checked before they are handed to the writer


class InventoryFormat(StrEnum):
    """The file formats an inventory can be imported from and exported to."""

    CSV = "csv"
    GEOJSON = "geojson"

    @classmethod
    def from_name(cls, filename: str) -> InventoryFormat:
        """Guess the format from a file name's ending (CSV unless it says JSON)."""
        lower = filename.lower()
        return cls.GEOJSON if lower.endswith((".geojson", ".json")) else cls.CSV


@dataclass(frozen=True, slots=True)
class ImportReport:
    """The outcome of one import: what was written, or every reason nothing was."""

    run: ImportRun
    result: UpsertResult | None  # None when nothing was written
    errors: list[str]
    dry_run: bool = False


class _RefusedError(Exception):
    """Raised inside the import's transaction to roll back what was written."""


def _pieces(
    data: bytes, fmt: InventoryFormat, mapping: Mapping[str, str | None] | None
) -> Iterator[Decoded]:
    match fmt:
        case InventoryFormat.CSV:
            yield from iter_decode_csv(data, mapping, chunk_rows=PIECE_ROWS)
        case InventoryFormat.GEOJSON:
            yield decode_geojson(data, mapping)


def import_inventory(
    city: City,
    data: bytes,
    fmt: InventoryFormat,
    *,
    assets: AssetRepository,
    imports: ImportLog,
    actor: str,
    source: str,
    max_distance_m: float,
    mapping: Mapping[str, str | None] | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Check a whole inventory file, and write all of it or none of it.

    Every problem found is reported with its line (or feature) number; one bad
    row refuses the whole file, so a city never ends up with half an import.
    The file is decoded and checked a piece at a time, and each piece that
    passes is written at once inside one transaction, which commits only if
    the whole file passed: memory stays bounded for any file size. Each
    attempt but a dry run is kept in the import log.
    """
    checker = CrossRowChecker(
        assets.existing_assets(city.pk),
        assets.existing_devices(city.pk),
        (city.lat, city.lon),
        max_distance_m,
    )
    where = "feature" if fmt is InventoryFormat.GEOJSON else "line"
    errors: list[RowError] = []
    rows = 0
    result = None
    try:
        with collector_paused(), ExitStack() as stack:
            writer = None if dry_run else stack.enter_context(assets.bulk_writer(city.pk))
            for piece in _pieces(data, fmt, mapping):
                errors.extend(piece.errors)
                bad_lines = {e.line for e in piece.errors if e.where != "file"}
                rows += len(piece.records) + len(bad_lines)
                problems, ready = checker.feed(piece.records)
                errors.extend(RowError(line, reason, where) for line, reason in problems)
                if writer is not None and not errors:
                    writer.write(ready)
            problems, ready = checker.finish()
            errors.extend(RowError(line, reason, where) for line, reason in problems)
            if writer is not None:
                if errors:
                    raise _RefusedError  # noqa: TRY301 (how a transaction block rolls back)
                writer.write(ready)
                result = writer.result()
    except _RefusedError:
        result = None  # rolled back: nothing of the file stays
    errors.sort(key=lambda e: (e.line, e.reason))
    messages = [str(e) for e in errors]
    run = ImportRun(
        source=source,
        format=fmt.value,
        actor=actor,
        rows=rows,
        error_count=len(errors),
        accepted=not errors,
        errors=messages,
    )
    if not dry_run:
        run = imports.record_import(city.pk, run)
    if errors:
        log.warning(
            "import of %s into %s refused: %d errors in %d rows",
            source,
            city.slug,
            len(errors),
            rows,
        )
    elif result is not None:
        log.info(
            "imported %s into %s: %d new, %d updated",
            source,
            city.slug,
            result.inserted,
            result.updated,
        )
    return ImportReport(run, result, messages, dry_run)


def export_inventory(city: City, fmt: InventoryFormat, assets: AssetRepository) -> Iterator[bytes]:
    """The city's whole inventory as a stream of file chunks, cabinets first."""
    records = assets.iter_assets(city.pk)
    match fmt:
        case InventoryFormat.CSV:
            # One write per line would cost a syscall per asset; send ~64 KiB at a time.
            lines: list[str] = []
            size = 0
            for line in encode_csv(records):
                lines.append(line)
                size += len(line)
                if size >= EXPORT_CHUNK:
                    yield "".join(lines).encode()
                    lines, size = [], 0
            if lines:
                yield "".join(lines).encode()
        case InventoryFormat.GEOJSON:
            yield from encode_geojson(records, foreign_members={"city": city.slug})


def save_asset(
    city: City,
    record: AssetRecord,
    *,
    assets: AssetRepository,
    max_distance_m: float,
    create: bool,
) -> Asset:
    """Create or change one asset under the same rules as a file import.

    Raises:
        ConflictError: ``create`` and the code exists already.
        InvalidInputError: the record breaks a rule; the message lists each.
    """
    # One asset needs only its own code, its cabinet and its device looked up,
    # not the whole city's inventory.
    codes = [record.code] if record.cabinet is None else [record.code, record.cabinet]
    existing = assets.existing_assets(city.pk, codes)
    if create and record.code in existing:
        raise ConflictError(f"an asset with code {record.code!r} exists already")
    uids = [] if record.device is None else [record.device]
    problems = record_problems(record) + [
        reason
        for _, reason in cross_row_problems(
            [(1, record)],
            existing,
            assets.existing_devices(city.pk, uids),
            (city.lat, city.lon),
            max_distance_m,
        )
    ]
    if problems:
        raise InvalidInputError("; ".join(problems))
    assets.upsert_assets(city.pk, [record])
    return assets.query_assets(city.pk, AssetQuery(code=record.code, limit=1)).items[0]


class Inventory:
    """A city's inventory as the API and the CLI use it: each step once, under one set of rules.

    The entry points call this, never the repositories, so that a rule (the
    distance from the city's centre, what deleting an asset means) cannot
    hold in one and not the other.
    """

    def __init__(
        self, assets: AssetRepository, imports: ImportLog, *, max_distance_m: float
    ) -> None:
        self._assets = assets
        self._imports = imports
        self.max_distance_m = max_distance_m

    def assets(self, city: City, query: AssetQuery) -> Page[Asset]:
        """One page of the city's assets that match ``query``."""
        return self._assets.query_assets(city.pk, query)

    def asset(self, city: City, asset_id: int) -> Asset:
        """One asset of the city; NotFoundError if it is not there."""
        return self._assets.get_asset(city.pk, asset_id)

    def asset_by_code(self, city: City, code: str) -> Asset | None:
        """The city's asset with this code, if any."""
        found = self._assets.query_assets(city.pk, AssetQuery(code=code, limit=1)).items
        return found[0] if found else None

    def create(self, city: City, record: AssetRecord) -> Asset:
        """Add one asset under the rules of an import; ConflictError if its code exists."""
        return save_asset(
            city, record, assets=self._assets, max_distance_m=self.max_distance_m, create=True
        )

    def change(self, city: City, asset_id: int, changes: Mapping[str, Any]) -> Asset:
        """Change fields of one asset; those not given stay.

        Raises:
            NotFoundError: no such asset in the city.
            InvalidInputError: the changed asset breaks a rule, or ``device``
                is None while a device is bound (an asset is unbound by
                binding its device elsewhere, or by removing the asset).
        """
        current = self._assets.get_asset(city.pk, asset_id)
        if "device" in changes and changes["device"] is None and current.device is not None:
            raise InvalidInputError(
                f"device: null cannot unbind {current.device!r}; leave device out to keep it"
            )
        record = replace(as_record(current), **changes)
        return save_asset(
            city, record, assets=self._assets, max_distance_m=self.max_distance_m, create=False
        )

    def remove(self, city: City, asset_id: int) -> bool:
        """Delete an asset, or retire one with a history (``docs/faults.md``); True if deleted."""
        return self._assets.delete_asset(city.pk, asset_id)

    def write(self, city: City, records: Sequence[AssetRecord]) -> UpsertResult:
        """Insert or update records already checked (a generated fleet), in one transaction."""
        return self._assets.upsert_assets(city.pk, records)

    def every_asset(self, city: City) -> Iterator[Asset]:
        """Every asset of the city, cabinets first."""
        return self._assets.iter_assets(city.pk)

    def counts(self, city: City) -> dict[AssetKind, int]:
        """How many assets of each kind the city has."""
        return self._assets.count_assets(city.pk)

    def devices(self, city: City, kind: DeviceKind | None, after: int, limit: int) -> Page[Device]:
        """One page of the city's devices, of one kind if given."""
        return self._assets.query_devices(city.pk, kind, after, limit)

    def device(self, city: City, uid: str) -> Device:
        """One device of the city; NotFoundError if it is not there."""
        return self._assets.get_device(city.pk, uid)

    def import_file(
        self,
        city: City,
        data: bytes,
        fmt: InventoryFormat,
        *,
        actor: str,
        source: str,
        mapping: Mapping[str, str | None] | None = None,
        dry_run: bool = False,
    ) -> ImportReport:
        """Check a whole file and write all of it or none (see :func:`import_inventory`)."""
        return import_inventory(
            city,
            data,
            fmt,
            assets=self._assets,
            imports=self._imports,
            actor=actor,
            source=source,
            max_distance_m=self.max_distance_m,
            mapping=mapping,
            dry_run=dry_run,
        )

    def imports(self, city: City, limit: int) -> list[ImportRun]:
        """The city's latest import attempts, newest first."""
        return self._imports.list_imports(city.pk, limit)

    def export(self, city: City, fmt: InventoryFormat) -> Iterator[bytes]:
        """The whole inventory as a file that imports back unchanged, in chunks."""
        return export_inventory(city, fmt, self._assets)
