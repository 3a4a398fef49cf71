"""A dimming profile as JSON: one form for the API, the database and the nodes.

::

    {"name": "residential",
     "steps": [{"anchor": "sunset", "offset_min": 5, "level": 100},
               {"anchor": "clock", "at": "23:00", "level": 60},
               {"anchor": "sunrise", "offset_min": -10, "level": 0}],
     "off_windows": [{"from": "01:00", "until": "05:00"}]}

A sun step (``sunset``, ``sunrise``, ``dusk``, ``dawn``) carries an
``offset_min`` (minutes after the event, negative before; 0 when left
out), a ``clock`` step its local time ``at`` as ``HH:MM``. Levels are
percent, 0 is off. ``off_windows`` may be left out. The same document is
the ``profile`` command's arguments on the node (``docs/protocol.md``).
"""

from __future__ import annotations

import re
from datetime import time
from typing import Any, Final

from signalight.domain.errors import InvalidInputError
from signalight.domain.schedules import Anchor, ClockWindow, Profile, Step

__all__ = ["profile_from_json", "profile_to_json"]

_CLOCK: Final = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_PROFILE_KEYS: Final = frozenset({"name", "steps", "off_windows"})
_SUN_KEYS: Final = frozenset({"anchor", "offset_min", "level"})
_CLOCK_KEYS: Final = frozenset({"anchor", "at", "level"})
_WINDOW_KEYS: Final = frozenset({"from", "until"})
_ANCHORS: Final = ", ".join(a.value for a in Anchor)


def profile_to_json(profile: Profile) -> dict[str, Any]:
    """The profile as a JSON-ready dict (levels whole numbers where they are)."""
    steps: list[dict[str, Any]] = []
    for step in profile.steps:
        if step.anchor is Anchor.CLOCK and step.at is not None:
            steps.append({"anchor": "clock", "at": _clock(step.at), "level": _number(step.level)})
        else:
            steps.append(
                {
                    "anchor": step.anchor.value,
                    "offset_min": step.offset_min,
                    "level": _number(step.level),
                }
            )
    return {
        "name": profile.name,
        "steps": steps,
        "off_windows": [
            {"from": _clock(w.start), "until": _clock(w.end)} for w in profile.off_windows
        ],
    }


def profile_from_json(document: object) -> Profile:
    """The profile a JSON document describes, checked.

    Raises:
        InvalidInputError: The document is not a profile: a field missing, of the
            wrong type or unknown, a time not ``HH:MM``, or a profile that
            :meth:`Profile.problems` refuses; the message names the field.
    """
    if not isinstance(document, dict):
        raise InvalidInputError("a profile is a JSON object with name, steps and off_windows")
    _no_unknown(document, _PROFILE_KEYS, "profile")
    name = document.get("name")
    if not isinstance(name, str):
        raise InvalidInputError("name: a profile needs its name, a string")
    raw_steps = document.get("steps")
    if not isinstance(raw_steps, list):
        raise InvalidInputError("steps: a list of steps is needed")
    steps = tuple(_step(raw, f"steps[{i}]") for i, raw in enumerate(raw_steps))
    raw_windows = document.get("off_windows", [])
    if not isinstance(raw_windows, list):
        raise InvalidInputError("off_windows: a list of {from, until} is needed")
    windows = tuple(_window(raw, f"off_windows[{i}]") for i, raw in enumerate(raw_windows))
    return Profile(name.strip(), steps, windows).check()


def _step(raw: object, where: str) -> Step:
    if not isinstance(raw, dict):
        raise InvalidInputError(f"{where}: a step is an object with anchor and level")
    anchor_name = raw.get("anchor")
    try:
        anchor = Anchor(str(anchor_name))
    except ValueError:
        raise InvalidInputError(f"{where}.anchor: one of {_ANCHORS}, not {anchor_name!r}") from None
    level = _level(raw.get("level"), f"{where}.level")
    if anchor is Anchor.CLOCK:
        _no_unknown(raw, _CLOCK_KEYS, where)
        return Step(anchor, level, at=_time(raw.get("at"), f"{where}.at"))
    _no_unknown(raw, _SUN_KEYS, where)
    offset = raw.get("offset_min", 0)
    if isinstance(offset, bool) or not isinstance(offset, int):
        raise InvalidInputError(f"{where}.offset_min: whole minutes, not {offset!r}")
    return Step(anchor, level, offset_min=offset)


def _window(raw: object, where: str) -> ClockWindow:
    if not isinstance(raw, dict):
        raise InvalidInputError(f"{where}: a window is an object with from and until")
    _no_unknown(raw, _WINDOW_KEYS, where)
    return ClockWindow(
        _time(raw.get("from"), f"{where}.from"), _time(raw.get("until"), f"{where}.until")
    )


def _level(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInputError(f"{where}: a number of percent (0 is off), not {value!r}")
    if not 0 <= value <= 100:  # noqa: PLR2004 - percent
        raise InvalidInputError(f"{where}: between 0 and 100, not {value!r}")
    return float(value)


def _time(value: object, where: str) -> time:
    match = _CLOCK.match(value) if isinstance(value, str) else None
    if match is None:
        raise InvalidInputError(f"{where}: a local time as HH:MM (00:00 to 23:59), not {value!r}")
    return time(int(match[1]), int(match[2]))


def _no_unknown(raw: dict[Any, Any], known: frozenset[str], where: str) -> None:
    unknown = sorted(str(k) for k in raw if k not in known)
    if unknown:
        raise InvalidInputError(f"{where}: unknown field(s) {', '.join(unknown)}")


def _clock(at: time) -> str:
    return at.strftime("%H:%M")


def _number(level: float) -> int | float:
    return int(level) if float(level).is_integer() else level
