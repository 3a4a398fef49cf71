"""The traffic-signal alarms' words and figures: what an operator reads of each."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from signalight.services.alarm_text import duration
from signalight.services.signal_state import DETECTOR_FAULTS, FLASH_NAMES

if TYPE_CHECKING:
    from signalight.services.signal_state import SignalState

__all__ = [
    "battery_words",
    "break_in_words",
    "conflict_words",
    "dark_words",
    "detector_words",
    "flash_words",
    "input_words",
    "long_words",
    "mains_words",
    "manual_words",
    "ped_words",
    "red_words",
    "stop_words",
]


def flash_words(st: SignalState) -> tuple[str, dict[str, Any]]:
    """A flash, with what said so."""
    cause = FLASH_NAMES.get(st.flash_status or 0)
    said = [f"the monitor says {st.mode}"] if st.mode == "flash" else []
    if cause is not None:
        said.append(f"the controller logged {cause} flash")
    if st.mmu not in (None, "ok"):
        said.append(f"the MMU reports {st.mmu}")
    words = "; ".join(said) or "the controller's alarm status says flash"
    detail = {"mode": st.mode, "flash_status": st.flash_status, "mmu": st.mmu}
    return f"the signal is in flash ({words})", detail


def conflict_words(st: SignalState) -> tuple[str, dict[str, Any]]:
    """A conflict flash, with the MMU and the controller's words."""
    detail = {
        "mode": st.mode,
        "mmu": st.mmu,
        "flash_status": st.flash_status,
        "alarm_status": st.alarm_status,
    }
    return "the MMU saw conflicting indications and put the signal in flash", detail


def manual_words(st: SignalState) -> tuple[str, dict[str, Any]]:
    """Manual control, with what said so."""
    source = "its monitor" if st.mode == "manual" else "its controller's events"
    return f"the signal is under manual control (says {source})", {"mode": st.mode}


def stop_words() -> tuple[str, dict[str, Any]]:
    """The stop-time input on."""
    return "the controller's stop-time input is on: its timing is stopped", {"stop_time": True}


def mains_words(st: SignalState) -> tuple[str, dict[str, Any]]:
    """Mains lost, with what said so and whether the battery carries the signal."""
    source = "its monitor" if st.mains is False else "its controller (182)"
    then = "the signal is dark" if st.mode == "dark" else "the signal runs on its battery"
    detail = {"mains": st.mains, "power_event": st.power_event, "mode": st.mode}
    return f"the cabinet lost mains (says {source}); {then}", detail


def battery_words(volts: float, low: float) -> tuple[str, dict[str, Any]]:
    """A low battery, with its voltage."""
    return (
        f"the backup battery is at {volts:.1f} V (low below {low:g} V)",
        {"battery": round(volts, 2), "battery_low_v": low},
    )


def dark_words(st: SignalState, currents: list[float]) -> tuple[str, dict[str, Any]]:
    """A dark signal, with what said so."""
    said = "its monitor says dark" if st.mode == "dark" else "every lamp reported draws nothing"
    return f"the signal is dark: {said}", {"mode": st.mode, "lamps": len(currents)}


def red_words(st: SignalState, out: dict[int, float | None]) -> tuple[str, dict[str, Any]]:
    """A red lamp out, with its phases (none: the MMU said so)."""
    detail: dict[str, Any] = {"phases": list(out), "mmu": st.mmu}
    if out:
        phases = ", ".join(str(p) for p in out)
        return f"the red of phase {phases} draws no current while it should be lit", detail
    return "the MMU reports a red lamp failure", detail


def break_in_words(opened: float) -> tuple[str, dict[str, Any]]:
    """A door opened with nothing authorising it."""
    return "the cabinet door was opened with no maintenance window", {"opened_at": opened}


def long_words(st: SignalState, opened: float, t: float) -> tuple[str, dict[str, Any]]:
    """A door open too long, and who authorised it."""
    detail = {"opened_at": opened, "authorised_by": st.authorised}
    return f"the cabinet door has been open for {duration(t - opened)}", detail


def input_words(others: dict[int, str]) -> tuple[str, dict[str, Any]]:
    """Alarm inputs on, by number and name."""
    names = ", ".join(f"{name} ({n})" for n, name in others.items())
    return f"cabinet alarm input on: {names}", {"inputs": [[n, name] for n, name in others.items()]}


def detector_words(st: SignalState, stuck: dict[int, float]) -> tuple[str, dict[str, Any]]:
    """Detectors faulted or stuck on, by channel."""
    said = [
        f"detector {c}: {DETECTOR_FAULTS[code]}" for c, code in sorted(st.detector_faults.items())
    ]
    said += [f"detector {c} on for {duration(s)}" for c, s in sorted(stuck.items())]
    detail = {
        "faults": [[c, code] for c, code in sorted(st.detector_faults.items())],
        "stuck": sorted(stuck),
    }
    return "; ".join(said), detail


def ped_words(peds: list[int]) -> tuple[str, dict[str, Any]]:
    """Pedestrian detectors failed."""
    names = ", ".join(str(p) for p in peds)
    return f"pedestrian detector {names} failed", {"detectors": peds}
