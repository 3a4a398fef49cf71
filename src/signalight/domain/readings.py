"""Readings that devices report, and the catalogue of names, units and ranges each kind may send.

A reading is one value at one time under a catalogue name relative to its device
(``power``, ``voltage/l2``, ``lamp/4/red``). Numbers are kept in one canonical unit
per name, written as SenML unit symbols (RFC 8428 and the units RFC 8798 adds):
a device may send any unit listed in the name's ``units`` and the codec converts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, NamedTuple

from signalight.domain.assets import MAX_PHASE, TEXT_MAX, DeviceKind
from signalight.domain.errors import InvalidInputError
from signalight.domain.signals import EVENT_CODE_MAX, EVENT_PARAMETER_MAX

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "CATALOGUE",
    "EVENT_CODE_MAX",
    "EVENT_PARAMETER_MAX",
    "NameSpec",
    "PayloadError",
    "Problem",
    "Reading",
    "RejectReason",
    "ValueType",
    "canonical_unit",
    "check_reading",
    "reading_problem",
    "repeat_problem",
    "spec_for",
    "unit_factor",
    "value_problem",
]


class Reading(NamedTuple):
    """One value a device reported, in its name's canonical unit.

    One value field is set, except for ``event``: its ``value`` is the Indiana
    event code and its ``string_value`` the event's parameter, as decimal text.
    A NamedTuple rather than a dataclass: ingest builds 100,000 of these a second.
    """

    time: float  # UTC, seconds since the Unix epoch
    name: str  # the catalogue name, relative to the device
    value: float | None = None
    bool_value: bool | None = None
    string_value: str | None = None


class ValueType(StrEnum):
    """Which SenML value field a name takes."""

    NUMBER = "number"  # v (or the sum s, for a counter), in the canonical unit
    BOOL = "bool"  # vb
    STRING = "string"  # vs
    EVENT = "event"  # v = Indiana event code, vs = its parameter


class RejectReason(StrEnum):
    """Why a message (or, last, an alarm step) was refused; the dead-letter store files by it."""

    MALFORMED = "malformed"  # not UTF-8 JSON, or not the shape the format requires
    TOO_LARGE = "too_large"  # longer than the ingest limit, refused before parsing
    UNKNOWN_NAME = "unknown_name"  # a name the catalogue has not got for this kind of device
    WRONG_UNIT = "wrong_unit"  # a unit the name cannot be converted from
    WRONG_TYPE = "wrong_type"  # e.g. a string value for a name that takes a number
    OUT_OF_RANGE = "out_of_range"  # outside the plausible range or the allowed values
    BAD_TIME = "bad_time"  # too far in the past or the future
    FOREIGN_BASE_NAME = "foreign_base_name"  # a SenML base name that names another device
    AMBIGUOUS = "ambiguous"  # one name with two values at one instant in a pack: which is meant?
    UNKNOWN_DEVICE = "unknown_device"  # no such device in the city (found by ingest, not codecs)
    UNBOUND = "unbound"  # controller events from a device bound to no asset to keep them under
    IDENTITY_MISMATCH = "identity_mismatch"  # the payload's device is not its topic's device
    NOT_DECODED = "not_decoded"  # a LoRaWAN uplink the network server did not decode
    BAD_TOPIC = "bad_topic"  # an MQTT topic of the wrong shape
    NOT_STORED = "not_stored"  # passed the checks, but the database refused it (see the message)
    ALARM_NOT_STORED = "alarm_not_stored"  # not a message: an alarm's steps the database refused


class PayloadError(InvalidInputError):
    """A device message that cannot be accepted, with the reason it is filed under."""

    def __init__(self, reason: RejectReason, message: str) -> None:
        # Both go to args so that the error survives pickling between ingest processes.
        super().__init__(reason, message)
        self.reason = reason
        self.message = message

    def __str__(self) -> str:
        return self.message


class Problem(NamedTuple):
    """Why a reading is not acceptable: a reason code and a sentence for people."""

    reason: RejectReason
    message: str


@dataclass(frozen=True, slots=True)
class NameSpec:
    """What one reading name holds: its value type, canonical unit and plausible values."""

    type: ValueType
    unit: str | None = None  # canonical unit of a number
    units: Mapping[str, float] | None = None  # accepted unit -> factor to the canonical unit
    low: float = -math.inf
    high: float = math.inf
    choices: frozenset[str] | None = None  # the allowed strings, if the set is closed
    counter: bool = False  # a cumulative counter, which may also come as a SenML sum (s)


_WATTS = {"W": 1.0, "kW": 1000.0}
_VOLTS = {"V": 1.0}
_AMPERES = {"A": 1.0, "mA": 0.001}
_WATT_HOURS = {"Wh": 1.0, "kWh": 1000.0, "J": 1 / 3600}
_DEGREES = {"deg": 1.0, "rad": 180 / math.pi}
_PERCENT = {"%": 1.0, "/": 100.0}
_RATIO = {"/": 1.0, "%": 0.01}
_LUX = {"lx": 1.0}
_CELSIUS = {"Cel": 1.0}

# 1 TWh: no meter register holds more, so anything above is an overflow or a unit slip.
_ENERGY_MAX = 1e12


def _number(unit: str, units: Mapping[str, float], low: float, high: float) -> NameSpec:
    return NameSpec(ValueType.NUMBER, unit, units, low, high)


def _energy() -> NameSpec:
    return NameSpec(ValueType.NUMBER, "Wh", _WATT_HOURS, 0.0, _ENERGY_MAX, counter=True)


def _choice(*values: str) -> NameSpec:
    return NameSpec(ValueType.STRING, choices=frozenset(values))


_BOOL = NameSpec(ValueType.BOOL)

_STREETLIGHT_NODE: dict[str, NameSpec] = {
    "on": _BOOL,  # relay state
    "dim": _number("%", _PERCENT, 0.0, 100.0),
    "power": _number("W", _WATTS, 0.0, 5_000.0),
    "voltage": _number("V", _VOLTS, 0.0, 500.0),
    "current": _number("A", _AMPERES, 0.0, 50.0),
    "pf": _number("/", _RATIO, 0.0, 1.0),
    "energy": _energy(),
    "lux": _number("lx", _LUX, 0.0, 200_000.0),  # ambient light; full sun is about 100,000 lx
    "tilt": _number("deg", _DEGREES, 0.0, 90.0),
    "temp": _number("Cel", _CELSIUS, -50.0, 120.0),
    "fault": NameSpec(ValueType.STRING),  # the node's own diagnosis, free text
}

_CABINET_METER: dict[str, NameSpec] = {
    "mains": _BOOL,
    **{f"voltage/l{line}": _number("V", _VOLTS, 0.0, 500.0) for line in (1, 2, 3)},
    "contactor": _BOOL,
    "power": _number("W", _WATTS, 0.0, 200_000.0),
    "energy": _energy(),
}

_LAMP = _number("A", _AMPERES, 0.0, 10.0)
_SIGNAL_MONITOR: dict[str, NameSpec] = {
    "door": _choice("open", "closed"),
    "mode": _choice("normal", "flash", "dark", "manual", "preempt"),
    "mmu": _choice("ok", "conflict", "red_fail", "voltage", "other"),
    "mains": _BOOL,
    "battery": _number("V", _VOLTS, 0.0, 60.0),
    # Patterned names are spelled out so that a lookup is one dict access.
    **{
        f"lamp/{phase}/{colour}": _LAMP
        for phase in range(1, MAX_PHASE + 1)
        for colour in ("red", "yellow", "green")
    },
    "event": NameSpec(ValueType.EVENT, low=0.0, high=float(EVENT_CODE_MAX)),
}

CATALOGUE: Mapping[DeviceKind, Mapping[str, NameSpec]] = {
    DeviceKind.STREETLIGHT_NODE: _STREETLIGHT_NODE,
    DeviceKind.CABINET_METER: _CABINET_METER,
    DeviceKind.SIGNAL_MONITOR: _SIGNAL_MONITOR,
}


# A name has the same unit, and accepts the same units, on every kind of device
# (a test holds the catalogue to it), so converters and encoders need only the name.
_UNIT_BY_NAME = {
    name: spec.unit for specs in CATALOGUE.values() for name, spec in specs.items() if spec.unit
}
_UNITS_BY_NAME = {
    name: spec.units for specs in CATALOGUE.values() for name, spec in specs.items() if spec.units
}


def spec_for(kind: DeviceKind, name: str) -> NameSpec | None:
    """The catalogue entry for ``name`` on a device of ``kind``, or None if it has none."""
    return CATALOGUE[kind].get(name)


def canonical_unit(name: str) -> str | None:
    """The canonical unit of a numeric name (the same for every kind), or None."""
    return _UNIT_BY_NAME.get(name)


def unit_factor(name: str, unit: str) -> float | None:
    """The factor that turns a value of ``name`` in ``unit`` into its canonical unit.

    Returns:
        The factor, or None if ``name`` is not numeric or cannot come in ``unit``.
    """
    units = _UNITS_BY_NAME.get(name)
    return None if units is None else units.get(unit)


def _event_parameter(text: str) -> int | None:
    """The parameter of an event record, if ``text`` is one (decimal digits, 0-65535)."""
    if 0 < len(text) <= 5 and text.isascii() and text.isdigit():  # noqa: PLR2004 - 65535 has 5 digits
        parameter = int(text)
        if parameter <= EVENT_PARAMETER_MAX:
            return parameter
    return None


def _span(spec: NameSpec) -> str:
    unit = f" {spec.unit}" if spec.unit else ""
    return f"{spec.low:g}..{spec.high:g}{unit}"


def value_problem(spec: NameSpec, reading: Reading) -> Problem | None:  # noqa: PLR0911 - one return per rule
    """Why ``reading`` does not fit ``spec``, or None if it does.

    The reading must already be in the canonical unit.
    """
    name = reading.name
    match spec.type:
        case ValueType.NUMBER:
            value = reading.value
            if value is None or reading.bool_value is not None or reading.string_value is not None:
                return Problem(RejectReason.WRONG_TYPE, f"{name!r} takes a number")
            if not spec.low <= value <= spec.high:  # also refuses NaN
                message = f"{name!r} is {value:g} {spec.unit}, outside {_span(spec)}"
                return Problem(RejectReason.OUT_OF_RANGE, message)
        case ValueType.BOOL:
            if (
                reading.bool_value is None
                or reading.value is not None
                or reading.string_value is not None
            ):
                return Problem(RejectReason.WRONG_TYPE, f"{name!r} takes a boolean")
        case ValueType.STRING:
            text = reading.string_value
            if text is None or reading.value is not None or reading.bool_value is not None:
                return Problem(RejectReason.WRONG_TYPE, f"{name!r} takes a string")
            return _string_problem(spec, name, text)
        case ValueType.EVENT:
            return _event_problem(reading)
    return None


def _string_problem(spec: NameSpec, name: str, text: str) -> Problem | None:
    if spec.choices is not None and text not in spec.choices:
        allowed = ", ".join(sorted(spec.choices))
        return Problem(
            RejectReason.OUT_OF_RANGE, f"{name!r} is {text[:40]!r}, not one of {allowed}"
        )
    if len(text) > TEXT_MAX:
        return Problem(RejectReason.OUT_OF_RANGE, f"{name!r} is longer than {TEXT_MAX} characters")
    return None


def _event_problem(reading: Reading) -> Problem | None:
    code, parameter = reading.value, reading.string_value
    if code is None or parameter is None or reading.bool_value is not None:
        message = "'event' takes the event code in v and its parameter in vs"
        return Problem(RejectReason.WRONG_TYPE, message)
    if not (0 <= code <= EVENT_CODE_MAX and code == int(code)):
        message = f"'event' code is {code:g}, not a whole number 0..{EVENT_CODE_MAX}"
        return Problem(RejectReason.OUT_OF_RANGE, message)
    if _event_parameter(parameter) is None:
        message = (
            f"'event' parameter is {parameter[:20]!r},"
            f" not a whole number 0..{EVENT_PARAMETER_MAX} as text"
        )
        return Problem(RejectReason.OUT_OF_RANGE, message)
    return None


def reading_problem(kind: DeviceKind, reading: Reading) -> Problem | None:
    """Why a device of ``kind`` cannot report ``reading``, with its reason code, or None."""
    spec = CATALOGUE[kind].get(reading.name)
    if spec is None:
        message = f"{kind} devices have no reading named {reading.name[:60]!r}"
        return Problem(RejectReason.UNKNOWN_NAME, message)
    return value_problem(spec, reading)


def check_reading(kind: DeviceKind, reading: Reading) -> str | None:
    """Why a device of ``kind`` cannot report ``reading``, in plain words, or None if it can."""
    problem = reading_problem(kind, reading)
    return None if problem is None else problem.message


def repeat_problem(readings: Sequence[Reading]) -> Problem | None:
    """Why a pack giving one name two values at one instant is refused, or None.

    Events are many at an instant (each is its own record). A record repeated
    exactly is a copy, stored once; two different values of ``dim`` at one
    time are refused whole, as ``ambiguous``, rather than one kept silently.
    """
    seen: dict[tuple[float, str], Reading] = {}
    for index, reading in enumerate(readings, 1):
        if reading.name == "event":
            continue
        held = seen.setdefault((reading.time, reading.name), reading)
        if held != reading:
            text = (
                f"record {index} gives {reading.name[:60]!r} a second, different value at the"
                f" same time ({_shown(held)} and {_shown(reading)}): one value an instant"
            )
            return Problem(RejectReason.AMBIGUOUS, text)
    return None


def _shown(reading: Reading) -> str:
    if reading.bool_value is not None:
        return "true" if reading.bool_value else "false"
    if reading.string_value is not None:
        return repr(reading.string_value[:40])
    return f"{reading.value:g}" if reading.value is not None else "no value"
