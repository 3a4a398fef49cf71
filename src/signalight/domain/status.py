"""An asset's live status as the map shows it, and the plain values it is decided from."""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

from signalight.domain.alarms import Severity

__all__ = ["AlarmMark", "MapAsset", "MapStatus"]


class MapStatus(StrEnum):
    """What the map shows of an asset in service (one not in service shows its status word)."""

    WORKING = "working"  # heard lately, no alarm, lit when it should be (as far as we know)
    ALARM = "alarm"  # one or more open alarms
    OFF_BY_SCHEDULE = "off_by_schedule"  # a light by day: dark on purpose
    SILENT = "silent"  # its device never heard, or not within the silence threshold
    UNKNOWN = "unknown"  # no device bound: nothing to know it by


class AlarmMark(NamedTuple):
    """One open alarm of an asset, as the map needs it."""

    type: str
    severity: Severity
    held: bool = False


class MapAsset(NamedTuple):
    """One asset as read for the map, with its bound device's kind and newest message."""

    id: int
    kind: str  # AssetKind value
    code: str
    lon: float
    lat: float
    status: str  # AssetStatus value
    cabinet: str | None  # the code of the cabinet that powers it
    street_class: str | None
    device_kind: str | None  # None: no device bound
    last_seen: float | None  # epoch seconds of its newest message; None: never heard
