"""Inventory imports: the checks across rows of a file and against what the city already has."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from signalight.domain.assets import DEVICE_KIND_FOR_ASSET, AssetKind, AssetRecord, DeviceKind
from signalight.domain.geo import distance_m, inner_box

ERRORS_KEPT = 200  # an import run keeps this many errors: enough to fix a file, bounded in size


@dataclass(frozen=True, slots=True)
class ExistingAsset:
    """What the cross-row checks need to know of an asset already stored."""

    kind: AssetKind
    device: str | None


@dataclass(frozen=True, slots=True)
class ExistingDevice:
    """What the cross-row checks need to know of a device already stored."""

    kind: DeviceKind
    asset_code: str | None


@dataclass(frozen=True, slots=True)
class ImportRun:
    """One attempt to import an inventory file, kept for the operators to see."""

    source: str
    format: str
    actor: str
    rows: int
    error_count: int
    accepted: bool
    errors: list[str] = field(default_factory=list)
    at: datetime | None = None
    id: int | None = None


def cross_row_problems(
    records: Sequence[tuple[int, AssetRecord]],
    existing_assets: Mapping[str, ExistingAsset],
    existing_devices: Mapping[str, ExistingDevice],
    centre: tuple[float, float],
    max_distance_m: float,
) -> list[tuple[int, str]]:
    """Problems that need the whole file and the stored inventory to see.

    Args:
        records: (line, record) pairs, each already valid on its own.
        existing_assets: the city's stored assets by code.
        existing_devices: the city's stored devices by id.
        centre: the city's centre (lat, lon).
        max_distance_m: how far from the centre an asset may stand.

    Returns:
        (line, reason) pairs.
    """
    checker = CrossRowChecker(existing_assets, existing_devices, centre, max_distance_m)
    problems, _ = checker.feed(records)
    late, _ = checker.finish()
    return problems + late


class CrossRowChecker:
    """The checks of :func:`cross_row_problems`, fed a file piece by piece.

    Each piece's records that pass, and whose cabinet is already known, come
    back ready to write, so that writing can go on while later pieces are
    still being decoded. A record whose cabinet comes later in the file waits
    until that cabinet is seen, or until :meth:`finish`.
    """

    def __init__(
        self,
        existing_assets: Mapping[str, ExistingAsset],
        existing_devices: Mapping[str, ExistingDevice],
        centre: tuple[float, float],
        max_distance_m: float,
    ) -> None:
        self._assets = existing_assets
        self._devices = existing_devices
        self._centre = centre
        self._max_m = max_distance_m
        # Points inside this box are surely within reach; only the rest need a
        # great-circle distance (a file of 100,000 rows is checked at once).
        self._near = inner_box(centre, max_distance_m)
        self._line_of_code: dict[str, int] = {}
        self._kind_in_file: dict[str, AssetKind] = {}
        self._line_of_device: dict[str, int] = {}
        self._waiting: list[tuple[int, AssetRecord]] = []

    def feed(
        self, records: Sequence[tuple[int, AssetRecord]]
    ) -> tuple[list[tuple[int, str]], list[AssetRecord]]:
        """Check the next piece: its problems, and its records ready to write."""
        problems: list[tuple[int, str]] = []
        ready: list[AssetRecord] = []
        for _, rec in records:
            self._kind_in_file.setdefault(rec.code, rec.kind)
        for line, rec in records:
            found = self._row_problems(line, rec)
            problems.extend((line, p) for p in found)
            if rec.cabinet is None:
                if not found:
                    ready.append(rec)
            elif rec.cabinet in self._assets or rec.cabinet in self._kind_in_file:
                cabinet_problems = self._cabinet_problems(rec)
                problems.extend((line, p) for p in cabinet_problems)
                if not found and not cabinet_problems:
                    ready.append(rec)
            else:
                self._waiting.append((line, rec))
        return problems, ready

    def finish(self) -> tuple[list[tuple[int, str]], list[AssetRecord]]:
        """Check the records that waited for a cabinet later in the file."""
        problems: list[tuple[int, str]] = []
        ready: list[AssetRecord] = []
        for line, rec in self._waiting:
            cabinet_problems = self._cabinet_problems(rec)
            problems.extend((line, p) for p in cabinet_problems)
            if not cabinet_problems:
                ready.append(rec)
        self._waiting = []
        return problems, ready

    def _cabinet_problems(self, rec: AssetRecord) -> list[str]:
        assert rec.cabinet is not None  # noqa: S101 (checked by the callers)
        stored = self._assets.get(rec.cabinet)
        kind = self._kind_in_file.get(rec.cabinet) or (stored.kind if stored else None)
        if kind is None:
            return [f"cabinet {rec.cabinet!r} is neither in this file nor in the city"]
        if kind is not AssetKind.CABINET:
            return [f"cabinet {rec.cabinet!r} is a {kind}, not a cabinet"]
        return []

    def _row_problems(self, line: int, rec: AssetRecord) -> list[str]:
        problems: list[str] = []
        first = self._line_of_code.setdefault(rec.code, line)
        if first != line:
            problems.append(f"code {rec.code!r} repeats line {first}")
        stored = self._assets.get(rec.code)
        if stored is not None and stored.kind is not rec.kind:
            problems.append(f"code {rec.code!r} is already a {stored.kind}, not a {rec.kind}")
        lat0, lon0 = self._centre
        if (
            not self._near.contains(rec.lat, rec.lon)
            and (distance := distance_m(lat0, lon0, rec.lat, rec.lon)) > self._max_m
        ):
            problems.append(
                f"({rec.lat}, {rec.lon}) is {distance / 1000:.0f} km from the city centre "
                f"(limit {self._max_m / 1000:.0f} km); are lat and lon swapped?"
            )
        if rec.device is not None:
            problems.extend(_device_problems(rec, self._line_of_device, self._devices))
            self._line_of_device.setdefault(rec.device, line)
        return problems


def _device_problems(
    rec: AssetRecord,
    first_line_of_device: Mapping[str, int],
    existing_devices: Mapping[str, ExistingDevice],
) -> list[str]:
    assert rec.device is not None  # noqa: S101 (the caller checked)
    problems = []
    if rec.device in first_line_of_device:
        problems.append(f"device {rec.device!r} repeats line {first_line_of_device[rec.device]}")
    stored = existing_devices.get(rec.device)
    if stored is None:
        return problems
    wanted = DEVICE_KIND_FOR_ASSET[rec.kind]
    if stored.kind is not wanted:
        problems.append(
            f"device {rec.device!r} is a {stored.kind}, which cannot serve a {rec.kind}"
        )
    if stored.asset_code is not None and stored.asset_code != rec.code:
        # Moving a node silently would hide a typo in a pole number; unbinding
        # first makes the move deliberate.
        problems.append(
            f"device {rec.device!r} is bound to {stored.asset_code!r}; unbind it there first"
        )
    return problems
