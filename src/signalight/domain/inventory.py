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
        (line, reason) pairs, in line order.
    """
    problems: list[tuple[int, str]] = []
    first_line_of_code: dict[str, int] = {}
    first_line_of_device: dict[str, int] = {}
    kind_in_file: dict[str, AssetKind] = {}
    # Points inside this box are surely within reach; only the rest need a
    # great-circle distance (a file of 100,000 rows is checked at once).
    near = inner_box(centre, max_distance_m)
    for _, rec in records:
        kind_in_file.setdefault(rec.code, rec.kind)

    for line, rec in records:
        if rec.code in first_line_of_code:
            problems.append(
                (line, f"code {rec.code!r} repeats line {first_line_of_code[rec.code]}")
            )
        else:
            first_line_of_code[rec.code] = line
        stored = existing_assets.get(rec.code)
        if stored is not None and stored.kind is not rec.kind:
            problems.append(
                (line, f"code {rec.code!r} is already a {stored.kind}, not a {rec.kind}")
            )
        if rec.cabinet is not None:
            cabinet_kind = kind_in_file.get(rec.cabinet) or (
                existing_assets[rec.cabinet].kind if rec.cabinet in existing_assets else None
            )
            if cabinet_kind is None:
                problems.append(
                    (line, f"cabinet {rec.cabinet!r} is neither in this file nor in the city")
                )
            elif cabinet_kind is not AssetKind.CABINET:
                problems.append(
                    (line, f"cabinet {rec.cabinet!r} is a {cabinet_kind}, not a cabinet")
                )
        if (
            not near.contains(rec.lat, rec.lon)
            and (distance := distance_m(centre[0], centre[1], rec.lat, rec.lon)) > max_distance_m
        ):
            problems.append(
                (
                    line,
                    (
                        f"({rec.lat}, {rec.lon}) is {distance / 1000:.0f} km from the city centre "
                        f"(limit {max_distance_m / 1000:.0f} km); are lat and lon swapped?"
                    ),
                )
            )
        if rec.device is not None:
            problems.extend(
                (line, p) for p in _device_problems(rec, first_line_of_device, existing_devices)
            )
            first_line_of_device.setdefault(rec.device, line)
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
