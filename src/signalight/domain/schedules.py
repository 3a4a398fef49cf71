"""Lighting schedules: dimming profiles by the sun and the clock, and the plan of a night.

A :class:`Profile` is a night's steps: the first switches the light on at a
level, the last switches it off, and those between change its level (0 is
off, so a step to 0 and a later one back up make a switch-off window).
Each step is anchored to sunset, sunrise, civil dusk or dawn (with an
offset in minutes) or to a local clock time. A profile may also name
switch-off windows by the clock, for street classes that need no light in
the small hours.

The night of local day ``D`` runs from local noon on ``D`` to local noon on
``D + 1``: evening anchors (sunset, dusk, clock times from 12:00) fall in it
on ``D``, morning anchors (sunrise, dawn, clock times before 12:00) on
``D + 1``. Where the sun does not cross its line that night, the anchor
has no time and the plan says what a streetlight should: in a polar night
the light burns from noon to noon (offsets ignored), under a midnight sun
(or a white night, for dusk and dawn) it stays off.

:func:`night_plan` turns a profile and the sun's times into the
:class:`Plan` of one night: segments ``(start, end, level)`` in UTC epoch
seconds. Which profile a light follows on a night (assignment, calendar,
override) is :mod:`signalight.services.schedules`' business.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Final, NamedTuple

from signalight.domain.errors import InvalidInputError

if TYPE_CHECKING:
    from signalight.domain.sun import LocalDays, Twilight

__all__ = [
    "MAX_STEPS",
    "Anchor",
    "ClockWindow",
    "NightSun",
    "Plan",
    "Profile",
    "Segment",
    "Step",
    "night_of",
    "night_plan",
]

MAX_STEPS: Final = 24
MAX_OFFSET_MIN: Final = 360  # six hours either side of the sun's event
NOON: Final = time(12)
_EVENING: Final = frozenset({"sunset", "dusk"})


class Anchor(StrEnum):
    """What a step's time is counted from."""

    SUNSET = "sunset"
    SUNRISE = "sunrise"
    DUSK = "dusk"  # civil dusk: the sun 6 degrees below the horizon, evening
    DAWN = "dawn"  # civil dawn, morning
    CLOCK = "clock"  # a local wall-clock time


@dataclass(frozen=True, slots=True)
class Step:
    """From this time of the night on, the light burns at ``level`` percent (0: off)."""

    anchor: Anchor
    level: float
    offset_min: int = 0  # minutes after (negative: before) the sun's event
    at: time | None = None  # the clock time of a CLOCK step

    def problems(self) -> list[str]:
        """What is wrong with the step, in words (empty when it is sound)."""
        found = []
        if not 0 <= self.level <= 100:  # noqa: PLR2004 - percent
            found.append("a step's level must be between 0 and 100")
        if self.anchor is Anchor.CLOCK:
            if self.at is None:
                found.append("a clock step needs its time")
            if self.offset_min:
                found.append("a clock step takes no offset")
        else:
            if self.at is not None:
                found.append(f"a {self.anchor} step takes an offset, not a time")
            if abs(self.offset_min) > MAX_OFFSET_MIN:
                found.append(f"a step's offset must be within {MAX_OFFSET_MIN} minutes")
        return found

    @property
    def evening(self) -> bool:
        """Whether the step falls on the evening's date (else on the next morning's)."""
        if self.anchor is Anchor.CLOCK:
            return self.at is not None and self.at >= NOON
        return self.anchor in _EVENING

    def describe(self) -> str:
        """The step in words: ``sunset+5 min 100%``, ``23:00 60%``."""
        if self.anchor is Anchor.CLOCK and self.at is not None:
            when = self.at.strftime("%H:%M")
        elif self.offset_min:
            when = f"{self.anchor}{self.offset_min:+d} min"
        else:
            when = str(self.anchor)
        return f"{when} {'off' if self.level == 0 else f'{self.level:g}%'}"


@dataclass(frozen=True, slots=True)
class ClockWindow:
    """A window of local clock time in which the light is off, e.g. 01:00 to 05:00."""

    start: time
    end: time


@dataclass(frozen=True, slots=True)
class Profile:
    """A night's steps, from switching on to switching off, and its switch-off windows."""

    name: str
    steps: tuple[Step, ...]
    off_windows: tuple[ClockWindow, ...] = ()

    def problems(self) -> list[str]:
        """What is wrong with the profile, in words (empty when it is sound)."""
        found = []
        if not 0 < len(self.name) <= 100:  # noqa: PLR2004
            found.append("a profile's name must be 1 to 100 characters")
        if not 2 <= len(self.steps) <= MAX_STEPS:  # noqa: PLR2004 - on and off at least
            found.append(f"a profile needs 2 to {MAX_STEPS} steps: on, any changes, off")
            return found
        for step in self.steps:
            found.extend(step.problems())
        first, last = self.steps[0], self.steps[-1]
        if first.level == 0:
            found.append("the first step switches the light on: its level must be above 0")
        if not first.evening:
            found.append("the first step must fall in the evening (sunset, dusk or 12:00-23:59)")
        if last.level != 0:
            found.append("the last step switches the light off: its level must be 0")
        if last.evening and last.anchor is not Anchor.CLOCK:
            found.append("the last step must fall in the morning (sunrise, dawn or a clock time)")
        if len(self.off_windows) > MAX_STEPS:
            found.append(f"at most {MAX_STEPS} switch-off windows")
        if any(w.start == w.end for w in self.off_windows):
            found.append("a switch-off window must not start where it ends")
        return found

    def check(self) -> Profile:
        """The profile itself, or InvalidInputError saying all that is wrong with it."""
        found = self.problems()
        if found:
            raise InvalidInputError("; ".join(found))
        return self

    def describe(self) -> str:
        """The profile in words, step by step."""
        text = ", ".join(step.describe() for step in self.steps)
        windows = ", ".join(
            f"off {w.start.strftime('%H:%M')}-{w.end.strftime('%H:%M')}" for w in self.off_windows
        )
        return f"{text}; {windows}" if windows else text


class Segment(NamedTuple):
    """The light burns at ``level`` percent from ``start`` to ``end`` (UTC epoch seconds)."""

    start: float
    end: float
    level: float


@dataclass(frozen=True, slots=True)
class Plan:
    """What a light should do over a span of time: the lit segments in order, off between."""

    segments: tuple[Segment, ...]
    steps: tuple[float, ...] = field(default=())  # the times at which the level changes

    def level_at(self, t: float) -> float:
        """The planned level at ``t``: 0 outside every segment."""
        starts = [s.start for s in self.segments]
        index = bisect.bisect_right(starts, t) - 1
        if index >= 0 and t < self.segments[index].end:
            return self.segments[index].level
        return 0.0

    def near_step(self, t: float, margin: float) -> bool:
        """Whether a change of level falls in ``(t - margin, t + margin]``.

        That is, ``t`` lies in ``[step - margin, step + margin)`` of some step.
        """
        index = bisect.bisect_right(self.steps, t - margin)
        return index < len(self.steps) and self.steps[index] <= t + margin

    def lit_hours(self) -> float:
        """Hours lit at any level."""
        return sum(s.end - s.start for s in self.segments) / 3600.0

    def clipped(self, start: float, end: float) -> Plan:
        """The plan within ``[start, end)``."""
        kept = tuple(
            Segment(max(s.start, start), min(s.end, end), s.level)
            for s in self.segments
            if s.end > start and s.start < end
        )
        return Plan(kept, tuple(t for t in self.steps if start <= t < end))

    def overridden(self, spans: list[tuple[float, float, float]]) -> Plan:
        """The plan with each ``(start, end, level)`` laid over it in turn (the last on top)."""
        plan = self
        for start, end, level in spans:
            kept: list[Segment] = []
            for seg in plan.segments:
                kept.extend(
                    Segment(a, b, seg.level)
                    for a, b in _subtract(seg.start, seg.end, [(start, end)])
                )
            if level > 0:
                kept.append(Segment(start, end, level))
            joined = _joined(kept)
            changes = {s.start for s in joined} | {s.end for s in joined}
            plan = Plan(tuple(joined), tuple(sorted(changes)))
        return plan

    def energy_wh(self, rated_watts: float, share: Callable[[float], float]) -> float:
        """Watt-hours drawn by a light of ``rated_watts`` that follows the plan exactly.

        ``share`` gives the share of the rating drawn at a dim level (the
        luminaire's power curve).
        """
        return sum(rated_watts * share(s.level) * (s.end - s.start) for s in self.segments) / 3600.0

    def __add__(self, other: Plan) -> Plan:
        merged = sorted((*self.segments, *other.segments))
        return Plan(tuple(merged), tuple(sorted({*self.steps, *other.steps})))


class NightSun(NamedTuple):
    """The sun's four events of local day ``D`` and of ``D + 1``: one night's candidates."""

    today: Twilight
    tomorrow: Twilight


def night_of(days: LocalDays, t: float) -> date:
    """The local day whose night (noon to noon) holds ``t``."""
    day = days.at(t).day
    return day if t >= days.on(day, NOON) else day - timedelta(days=1)


def night_plan(profile: Profile, night: date, sun: NightSun, days: LocalDays) -> Plan:
    """The plan of ``profile`` over the night of local day ``night`` (noon to noon).

    Steps that fall before the first or after the last (a 05:00 step after
    a summer sunrise) do not apply; switch-off windows cut the lit span.
    """
    morning = night + timedelta(days=1)
    noon0, noon1 = days.on(night, NOON), days.on(morning, NOON)
    times = [_resolve(step, sun, days, night, (noon0, noon1)) for step in profile.steps]
    on, off = times[0], times[-1]
    if not on < off:
        return Plan(())
    level = profile.steps[0].level
    marks = [(on, level)]
    for t, step in sorted(zip(times[1:-1], profile.steps[1:-1], strict=True), key=_first):
        if t <= on:
            marks[0] = (on, step.level)  # a step at or before switching on sets the first level
        elif t < off:
            marks.append((t, step.level))
    marks.append((off, 0.0))
    cuts = _off_cuts(profile.off_windows, days, night, (noon0, noon1))
    segments: list[Segment] = []
    for (start, value), (end, _) in itertools.pairwise(marks):
        if value > 0 and end > start:
            segments.extend(Segment(a, b, value) for a, b in _subtract(start, end, cuts))
    joined = _joined(segments)
    changes = sorted({s.start for s in joined} | {s.end for s in joined})
    return Plan(tuple(joined), tuple(changes))


def _first(pair: tuple[float, Step]) -> float:
    return pair[0]


def _resolve(
    step: Step, sun: NightSun, days: LocalDays, night: date, noons: tuple[float, float]
) -> float:
    """The time of ``step`` in the night between the two noons."""
    noon0, noon1 = noons
    if step.anchor is Anchor.CLOCK:
        assert step.at is not None  # noqa: S101 - checked by Profile.problems
        return days.on(night if step.at >= NOON else night + timedelta(days=1), step.at)
    name = str(step.anchor)
    today: float = getattr(sun.today, name)
    tomorrow: float = getattr(sun.tomorrow, name)
    found = [t for t in (today, tomorrow) if math.isfinite(t) and noon0 <= t < noon1]
    if found:
        at = min(found) if step.evening else max(found)
        return min(max(at + step.offset_min * 60.0, noon0), noon1)
    # The sun does not cross the line this night: dark noon to noon, or never dark.
    if step.evening:
        never_set = math.inf in (today, tomorrow)
        return noon1 if never_set else noon0
    never_rise = math.inf in (today, tomorrow)
    return noon1 if never_rise else noon0


def _off_cuts(
    windows: tuple[ClockWindow, ...], days: LocalDays, night: date, noons: tuple[float, float]
) -> list[tuple[float, float]]:
    """The switch-off windows as epoch spans within the night."""
    noon0, noon1 = noons
    cuts = []
    for window in windows:
        for offset in (-1, 0, 1):
            day = night + timedelta(days=offset)
            start = days.on(day, window.start)
            end = days.on(day if window.end > window.start else day + timedelta(days=1), window.end)
            if end > noon0 and start < noon1:
                cuts.append((max(start, noon0), min(end, noon1)))
    return sorted(cuts)


def _subtract(
    start: float, end: float, cuts: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    """``[start, end)`` less the cuts."""
    spans = [(start, end)]
    for a, b in cuts:
        kept = []
        for s, e in spans:
            if b <= s or a >= e:
                kept.append((s, e))
                continue
            if s < a:
                kept.append((s, a))
            if b < e:
                kept.append((b, e))
        spans = kept
    return spans


def _joined(segments: list[Segment]) -> list[Segment]:
    """Adjacent segments at one level as one."""
    out: list[Segment] = []
    for seg in sorted(segments):
        if out and out[-1].end == seg.start and out[-1].level == seg.level:
            out[-1] = Segment(out[-1].start, seg.end, seg.level)
        else:
            out.append(seg)
    return out
