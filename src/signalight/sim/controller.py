"""A simulated actuated signal controller: its phases' greens, cycle by cycle, and its event log.

The phases are served in groups (phase ``p`` of ring 1 beside ``p + 4`` of
ring 2, as NEMA dual rings pair them), each group green, then yellow, then
all-red clearance. A green lasts its minimum plus as long as vehicles keep
coming: it ends by a gap-out (code 4) when they stop, or at its maximum by a
max-out (5), or, on a coordinated controller, a force-off (6) at its split.
So each cycle differs from the last, as on the street, and a monitor
reporting every minute sees every part of the cycle in turn. Events use the
Indiana hi-resolution codes that ATSPM reads; the vehicle detector of a
phase is its channel.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass
from typing import Final

__all__ = ["Controller", "phase_groups"]

YELLOW: Final = 4.0
RED_CLEARANCE: Final = 2.0
DETECTOR_LEAD: Final = 8.0  # a queued vehicle is detected this long before its green
DETECTOR_HOLD: Final = 6.0  # and the detector stays on this long
PULSE: Final = 0.8  # a passing vehicle holds the detector this long
GAP: Final = 3.0  # no vehicle this long ends the green (a gap-out)
# (minimum green, mean extension, maximum green), seconds: through and left-turn phases.
THROUGH: Final = (10.0, 14.0, 35.0)
LEFT: Final = (5.0, 5.0, 15.0)
COORDINATED: Final = 0.5  # the share of controllers that run coordinated plans
KEPT: Final = 4  # cycles kept behind the newest report

# Indiana event codes.
PHASE_GREEN: Final = 1
GAP_OUT: Final = 4
MAX_OUT: Final = 5
FORCE_OFF: Final = 6
PHASE_YELLOW: Final = 8
PHASE_RED_CLEARANCE: Final = 10
PHASE_RED: Final = 11  # end of red clearance: the phase rests in red
DETECTOR_OFF: Final = 81
DETECTOR_ON: Final = 82

Event = tuple[float, int, int]  # time (UTC epoch seconds), code, parameter


def phase_groups(phases: tuple[int, ...]) -> list[tuple[int, ...]]:
    """The phases served together, in the order served: ring 1 phase ``p`` beside ``p + 4``."""
    present = set(phases)
    groups: list[tuple[int, ...]] = []
    for phase in sorted(present):
        if 5 <= phase <= 8 and phase - 4 in present:  # noqa: PLR2004 - ring 2 of a NEMA controller
            continue
        partner = phase + 4
        groups.append((phase, partner) if phase <= 4 and partner in present else (phase,))  # noqa: PLR2004
    return groups


@dataclass(frozen=True, slots=True)
class _Interval:
    """One group's turn in a cycle: green from ``start`` to ``green``, then yellow, then red."""

    start: float
    green: float
    yellow: float
    red: float
    group: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class _Cycle:
    start: float
    end: float
    turns: tuple[_Interval, ...]
    events: tuple[Event, ...]  # by time
    times: tuple[float, ...]  # the events' times, to search


class Controller:
    """One intersection's controller; its cycles are drawn as time comes, from when first seen.

    Args:
        phases: The intersection's phases.
        rng: Its own random stream (a seed draws the same cycles).
    """

    def __init__(self, phases: tuple[int, ...], rng: random.Random) -> None:
        self.groups = phase_groups(phases)
        self.rng = rng
        self.coordinated = rng.random() < COORDINATED
        self._offset = rng.uniform(0.0, 120.0)  # where in its cycle it stands when first seen
        self._cycles: list[_Cycle] = []
        self._next: float | None = None
        self.stuck = -1  # a detector channel stuck on: it logs nothing

    def colours(self, t: float) -> dict[int, str]:
        """Each phase's lit colour at ``t``: green, yellow or red."""
        cycle = self._cycle_at(t)
        lit: dict[int, str] = {}
        for turn in cycle.turns:
            colour = (
                "green" if turn.start <= t < turn.green else "yellow" if t < turn.yellow else "red"
            )
            lit.update(dict.fromkeys(turn.group, "red" if t < turn.start else colour))
        return lit

    def events(self, since: float, t: float) -> list[Event]:
        """The events logged with ``since < time <= t``, oldest first."""
        self._cycle_at(t + DETECTOR_LEAD)  # a next cycle's first vehicles come before it
        out: list[Event] = []
        for cycle in self._cycles:
            if cycle.end <= since or (cycle.times[0] if cycle.times else cycle.start) > t:
                continue
            first = bisect.bisect_right(cycle.times, since)
            last = bisect.bisect_right(cycle.times, t)
            out += [
                e for e in cycle.events[first:last] if e[2] != self.stuck or e[1] < DETECTOR_OFF
            ]
        self._cycles = self._cycles[-KEPT:]
        return out

    def _cycle_at(self, t: float) -> _Cycle:
        if self._next is None:
            self._next = t - self._offset
        while not self._cycles or self._cycles[-1].end <= t:
            self._cycles.append(self._draw(self._next))
            self._next = self._cycles[-1].end
        cycles = self._cycles
        index = bisect.bisect_right([c.start for c in cycles], t) - 1
        return cycles[max(0, index)]

    def _draw(self, start: float) -> _Cycle:
        """One cycle: each group green as long as its traffic asks, within its limits."""
        rng = self.rng
        at = start
        turns: list[_Interval] = []
        events: list[Event] = []
        for group in self.groups or [()]:
            low, mean, high = THROUGH if any(p % 2 == 0 for p in group) else LEFT
            green = low + rng.expovariate(1.0 / mean)
            ending = GAP_OUT
            if green >= high:
                green = high
                ending = FORCE_OFF if self.coordinated else MAX_OUT
            turn = _Interval(
                at, at + green, at + green + YELLOW, at + green + YELLOW + RED_CLEARANCE, group
            )
            turns.append(turn)
            for phase in group:
                events += self._phase_events(turn, phase, ending)
            at = turn.red
        events.sort()
        return _Cycle(
            start,
            at if at > start else start + 1.0,
            tuple(turns),
            tuple(events),
            tuple(e[0] for e in events),
        )

    def _phase_events(self, turn: _Interval, phase: int, ending: int) -> list[Event]:
        """A phase's green, its end and clearance, and its detector's vehicles."""
        rng = self.rng
        events: list[Event] = [
            (turn.start, PHASE_GREEN, phase),
            (turn.green, ending, phase),
            (turn.green, PHASE_YELLOW, phase),
            (turn.yellow, PHASE_RED_CLEARANCE, phase),
            (turn.red, PHASE_RED, phase),
            (turn.start - DETECTOR_LEAD, DETECTOR_ON, phase),
            (turn.start - DETECTOR_LEAD + DETECTOR_HOLD, DETECTOR_OFF, phase),
        ]
        # Vehicles passing in the green, none in its last GAP seconds when it gaps out.
        last = turn.green - (GAP if ending == GAP_OUT else PULSE)
        for _ in range(rng.randint(0, 2)):
            at = rng.uniform(turn.start + DETECTOR_HOLD, max(turn.start + DETECTOR_HOLD, last))
            events += [
                (round(at, 1), DETECTOR_ON, phase),
                (round(at + PULSE, 1), DETECTOR_OFF, phase),
            ]
        return [(round(at, 1), code, p) for at, code, p in events]
