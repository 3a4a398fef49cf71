"""The live status of each asset on the map: pure rules over plain values, no database.

An asset's status is decided in this order, the first that holds wins:

1. ``planned``, ``out_of_service`` or ``removed``: an asset not in service
   shows its own status word; nothing is watched on it.
2. ``alarm``: it has an open alarm (raised or acknowledged, held under an
   outage or not); the worst severity and the alarm types go with it.
3. ``unknown``: no device is bound to it, so nothing can be known.
4. ``silent``: its device was never heard, or not for longer than the
   city's silence threshold (``silent_intervals`` reporting intervals of
   its kind, the detection settings' default interval).
5. ``off_by_schedule``: a streetlight while the sun is up at its pole (with
   the city's sun margin): it is dark because it should be.
6. ``working``.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from signalight.domain.alarms import Severity
from signalight.domain.assets import AssetKind, AssetStatus
from signalight.domain.faults import DetectionSettings
from signalight.domain.status import AlarmMark, MapAsset, MapStatus
from signalight.domain.sun import Cell, SunTable

__all__ = [
    "MAP_FIELDS",
    "Judged",
    "StatusJudge",
    "worst",
]


# The columns of each row of the map snapshot, in order.
MAP_FIELDS: Final = (
    "id",
    "kind",
    "code",
    "lon",
    "lat",
    "status",
    "severity",
    "alarm_types",
    "cabinet",
    "street_class",
)
_FALLBACK_INTERVAL_S: Final = 300.0
IN_SERVICE: Final = AssetStatus.IN_SERVICE.value
STREETLIGHT: Final = AssetKind.STREETLIGHT.value
ALARM, UNKNOWN, SILENT = MapStatus.ALARM.value, MapStatus.UNKNOWN.value, MapStatus.SILENT.value
OFF_BY_SCHEDULE, WORKING = MapStatus.OFF_BY_SCHEDULE.value, MapStatus.WORKING.value
_COORD_DIGITS: Final = 6  # about 0.1 m: more says nothing and costs bytes


def _rank(severity: Severity) -> int:
    return severity.rank


def worst(marks: Iterable[AlarmMark]) -> Severity | None:
    """The most urgent severity among ``marks`` (critical > major > minor > warning)."""
    return min((m.severity for m in marks), key=lambda s: s.rank, default=None)


@dataclass(frozen=True, slots=True)
class Judged:
    """An asset's status, its worst open alarm's severity and its open alarm types."""

    status: str
    severity: Severity | None
    alarm_types: list[str]


class StatusJudge:
    """Decides each asset's status at one instant, in one city.

    Sunrise and sunset are computed once per grid cell (0.01 degree), so a
    hundred thousand lights cost a few hundred sun computations.
    """

    def __init__(self, zone: str, settings: DetectionSettings, now: datetime) -> None:
        self._settings = settings
        self._now = now.astimezone(UTC)
        self._t = self._now.timestamp()
        self._zone = zoneinfo.ZoneInfo(zone)
        self._day = self._now.astimezone(self._zone).date()
        self._sun = SunTable(self._zone)
        self._by_cell: dict[Cell, bool] = {}
        self._silence: dict[str, float] = {}

    def silence_s(self, device_kind: str) -> float:
        """How long a device of this kind may stay unheard before it counts as silent."""
        found = self._silence.get(device_kind)
        if found is None:
            s = self._settings
            interval = s.default_interval_s.get(device_kind, _FALLBACK_INTERVAL_S)
            found = self._silence[device_kind] = s.silent_intervals * interval
        return found

    def daytime(self, lat: float, lon: float) -> bool:
        """Whether the sun is up at the point, by more than the city's margin either side."""
        cell = self._sun.cell(lat, lon)
        found = self._by_cell.get(cell)
        if found is None:
            rise, set_ = self._sun.daylight(cell, self._day)
            margin = self._settings.sun_margin_s
            found = self._by_cell[cell] = rise + margin <= self._t < set_ - margin
        return found

    def judge(self, asset: MapAsset, marks: Sequence[AlarmMark]) -> Judged:
        """The asset's status by the rules in this module's docstring."""
        if asset.status != AssetStatus.IN_SERVICE:
            return Judged(asset.status, None, [])
        if marks:
            return Judged(MapStatus.ALARM, worst(marks), sorted({m.type for m in marks}))
        if asset.device_kind is None:
            return Judged(MapStatus.UNKNOWN, None, [])
        if asset.last_seen is None or self._t - asset.last_seen > self.silence_s(asset.device_kind):
            return Judged(MapStatus.SILENT, None, [])
        if asset.kind == AssetKind.STREETLIGHT and self.daytime(asset.lat, asset.lon):
            return Judged(MapStatus.OFF_BY_SCHEDULE, None, [])
        return Judged(MapStatus.WORKING, None, [])

    def row(self, asset: MapAsset, marks: Sequence[AlarmMark]) -> list[object]:
        """The asset as one row of the snapshot, in :data:`MAP_FIELDS` order.

        The rules of :meth:`judge`, written out for the 100,000 rows of a city
        whose lights mostly have no alarm: no object made but the row.
        """
        severity: str | None = None
        types: list[str] = []
        if asset.status != IN_SERVICE:
            status: str = asset.status
        elif marks:
            status, types = ALARM, sorted({m.type for m in marks})
            severity = min((m.severity for m in marks), key=_rank).value
        elif asset.device_kind is None:
            status = UNKNOWN
        elif asset.last_seen is None or self._t - asset.last_seen > self.silence_s(
            asset.device_kind
        ):
            status = SILENT
        elif asset.kind == STREETLIGHT and self.daytime(asset.lat, asset.lon):
            status = OFF_BY_SCHEDULE
        else:
            status = WORKING
        return [
            asset.id,
            asset.kind,
            asset.code,
            round(asset.lon, _COORD_DIGITS),
            round(asset.lat, _COORD_DIGITS),
            status,
            severity,
            types,
            asset.cabinet,
            asset.street_class,
        ]
