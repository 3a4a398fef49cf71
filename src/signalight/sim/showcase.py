"""Faults planned for a demo: one of each kind the fault rules detect, each at a time it shows.

A lamp that fails by day says nothing until dusk, and a lamp burning at night
is no fault, so random faults over a few hours rarely show every kind. The
plan puts the night faults in the latest stretch of darkness of the
simulated span, day burning in the latest stretch of daylight, and the rest
near its end, on assets near the city centre (the first ones a map shows).
Two intersections go live with a conflict flash and a break-in
(``SIGNAL_FAULTS``).
"""

from __future__ import annotations

import itertools
import math
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from signalight.domain.sun import Cell, SunTable
from signalight.sim.faults import FaultType, Injection
from signalight.sim.nodes import FULL, STUCK_DIM, CabinetMeter, LightNode

if TYPE_CHECKING:
    from signalight.sim.telemetry import Simulator

MINUTE: Final = 60.0
# The times below hold for reports at least every ten minutes (the demo's pace).
# Past the rules' 15-minute margin around sunset and sunrise, and the photocells' spread.
DUSK_LEAD_S: Final = 30 * MINUTE
DAWN_TAIL_S: Final = 30 * MINUTE
# Darkness a night fault needs after it starts: a cycling lamp three changes, a
# stuck dimmer a few reports away from a dimming step.
NIGHT_NEEDS_S: Final = 75 * MINUTE
# Day burning is judged from one report two margins inside the day.
DAWN_LEAD_S: Final = 35 * MINUTE
DUSK_TAIL_S: Final = 35 * MINUTE
DAY_NEEDS_S: Final = 15 * MINUTE
# A cycling lamp's period: with reports every five or ten minutes the lamp is
# seen to go out and back every few reports (a period near the report
# interval would be sampled at the same point each time).
CYCLING_PERIOD_S: Final = 420.0
# Faults that show at any hour start this long before the end, and last past it
# when given a duration: the demo then goes live with an outage and a silent node.
TILT_BEFORE_S: Final = 3 * 3600.0
SILENT_BEFORE_S: Final = 90 * MINUTE
SILENT_FOR_S: Final = 2 * 3600.0
OUTAGE_BEFORE_S: Final = 60 * MINUTE
OUTAGE_FOR_S: Final = 90 * MINUTE
SHOWS_AFTER_S: Final = 15 * MINUTE  # any fault needs a report or two to be confirmed
MIN_LIGHTS: Final = 3  # an outage is judged on at least this many monitored lights

NIGHT_FAULTS: Final = (
    FaultType.LAMP_FAILURE,
    FaultType.CYCLING_FAILURE,
    FaultType.DIMMING_FAILURE,
)
DAY_FAULTS: Final = (FaultType.LAMP_UNEXPECTED_ON,)
# Signal faults, one intersection each: (type, minutes before the end, minutes it lasts). The
# demo goes live with a conflict flash (critical) and a cabinet broken into, both still on.
SIGNAL_FAULTS: Final = (
    (FaultType.CONFLICT_FLASH, 40.0, 120.0),
    (FaultType.DOOR_OPEN_UNAUTHORISED, 25.0, 60.0),
)
# Every fault type of a light or cabinet that the fault rules have a rule for, and the
# showcase's signal faults.
DETECTED: Final = frozenset(
    {
        *NIGHT_FAULTS,
        *DAY_FAULTS,
        FaultType.ORIENTATION_CHANGED,
        FaultType.COMMUNICATION_FAILURE,
        FaultType.SUPPLY_LOSS,
        *(kind for kind, _, _ in SIGNAL_FAULTS),
    }
)


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of time, UTC epoch seconds."""

    start: float
    end: float


def sun_spans(sim: Simulator, start: float, end: float) -> tuple[list[Span], list[Span]]:
    """The nights and the days at the city centre that overlap ``[start, end)``."""
    zone = zoneinfo.ZoneInfo(sim.city.timezone)
    sun = SunTable(zone)
    cell = sun.cell(sim.city.lat, sim.city.lon)
    first = datetime.fromtimestamp(start, zone).date() - timedelta(days=1)
    last = datetime.fromtimestamp(end, zone).date() + timedelta(days=1)
    daylight = [
        sun.daylight(cell, first + timedelta(days=n)) for n in range((last - first).days + 1)
    ]
    days = [Span(d.sunrise, d.sunset) for d in daylight if d.sunrise < d.sunset]
    nights = [Span(a.sunset, b.sunrise) for a, b in itertools.pairwise(daylight)]
    return (
        [n for n in nights if n.end > start and n.start < end],
        [d for d in days if d.end > start and d.start < end],
    )


def _latest_start(
    spans: list[Span], margins: tuple[float, float], needs: float, start: float, end: float
) -> float:
    """When to start faults that need ``needs`` of a span, kept ``margins`` from its ends.

    The latest span with room is taken, its earliest time; nan if none has room.
    """
    lead, tail = margins
    for span in reversed(spans):
        begin = max(span.start + lead, start)
        if min(span.end - tail, end) - begin >= needs:
            return begin
    return math.nan


def _central(models: Sequence[LightNode | CabinetMeter], centre: Cell) -> list[str]:
    """Codes of the models nearest the centre's grid cell first, then by code."""
    return [m.code for m in sorted(models, key=lambda m: (math.dist(m.cell, centre), m.code))]


def plan(sim: Simulator, end: float) -> list[Injection]:
    """One fault of each kind in :data:`DETECTED`, each where it shows between now and ``end``.

    Args:
        sim: The simulator, its clock at the start of the span.
        end: The end of the span, UTC epoch seconds.

    Returns:
        The injections, on different assets; a kind the span has no room for
        (a night fault in a span without a long enough night) is left out.
    """
    start = sim.now
    model = sim.model
    usable = [
        light
        for light in model.lights
        if light.uid is not None and light.in_service and light.code not in model.out_of_service
    ]
    watched = set(usable)
    cabinets = [
        c
        for c in model.cabinets
        if c.uid is not None
        and c.code not in model.out_of_service
        and sum(light in watched for light in c.lights) >= MIN_LIGHTS
    ]
    centre = SunTable(zoneinfo.ZoneInfo(sim.city.timezone)).cell(sim.city.lat, sim.city.lon)
    planned: list[Injection] = []
    outage = _central(cabinets, centre)[:1]
    at = max(start, end - OUTAGE_BEFORE_S)
    if outage and end - at >= SHOWS_AFTER_S:
        planned.append(Injection(FaultType.SUPPLY_LOSS, outage[0], at, OUTAGE_FOR_S))
    # Lights fed by the failing cabinet show no faults of their own.
    lights = iter(_central([light for light in usable if light.cabinet.code not in outage], centre))
    nights, days = sun_spans(sim, start, end)
    night = _latest_start(nights, (DUSK_LEAD_S, DAWN_TAIL_S), NIGHT_NEEDS_S, start, end)
    day = _latest_start(days, (DAWN_LEAD_S, DUSK_TAIL_S), DAY_NEEDS_S, start, end)
    # The stuck level farthest from both the full and the night dim levels shows all night.
    night_dim = sim.config.night_dim
    dim_level = max(STUCK_DIM, key=lambda level: min(abs(level - FULL), abs(level - night_dim)))
    timed = [
        (FaultType.LAMP_FAILURE, night, None, None),
        (FaultType.CYCLING_FAILURE, night, None, CYCLING_PERIOD_S),
        (FaultType.DIMMING_FAILURE, night, None, dim_level),
        (FaultType.LAMP_UNEXPECTED_ON, day, None, None),
        (FaultType.ORIENTATION_CHANGED, max(start, end - TILT_BEFORE_S), None, None),
        (FaultType.COMMUNICATION_FAILURE, max(start, end - SILENT_BEFORE_S), SILENT_FOR_S, None),
    ]
    for kind, at, duration, level in timed:
        if math.isnan(at) or end - at < SHOWS_AFTER_S:
            continue
        code = next(lights, None)
        if code is None:
            break
        planned.append(Injection(kind, code, at, duration, level))
    return planned + _signals(sim, start, end)


def _signals(sim: Simulator, start: float, end: float) -> list[Injection]:
    """The signal faults, on the first intersections by code, where they fit."""
    model = sim.model
    usable = [m for m in model.monitors if m.uid is not None and m.code not in model.out_of_service]
    planned: list[Injection] = []
    for monitor, (kind, before, lasts) in zip(
        sorted(usable, key=lambda m: m.code), SIGNAL_FAULTS, strict=False
    ):
        at = max(start, end - before * MINUTE)
        if end - at >= SHOWS_AFTER_S:
            planned.append(Injection(kind, monitor.code, at, lasts * MINUTE))
    return planned
