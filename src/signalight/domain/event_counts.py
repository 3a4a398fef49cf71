"""Controller events counted by code and parameter over a span: what daily reports read.

A busy intersection logs 100,000 events a day; a report wants how many of
each (code, parameter) fell in a span, and when the first and the last did.
A database counts them far faster than it returns the rows
(``SqlSignalEvents.tallies``); :func:`count_events` makes the same counts
from events, so a rule tested on events judges the store's counts alike.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

__all__ = ["CodeCount", "DayTallies", "Tally", "count_events"]


class CodeCount(NamedTuple):
    """How many events of one (code, parameter) in a span, and the first and last one's time."""

    n: int
    first: float  # UTC epoch seconds
    last: float


Tally = Mapping[tuple[int, int], CodeCount]


@dataclass(frozen=True, slots=True)
class DayTallies:
    """An intersection's counts of a day: every code over the whole day, and two windows'."""

    day: Tally  # every (code, parameter) of the local day
    night: Tally = field(default_factory=dict)  # the night window's, of the codes asked for
    peak: Tally = field(default_factory=dict)  # the peak window's, of the codes asked for

    @property
    def records(self) -> int:
        """Every event of the day."""
        return sum(count.n for count in self.day.values())


def count_events(
    events: Iterable[tuple[float, int, int]],
    span: tuple[float, float],
    codes: Collection[int] | None = None,
) -> dict[tuple[int, int], CodeCount]:
    """The counts of ``(time, code, param)`` events with ``start <= time < end`` (of ``codes``)."""
    start, end = span
    out: dict[tuple[int, int], CodeCount] = {}
    for at, code, param in events:
        if not start <= at < end or (codes is not None and code not in codes):
            continue
        seen = out.get((code, param))
        out[(code, param)] = (
            CodeCount(1, at, at)
            if seen is None
            else CodeCount(seen.n + 1, min(seen.first, at), max(seen.last, at))
        )
    return out
