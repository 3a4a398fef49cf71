"""The ATSPM watchdog's daily checks of an intersection, and its detector faults of the day.

UDOT's ATSPM mails a "watchdog" report every morning: the signals that
logged too few events, the detectors with too few hits in the evening
peak, and the phases that ended by max-out or force-off, or served the
pedestrian, too often in the small hours, when traffic is light and such a
pattern means a detector or a push button stuck on. The rules and their
defaults here are ATSPM's (``utahudot/udot-atspm``: ``WatchDogPmLogService``,
``WatchDogAmLogService``, ``AnalysisPhaseService``, ``WatchdogConfiguration``;
the peak hour from the seed of ATSPM 4, ``udotdevelopment/ATSPM``);
``docs/faults.md`` lists each with its source.

ATSPM knows which channels are advance-count detectors and which phases
have an approach; the inventory does not, so every detector channel the
day's events name is checked, and every phase that ended or walked in the
night window. Its detector faults (Indiana 83-88 for vehicle detectors,
91/92 for pedestrian ones) are summarised beside the checks.

The rules read counts of the day's windows (``event_counts``), made by the
store or, from events, by :func:`tally_events`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Final, NamedTuple
from zoneinfo import ZoneInfo

from signalight.domain.errors import InvalidInputError
from signalight.domain.event_counts import CodeCount, DayTallies, Tally, count_events

__all__ = [
    "NIGHT_CODES",
    "PEAK_CODES",
    "Check",
    "DetectorFault",
    "DetectorKind",
    "Finding",
    "PhaseCounts",
    "WatchWindows",
    "WatchdogDay",
    "WatchdogThresholds",
    "detector_faults",
    "low_detector_hits",
    "missing_records",
    "phase_counts",
    "phase_findings",
    "tally_events",
    "watch_day",
    "watch_windows",
]

GAP_OUT, MAX_OUT, FORCE_OFF = 4, 5, 6
PED_WALK, PED_DONT_WALK = 21, 23  # what ATSPM counts as a phase's pedestrian events
DETECTOR_OFF, DETECTOR_ON, DETECTOR_RESTORED = 81, 82, 83
VEHICLE_FAULTS: Final = {
    84: "other",
    85: "watchdog",
    86: "openLoop",
    87: "shortedLoop",
    88: "excessiveChange",
}
PED_FAILED, PED_RESTORED = 91, 92
NIGHT_CODES: Final = frozenset({GAP_OUT, MAX_OUT, FORCE_OFF, PED_WALK, PED_DONT_WALK})
PEAK_CODES: Final = frozenset({DETECTOR_ON})
# The codes that name a vehicle detector channel in their parameter.
_CHANNEL_CODES: Final = frozenset({DETECTOR_OFF, DETECTOR_ON, DETECTOR_RESTORED, *VEHICLE_FAULTS})


class Check(StrEnum):
    """A watchdog check, named as the alarm types are."""

    MISSING_RECORDS = "missingRecords"  # ATSPM RecordCount
    LOW_DETECTOR_HITS = "lowDetectorHits"  # ATSPM LowDetectorHits
    MAX_OUT = "maxOut"  # ATSPM MaxOutThreshold
    FORCE_OFF = "forceOff"  # ATSPM ForceOffThreshold
    STUCK_PED = "stuckPed"  # ATSPM StuckPed


class DetectorKind(StrEnum):
    """Which detectors a fault code speaks of."""

    VEHICLE = "vehicle"  # codes 83-88, by detector channel
    PEDESTRIAN = "pedestrian"  # codes 91/92, by pedestrian detector


def _hours(span: tuple[int, int], name: str) -> None:
    start, end = span
    if not 0 <= start < end <= 24:  # noqa: PLR2004 - hours of a day
        raise InvalidInputError(f"{name}: hours {start}-{end} are not a span of one day")


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchdogThresholds:
    """When a check speaks; ATSPM's defaults (``WatchdogConfiguration``)."""

    minimum_records: int = 500  # MinimumRecords: a day of this many events or fewer is missing
    low_hit_threshold: int = 50  # LowHitThreshold: fewer detector-on events in the peak is low
    peak_hours: tuple[int, int] = (17, 18)  # PreviousDayPMPeakStart/End (ATSPM 4's seed)
    night_hours: tuple[int, int] = (1, 5)  # AmStartHour/AmEndHour (ScanDayStart/EndHour)
    percent_threshold: float = 0.9  # PercentThreshold: a share of terminations above it
    min_phase_terminations: int = 50  # MinPhaseTerminations: only with more terminations
    maximum_pedestrian_events: int = 200  # MaximumPedestrianEvents: more walks + don't walks

    def __post_init__(self) -> None:
        _hours(self.peak_hours, "peak_hours")
        _hours(self.night_hours, "night_hours")
        if not 0 < self.percent_threshold <= 1:
            raise InvalidInputError("percent_threshold: a share above 0 and at most 1")
        counts = (
            self.minimum_records,
            self.low_hit_threshold,
            self.min_phase_terminations,
            self.maximum_pedestrian_events,
        )
        if min(counts) < 0:
            raise InvalidInputError("watchdog thresholds: counts cannot be negative")


class WatchWindows(NamedTuple):
    """A local day's spans as UTC epoch seconds ``[start, end)``."""

    day: tuple[float, float]  # local midnight to midnight: 23 or 25 hours on a clock change
    night: tuple[float, float]  # the night hours: phase terminations and pedestrian events
    peak: tuple[float, float]  # the peak hours: detector hits


def watch_windows(day: date, zone: ZoneInfo, thresholds: WatchdogThresholds) -> WatchWindows:
    """The spans of ``day`` in ``zone``, each from its local wall-clock hours."""

    def at(hour: int) -> float:
        when = datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(hours=hour)
        # Added to an aware datetime, hours move the wall clock, not the elapsed time.
        return when.timestamp()

    return WatchWindows(
        day=(at(0), at(24)),
        night=(at(thresholds.night_hours[0]), at(thresholds.night_hours[1])),
        peak=(at(thresholds.peak_hours[0]), at(thresholds.peak_hours[1])),
    )


def tally_events(events: Iterable[tuple[float, int, int]], windows: WatchWindows) -> DayTallies:
    """The counts of a day's ``(time, code, param)`` events (each once), as the store makes them."""
    kept = list(events)
    return DayTallies(
        day=count_events(kept, windows.day),
        night=count_events(kept, windows.night, NIGHT_CODES),
        peak=count_events(kept, windows.peak, PEAK_CODES),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One check that spoke for an intersection: what it measured, against what, in words."""

    intersection: str  # the intersection's code
    check: Check
    phase: int | None = None  # maxOut, forceOff, stuckPed
    detector: int | None = None  # lowDetectorHits: the detector channel
    figure: float  # events, hits, a share of terminations (0-1), pedestrian events
    threshold: float
    words: str


@dataclass(frozen=True, slots=True)
class PhaseCounts:
    """How one phase ended its greens, and walked, in the night window."""

    phase: int
    gap_outs: int = 0
    max_outs: int = 0
    force_offs: int = 0
    ped_events: int = 0  # walks (21) and solid don't walks (23), as ATSPM counts them

    @property
    def terminations(self) -> int:
        """Gap-outs, max-outs and force-offs: the denominator of both shares."""
        return self.gap_outs + self.max_outs + self.force_offs

    @property
    def max_out_share(self) -> float:
        """Max-outs over terminations; 0 with none."""
        return self.max_outs / self.terminations if self.terminations else 0.0

    @property
    def force_off_share(self) -> float:
        """Force-offs over terminations; 0 with none."""
        return self.force_offs / self.terminations if self.terminations else 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class DetectorFault:
    """A detector that faulted in the day: how often, how, and whether it was restored."""

    kind: DetectorKind
    channel: int  # the detector channel (vehicle) or pedestrian detector number
    faults: dict[str, int]  # by fault: {"shortedLoop": 8}; {"failed": 2} for a pedestrian one
    restorations: int
    first_fault: float  # UTC epoch seconds
    last_fault: float
    restored: bool  # a restoration came after the last fault

    @property
    def count(self) -> int:
        """Every fault event of the day."""
        return sum(self.faults.values())

    @property
    def words(self) -> str:
        """The fault in a line: "vehicle detector 4: 201 excessiveChange, 199 restored; faulted"."""
        how = ", ".join(f"{n} {name}" for name, n in sorted(self.faults.items()))
        state = "restored" if self.restored else "faulted at the end of the day"
        return f"{self.kind} detector {self.channel}: {how}, {self.restorations} restored; {state}"


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchdogDay:
    """What the watchdog made of one intersection's day."""

    intersection: str
    records: int
    findings: tuple[Finding, ...]
    phases: tuple[PhaseCounts, ...]  # every phase that ended or walked in the night window
    faults: tuple[DetectorFault, ...]


def _span(hours: tuple[int, int]) -> str:
    return f"{hours[0]:02d}:00-{hours[1]:02d}:00"


def missing_records(
    intersection: str, records: int, thresholds: WatchdogThresholds
) -> Finding | None:
    """ATSPM's record count: a day of ``minimum_records`` events or fewer is missing records."""
    if records > thresholds.minimum_records:
        return None
    said = "no events" if not records else f"only {records:,} events"
    return Finding(
        intersection=intersection,
        check=Check.MISSING_RECORDS,
        figure=records,
        threshold=thresholds.minimum_records,
        words=f"{said} in the day (more than {thresholds.minimum_records:,} expected)",
    )


def low_detector_hits(
    intersection: str, tallies: DayTallies, thresholds: WatchdogThresholds
) -> list[Finding]:
    """Each detector channel of the day with fewer detector-on events in the peak than the limit.

    The channels are those the day's events name (on, off, restored or
    faulted): a detector dead all day long names none and is not seen here.
    """
    channels = sorted({param for code, param in tallies.day if code in _CHANNEL_CODES})
    found = []
    for channel in channels:
        hits = tallies.peak.get((DETECTOR_ON, channel), CodeCount(0, 0.0, 0.0)).n
        if hits >= thresholds.low_hit_threshold:
            continue
        found.append(
            Finding(
                intersection=intersection,
                check=Check.LOW_DETECTOR_HITS,
                detector=channel,
                figure=hits,
                threshold=thresholds.low_hit_threshold,
                words=f"detector {channel}: {hits:,} hits {_span(thresholds.peak_hours)},"
                f" fewer than {thresholds.low_hit_threshold:,}",
            )
        )
    return found


def phase_counts(night: Tally) -> list[PhaseCounts]:
    """Each phase's terminations and pedestrian events in the night window, by phase."""
    counts: dict[int, dict[int, int]] = {}
    for (code, param), count in night.items():
        if code in NIGHT_CODES:
            counts.setdefault(param, {})[code] = count.n
    return [
        PhaseCounts(
            phase,
            gap_outs=by.get(GAP_OUT, 0),
            max_outs=by.get(MAX_OUT, 0),
            force_offs=by.get(FORCE_OFF, 0),
            ped_events=by.get(PED_WALK, 0) + by.get(PED_DONT_WALK, 0),
        )
        for phase, by in sorted(counts.items())
    ]


def phase_findings(
    intersection: str, phases: Iterable[PhaseCounts], thresholds: WatchdogThresholds
) -> list[Finding]:
    """ATSPM's max-out, force-off and stuck-pedestrian checks of each phase's night.

    A share speaks above ``percent_threshold`` with more than
    ``min_phase_terminations`` terminations; pedestrian events above
    ``maximum_pedestrian_events``. All three are strict, as ATSPM's are.
    """
    found = []
    night = _span(thresholds.night_hours)
    limit = thresholds.percent_threshold
    for counts in phases:
        phase, total = counts.phase, counts.terminations
        enough = total > thresholds.min_phase_terminations
        for check, share, ended, how in (
            (Check.MAX_OUT, counts.max_out_share, counts.max_outs, "maxed out"),
            (Check.FORCE_OFF, counts.force_off_share, counts.force_offs, "forced off"),
        ):
            if enough and share > limit:
                found.append(
                    Finding(
                        intersection=intersection,
                        check=check,
                        phase=phase,
                        figure=share,
                        threshold=limit,
                        words=f"phase {phase} {how} {ended:,} of {total:,} times {night}"
                        f" ({share:.1%}, over {limit:.0%})",
                    )
                )
        if counts.ped_events > thresholds.maximum_pedestrian_events:
            found.append(
                Finding(
                    intersection=intersection,
                    check=Check.STUCK_PED,
                    phase=phase,
                    figure=counts.ped_events,
                    threshold=thresholds.maximum_pedestrian_events,
                    words=f"phase {phase}: {counts.ped_events:,} pedestrian walk and don't-walk"
                    f" events {night}, over {thresholds.maximum_pedestrian_events:,}:"
                    " a push button stuck on?",
                )
            )
    return found


def detector_faults(day: Tally) -> list[DetectorFault]:
    """Every detector with a fault event in the day, vehicle detectors first, by channel.

    A detector is restored when a restoration (83, 92) came strictly after
    its last fault; one at the same tenth of a second does not say which
    was last, so the detector is left faulted for someone to look at. A
    restoration with no fault in the day is not listed: Econolite logs 83
    over and over for healthy channels (26 times in 15 minutes in the ATSPM
    sample ``ECON_10.205.17.215``).
    """
    kinds = (
        (DetectorKind.VEHICLE, VEHICLE_FAULTS, DETECTOR_RESTORED),
        (DetectorKind.PEDESTRIAN, {PED_FAILED: "failed"}, PED_RESTORED),
    )
    found = []
    for kind, names, restored_code in kinds:
        for channel in sorted({param for code, param in day if code in names}):
            counts = {names[code]: day[(code, channel)] for code in names if (code, channel) in day}
            restored = day.get((restored_code, channel))
            last_fault = max(count.last for count in counts.values())
            found.append(
                DetectorFault(
                    kind=kind,
                    channel=channel,
                    faults={name: count.n for name, count in counts.items()},
                    restorations=restored.n if restored else 0,
                    first_fault=min(count.first for count in counts.values()),
                    last_fault=last_fault,
                    restored=restored is not None and restored.last > last_fault,
                )
            )
    return found


def watch_day(
    intersection: str, tallies: DayTallies, thresholds: WatchdogThresholds
) -> WatchdogDay:
    """Every check of one intersection's day, and its detector faults.

    As ATSPM does, a day with missing records is judged on that alone: its
    hits and shares would only repeat that the log is short.
    """
    records = tallies.records
    phases = phase_counts(tallies.night)
    short = missing_records(intersection, records, thresholds)
    findings = (
        [short]
        if short is not None
        else [
            *low_detector_hits(intersection, tallies, thresholds),
            *phase_findings(intersection, phases, thresholds),
        ]
    )
    return WatchdogDay(
        intersection=intersection,
        records=records,
        findings=tuple(findings),
        phases=tuple(phases),
        faults=tuple(detector_faults(tallies.day)),
    )
