"""The bodies of a city's traffic-signal reports: the daily watchdog report."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from signalight.domain.signals import LogFile
from signalight.domain.watchdog import (
    Check,
    DetectorFault,
    DetectorKind,
    Finding,
    PhaseCounts,
    WatchdogDay,
    WatchdogThresholds,
)
from signalight.services.signal_watchdog import WatchdogReport, WatchdogTotals


def _utc(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


class SpanOut(BaseModel):
    """A span of the day, ``start <= time < end``."""

    start: dt.datetime
    end: dt.datetime

    @classmethod
    def of(cls, span: tuple[float, float]) -> SpanOut:
        """The body of a span in UTC epoch seconds."""
        return cls(start=_utc(span[0]), end=_utc(span[1]))


class FindingOut(BaseModel):
    """One check that spoke for an intersection."""

    check: Check
    phase: int | None = Field(description="The phase, for maxOut, forceOff and stuckPed")
    detector: int | None = Field(description="The detector channel, for lowDetectorHits")
    figure: float = Field(
        description="What was measured: events of the day, detector hits in the peak,"
        " a share of terminations (0-1), pedestrian events in the night"
    )
    threshold: float
    words: str

    @classmethod
    def of(cls, finding: Finding) -> FindingOut:
        """The body of a finding."""
        return cls(
            check=finding.check,
            phase=finding.phase,
            detector=finding.detector,
            figure=finding.figure,
            threshold=finding.threshold,
            words=finding.words,
        )


class PhaseOut(BaseModel):
    """How one phase ended its greens, and walked, in the night window."""

    phase: int
    gap_outs: int
    max_outs: int
    force_offs: int
    terminations: int = Field(description="gap_outs + max_outs + force_offs")
    max_out_share: float = Field(ge=0, le=1)
    force_off_share: float = Field(ge=0, le=1)
    ped_events: int = Field(description="Pedestrian walks (21) and solid don't walks (23)")

    @classmethod
    def of(cls, counts: PhaseCounts) -> PhaseOut:
        """The body of a phase's counts."""
        return cls(
            phase=counts.phase,
            gap_outs=counts.gap_outs,
            max_outs=counts.max_outs,
            force_offs=counts.force_offs,
            terminations=counts.terminations,
            max_out_share=counts.max_out_share,
            force_off_share=counts.force_off_share,
            ped_events=counts.ped_events,
        )


class DetectorFaultOut(BaseModel):
    """A detector that faulted in the day."""

    kind: DetectorKind
    channel: int
    faults: dict[str, int] = Field(
        description="Fault events by fault: other, watchdog, openLoop, shortedLoop,"
        " excessiveChange (vehicle, codes 84-88); failed (pedestrian, 91)"
    )
    restorations: int = Field(description="Restored events (83, or 92 for a pedestrian one)")
    first_fault: dt.datetime
    last_fault: dt.datetime
    restored: bool = Field(description="A restoration came after the last fault")
    words: str

    @classmethod
    def of(cls, fault: DetectorFault) -> DetectorFaultOut:
        """The body of a detector's faults."""
        return cls(
            kind=fault.kind,
            channel=fault.channel,
            faults=fault.faults,
            restorations=fault.restorations,
            first_fault=_utc(fault.first_fault),
            last_fault=_utc(fault.last_fault),
            restored=fault.restored,
            words=fault.words,
        )


class IntersectionWatchOut(BaseModel):
    """One intersection's day."""

    intersection: str = Field(description="The intersection's code")
    records: int = Field(description="Events it logged in the day")
    findings: list[FindingOut]
    phases: list[PhaseOut]
    detector_faults: list[DetectorFaultOut]

    @classmethod
    def of(cls, day: WatchdogDay) -> IntersectionWatchOut:
        """The body of an intersection's day."""
        return cls(
            intersection=day.intersection,
            records=day.records,
            findings=[FindingOut.of(f) for f in day.findings],
            phases=[PhaseOut.of(p) for p in day.phases],
            detector_faults=[DetectorFaultOut.of(f) for f in day.faults],
        )


class ThresholdsOut(BaseModel):
    """The thresholds the report was made with (ATSPM's defaults)."""

    minimum_records: int
    low_hit_threshold: int
    peak_hours: tuple[int, int]
    night_hours: tuple[int, int]
    percent_threshold: float
    min_phase_terminations: int
    maximum_pedestrian_events: int

    @classmethod
    def of(cls, thresholds: WatchdogThresholds) -> ThresholdsOut:
        """The body of the thresholds."""
        return cls(
            minimum_records=thresholds.minimum_records,
            low_hit_threshold=thresholds.low_hit_threshold,
            peak_hours=thresholds.peak_hours,
            night_hours=thresholds.night_hours,
            percent_threshold=thresholds.percent_threshold,
            min_phase_terminations=thresholds.min_phase_terminations,
            maximum_pedestrian_events=thresholds.maximum_pedestrian_events,
        )


class TotalsOut(BaseModel):
    """The report in figures."""

    intersections: int = Field(description="Intersections in service, each judged")
    flagged: int = Field(description="Of them, with at least one finding")
    findings: dict[Check, int] = Field(description="Findings by check")
    detectors_faulted: int
    still_faulted: int = Field(description="Detectors not restored by the end of the day")

    @classmethod
    def of(cls, totals: WatchdogTotals) -> TotalsOut:
        """The body of the totals."""
        return cls(
            intersections=totals.intersections,
            flagged=totals.flagged,
            findings=totals.findings,
            detectors_faulted=totals.detectors_faulted,
            still_faulted=totals.still_faulted,
        )


class WatchdogOut(BaseModel):
    """A city's watchdog report of one local day."""

    city: str
    date: dt.date = Field(description="The local day reported")
    timezone: str
    day: SpanOut = Field(description="The local day, midnight to midnight, in UTC")
    night: SpanOut = Field(description="The night window: max-outs, force-offs, stuck pedestrians")
    peak: SpanOut = Field(description="The peak window: detector hits")
    thresholds: ThresholdsOut
    totals: TotalsOut
    intersections: list[IntersectionWatchOut] = Field(description="By code")

    @classmethod
    def of(cls, report: WatchdogReport) -> WatchdogOut:
        """The body of a report."""
        return cls(
            city=report.city,
            date=report.day,
            timezone=report.timezone,
            day=SpanOut.of(report.windows.day),
            night=SpanOut.of(report.windows.night),
            peak=SpanOut.of(report.windows.peak),
            thresholds=ThresholdsOut.of(report.thresholds),
            totals=TotalsOut.of(report.totals),
            intersections=[IntersectionWatchOut.of(day) for day in report.intersections],
        )


class LogFileOut(BaseModel):
    """A controller log file taken by an import or the drop directory, and what came of it."""

    id: int
    name: str
    size: int = Field(description="bytes")
    format: str | None = Field(
        description="econolite-dat, maxtime-xml, atspm-csv, ...; null: unknown"
    )
    events: int = Field(description="event records in the file, copies included")
    new: int = Field(description="events not stored before")
    status: str = Field(description="stored, partial (some controllers unknown) or refused")
    reason: str = Field(description="why refused, or which controllers matched no intersection")
    intersections: list[str]
    taken_at: dt.datetime

    @classmethod
    def of(cls, log: LogFile) -> LogFileOut:
        """The file's record."""
        return cls(
            id=log.id or 0,
            name=log.name,
            size=log.size,
            format=log.format.value if log.format is not None else None,
            events=log.events,
            new=log.new,
            status=log.status.value,
            reason=log.reason,
            intersections=list(log.intersections),
            taken_at=dt.datetime.fromtimestamp(log.at, dt.UTC),
        )


class LogFilesOut(BaseModel):
    """The city's newest log files and how many of each status it has had."""

    counts: dict[str, int]
    items: list[LogFileOut]
