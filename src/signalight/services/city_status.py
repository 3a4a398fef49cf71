"""A city at a glance: the map snapshot of every asset's live status, and the home figures."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from signalight.domain.alarms import ACTIVE_STATES, AlarmType
from signalight.domain.assets import AssetKind
from signalight.domain.cities import City
from signalight.domain.faults import DetectionSettings
from signalight.domain.status import AlarmMark, MapAsset, MapStatus
from signalight.ports import AlarmStore, Clock
from signalight.ports.status import StatusReads
from signalight.services.map_status import MAP_FIELDS, StatusJudge

__all__ = ["CityFigures", "CityStatus", "MapSnapshot", "WorkOrderCounts", "mean_hours"]

MTTR_WINDOW: Final = timedelta(days=30)
# A snapshot is kept while the city's inventory and alarms stay as they were,
# and for at most this long: what the clock alone changes (a device falling
# silent, the sun rising) shows this much late at worst. Every operator on the
# city's map shares it: 100,000 lights are judged once, not once per screen.
SNAPSHOT_FRESH_S: Final = 30
SNAPSHOTS_KEPT: Final = 16
# A light counts as working when it is heard and fault-free: lit by night, dark by day.
WORKING: Final = frozenset({MapStatus.WORKING.value, MapStatus.OFF_BY_SCHEDULE.value})
# What the map says of an asset in service (one not in service shows its own status word).
IN_SERVICE_STATUSES: Final = frozenset(status.value for status in MapStatus)

# (city id, now) -> (open, past due): the maintenance store's work-order counts.
WorkOrderCounts = Callable[[int, datetime], tuple[int, int]]


@dataclass(frozen=True, slots=True)
class MapSnapshot:
    """Every asset asked for, one row each in ``fields`` order, as of one instant."""

    fields: tuple[str, ...]
    rows: list[list[object]]
    as_of: datetime


@dataclass(frozen=True, slots=True)
class _Kept:
    """A snapshot kept, with what bringing it up to date needs."""

    newest_event: int  # the city's newest alarm event when it was made
    assets: list[MapAsset]
    place: dict[int, int]  # asset id -> its row
    alarms: dict[int, list[AlarmMark]]  # the open alarms it was judged with
    snapshot: MapSnapshot


@dataclass(frozen=True, slots=True, kw_only=True)
class CityFigures:
    """A city's headline figures."""

    lights: int  # streetlights in service
    working: int  # of them, heard and without an open alarm (dark by day counts)
    open_faults_by_type: dict[AlarmType, int] = field(default_factory=dict)
    mttr_hours: float | None  # mean hours from raise to clear, alarms cleared in the window
    work_orders_open: int = 0
    work_orders_past_due: int = 0
    as_of: datetime

    @property
    def working_share(self) -> float:
        """``working / lights``; 0 for a city without lights."""
        return self.working / self.lights if self.lights else 0.0

    @property
    def open_alarms(self) -> int:
        """Raised and acknowledged alarms, not counting those held under an outage."""
        return sum(self.open_faults_by_type.values())


def mean_hours(repairs: list[tuple[float, float]]) -> float | None:
    """The mean of ``cleared - began`` in hours, None without repairs."""
    if not repairs:
        return None
    return sum(end - start for start, end in repairs) / len(repairs) / 3600.0


class CityStatus:
    """Reads a city's live state once and judges every asset with the map's rules."""

    def __init__(
        self,
        reads: StatusReads,
        alarms: AlarmStore,
        clock: Clock,
        work_orders: WorkOrderCounts | None = None,
    ) -> None:
        self._reads = reads
        self._alarms = alarms
        self._clock = clock
        self._snapshots: OrderedDict[tuple[object, ...], _Kept] = OrderedDict()
        self._lock = threading.Lock()
        # The maintenance store's counts (the container wires them); None: 0 and 0.
        self._work_orders = work_orders

    def judge(self, city: City, now: datetime) -> StatusJudge:
        """The rules at ``now`` with the city's own detection settings (its silence threshold)."""
        overrides = self._alarms.detection_overrides().get(city.pk, {})
        return StatusJudge(city.timezone, DetectionSettings().merged(overrides), now)

    def snapshot(
        self,
        city: City,
        bbox: tuple[float, float, float, float] | None = None,
        kind: AssetKind | None = None,
    ) -> MapSnapshot:
        """Every asset of the city (in the bbox, of the kind, if given) with its live status.

        Kept (see :data:`SNAPSHOT_FRESH_S`) until the city's inventory or
        alarms change; a kept snapshot says when it was made in ``as_of``.
        When only alarms changed, the kept one is brought up to date: the
        open alarms are read again (a few thousand rows) and only the assets
        whose alarms changed are judged again, not the city's 100,000.
        """
        now = self._clock.now()
        window = int(now.timestamp()) // SNAPSHOT_FRESH_S
        version, newest_event = self._reads.stamp(city.pk)
        key = (city.pk, bbox, kind, window, version)
        with self._lock:
            kept = self._snapshots.get(key)
            if kept is not None:
                self._snapshots.move_to_end(key)
                if kept.newest_event == newest_event:
                    return kept.snapshot
        judge = self.judge(city, now)
        found = self._reads.open_alarms(city.pk)
        if kept is None:
            assets = self._reads.map_assets(city.pk, bbox, kind)
            rows = [judge.row(asset, found.get(asset.id, ())) for asset in assets]
            place = {asset.id: n for n, asset in enumerate(assets)}
        else:
            assets, place = kept.assets, kept.place
            rows = list(kept.snapshot.rows)
            before = kept.alarms
            for asset_id in before.keys() | found.keys():
                marks = found.get(asset_id, [])
                n = place.get(asset_id)
                if n is not None and before.get(asset_id, []) != marks:
                    rows[n] = judge.row(assets[n], marks)
        made = _Kept(newest_event, assets, place, found, MapSnapshot(MAP_FIELDS, rows, now))
        with self._lock:
            self._snapshots[key] = made
            while len(self._snapshots) > SNAPSHOTS_KEPT:
                self._snapshots.popitem(last=False)
        return made.snapshot

    def figures(self, city: City, *, work_orders: bool = True) -> CityFigures:
        """The city's headline figures (``work_orders=False`` leaves the orders' counts 0)."""
        now = self._clock.now()
        # The lights' statuses as the map judges them, from the kept snapshot
        # of the city's lights: every home screen after an alarm shares it.
        lights = working = 0
        status_at = MAP_FIELDS.index("status")
        for row in self.snapshot(city, kind=AssetKind.STREETLIGHT).rows:
            status = row[status_at]
            if status in IN_SERVICE_STATUSES:
                lights += 1
                working += status in WORKING
        by_type: dict[AlarmType, int] = {}
        for kind, _severity, n in self._alarms.alarm_counts(city.pk, ACTIVE_STATES):
            by_type[kind] = by_type.get(kind, 0) + n
        repairs = self._reads.repairs(city.pk, (now - MTTR_WINDOW).timestamp(), now.timestamp())
        open_orders = past_due = 0
        if work_orders and self._work_orders is not None:
            open_orders, past_due = self._work_orders(city.pk, now)
        return CityFigures(
            lights=lights,
            working=working,
            open_faults_by_type=by_type,
            mttr_hours=mean_hours(repairs),
            work_orders_open=open_orders,
            work_orders_past_due=past_due,
            as_of=now,
        )
