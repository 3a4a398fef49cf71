"""An intersection's live state, read from its cabinet monitor and its controller's events.

The monitor reports ``mode``, ``door``, ``mmu``, ``mains``, ``battery`` and
each lit lamp's current (``lamp/{phase}/{colour}``); the controller logs
events (phase green, yellow, red clearance...). From the two, what the
controller is doing now is told in words for the operator: "normal:
phases 2 and 6 green", "in flash", "dark, on battery", "no report for
12 minutes". Lamps win over events where both speak: they are measured.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from signalight.domain.signals import ControllerEvent

__all__ = [
    "LIT_AMPS",
    "IntersectionRow",
    "IntersectionState",
    "Lamp",
    "OpenAlarmRow",
    "intersection_state",
]

LIT_AMPS: Final = 0.03  # a lamp drawing more than this is lit (an LED head draws 0.2 A and up)
COLOURS: Final = ("red", "yellow", "green")
# Indiana codes of a phase's interval starting (the parameter is the phase).
_PHASE_INTERVAL: Final = {1: "green", 8: "yellow", 10: "red", 11: "red"}
StateValue = float | bool | str


@dataclass(frozen=True, slots=True)
class Lamp:
    """One phase's lamp currents (A) as last reported; None where the monitor said nothing."""

    phase: int
    red: float | None = None
    yellow: float | None = None
    green: float | None = None

    @property
    def lit(self) -> str | None:
        """The colour lit, by current; None when none is (or nothing was said)."""
        found = [c for c in COLOURS if (getattr(self, c) or 0.0) > LIT_AMPS]
        return found[-1] if found else None  # green over yellow over red, if two are lit


@dataclass(frozen=True, slots=True, kw_only=True)
class IntersectionState:
    """What an intersection's monitor and controller last said, and the words for it."""

    mode: str | None = None  # normal, flash, dark, manual, preempt
    door: str | None = None  # open, closed
    mmu: str | None = None  # ok, conflict, red_fail, voltage, other
    mains: bool | None = None
    battery: float | None = None  # V
    observed_at: float | None = None  # the newest reading's time
    lamps: tuple[Lamp, ...] = ()
    green: tuple[int, ...] = ()  # the phases green now
    events: tuple[ControllerEvent, ...] = ()  # the newest first
    now: str = "no report yet"
    silent_s: float | None = None  # seconds since the last report, when it is old
    flags: tuple[str, ...] = ()  # door open, on battery, MMU tripped...


@dataclass(frozen=True, slots=True)
class OpenAlarmRow:
    """An open alarm of an intersection, as its page lists it."""

    id: int
    type: str
    severity: str
    state: str
    raised_at: float
    message: str


@dataclass(frozen=True, slots=True)
class IntersectionRow:
    """An intersection, its monitor and the monitor's newest values."""

    id: int
    code: str
    name: str
    lat: float
    lon: float
    status: str
    street: str
    controller_id: str
    controller_vendor: str
    phases: tuple[int, ...]
    cabinet_id: int | None
    cabinet: str | None  # the code of the cabinet feeding it
    device: str | None
    last_seen: float | None
    values: Mapping[str, tuple[float, Any]]
    alarms: tuple[OpenAlarmRow, ...]


def intersection_state(
    values: Mapping[str, tuple[float, StateValue]],
    events: Iterable[ControllerEvent] = (),
    *,
    now: float,
    interval_s: float = 60.0,
) -> IntersectionState:
    """The state of an intersection from its monitor's newest values and its newest events.

    Args:
        values: Per reading name, (time, value), as the live state keeps them.
        events: The controller's newest events, newest first.
        now: The time to judge silence at (UTC epoch seconds).
        interval_s: The monitor's reporting interval: three of them without a
            word and the state is said to be stale.
    """
    newest = tuple(events)

    def value(name: str) -> StateValue | None:
        found = values.get(name)
        return found[1] if found is not None else None

    lamps: dict[int, dict[str, float]] = {}
    for name, (_, reading) in values.items():
        if name.startswith("lamp/") and not isinstance(reading, bool | str):
            _, phase, colour = name.split("/", 2)
            if phase.isdigit() and colour in COLOURS:
                lamps.setdefault(int(phase), {})[colour] = float(reading)
    lamp_list = tuple(Lamp(phase, **currents) for phase, currents in sorted(lamps.items()))
    mode, door, mmu = _text(value("mode")), _text(value("door")), _text(value("mmu"))
    mains = value("mains")
    mains = mains if isinstance(mains, bool) else None
    observed = max((at for at, _ in values.values()), default=None)
    green = _green(lamp_list, newest) if mode in (None, "normal", "preempt", "manual") else ()
    silent = now - observed if observed is not None else None
    stale = silent is not None and silent > 3 * interval_s
    flags = _flags(mode, door, mmu, mains)
    return IntersectionState(
        mode=mode,
        door=door,
        mmu=mmu,
        mains=mains,
        battery=_number(value("battery")),
        observed_at=observed,
        lamps=lamp_list,
        green=green,
        events=newest,
        now=_words(observed, mode, green, lamp_list, flags, silent if stale else None),
        silent_s=silent if stale else None,
        flags=flags,
    )


def _green(lamps: tuple[Lamp, ...], events: tuple[ControllerEvent, ...]) -> tuple[int, ...]:
    """The phases green now: by lamp current if measured, else by the newest events."""
    if any(lamp.lit is not None for lamp in lamps):
        return tuple(lamp.phase for lamp in lamps if lamp.lit == "green")
    latest: dict[int, str] = {}
    for event in events:  # newest first: the first word on a phase is its state
        interval = _PHASE_INTERVAL.get(event.code)
        if interval is not None and event.param not in latest:
            latest[event.param] = interval
    return tuple(sorted(phase for phase, interval in latest.items() if interval == "green"))


def _flags(
    mode: str | None, door: str | None, mmu: str | None, mains: bool | None
) -> tuple[str, ...]:
    flags = []
    if door == "open":
        flags.append("door open")
    if mains is False:
        flags.append("mains lost" if mode == "dark" else "on battery")
    if mmu not in (None, "ok"):
        flags.append(f"MMU {mmu.replace('_', ' ')}" if mmu else "MMU")
    return tuple(flags)


def _words(
    observed: float | None,
    mode: str | None,
    green: tuple[int, ...],
    lamps: tuple[Lamp, ...],
    flags: tuple[str, ...],
    silent: float | None,
) -> str:
    if observed is None:
        return "no report yet"
    mode = mode or "normal"
    if mode == "flash":
        doing = "in flash"
    elif mode == "dark":
        doing = "dark"
    elif green:
        phases = " and ".join(str(p) for p in green)
        doing = f"{mode}: phase{'s' if len(green) > 1 else ''} {phases} green"
    else:
        doing = f"{mode}: all red" if lamps else mode
    words = ", ".join((doing, *flags))
    if silent is not None:
        words += f"; no report for {_duration(silent)}"
    return words


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 120:  # noqa: PLR2004
        return f"{minutes} minutes"
    hours = minutes // 60
    return f"{hours} hours" if hours < 48 else f"{hours // 24} days"  # noqa: PLR2004


def _text(value: StateValue | None) -> str | None:
    return value if isinstance(value, str) else None


def _number(value: StateValue | None) -> float | None:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return None
    return float(value)
