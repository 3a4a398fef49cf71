"""An alarm's message and figures, in plain words, from the report that confirmed it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from signalight.domain.alarms import AlarmType

if TYPE_CHECKING:
    from signalight.domain.readings import Reading

__all__ = ["describe", "figures"]


def figures(values: dict[str, Reading]) -> dict[str, Any]:
    """A report's values by name (its status left out), floats rounded to three places."""
    out: dict[str, Any] = {}
    for name, r in values.items():
        value = (
            r.value
            if r.value is not None
            else r.bool_value
            if r.bool_value is not None
            else r.string_value
        )
        if value is not None and name != "status":
            out[name] = round(value, 3) if isinstance(value, float) else value
    return out


_MESSAGES: Final[dict[AlarmType, str]] = {
    AlarmType.LAMP_FAILURE: "draws {power} W where {expected} W is expected at {dim}% dim",
    AlarmType.HIGH_POWER: "draws {power} W, well above the {expected} W expected at {dim}% dim",
    AlarmType.LAMP_UNEXPECTED_ON: "burning while the sun is up",
    AlarmType.CYCLING_FAILURE: "going out and back on while it should burn steadily",
    AlarmType.DIMMING_FAILURE: "dimmed to {dim}% where the schedule says {expected}%",
    AlarmType.HIGH_VOLTAGE: "supply voltage above the band ({volts})",
    AlarmType.LOW_VOLTAGE: "supply voltage below the band ({volts})",
    AlarmType.LOW_POWER_FACTOR: "power factor {pf}",
    AlarmType.ORIENTATION_CHANGED: "the pole leans {tilt} degrees",
    AlarmType.NODE_FAULT: "the node reports {fault!r}",
}


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def describe(
    kind: AlarmType, values: dict[str, Reading], expected: float | None
) -> tuple[str, dict[str, Any]]:
    """An alarm's message and figures from the report that confirmed it."""
    detail = figures(values)
    if expected is not None:
        detail["expected"] = round(expected, 2)
    if kind is AlarmType.LAMP_FAILURE and detail.get("on") is False:
        return "says it is off all night, when it should burn", detail
    shown = _Blank(detail, volts=_volts(detail))
    for name in ("power", "expected", "dim"):
        if isinstance(detail.get(name), float):
            shown[name] = f"{detail[name]:.0f}" if name != "power" else f"{detail[name]:.1f}"
    return _MESSAGES.get(kind, str(kind)).format_map(shown), detail


def _volts(figures: dict[str, Any]) -> str:
    return ", ".join(
        f"{name} {value} V" for name, value in figures.items() if name.startswith("voltage")
    )


def duration(seconds: float) -> str:
    """A span in the unit a person reads it in: "45 s", "12 min", "3.5 h"."""
    if seconds < 90:  # noqa: PLR2004 - a minute and a half still reads best in seconds
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
