"""The periods of an energy report in the city's local time, and the darkness in each.

Hourly rollups are UTC hours; a report's days and months are the city's
local ones. A UTC hour belongs to the local period its start falls in: in
the few zones whose offset is not a whole number of hours (India, Nepal,
Newfoundland) the hour across local midnight counts in the day it starts in.
A local day is 23 or 25 hours long on a daylight-saving change, and its
hours are as many.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

from signalight.domain.energy import dark_seconds
from signalight.domain.errors import InvalidInputError
from signalight.domain.sun import Cell, LocalDays, SunTable
from signalight.domain.telemetry import HOUR

__all__ = [
    "MAX_DAYS",
    "MAX_HOUR_DAYS",
    "SUN_CELL_DEG",
    "Grouping",
    "Period",
    "Span",
    "check_range",
    "dark_in",
    "hour_spans",
    "span_of_hours",
    "spans",
]

# The sun's grid for baselines and plans: 0.05 degrees (about 5.5 km), within
# which sunset moves by some 12 seconds at the equator, a few thousandths of a
# night; a city of 20,000 lights has a few dozen such cells to compute, where
# the fault rules' 0.01-degree cells would be hundreds.
SUN_CELL_DEG: Final = 0.05
MAX_DAYS: Final = 400  # a year and a month: this month against the same month last year
MAX_HOUR_DAYS: Final = 31  # hour by hour, a month at most (744 rows a key)


class Period(StrEnum):
    """The length of a report's rows."""

    HOUR = "hour"
    DAY = "day"  # a local calendar day
    MONTH = "month"  # a local calendar month


class Grouping(StrEnum):
    """What a report's rows add up: the lights of one key."""

    CITY = "city"
    CABINET = "cabinet"  # the cabinet that feeds the lights (its code)
    GROUP = "group"
    STREET_CLASS = "street_class"
    LIGHT = "light"  # each light by its code


@dataclass(frozen=True, slots=True)
class Span:
    """One period of a report: its local label and its UTC bounds (epoch seconds)."""

    label: str  # local: "2024-05-01T19:00:00+08:00", "2024-05-01" or "2024-05"
    start: float
    end: float


def check_range(first: date, last: date, period: Period) -> None:
    """Raise InvalidInputError unless ``first..last`` (local days, both included) is reportable."""
    days = (last - first).days + 1
    if days < 1:
        raise InvalidInputError("from must not be after to")
    if days > MAX_DAYS:
        raise InvalidInputError(f"from and to may span at most {MAX_DAYS} days")
    if period is Period.HOUR and days > MAX_HOUR_DAYS:
        raise InvalidInputError(f"an hourly report may span at most {MAX_HOUR_DAYS} days")


def _midnight(zone: ZoneInfo, day: date) -> float:
    return datetime.combine(day, time(0), tzinfo=zone).timestamp()


def spans(zone: ZoneInfo, first: date, last: date, period: Period) -> list[Span]:
    """The report's periods from local day ``first`` to ``last`` included, oldest first.

    Months are cut to the range: a report from the 10th starts its first
    month on the 10th.
    """
    if period is Period.HOUR:
        return hour_spans(zone, _midnight(zone, first), _midnight(zone, last + timedelta(days=1)))
    found: list[Span] = []
    day = first
    while day <= last:
        if period is Period.DAY:
            following, label = day + timedelta(days=1), day.isoformat()
        else:
            month_end = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
            following, label = min(month_end, last + timedelta(days=1)), day.strftime("%Y-%m")
        found.append(Span(label, _midnight(zone, day), _midnight(zone, following)))
        day = following
    return found


def hour_spans(zone: ZoneInfo, start: float, end: float) -> list[Span]:
    """The UTC hours starting in ``[start, end)``, each labelled in local time with its offset."""
    first = start - start % HOUR
    return [
        Span(datetime.fromtimestamp(hour, UTC).astimezone(zone).isoformat(), hour, hour + HOUR)
        for hour in _hours(first if first >= start else first + HOUR, end)
    ]


def _hours(start: float, end: float) -> list[float]:
    count = max(0, int((end - start + HOUR - 1) // HOUR))
    return [start + i * HOUR for i in range(count)]


def span_of_hours(spans_: list[Span], start: float, end: float) -> list[tuple[float, int]]:
    """Each UTC hour starting in ``[start, end)`` and the index of its span (-1: none)."""
    starts = [span.start for span in spans_]
    found: list[tuple[float, int]] = []
    for hour in _hours(start - start % HOUR, end):
        index = bisect.bisect_right(starts, hour) - 1
        inside = index >= 0 and hour < spans_[index].end
        found.append((hour, index if inside else -1))
    return found


def dark_in(sun: SunTable, days: LocalDays, cell: Cell, start: float, end: float) -> float:
    """The seconds of ``[start, end)`` when the sun is down in ``cell``, across local days."""
    total = 0.0
    at = start
    while at < end:
        day = days.at(at)
        until = min(end, day.end)
        total += dark_seconds(sun.daylight(cell, day.day), at, until)
        at = until
    return total
