"""Energy metering and savings: counter rises, power integrated, night baselines, savings.

What a light used is read off its cumulative ``energy`` counter (Wh) where it
has one, and integrated from its ``power`` readings (W) where it has none.
What it would have used is its baseline: its rated power from sunset to
sunrise at its pole. ``docs/energy.md`` explains each rule in words.

A counter may go down between two readings, for one of two reasons:

- a **reset**: the node restarted and its counter started again from 0. What
  it counted since the restart is the new value itself; what it counted
  between the reading before and the restart is lost (a reset makes the
  light's energy a lower bound).
- a **wrap**: the counter reached its modulus and rolled over. Counters roll
  over at a power of ten (a meter's digits) or of two (a register's bits), so
  a drop is a wrap when the value before it lay just below such a modulus,
  close enough that the rise through the modulus, ``modulus - before +
  after``, is energy the light could have drawn in the time between the two
  readings (at most :data:`MAX_POWER_W`, the highest power a node may report).
  Anything else is a reset.

A rise larger than the light could have drawn in the time between the two
readings is not energy but a new counter (a node swapped for another with its
own count): it counts nothing, and the new value is the base from then on.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, NamedTuple

from signalight.domain.sun import Daylight
from signalight.domain.telemetry import HOUR

__all__ = [
    "DEVIATION_MIN_WH",
    "DEVIATION_SHARE",
    "GAP_DAY_WEIGHT",
    "MAX_POWER_W",
    "MIN_ELAPSED_S",
    "MODULI",
    "EnergyRow",
    "Figures",
    "MeteredLight",
    "Tariff",
    "counter_energy",
    "counter_rise",
    "dark_seconds",
    "deviates",
    "most_energy",
    "night_plan_wh",
    "power_energy",
    "spread",
    "wrap_modulus",
]

# The node catalogue's highest power (docs/protocol.md): no light draws more.
MAX_POWER_W: Final = 5_000.0
# Two readings closer than this are judged as if this far apart: a node's
# clock is exact to a second at best, and a reading repeated at one instant
# must not make every drop a reset.
MIN_ELAPSED_S: Final = 60.0
# Where counters roll over, in Wh: a meter's digits (10^5..10^12) or a
# register's bits (2^16..2^40). Sorted. None smaller: a node's counter that
# rolled over within a few weeks' burning would be no counter at all, and a
# small modulus would take ordinary resets of a young counter for wraps.
MODULI: Final[tuple[float, ...]] = tuple(
    sorted({10.0**k for k in range(5, 13)} | {2.0**k for k in range(16, 41)})
)
# When the rise seen after a gap is spread over the gap's hours, each hour
# weighs its dark share plus this: a gap with a night in it puts nearly all
# the energy in its dark hours, and a gap wholly by day spreads it by time.
GAP_DAY_WEIGHT: Final = 0.01
# A light ignores its schedule on a day when what it used differs from what
# was planned by more than this share of the plan, and by more than
# DEVIATION_MIN_WH (so a few watt-hours on a short summer night do not count).
# An LED that should dim to 50 % for 5 of a 12-hour night and never dims
# uses a quarter more than planned; a reset loses a few minutes' energy.
DEVIATION_SHARE: Final = 0.15
DEVIATION_MIN_WH: Final = 50.0


def most_energy(elapsed_s: float) -> float:
    """The most energy (Wh) a light can draw in ``elapsed_s`` seconds: at MAX_POWER_W."""
    return MAX_POWER_W * max(elapsed_s, MIN_ELAPSED_S) / HOUR


def wrap_modulus(before: float) -> float | None:
    """The modulus a counter reading ``before`` would roll over at: the smallest above it."""
    index = bisect.bisect_right(MODULI, before)
    return MODULI[index] if index < len(MODULI) else None


def counter_rise(before: float, after: float, elapsed_s: float) -> float:
    """The energy (Wh) a counter reading ``before`` and then ``after`` counted between them.

    A rise counts as it is, unless the light could not have drawn it (a new
    counter: 0); a drop is a wrap (the rise through the modulus) or a reset
    (``after``, counted since the restart). See the module's docstring.
    """
    most = most_energy(elapsed_s)
    if after >= before:
        rise = after - before
        return rise if rise <= most else 0.0
    modulus = wrap_modulus(before)
    if modulus is not None:
        wrapped = modulus - before + after
        if wrapped <= most:
            return wrapped
    return after


def counter_energy(points: list[tuple[float, float]]) -> float:
    """The energy (Wh) a counter counted over its readings ``(time, value)``, in any order."""
    ordered = sorted(points)
    return sum(counter_rise(v0, v1, t1 - t0) for (t0, v0), (t1, v1) in itertools.pairwise(ordered))


def power_energy(power_sum: float, power_count: int, hours: float = 1.0) -> float:
    """The energy (Wh) of an hour from its power readings: their mean held for the hour.

    Exact for a node that reports at a steady rate through the hour, as nodes
    do; an hour with no power reading has no energy measured.
    """
    return power_sum / power_count * hours if power_count else 0.0


def spread(
    wh: float, start: float, end: float, dark_share: Mapping[float, float]
) -> dict[float, float]:
    """The energy counted across a gap ``[start, end)`` shared among the gap's UTC hours.

    Each hour weighs the seconds of the gap it holds times its dark share
    (``dark_share[hour]``, 0..1; an hour not given is taken as dark) plus
    GAP_DAY_WEIGHT: the lights burn by night, so the night's hours take
    nearly all of it. Returns ``{hour start: Wh}``, summing to ``wh``.
    """
    if end <= start:
        hour = start - start % HOUR
        return {hour: wh}
    weights: dict[float, float] = {}
    hour = start - start % HOUR
    while hour < end:
        seconds = min(end, hour + HOUR) - max(start, hour)
        weights[hour] = seconds * (dark_share.get(hour, 1.0) + GAP_DAY_WEIGHT)
        hour += HOUR
    total = sum(weights.values())
    return {hour: wh * weight / total for hour, weight in weights.items()}


def dark_seconds(daylight: Daylight, start: float, end: float) -> float:
    """The seconds of ``[start, end)`` (within one local day) when the sun is down.

    ``daylight`` is that day's: on a polar day (the sun up all day) nothing is
    dark, in a polar night everything is.
    """
    if end <= start:
        return 0.0
    rise, set_ = daylight
    if not rise < set_:  # a polar night: the sun never rises
        return end - start
    lit = max(0.0, min(end, set_) - max(start, rise))
    return end - start - lit


def night_plan_wh(rated_w: float, dim_share: float, dark_s: float, dimmed_s: float) -> float:
    """The energy (Wh) of a light lit for ``dark_s`` seconds, ``dimmed_s`` of them dimmed.

    ``dim_share`` is the share of its rated power it draws dimmed (its
    luminaire's power curve at the dim level).
    """
    return rated_w * (dark_s - dimmed_s + dim_share * dimmed_s) / HOUR


class MeteredLight(NamedTuple):
    """A streetlight in service with a device: what an energy report counts."""

    asset_id: int
    device_id: int
    code: str
    cabinet: str  # the feeding cabinet's code; "" when none
    group: str
    street_class: str  # "" when not set
    lat: float
    lon: float
    rated_watts: float | None  # no baseline without it
    luminaire: str | None


class EnergyRow(NamedTuple):
    """What the lights of one key used in one period of a report."""

    key: str
    period: int  # the index of the report's period
    wh: float
    metered: int  # lights with a reading in the period


@dataclass(frozen=True, slots=True)
class Tariff:
    """What a kWh costs and emits in a city; None where the city has not said."""

    currency: str
    per_kwh: float | None
    co2_kg_per_kwh: float | None


@dataclass(frozen=True, slots=True)
class Figures:
    """Energy of a light or a group of lights over a period, in Wh, and what it saved.

    ``planned_wh`` is None where no plan is known for the period (an hour: a
    plan is given per day).
    """

    actual_wh: float
    baseline_wh: float
    planned_wh: float | None = None

    @property
    def saved_wh(self) -> float:
        """What the lights did not use against the baseline (negative: they used more)."""
        return self.baseline_wh - self.actual_wh

    def saved_money(self, tariff: Tariff) -> float | None:
        """The saving in the city's currency, or None without a tariff."""
        if tariff.per_kwh is None:
            return None
        return self.saved_wh / 1000.0 * tariff.per_kwh

    def saved_co2_kg(self, tariff: Tariff) -> float | None:
        """The CO2 not emitted, in kg, or None without a grid factor."""
        if tariff.co2_kg_per_kwh is None:
            return None
        return self.saved_wh / 1000.0 * tariff.co2_kg_per_kwh

    def __add__(self, other: Figures) -> Figures:
        planned = (
            None
            if self.planned_wh is None and other.planned_wh is None
            else (self.planned_wh or 0.0) + (other.planned_wh or 0.0)
        )
        return Figures(
            self.actual_wh + other.actual_wh, self.baseline_wh + other.baseline_wh, planned
        )


def deviates(actual_wh: float, planned_wh: float) -> bool:
    """Whether a light's day is far from its plan: it ignores its schedule.

    Far means more than DEVIATION_SHARE of the plan and more than
    DEVIATION_MIN_WH, either way (burning when it should dim or be off, or
    dark when it should burn).
    """
    gap = abs(actual_wh - planned_wh)
    return gap > DEVIATION_MIN_WH and gap > DEVIATION_SHARE * planned_wh and math.isfinite(gap)
