"""A city's daily watchdog report of its traffic signals: ATSPM's checks and detector faults.

For one local day (midnight to midnight in the city's time zone), each
in-service intersection's controller events are counted in the store by
code and parameter, over the day and over the night and peak windows, and
judged by ``domain/watchdog`` (missing records, low detector hits,
max-outs, force-offs, stuck pedestrian buttons), with the day's detector
faults beside. An intersection that logged nothing that day has missing
records too. ``docs/faults.md`` ("Watchdog report") gives the rules.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final, Protocol
from zoneinfo import ZoneInfo

from signalight.domain.assets import Asset, AssetKind, AssetQuery, AssetStatus, Page
from signalight.domain.cities import City
from signalight.domain.errors import InvalidInputError
from signalight.domain.event_counts import CodeCount, DayTallies
from signalight.domain.watchdog import (
    NIGHT_CODES,
    PEAK_CODES,
    Check,
    WatchdogDay,
    WatchdogThresholds,
    WatchWindows,
    watch_day,
    watch_windows,
)
from signalight.ports import Clock

__all__ = [
    "EventTallies",
    "IntersectionSource",
    "SignalWatchdog",
    "WatchdogReport",
    "WatchdogTotals",
]

_PAGE: Final = 1000  # intersections read a query


class EventTallies(Protocol):
    """Controller events counted in the store (``adapters/sql/signal_events``)."""

    def tallies(
        self,
        city_id: int,
        asset_ids: Sequence[int],
        start: float,
        end: float,
        *,
        codes: Iterable[int] | None = None,
    ) -> dict[int, dict[tuple[int, int], CodeCount]]:
        """Per intersection, its events of the span counted by code and parameter."""
        ...


class IntersectionSource(Protocol):
    """The city's assets, for its intersections (``adapters/sql/assets``)."""

    def query_assets(self, city_id: int, query: AssetQuery) -> Page[Asset]:
        """One page of the city's assets that match the query."""
        ...


@dataclass(frozen=True, slots=True)
class WatchdogTotals:
    """The report in figures."""

    intersections: int  # in service, each judged
    flagged: int  # of them, with at least one finding
    findings: dict[Check, int]  # by check, every check present
    detectors_faulted: int  # detectors with a fault event in the day
    still_faulted: int  # of them, not restored by the end of the day


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchdogReport:
    """A city's watchdog report of one local day."""

    city: str  # the city's slug
    day: date  # local
    timezone: str
    windows: WatchWindows  # the day's spans as UTC epoch seconds
    thresholds: WatchdogThresholds
    intersections: tuple[WatchdogDay, ...]  # by code
    totals: WatchdogTotals


def _totals(days: Sequence[WatchdogDay]) -> WatchdogTotals:
    checks = Counter(finding.check for day in days for finding in day.findings)
    faults = [fault for day in days for fault in day.faults]
    return WatchdogTotals(
        intersections=len(days),
        flagged=sum(1 for day in days if day.findings),
        findings={check: checks.get(check, 0) for check in Check},
        detectors_faulted=len(faults),
        still_faulted=sum(1 for fault in faults if not fault.restored),
    )


class SignalWatchdog:
    """Makes a city's daily watchdog report from its stored controller events."""

    def __init__(
        self,
        events: EventTallies,
        assets: IntersectionSource,
        clock: Clock,
        thresholds: WatchdogThresholds | None = None,
    ) -> None:
        self._events = events
        self._assets = assets
        self._clock = clock
        self.thresholds = thresholds or WatchdogThresholds()

    def today(self, city: City) -> date:
        """The date in the city now."""
        return self._clock.now().astimezone(ZoneInfo(city.timezone)).date()

    def report(self, city: City, day: date | None = None) -> WatchdogReport:
        """The report of ``day`` in the city (default: yesterday there).

        Raises:
            InvalidInputError: ``day`` is after today in the city.
            StorageError: the database failed.
        """
        today = self.today(city)
        day = day or today - timedelta(days=1)
        if day > today:
            raise InvalidInputError(f"date: {day} is after today ({today}) in {city.timezone}")
        windows = watch_windows(day, ZoneInfo(city.timezone), self.thresholds)
        found = {asset.id: asset.code for asset in self._intersections(city)}
        ids = sorted(found)
        counted = self._events.tallies(city.pk, ids, *windows.day)
        night = self._events.tallies(city.pk, ids, *windows.night, codes=NIGHT_CODES)
        peak = self._events.tallies(city.pk, ids, *windows.peak, codes=PEAK_CODES)
        days = sorted(
            (
                watch_day(
                    code,
                    DayTallies(
                        counted.get(asset_id, {}),
                        night.get(asset_id, {}),
                        peak.get(asset_id, {}),
                    ),
                    self.thresholds,
                )
                for asset_id, code in found.items()
            ),
            key=lambda judged: judged.intersection,
        )
        return WatchdogReport(
            city=city.slug,
            day=day,
            timezone=city.timezone,
            windows=windows,
            thresholds=self.thresholds,
            intersections=tuple(days),
            totals=_totals(days),
        )

    def _intersections(self, city: City) -> Iterator[Asset]:
        """The city's intersections in service: those expected to log."""
        after = 0
        while True:
            page = self._assets.query_assets(
                city.pk,
                AssetQuery(
                    kind=AssetKind.INTERSECTION,
                    status=AssetStatus.IN_SERVICE,
                    after_id=after,
                    limit=_PAGE,
                ),
            )
            yield from page.items
            if page.next_after is None:
                return
            after = page.next_after
