"""Simulated traffic-signal monitors: phases cycling, lamp currents, events, and their faults.

Each intersection runs a fixed-time plan: its phases are served in groups
(phase ``p`` of ring 1 beside ``p + 4`` of ring 2, as NEMA dual rings pair
them), each group green, then yellow, then all-red clearance. Events use the
Indiana hi-resolution codes that ATSPM reads.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable
from typing import Final

from signalight.codecs.senml import encode_pack
from signalight.domain.readings import Reading
from signalight.sim.faults import HOUR, Fault, FaultType

THROUGH_GREEN: Final = 25.0  # seconds; even phases carry the through movements
LEFT_GREEN: Final = 10.0  # odd phases are protected left turns
YELLOW: Final = 4.0
RED_CLEARANCE: Final = 2.0
DETECTOR_LEAD: Final = 8.0  # a queued vehicle is detected this long before its green
DETECTOR_HOLD: Final = 6.0  # and the detector stays on this long
BATTERY_V: Final = 27.2  # a 24 V battery on float charge
BATTERY_START_V: Final = 25.6  # where it stands once the charger has dropped out
BATTERY_DRAIN_V_PER_H: Final = 1.2
BATTERY_EMPTY_V: Final = 22.0  # below this the UPS lets the signal go dark
FLASH_DUTY: Final = 0.5

# Indiana event codes.
PHASE_GREEN: Final = 1
PHASE_YELLOW: Final = 8
PHASE_RED_CLEARANCE: Final = 10
DETECTOR_OFF: Final = 81
DETECTOR_ON: Final = 82
FLASH_STATUS: Final = 173  # parameter: NTCIP unitFlashStatus
ALARM_STATUS: Final = 174  # parameter: NTCIP unitAlarmStatus1 bitmap
POWER_FAILED: Final = 182
POWER_RESTORED: Final = 184
ALARM_ON: Final = 200  # parameter: alarm input; the door switch is wired to input 1
ALARM_OFF: Final = 201
NOT_FLASH, AUTOMATIC_FLASH, MMU_FLASH = 2, 3, 6
MMU_FLASH_BIT: Final = 16

# The events a fault leaves in the controller's log when it starts and when it ends.
_FAULT_EVENTS: Final[dict[FaultType, tuple[tuple[tuple[int, int], ...], ...]]] = {
    FaultType.SIGNAL_FLASH: (((FLASH_STATUS, AUTOMATIC_FLASH),), ((FLASH_STATUS, NOT_FLASH),)),
    FaultType.CONFLICT: (
        ((FLASH_STATUS, MMU_FLASH), (ALARM_STATUS, MMU_FLASH_BIT)),
        ((FLASH_STATUS, NOT_FLASH), (ALARM_STATUS, 0)),
    ),
    FaultType.POWER_FAILURE: (((POWER_FAILED, 1),), ((POWER_RESTORED, 1),)),
    FaultType.DOOR_OPEN: (((ALARM_ON, 1),), ((ALARM_OFF, 1),)),
}

Random = Callable[[], float]


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


class SignalMonitor:
    """A signal cabinet's monitor: door, mode, MMU, mains, battery, lamps and the event log."""

    def __init__(
        self,
        code: str,
        uid: str | None,
        topic: str,
        phases: tuple[int, ...],
        interval: float,
        rng: random.Random,
        rnd: Random,
    ) -> None:
        self.code = code
        self.uid = uid
        self.topic = topic
        self.phases = phases
        self.interval = interval
        self.rnd = rnd
        self.groups = phase_groups(phases)
        self.offset = 0.0
        self.plan: list[tuple[float, float, float, tuple[int, ...]]] = []  # green, yellow, red ends
        self.events: list[tuple[float, int, int]] = []  # (offset in cycle, code, parameter)
        at = 0.0
        for group in self.groups:
            green = THROUGH_GREEN if any(p % 2 == 0 for p in group) else LEFT_GREEN
            start = at
            at += green
            self.plan.append((at, at + YELLOW, at + YELLOW + RED_CLEARANCE, group))
            for phase in group:
                self.events += [
                    (start, PHASE_GREEN, phase),
                    (at, PHASE_YELLOW, phase),
                    (at + YELLOW, PHASE_RED_CLEARANCE, phase),
                    (start - DETECTOR_LEAD, DETECTOR_ON, phase),
                    (start - DETECTOR_LEAD + DETECTOR_HOLD, DETECTOR_OFF, phase),
                ]
            at += YELLOW + RED_CLEARANCE
        self.cycle = at or 1.0
        self.events = sorted((offset % self.cycle, code, p) for offset, code, p in self.events)
        self.offsets = [offset for offset, _, _ in self.events]
        self.offset = rng.uniform(0.0, self.cycle)
        self.amps = {p: 0.12 * rng.randint(2, 4) for p in phases}  # LED heads of 0.12 A
        self.last: float | None = None
        self.fault: Fault | None = None
        self.silent = False
        self.pending: list[tuple[float, int, int]] = []

    def begin(self, fault: Fault, rng: random.Random) -> None:
        """Start ``fault`` on the intersection, drawing the phase or detector it strikes."""
        self.fault = fault
        self.silent = fault.type is FaultType.COMMUNICATION_FAILURE
        if fault.type in (FaultType.RED_LAMP_OUT, FaultType.DETECTOR_FAULT) and self.phases:
            fault.index = rng.choice(self.phases)
        if fault.type is FaultType.DETECTOR_FAULT:
            self.pending.append((fault.start, DETECTOR_ON, fault.index))  # and it stays on
        events = _FAULT_EVENTS.get(fault.type)
        if events:
            self.pending += [(fault.start, code, parameter) for code, parameter in events[0]]

    def finish(self) -> None:
        """End the intersection's fault."""
        fault = self.fault
        if fault is not None and fault.end is not None:
            if fault.type is FaultType.DETECTOR_FAULT:
                self.pending.append((fault.end, DETECTOR_OFF, fault.index))
            events = _FAULT_EVENTS.get(fault.type)
            if events:
                self.pending += [(fault.end, code, parameter) for code, parameter in events[1]]
        self.fault = None
        self.silent = False

    def report(self, t: float) -> bytes | None:
        """The monitor's SenML pack at ``t``, or None while it is silent."""
        since = t - self.interval if self.last is None else self.last
        self.last = t
        if self.silent or self.uid is None:
            return None
        fault = self.fault
        kind = fault.type if fault is not None else None
        mode, mmu, door, mains = "normal", "ok", "closed", True
        battery = BATTERY_V + (self.rnd() - 0.5) * 0.2
        if kind is FaultType.SIGNAL_FLASH or kind is FaultType.CONFLICT:
            mode = "flash"
            mmu = "conflict" if kind is FaultType.CONFLICT else "ok"
        elif kind is FaultType.SIGNAL_DARK:
            mode = "dark"
        elif kind is FaultType.DOOR_OPEN:
            door = "open"
        elif kind is FaultType.POWER_FAILURE and fault is not None:
            mains = False
            drained = BATTERY_DRAIN_V_PER_H * (t - fault.start) / HOUR
            battery = max(20.0, BATTERY_START_V - drained)
            if battery < BATTERY_EMPTY_V:
                mode = "dark"
        readings = [
            Reading(t, "door", string_value=door),
            Reading(t, "mode", string_value=mode),
            Reading(t, "mmu", string_value=mmu),
            Reading(t, "mains", bool_value=mains),
            Reading(t, "battery", round(battery, 2)),
        ]
        readings += self._lamps(t, mode, fault)
        if mode == "normal":
            readings += self._cycle_events(since, t, fault)
        readings += [
            Reading(at, "event", float(code), string_value=str(parameter))
            for at, code, parameter in self.pending
        ]
        self.pending.clear()
        return encode_pack(self.uid, readings, t)

    def _lamps(self, t: float, mode: str, fault: Fault | None) -> list[Reading]:
        """The current of every lit lamp at ``t``."""
        rnd = self.rnd
        if mode == "dark":
            return []
        if mode == "flash":
            return [
                Reading(t, f"lamp/{p}/red", round(amps * FLASH_DUTY * (0.95 + 0.1 * rnd()), 3))
                for p, amps in self.amps.items()
            ]
        lit = dict.fromkeys(self.phases, "red")
        at = (t - self.offset) % self.cycle
        for green_end, yellow_end, red_end, group in self.plan:
            if at < red_end:
                if at < yellow_end:
                    colour = "green" if at < green_end else "yellow"
                    lit.update(dict.fromkeys(group, colour))
                break
        out = -1 if fault is None or fault.type is not FaultType.RED_LAMP_OUT else fault.index
        return [
            Reading(
                t,
                f"lamp/{p}/{colour}",
                0.0
                if p == out and colour == "red"
                else round(self.amps[p] * (0.95 + 0.1 * rnd()), 3),
            )
            for p, colour in lit.items()
        ]

    def _cycle_events(self, since: float, t: float, fault: Fault | None) -> list[Reading]:
        """The plan's events with ``since < time <= t``; a stuck detector logs none."""
        stuck = -1 if fault is None or fault.type is not FaultType.DETECTOR_FAULT else fault.index
        events, offsets = self.events, self.offsets
        out: list[Reading] = []
        cycle_start = self.offset + ((since - self.offset) // self.cycle) * self.cycle
        while cycle_start <= t:
            first = bisect.bisect_right(offsets, since - cycle_start)
            for offset, code, parameter in events[first:]:
                at = cycle_start + offset
                if at > t:
                    break
                if parameter == stuck and code in (DETECTOR_ON, DETECTOR_OFF):
                    continue
                out.append(Reading(round(at, 1), "event", float(code), string_value=str(parameter)))
            cycle_start += self.cycle
        return out
