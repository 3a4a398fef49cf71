"""Energy reports: what a city's lights used, against the dusk-to-dawn baseline and the plan.

What the lights used is counted in SQL from the hourly rollups
(:mod:`signalight.adapters.sql.energy`); the baseline (each light at its
rated power from sunset to sunrise at its pole) and the plan are worked out
here, per grid cell of the sun table, and added up under the same keys and
periods. ``docs/energy.md`` says what is counted and how.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final, Protocol
from zoneinfo import ZoneInfo

from signalight.domain.assets import LuminaireType
from signalight.domain.cities import City
from signalight.domain.energy import Figures, MeteredLight, Tariff, deviates, night_plan_wh
from signalight.domain.energy_periods import (
    MAX_HOUR_DAYS,
    Grouping,
    Period,
    Span,
    check_range,
    dark_in,
    span_of_hours,
    spans,
)
from signalight.domain.errors import InvalidInputError
from signalight.domain.faults import DetectionSettings
from signalight.domain.sun import Cell, LocalDays, SunTable
from signalight.domain.telemetry import DAY, HOUR
from signalight.ports.energy import EnergyReads

__all__ = [
    "GAP_LOOK_S",
    "Deviation",
    "EnergyReport",
    "EnergyService",
    "NightDimmingPlan",
    "PlannedEnergy",
    "ReportRow",
]

log = logging.getLogger(__name__)

# The rollups read on either side of a report: a step after a gap shorter than
# this is spread over the gap; a node silent for longer has what its counter
# counted across the silence left out (when it was used is not known).
GAP_LOOK_S: Final = 2 * DAY


class PlannedEnergy(Protocol):
    """What the schedules plan a city's lights to use on a local day (the schedules' part)."""

    def planned_wh(self, city: City, lights: Sequence[MeteredLight], day: date) -> dict[int, float]:
        """Per asset id, the planned Wh on ``day``: rated power x dim share over the plan."""
        ...


class NightDimmingPlan:
    """The plan until schedules come: dark hours at full power but for the city's night dimming.

    The night dimming is that of the fault rules (``night_dim`` from
    ``dim_from`` to ``dim_until``, local time, in the city's detection
    settings); a luminaire's share of its rated power at the dim level is its
    power curve's.
    """

    def __init__(self, overrides: Callable[[City], Mapping[str, object]]) -> None:
        self._overrides = overrides

    def planned_wh(self, city: City, lights: Sequence[MeteredLight], day: date) -> dict[int, float]:
        """Per asset id, the planned Wh on local ``day``."""
        settings = DetectionSettings().merged(self._overrides(city))
        zone = ZoneInfo(city.timezone)
        sun, days = _sun(zone), LocalDays(zone)
        (span,) = spans(zone, day, day, Period.DAY)
        windows = _dim_windows(days, span, settings)
        planned: dict[int, float] = {}
        cells: dict[Cell, tuple[float, float]] = {}
        for light in lights:
            if light.rated_watts is None:
                continue
            cell = sun.cell(light.lat, light.lon)
            found = cells.get(cell)
            if found is None:
                dark = dark_in(sun, days, cell, span.start, span.end)
                dimmed = sum(dark_in(sun, days, cell, a, b) for a, b in windows)
                found = cells[cell] = (dark, dimmed)
            share = settings.curve(_luminaire(light)).share(settings.night_dim)
            planned[light.asset_id] = night_plan_wh(light.rated_watts, share, *found)
        return planned


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

    def __init__(self, reads: EnergyReads, plan: PlannedEnergy) -> None:
        self._reads = reads
        self._plan = plan

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
        used = self._reads.energy(city.pk, _hours(city, zone, periods), grouping)
        baseline = _baseline(zone, lights, periods, grouping)
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
        used = self._reads.energy(city.pk, _hours(city, zone, periods), Grouping.LIGHT)
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


def _luminaire(light: MeteredLight) -> LuminaireType | None:
    return LuminaireType(light.luminaire) if light.luminaire else None


def _sun(zone: ZoneInfo) -> SunTable:
    return SunTable(zone)


def _hours(city: City, zone: ZoneInfo, periods: list[Span]) -> list[tuple[float, int, float]]:
    """The hours the SQL reads: the report's and GAP_LOOK_S around, with period and dark share."""
    sun, days = _sun(zone), LocalDays(zone)
    cell = sun.cell(city.lat, city.lon)
    mapped = span_of_hours(periods, periods[0].start - GAP_LOOK_S, periods[-1].end + GAP_LOOK_S)
    return [
        (hour, index, dark_in(sun, days, cell, hour, hour + HOUR) / HOUR) for hour, index in mapped
    ]


def _baseline(
    zone: ZoneInfo, lights: list[MeteredLight], periods: list[Span], grouping: Grouping
) -> dict[tuple[str, int], float]:
    """Per key and period, the lights' rated power over the period's dark seconds at each pole."""
    sun, days = _sun(zone), LocalDays(zone)
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


def _dim_windows(
    days: LocalDays, span: Span, settings: DetectionSettings
) -> list[tuple[float, float]]:
    """The local day's stretches of night dimming, as UTC epoch seconds."""
    if settings.night_dim >= 100 or settings.dim_from == settings.dim_until:  # noqa: PLR2004 - percent
        return []
    day = days.at(span.start)
    start, until = days.clock(day, settings.dim_from), days.clock(day, settings.dim_until)
    if start < until:
        return [(start, until)]
    return [(span.start, until), (start, span.end)]  # across midnight: the day's two ends


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
