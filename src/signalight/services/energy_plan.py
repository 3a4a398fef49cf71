"""The plan until schedules plan: each light dark hours at full power but for the night dimming.

The energy reports (:mod:`signalight.services.energy`) compare what the
lights used with a plan per light and local day. The schedules will give
it; until then this one stands in, from the fault rules' night dimming.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from zoneinfo import ZoneInfo

from signalight.domain.assets import LuminaireType
from signalight.domain.cities import City
from signalight.domain.energy import MeteredLight, night_plan_wh
from signalight.domain.energy_periods import SUN_CELL_DEG, Period, Span, dark_in, spans
from signalight.domain.faults import DetectionSettings
from signalight.domain.sun import Cell, LocalDays, SunTable

__all__ = ["NightDimmingPlan"]


class NightDimmingPlan:
    """The plan until schedules come: dark hours at full power but for the city's night dimming.

    The night dimming is that of the fault rules (``night_dim`` from
    ``dim_from`` to ``dim_until``, local time, in the city's detection
    settings); a luminaire's share of its rated power at the dim level is its
    power curve's.
    """

    def __init__(self, overrides: Callable[[City], Mapping[str, object]]) -> None:
        self._overrides = overrides
        self._suns: dict[str, SunTable] = {}  # per time zone, kept: a report asks day by day

    def _sun(self, zone: ZoneInfo) -> SunTable:
        found = self._suns.get(zone.key)
        if found is None:
            found = self._suns[zone.key] = SunTable(zone, SUN_CELL_DEG)
        return found

    def planned_wh(self, city: City, lights: Sequence[MeteredLight], day: date) -> dict[int, float]:
        """Per asset id, the planned Wh on local ``day``."""
        settings = DetectionSettings().merged(self._overrides(city))
        zone = ZoneInfo(city.timezone)
        sun, days = self._sun(zone), LocalDays(zone)
        (span,) = spans(zone, day, day, Period.DAY)
        windows = _dim_windows(days, span, settings)
        planned: dict[int, float] = {}
        cells: dict[Cell, tuple[float, float]] = {}
        shares: dict[str | None, float] = {}  # per luminaire type: its share dimmed
        for light in lights:
            if light.rated_watts is None:
                continue
            cell = sun.cell(light.lat, light.lon)
            found = cells.get(cell)
            if found is None:
                dark = dark_in(sun, days, cell, span.start, span.end)
                dimmed = sum(dark_in(sun, days, cell, a, b) for a, b in windows)
                found = cells[cell] = (dark, dimmed)
            share = shares.get(light.luminaire)
            if share is None:
                share = shares[light.luminaire] = settings.curve(_luminaire(light)).share(
                    settings.night_dim
                )
            planned[light.asset_id] = night_plan_wh(light.rated_watts, share, *found)
        return planned


def _luminaire(light: MeteredLight) -> LuminaireType | None:
    return LuminaireType(light.luminaire) if light.luminaire else None


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
