"""Scoring the alarms against a ground-truth log: recall, precision and time to detect, per type.

A fault is *expected* to be detected when it was observable long enough for
its rule (``fault_visibility.py``): a lamp fault needs the lamp switched on
(a lamp that fails at noon shows at dusk), day burning needs the sun up, a
silence needs the rule's number of missed reports. A fault that an alarm
caught all the same is expected too: it was observable, since it was seen.
Recall counts only expected faults; an alarm that matches any fault of its
type on its asset (raised between the fault's start and its end plus the
rule's allowance) is a true alarm, whether or not the fault was expected.
A voltage fault of a cabinet's supply also explains the alarms of its type
on the lights the cabinet feeds. Every other alarm is false, whatever its
type. Alarms are matched to assets by code, or by asset id where the code
is missing or names no asset of the city (an export of another tool).

Times to detect are measured from the fault's start and from when it became
observable (``visible``), which is what "within two reporting intervals"
means for a lamp that fails by day; the delay from visible is also given in
the reporting intervals of the type's devices ("a flash within one interval
of the monitor"). A crew's door opening in its window (``doorOpenAuthorised``)
expects no alarm: a break-in alarm on it is false, and counted apart.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from signalight.domain.alarms import Alarm, AlarmType
from signalight.domain.faults import DetectionSettings
from signalight.services.fault_visibility import (
    AUTHORISED_OPENING,
    FEEDER,
    FaultObserver,
    FaultSite,
    Truth,
    feeds,
)
from signalight.services.score_inputs import all_alarms, raisings, sites_of, truths_of

__all__ = [
    "DELAY_KEYS",
    "SCORED",
    "FaultSite",
    "Score",
    "Truth",
    "TypeScore",
    "all_alarms",
    "passes",
    "raisings",
    "score",
    "sites_of",
    "table",
    "truths_of",
]

# The simulator's fault names and the alarm each expects: one for every alarm type
# the rules raise, so that no correct alarm is false for want of a fault to match
# (tests/services/test_scoring.py holds them to AlarmType and the simulator's types).
SCORED: Final[Mapping[str, AlarmType]] = {
    "lampFailure": AlarmType.LAMP_FAILURE,
    "lampUnexpectedOn": AlarmType.LAMP_UNEXPECTED_ON,
    "cyclingFailure": AlarmType.CYCLING_FAILURE,
    "dimmingFailure": AlarmType.DIMMING_FAILURE,
    "highPower": AlarmType.HIGH_POWER,
    "highVoltage": AlarmType.HIGH_VOLTAGE,
    "lowVoltage": AlarmType.LOW_VOLTAGE,
    "lowPowerFactor": AlarmType.LOW_POWER_FACTOR,
    "nodeFault": AlarmType.NODE_FAULT,
    "orientationChanged": AlarmType.ORIENTATION_CHANGED,
    "communicationFailure": AlarmType.COMMUNICATION_FAILURE,
    "supplyLoss": AlarmType.SUPPLY_LOSS,
    # Traffic signals.
    "signalFlash": AlarmType.SIGNAL_FLASH,
    "signalDark": AlarmType.SIGNAL_DARK,
    "conflictFlash": AlarmType.CONFLICT_FLASH,
    "redLampFailure": AlarmType.RED_LAMP_FAILURE,
    "manualControl": AlarmType.MANUAL_CONTROL,
    "stopTime": AlarmType.STOP_TIME,
    "mainsFailure": AlarmType.MAINS_FAILURE,
    "batteryLow": AlarmType.BATTERY_LOW,
    "doorOpenUnauthorised": AlarmType.DOOR_OPEN_UNAUTHORISED,
    "doorOpenTooLong": AlarmType.DOOR_OPEN_TOO_LONG,
    "cabinetAlarm": AlarmType.CABINET_ALARM,
    "detectorFault": AlarmType.DETECTOR_FAULT,
    "pedestrianDetectorFault": AlarmType.PEDESTRIAN_DETECTOR_FAULT,
}
TIME_KEYS: Final = ("ttd_median_s", "ttd_p95_s", "visible_median_s", "visible_p95_s")
DELAY_KEYS: Final = ("delay_p95_intervals", "delay_max_intervals")
CLOCK_SLACK_S: Final = 60.0  # an alarm may carry a stream time a little before the fault's
REPEAT_WINDOW_S: Final = 3600.0  # a fault's alarm raised again this long after it ended is true
_LAMP_ALARMS: Final = frozenset(
    {
        AlarmType.LAMP_FAILURE,
        AlarmType.CYCLING_FAILURE,
        AlarmType.DIMMING_FAILURE,
        AlarmType.LAMP_UNEXPECTED_ON,
        AlarmType.HIGH_POWER,
        AlarmType.COMMUNICATION_FAILURE,
    }
)


@dataclass(slots=True)
class TypeScore:
    """The figures of one fault type."""

    type: str
    faults: int = 0  # in the ground truth, within the window
    expected: int = 0  # observable long enough for the rule, or detected all the same
    detected: int = 0  # expected and matched by an alarm
    alarms: int = 0  # raised (not held), of this type
    true_alarms: int = 0  # matched to a fault of this type on the same asset (or its cabinet)
    from_start: list[float] = field(default_factory=list)  # seconds, detected expected faults
    from_visible: list[float] = field(default_factory=list)
    interval: float | None = None  # the reporting interval of its assets' devices, seconds

    @property
    def recall(self) -> float | None:
        """Detected over expected."""
        return self.detected / self.expected if self.expected else None

    @property
    def precision(self) -> float | None:
        """True alarms over alarms."""
        return self.true_alarms / self.alarms if self.alarms else None

    def delay(self, share: float) -> float | None:
        """The ``share`` percentile of the time to detect from visible, in reporting intervals."""
        found = percentile(self.from_visible, share)
        return None if found is None or not self.interval else found / self.interval


@dataclass(slots=True)
class Score:
    """The whole score of one run."""

    rows: dict[str, TypeScore]
    outages: int = 0  # expected supply losses: the supplyLoss row's expected
    incidents: int = 0  # supplyLoss alarms matched to them (one each when all is well)
    lamp_alarms_in_outage: int = 0  # lamp or comm alarms (not held) on lights of a dark cabinet
    held: int = 0  # alarms held under incidents
    authorised_openings: int = 0  # crews' door openings in their windows: no alarm due
    break_ins_on_them: int = 0  # doorOpenUnauthorised alarms raised on them (false)


def percentile(values: Sequence[float], share: float) -> float | None:
    """The ``share`` percentile (nearest rank), or None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def median(values: Sequence[float]) -> float | None:
    """The median, or None."""
    return statistics.median(values) if values else None


def score(
    truths: Iterable[Truth],
    alarms: Iterable[Alarm],
    sites: Mapping[str, FaultSite],
    *,
    zone: str,
    start: float,
    end: float,
    settings: DetectionSettings | None = None,
) -> Score:
    """Score ``alarms`` of one city against its ground truth within ``[start, end)``.

    Args:
        truths: The faults of the ground truth (any city's lines filtered out before).
        alarms: Every alarm of the city (held ones too: they are counted apart), with
            their reopenings as alarms of their own (:func:`raisings`).
        sites: The city's assets by code.
        zone: The city's time zone (for its nights and dimming hours).
        start: The start of the run (epoch seconds).
        end: Its end: faults that lasted to the end end here.
        settings: The detection settings the alarms were raised with.
    """
    observer = FaultObserver(zone, settings or DetectionSettings())
    scorer = _Scorer(list(truths), sites, observer, end)
    scorer.index(alarms, start)
    for truth in sorted(scorer.truths, key=lambda t: t.start):
        scorer.judge(truth)
    scorer.count_repeats()
    result = scorer.result
    result.lamp_alarms_in_outage = _alarms_in_outage(scorer.by_key, sites, scorer.outages)
    return result


class _Scorer:
    """One scoring pass: alarms by type and asset, matched to the faults in time order."""

    def __init__(
        self,
        truths: list[Truth],
        sites: Mapping[str, FaultSite],
        observer: FaultObserver,
        end: float,
    ) -> None:
        self.truths = truths
        self.sites = sites
        self.observer = observer
        self.end = end
        self.result = Score({name: TypeScore(name) for name in SCORED})
        self.by_key: dict[tuple[AlarmType, str], list[Alarm]] = defaultdict(list)
        self.matched: set[int] = set()
        self.incidents: set[int] = set()
        self.outages: list[tuple[str, float, float]] = []
        self.fed = feeds(sites)
        self.code_of = {site.id: code for code, site in sites.items() if site.id is not None}

    def code(self, alarm: Alarm) -> str | None:
        """The asset an alarm is on: its code, or its id's where the code names no asset."""
        if alarm.asset_code is not None and alarm.asset_code in self.sites:
            return alarm.asset_code
        if alarm.asset_id is not None and alarm.asset_id in self.code_of:
            return self.code_of[alarm.asset_id]
        return alarm.asset_code

    def index(self, alarms: Iterable[Alarm], start: float) -> None:
        """File the alarms raised since ``start`` by type and asset; count the held apart."""
        rows = self.result.rows
        for alarm in alarms:
            code = self.code(alarm)
            if alarm.raised_at < start or code is None:
                continue
            if alarm.held:
                self.result.held += 1
                continue
            self.by_key[alarm.type, code].append(alarm)
            rows.setdefault(str(alarm.type), TypeScore(str(alarm.type))).alarms += 1

    def candidates(self, kind: AlarmType, truth: Truth) -> list[Alarm]:
        """The alarms that could answer a fault: on its asset, or a light its cabinet feeds."""
        found = list(self.by_key.get((kind, truth.asset), []))
        if truth.fault in FEEDER:
            for light in self.fed.get(truth.asset, ()):
                found += self.by_key.get((kind, light), [])
        return found

    def judge(self, truth: Truth) -> None:
        """Match one fault to the first alarm of its type and asset within its span."""
        kind = SCORED.get(truth.fault)
        site = self.sites.get(truth.asset)
        if site is None or truth.start >= self.end:
            return
        if truth.fault == AUTHORISED_OPENING:
            self.authorised(truth)
        if kind is None:
            return
        row = self.result.rows[truth.fault]
        row.faults += 1
        row.interval = self.observer.interval(site)
        until = min(truth.end if truth.end is not None else self.end, self.end)
        needs = self.observer.needs(truth, site)
        visible = self.observer.visible(truth, site)
        allowance = self.observer.allowance(truth, site)
        mine = [
            a
            for a in self.candidates(kind, truth)
            if truth.start - CLOCK_SLACK_S <= a.raised_at <= until + allowance
        ]
        found = min(
            (a for a in mine if id(a) not in self.matched),
            key=lambda a: a.raised_at,
            default=None,
        )
        if found is not None:
            self.matched.add(id(found))
            row.true_alarms += 1
        # A fault an alarm caught was observable, whatever the rule's usual pace:
        # counting it expected keeps detected within expected, and the footer's
        # outages and incidents the same as the supplyLoss row.
        expected = found is not None or (
            self.observer.observable(site, truth) and until - visible >= needs
        )
        if kind is AlarmType.SUPPLY_LOSS:
            self.outages.append((truth.asset, truth.start, until))
            if expected:
                self.result.outages += 1
                fresh = {id(a) for a in mine} - self.incidents
                self.incidents |= fresh
                self.result.incidents += len(fresh)
        if expected:
            row.expected += 1
            if found is not None:
                row.detected += 1
                row.from_start.append(found.raised_at - truth.start)
                row.from_visible.append(max(0.0, found.raised_at - visible))

    def authorised(self, truth: Truth) -> None:
        """A crew's opening in its window: count it, and the break-in alarms it drew."""
        self.result.authorised_openings += 1
        until = truth.end if truth.end is not None else self.end
        self.result.break_ins_on_them += sum(
            1
            for alarm in self.by_key.get((AlarmType.DOOR_OPEN_UNAUTHORISED, truth.asset), ())
            if truth.start - CLOCK_SLACK_S <= alarm.raised_at <= until
        )

    def count_repeats(self) -> None:
        """A second alarm of one fault (raised again after clearing) is true, not false.

        So is an alarm on a light while its cabinet's supply was out of band.
        """
        truths_at: dict[str, list[Truth]] = defaultdict(list)
        for truth in self.truths:
            truths_at[truth.asset].append(truth)
        for (kind, code), found in self.by_key.items():
            site = self.sites.get(code)
            cabinet = site.cabinet if site is not None else None
            causes = [
                t
                for t in (*truths_at.get(code, ()), *truths_at.get(cabinet or "", ()))
                if SCORED.get(t.fault) is kind and (t.asset == code or t.fault in FEEDER)
            ]
            for alarm in found:
                if id(alarm) in self.matched:
                    continue
                if any(
                    t.start - CLOCK_SLACK_S <= alarm.raised_at
                    and alarm.raised_at
                    <= (t.end if t.end is not None else self.end) + REPEAT_WINDOW_S
                    for t in causes
                ):
                    self.result.rows[str(kind)].true_alarms += 1


def _alarms_in_outage(
    by_key: Mapping[tuple[AlarmType, str], list[Alarm]],
    sites: Mapping[str, FaultSite],
    outages: Sequence[tuple[str, float, float]],
) -> int:
    """Lamp and silence alarms raised on lights while their cabinet was dark."""
    dark: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for cabinet, begin, finish in outages:
        dark[cabinet].append((begin, finish))
    count = 0
    for (kind, code), found in by_key.items():
        site = sites.get(code)
        if kind not in _LAMP_ALARMS or site is None or site.cabinet not in dark:
            continue
        spans = dark[site.cabinet]
        count += sum(
            1 for alarm in found for begin, finish in spans if begin <= alarm.raised_at < finish
        )
    return count


def table(result: Score) -> list[dict[str, object]]:
    """The score as rows: one per fault type, then the alarm types that no fault explains."""
    rows = []
    for name, row in result.rows.items():
        if not row.faults and not row.alarms:
            continue
        rows.append(
            {
                "type": name,
                "faults": row.faults,
                "expected": row.expected,
                "detected": row.detected,
                "recall": row.recall,
                "alarms": row.alarms,
                "true_alarms": row.true_alarms,
                "precision": row.precision,
                "ttd_median_s": median(row.from_start),
                "ttd_p95_s": percentile(row.from_start, 0.95),
                "visible_median_s": median(row.from_visible),
                "visible_p95_s": percentile(row.from_visible, 0.95),
                "interval_s": row.interval,
                "delay_p95_intervals": row.delay(0.95),
                "delay_max_intervals": row.delay(1.0),
            }
        )
    return rows


def passes(result: Score, floor: float = 0.98) -> bool:
    """Whether every type with faults or alarms has recall and precision of at least ``floor``.

    Also one incident per outage and no lamp alarm under an outage.
    """
    for row in result.rows.values():
        if row.expected and (row.recall or 0.0) < floor:
            return False
        if row.alarms and (row.precision or 0.0) < floor:
            return False
    return result.incidents == result.outages and result.lamp_alarms_in_outage == 0
