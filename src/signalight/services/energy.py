"""Energy reports: what a city's lights used, against the dusk-to-dawn baseline and the plan.

What the lights used is counted in SQL from the hourly rollups
(:mod:`signalight.adapters.sql.energy`); the baseline (each light at its
rated power from sunset to sunrise at its pole) and the plan are worked out
here, per grid cell of the sun table, and added up under the same keys and
periods. ``docs/energy.md`` says what is counted and how.
"""

from __future__ import annotations

import bisect
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final, Protocol
from zoneinfo import ZoneInfo

from signalight.domain.cities import City
from signalight.domain.energy import (
    EnergyRow,
    Figures,
    MeteredLight,
    Tariff,
    deviates,
)
from signalight.domain.energy_periods import (
    MAX_HOUR_DAYS,
    SUN_CELL_DEG,
    Grouping,
    Period,
    Span,
    check_range,
    dark_in,
    span_of_hours,
    spans,
)
from signalight.domain.errors import InvalidInputError
from signalight.domain.sun import Cell, LocalDays, SunTable
from signalight.domain.telemetry import DAY, HOUR, MAX_PAST_S
from signalight.ports.energy import EnergyReads, HourRow

__all__ = [
    "GAP_LOOK_S",
    "Deviation",
    "EnergyReport",
    "EnergyService",
    "PlannedEnergy",
    "ReportRow",
]

log = logging.getLogger(__name__)

# The rollups read on either side of a report: a step after a gap shorter than
# this is spread over the gap; a node silent for longer has what its counter
# counted across the silence left out (when it was used is not known).
GAP_LOOK_S: Final = 2 * DAY
SETTLE_CHUNK_DAYS: Final = 7  # days settled in one statement: a week of a large city's rollups


class PlannedEnergy(Protocol):
    """What the schedules plan a city's lights to use on a local day (the schedules' part)."""

    def planned_wh(self, city: City, lights: Sequence[MeteredLight], day: date) -> dict[int, float]:
        """Per asset id, the planned Wh on ``day``: rated power x dim share over the plan."""
        ...


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One key's lights over one period."""

    key: str
    period: str  # the local label of the period's start
    lights: int  # the key's lights in service with a device
    metered: int  # of them, those with a reading in the period
    figures: Figures


@dataclass(frozen=True, slots=True)
class EnergyReport:
    """A city's energy over local days ``first..last``, per key and period, with totals."""

    city: str
    grouping: Grouping
    period: Period
    first: date
    last: date
    tariff: Tariff
    rows: list[ReportRow]
    total: Figures
    lights: int
    unrated: list[str] = field(default_factory=list)  # lights with no rated power: no baseline
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Deviation:
    """A light that did not do on a local day what its schedule planned."""

    code: str
    day: date
    actual_wh: float
    planned_wh: float


class EnergyService:
    """Energy reports and the lights that ignore their schedules, for the API and the CLI."""

    def __init__(
        self,
        reads: EnergyReads,
        plan: PlannedEnergy,
        now: Callable[[], float] = time.time,
        settle_after_s: float = MAX_PAST_S + GAP_LOOK_S,
    ) -> None:
        """``settle_after_s``: how long after its end a day can change no more (see settle)."""
        self._reads = reads
        self._plan = plan
        self._now = now
        self._settle_after_s = settle_after_s
        self._suns: dict[str, SunTable] = {}  # per time zone, kept: sunsets are asked again

    def _sun(self, zone: ZoneInfo) -> SunTable:
        found = self._suns.get(zone.key)
        if found is None:
            found = self._suns[zone.key] = SunTable(zone, SUN_CELL_DEG)
        return found

    def report(
        self, city: City, first: date, last: date, grouping: Grouping, period: Period
    ) -> EnergyReport:
        """The city's energy per key of ``grouping`` and ``period`` over local ``first..last``.

        Raises:
            InvalidInputError: the range is empty or too long for the period.
        """
        check_range(first, last, period)
        zone = ZoneInfo(city.timezone)
        periods = spans(zone, first, last, period)
        lights = self._reads.lights(city.pk)
        used = self._used(city, zone, periods, grouping, period)
        baseline = _baseline(self._sun(zone), lights, periods, grouping)
        planned = None if period is Period.HOUR else self._planned(city, lights, periods, grouping)
        counts: dict[str, int] = defaultdict(int)
        for light in lights:
            counts[_key(light, grouping)] += 1
        actual = {(row.key, row.period): row for row in used}
        rows: list[ReportRow] = []
        total = Figures(0.0, 0.0, None if planned is None else 0.0)
        keys = counts.keys() | {row.key for row in used}
        if grouping is Grouping.CITY:
            keys |= {""}  # the city has its rows, lights or none
        for key in sorted(keys):
            for index, span in enumerate(periods):
                found = actual.get((key, index))
                figures = Figures(
                    found.wh if found else 0.0,
                    baseline.get((key, index), 0.0),
                    None if planned is None else planned.get((key, index), 0.0),
                )
                total += figures
                metered = found.metered if found else 0
                rows.append(ReportRow(key, span.label, counts.get(key, 0), metered, figures))
        tariff = Tariff(city.currency, city.tariff_per_kwh, city.co2_kg_per_kwh)
        return EnergyReport(
            city=city.slug,
            grouping=grouping,
            period=period,
            first=first,
            last=last,
            tariff=tariff,
            rows=rows,
            total=total,
            lights=len(lights),
            unrated=sorted(light.code for light in lights if light.rated_watts is None),
            notes=_notes(tariff, period),
        )

    def deviations(self, city: City, first: date, last: date) -> list[Deviation]:
        """The lights whose day was far from its plan, by day and code.

        Raises:
            InvalidInputError: the range is empty or longer than 31 days.
        """
        check_range(first, last, Period.DAY)
        if (last - first).days + 1 > MAX_HOUR_DAYS:
            raise InvalidInputError(f"deviations may span at most {MAX_HOUR_DAYS} days")
        zone = ZoneInfo(city.timezone)
        periods = spans(zone, first, last, Period.DAY)
        lights = self._reads.lights(city.pk)
        used = self._used(city, zone, periods, Grouping.LIGHT, Period.DAY)
        actual = {(row.key, row.period): row.wh for row in used}
        found: list[Deviation] = []
        for index, span in enumerate(periods):
            day = date.fromisoformat(span.label)
            plan = self._plan.planned_wh(city, lights, day)
            for light in lights:
                planned = plan.get(light.asset_id)
                if planned is None:
                    continue
                wh = actual.get((light.code, index), 0.0)
                if deviates(wh, planned):
                    found.append(Deviation(light.code, day, wh, planned))
        return found

    def _used(
        self, city: City, zone: ZoneInfo, periods: list[Span], grouping: Grouping, period: Period
    ) -> list[EnergyRow]:
        """What the lights used per key and period: settled days read, the others counted.

        A day is settled once no reading of it can come any more
        (``settle_after_s`` after its end): what each light used on it is
        counted once and kept (``energy_days``). A report by day or month
        settles the days of its range that are due and not yet settled (a
        daily run of ``signalight energy settle`` keeps that work off the
        reports), reads those, and counts the recent days from the rollups.
        """
        if period is Period.HOUR:
            return self._reads.energy(city.pk, _hours(city, self._sun(zone), periods), grouping)
        days = _days_of(zone, periods)
        starts = [p.start for p in periods]
        owner = [bisect.bisect_right(starts, d.start) - 1 for d in days]
        now = self._now()
        final = [d.end + self._settle_after_s <= now for d in days]
        self._settle(city, zone, [d for d, done in zip(days, final, strict=True) if done], now)
        settled = [(d.start, owner[i]) for i, d in enumerate(days) if final[i]]
        rows = self._reads.settled_energy(city.pk, settled, grouping)
        recent = [i for i, done in enumerate(final) if not done]
        if recent:
            hours = _hours(
                city, self._sun(zone), [days[i] for i in recent], [owner[i] for i in recent]
            )
            rows += self._reads.energy(city.pk, hours, grouping)
        merged: dict[tuple[str, int], EnergyRow] = {}
        for row in rows:
            held = merged.get((row.key, row.period))
            if held is not None:  # a month partly settled: its lights metered, at least
                wh, metered = held.wh + row.wh, max(held.metered, row.metered)
                row = EnergyRow(row.key, row.period, wh, metered)  # noqa: PLW2901 - merged
            merged[(row.key, row.period)] = row
        return list(merged.values())

    def settle(self, city: City, first: date, last: date) -> int:
        """Settle the city's days ``first..last`` that are due, again if settled before.

        Returns how many days were settled. ``signalight energy settle`` runs
        this daily for the days just due, so that reports only read them.
        """
        check_range(first, last, Period.DAY)
        zone = ZoneInfo(city.timezone)
        now = self._now()
        due = [
            d for d in spans(zone, first, last, Period.DAY) if d.end + self._settle_after_s <= now
        ]
        self._settle(city, zone, due, now, again=True)
        return len(due)

    def _settle(
        self, city: City, zone: ZoneInfo, days: list[Span], now: float, *, again: bool = False
    ) -> None:
        if days and not again:
            done = self._reads.settled_days(city.pk, days[0].start, days[-1].end)
            days = [d for d in days if d.start not in done]
        for at in range(0, len(days), SETTLE_CHUNK_DAYS):
            chunk = days[at : at + SETTLE_CHUNK_DAYS]
            self._reads.settle(
                city.pk, _hours(city, self._sun(zone), chunk), [d.start for d in chunk], now
            )
            log.info(
                "city %s: energy of %d days from %s settled", city.slug, len(chunk), chunk[0].label
            )

    def _planned(
        self, city: City, lights: list[MeteredLight], periods: list[Span], grouping: Grouping
    ) -> dict[tuple[str, int], float]:
        keys = {light.asset_id: _key(light, grouping) for light in lights}
        planned: dict[tuple[str, int], float] = defaultdict(float)
        days = LocalDays(ZoneInfo(city.timezone))
        for index, span in enumerate(periods):
            day, last = days.at(span.start).day, days.at(span.end - 1.0).day
            while day <= last:
                for asset_id, wh in self._plan.planned_wh(city, lights, day).items():
                    planned[(keys.get(asset_id, ""), index)] += wh
                day += timedelta(days=1)
        return planned


def _key(light: MeteredLight, grouping: Grouping) -> str:
    match grouping:
        case Grouping.CITY:
            return ""
        case Grouping.CABINET:
            return light.cabinet
        case Grouping.GROUP:
            return light.group
        case Grouping.STREET_CLASS:
            return light.street_class
        case Grouping.LIGHT:
            return light.code


def _hours(
    city: City, sun: SunTable, periods: list[Span], owners: list[int] | None = None
) -> list[HourRow]:
    """The hours the SQL reads: the periods' and GAP_LOOK_S around them.

    Each with the index of its period (or ``owners[index]``; -1 outside
    them), its dark share at the city's centre and its period's start.
    """
    days = LocalDays(sun.zone)
    cell = sun.cell(city.lat, city.lon)
    mapped = span_of_hours(periods, periods[0].start - GAP_LOOK_S, periods[-1].end + GAP_LOOK_S)
    hours: list[HourRow] = []
    for hour, index in mapped:
        dark = dark_in(sun, days, cell, hour, hour + HOUR) / HOUR
        if index < 0:
            hours.append((hour, -1, dark, -1.0))
        else:
            owner = owners[index] if owners is not None else index
            hours.append((hour, owner, dark, periods[index].start))
    return hours


def _days_of(zone: ZoneInfo, periods: list[Span]) -> list[Span]:
    """The local days of the periods (days or months), oldest first."""
    local = LocalDays(zone)
    first, last = local.at(periods[0].start).day, local.at(periods[-1].end - 1.0).day
    return spans(zone, first, last, Period.DAY)


def _baseline(
    sun: SunTable, lights: list[MeteredLight], periods: list[Span], grouping: Grouping
) -> dict[tuple[str, int], float]:
    """Per key and period, the lights' rated power over the period's dark seconds at each pole."""
    days = LocalDays(sun.zone)
    rated: dict[tuple[str, Cell], float] = defaultdict(float)
    for light in lights:
        if light.rated_watts is not None:
            rated[(_key(light, grouping), sun.cell(light.lat, light.lon))] += light.rated_watts
    dark: dict[tuple[Cell, int], float] = {}
    baseline: dict[tuple[str, int], float] = defaultdict(float)
    for (key, cell), watts in rated.items():
        for index, span in enumerate(periods):
            seconds = dark.get((cell, index))
            if seconds is None:
                seconds = dark[(cell, index)] = dark_in(sun, days, cell, span.start, span.end)
            baseline[(key, index)] += watts * seconds / HOUR
    return baseline


def _notes(tariff: Tariff, period: Period) -> list[str]:
    notes: list[str] = []
    if tariff.per_kwh is None:
        notes.append(
            "the city has no tariff: savings are in kWh only (set one with"
            " PATCH /cities/{city} tariff_per_kwh)"
        )
    if tariff.co2_kg_per_kwh is None:
        notes.append("the city has no grid CO2 factor: no CO2 savings (set co2_kg_per_kwh)")
    if period is Period.HOUR:
        notes.append("plans are known per day: an hourly report has no planned energy")
    return notes
