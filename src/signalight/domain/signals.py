"""Traffic-signal controller events: what identifies one, and a decoded log file.

A controller logs Indiana hi-resolution events (``indiana_enumerations``):
a code and a parameter at a tenth of a second. Real logs hold many events at
one instant (phases 2 and 6 turning green together, a conflict flash with its
MMU detail) and exact duplicates, so an event is known by its intersection,
time, code and parameter together, as ATSPM's ``IndianaEvent.Equals`` knows
it: the live feed and an imported log of the same controller store each
event once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final, NamedTuple

__all__ = [
    "EVENT_CODE_MAX",
    "EVENT_PARAMETER_MAX",
    "ControllerEvent",
    "DecodedLog",
    "LogFile",
    "LogFormat",
    "LogStatus",
    "LogZone",
    "event_time",
]

# Indiana codes are 0-255; vendors log their own above (MAXTIME 300-619,
# comm statistics 400-503, up to about 1,300): kept, not refused.
EVENT_CODE_MAX: Final = 65_535
EVENT_PARAMETER_MAX: Final = 65_535


class ControllerEvent(NamedTuple):
    """One logged event: when, its Indiana code, its parameter (a phase, detector channel, ...)."""

    time: float  # UTC epoch seconds, at the log's resolution (see :func:`event_time`)
    code: int
    param: int


def event_time(seconds: float) -> float:
    """An event's time as stored: to the millisecond, so that both paths agree to the bit.

    A live SenML time (``1713380400.1``) and a decoded one (a header's start
    plus ``offset / 10``) differ in their last bits; rounded, both are the
    same double, and the store's key matches them.
    """
    return round(seconds, 3)


class LogFormat(StrEnum):
    """The native formats a controller's event log comes in."""

    ECONOLITE_DAT = "econolite-dat"  # ASC/3 and Cobalt binary .dat
    ECONOLITE_DATZ = "econolite-datz"  # the same, zlib-compressed
    MAXTIME_XML = "maxtime-xml"  # Q-Free MAXTIME EventResponses
    ATSPM_CSV = "atspm-csv"  # ATSPM's CSV export: signal, timestamp, code, parameter
    PARQUET = "parquet"  # TimeStamp, DeviceId, EventId, Parameter


class LogZone(StrEnum):
    """What a decoded log's times are measured in."""

    LOCAL = "local"  # the controller's wall clock, no zone given: the city's zone applies
    UTC = "utc"  # the file said its times are UTC (an offset or a zoned type)


@dataclass(slots=True)
class DecodedLog:
    """A log file decoded: its events by the log's own signal id, in file order.

    ``signals`` maps the id the file gives each controller (an IP address
    from an Econolite header, a ``DeviceId`` or ``LocationId``; ``""`` when
    the file names none, as a MAXTIME response does) to its events as
    ``(time, code, parameter)``. Times are seconds since the epoch of the
    clock ``zone`` says: for :attr:`LogZone.LOCAL`, the wall time read as if
    it were UTC, which the importer places in the city's time zone.
    Duplicates are kept here; the store drops them.
    """

    format: LogFormat
    zone: LogZone
    signals: dict[str, list[tuple[float, int, int]]] = field(default_factory=dict)

    @property
    def count(self) -> int:
        """How many event records the file holds, duplicates included."""
        return sum(len(events) for events in self.signals.values())


class LogStatus(StrEnum):
    """What became of an imported log file."""

    STORED = "stored"  # every controller it names is an intersection of the city: all stored
    PARTIAL = "partial"  # some controllers matched no intersection; the others' events stored
    REFUSED = "refused"  # nothing stored: unreadable, too large, or no controller matched


@dataclass(frozen=True, slots=True, kw_only=True)
class LogFile:
    """One log file taken by an import or the drop directory, and what came of it."""

    name: str
    size: int  # bytes
    format: LogFormat | None  # None when it could not be told
    events: int  # event records in the file, copies included
    new: int  # events not stored before
    status: LogStatus
    reason: str  # why refused, or which controllers matched nothing; "" when all went well
    intersections: tuple[str, ...] = ()  # the codes its events went to
    at: float = 0.0  # when it was taken, UTC epoch seconds
    id: int | None = None

    @property
    def duplicates(self) -> int:
        """Records that were stored already, or twice in the file."""
        return self.events - self.new if self.status is not LogStatus.REFUSED else 0
