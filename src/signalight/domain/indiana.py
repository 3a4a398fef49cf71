"""What a controller's event codes mean: the Indiana hi-resolution enumerations, as data.

From the Indiana Traffic Signal Hi Resolution Data Logger Enumerations
(2020, TPF-5(377)), as cross-checked against ATSPM's ``IndianaEnumerations``
in ``../shared/atspm_samples/indiana_enumerations.md``. Codes 0-255 are
Indiana's; a vendor logs its own above them (MAXTIME 300-619, communication
statistics 400-503), which have no meaning here beyond their number.
"""

from __future__ import annotations

from typing import Final, NamedTuple

__all__ = ["INDIANA_CODE_MAX", "INDIANA_EVENTS", "EventMeaning", "describe_event"]

INDIANA_CODE_MAX: Final = 255


class EventMeaning(NamedTuple):
    """One Indiana code: its name, what its parameter is, and a short phrase for people."""

    name: str  # as the enumeration names it: "Phase Begin Green"
    parameter: str  # what the parameter holds: "phase", "detector channel", ...
    phrase: str  # "phase {} green": ``{}`` takes the parameter, or the name of its value


_M = EventMeaning
_PHASE, _PED, _OVERLAP, _DETECTOR = (
    "phase",
    "pedestrian phase",
    "overlap (A=1, B=2, ...)",
    "detector",
)
_PREEMPT, _TSP, _SECONDS, _ON_OFF = "preempt", "TSP request", "seconds", "on/off (1, 0)"

_PHASES: Final = {
    0: _M("Phase On", _PHASE, "phase {} on"),
    1: _M("Phase Begin Green", _PHASE, "phase {} green"),
    2: _M("Phase Check", _PHASE, "phase {} check"),
    3: _M("Phase Min Complete", _PHASE, "phase {} minimum green done"),
    4: _M("Phase Gap Out", _PHASE, "phase {} gap out"),
    5: _M("Phase Max Out", _PHASE, "phase {} max out"),
    6: _M("Phase Force Off", _PHASE, "phase {} force off"),
    7: _M("Phase Green Termination", _PHASE, "phase {} green ends"),
    8: _M("Phase Begin Yellow Change", _PHASE, "phase {} yellow"),
    9: _M("Phase End Yellow Change", _PHASE, "phase {} yellow ends"),
    10: _M("Phase Begin Red Clearance", _PHASE, "phase {} red clearance"),
    11: _M("Phase End Red Clearance", _PHASE, "phase {} red clearance ends"),
    12: _M("Phase Inactive", _PHASE, "phase {} inactive"),
    13: _M("Extension Timer Gap Out", _PHASE, "phase {} extension timer gap out"),
    14: _M("Phase Skipped", _PHASE, "phase {} skipped"),
    15: _M("Extension Timer Reduction Start", _PHASE, "phase {} gap reduction starts"),
    16: _M("Extension Timer Minimum Achieved", _PHASE, "phase {} minimum gap reached"),
    17: _M("Added Initial Complete", _PHASE, "phase {} added initial done"),
    18: _M("Next Phase Decision", _PHASE, "phase {} next phase decided"),
    19: _M("TSP Early Force Off", _PHASE, "phase {} TSP early force off"),
    20: _M("Preemption Force Off", _PHASE, "phase {} preemption force off"),
    21: _M("Pedestrian Begin Walk", _PED, "pedestrian {} walk"),
    22: _M("Pedestrian Begin Change Interval", _PED, "pedestrian {} flashing don't walk"),
    23: _M("Pedestrian Begin Solid Don't Walk", _PED, "pedestrian {} don't walk"),
    24: _M("Pedestrian Dark", _PED, "pedestrian {} dark"),
    25: _M("Extended Pedestrian Change Interval", _PED, "pedestrian {} extended clearance"),
    26: _M("Oversized Pedestrian Served", _PED, "pedestrian {} oversized served"),
    31: _M("Barrier Termination", "barrier", "barrier {} ends"),
    32: _M("FYA - Begin Permissive", "flashing yellow arrow", "flashing yellow arrow {} on"),
    33: _M("FYA - End Permissive", "flashing yellow arrow", "flashing yellow arrow {} off"),
    41: _M("Phase Hold Active", _PHASE, "phase {} hold on"),
    42: _M("Phase Hold Released", _PHASE, "phase {} hold released"),
    43: _M("Phase Call Registered", _PHASE, "phase {} called"),
    44: _M("Phase Call Dropped", _PHASE, "phase {} call dropped"),
    45: _M("Pedestrian Call Registered", _PED, "pedestrian {} called"),
    46: _M("Phase Omit On", _PHASE, "phase {} omitted"),
    47: _M("Phase Omit Off", _PHASE, "phase {} no longer omitted"),
    48: _M("Pedestrian Omit On", _PED, "pedestrian {} omitted"),
    49: _M("Pedestrian Omit Off", _PED, "pedestrian {} no longer omitted"),
    50: _M("MAX 1 In-Effect", _PHASE, "phase {} on max 1"),
    51: _M("MAX 2 In-Effect", _PHASE, "phase {} on max 2"),
    52: _M("Dynamic MAX In-Effect", _PHASE, "phase {} on dynamic max"),
    53: _M("Dynamic MAX Step Up", _PHASE, "phase {} dynamic max up"),
    54: _M("Dynamic MAX Step Down", _PHASE, "phase {} dynamic max down"),
    55: _M("Advance Warning Sign On", _PHASE, "phase {} advance warning on"),
    56: _M("Advance Warning Sign Off", _PHASE, "phase {} advance warning off"),
    61: _M("Overlap Begin Green", _OVERLAP, "overlap {} green"),
    62: _M("Overlap Begin Trailing Green (Extension)", _OVERLAP, "overlap {} trailing green"),
    63: _M("Overlap Begin Yellow", _OVERLAP, "overlap {} yellow"),
    64: _M("Overlap Begin Red Clearance", _OVERLAP, "overlap {} red clearance"),
    65: _M("Overlap Off (Inactive with red indication)", _OVERLAP, "overlap {} red"),
    66: _M("Overlap Dark", _OVERLAP, "overlap {} dark"),
    67: _M("Pedestrian Overlap Begin Walk", _OVERLAP, "pedestrian overlap {} walk"),
    68: _M("Pedestrian Overlap Begin Clearance", _OVERLAP, "pedestrian overlap {} clearance"),
    69: _M(
        "Pedestrian Overlap Begin Solid Don't Walk", _OVERLAP, "pedestrian overlap {} don't walk"
    ),
    70: _M("Pedestrian Overlap Dark", _OVERLAP, "pedestrian overlap {} dark"),
    71: _M("Advance Warning Sign On", _OVERLAP, "overlap {} advance warning on"),
    72: _M("Advance Warning Sign Off", _OVERLAP, "overlap {} advance warning off"),
}
_DETECTION: Final = {
    81: _M("Vehicle Detector Off", _DETECTOR, "detector {} off"),
    82: _M("Vehicle Detector On", _DETECTOR, "detector {} on"),
    83: _M("Detector Restored", _DETECTOR, "detector {} restored"),
    84: _M("Detector Fault - Other", _DETECTOR, "detector {} fault"),
    85: _M("Detector Fault - Watchdog Fault", _DETECTOR, "detector {} watchdog fault"),
    86: _M("Detector Fault - Open Loop Fault", _DETECTOR, "detector {} open loop"),
    87: _M("Detector Fault - Shorted Loop Fault", _DETECTOR, "detector {} shorted loop"),
    88: _M("Detector Fault - Excessive Change Fault", _DETECTOR, "detector {} excessive change"),
    89: _M("PedDetector Off", _DETECTOR, "pedestrian detector {} off"),
    90: _M("PedDetector On", _DETECTOR, "pedestrian detector {} on"),
    91: _M("Pedestrian Detector Failed", "pedestrian detector", "pedestrian detector {} failed"),
    92: _M(
        "Pedestrian Detector Restored", "pedestrian detector", "pedestrian detector {} restored"
    ),
    93: _M("TSP Detector Off", "TSP detector", "TSP detector {} off"),
    94: _M("TSP Detector On", "TSP detector", "TSP detector {} on"),
    101: _M("Preempt Advance Warning Input", _PREEMPT, "preempt {} advance warning"),
    102: _M("Preempt (Call) Input On", _PREEMPT, "preempt {} called"),
    103: _M("Preempt Gate Down Input Received", _PREEMPT, "preempt {} gate down"),
    104: _M("Preempt (Call) Input Off", _PREEMPT, "preempt {} call off"),
    105: _M("Preempt Entry Started", _PREEMPT, "preempt {} entry"),
    106: _M("Preemption Begin Track Clearance", _PREEMPT, "preempt {} track clearance"),
    107: _M("Preemption Begin Dwell Service", _PREEMPT, "preempt {} dwell"),
    108: _M("Preemption Link Active On", _PREEMPT, "preempt {} link on"),
    109: _M("Preemption Link Active Off", _PREEMPT, "preempt {} link off"),
    110: _M("Preemption Max Presence Exceeded", _PREEMPT, "preempt {} max presence exceeded"),
    111: _M("Preemption Begin Exit Interval", _PREEMPT, "preempt {} exit"),
    112: _M("TSP Check In", _TSP, "TSP {} check in"),
    113: _M("TSP Adjustment to Early Green", _TSP, "TSP {} early green"),
    114: _M("TSP Adjustment to Extend Green", _TSP, "TSP {} extended green"),
    115: _M("TSP Check Out", _TSP, "TSP {} check out"),
    116: _M("Preemption Force Off", _PREEMPT, "preempt {} force off"),
    117: _M("TSP Early Force Off", _TSP, "TSP {} early force off"),
    118: _M("TSP Service Start", _TSP, "TSP {} service starts"),
    119: _M("TSP Service End", _TSP, "TSP {} service ends"),
}
_COORDINATION: Final = {
    131: _M("Coord Pattern Change", "pattern", "coordination pattern {}"),
    132: _M("Cycle Length Change", _SECONDS, "cycle length {} s"),
    133: _M("Offset Length Change", _SECONDS, "offset {} s"),
    **{
        code: _M(f"Split {split} Change", _SECONDS, f"split {split}: {{}} s")
        for split, code in enumerate([*range(134, 150), *range(203, 219)], start=1)
    },
    150: _M("Coord cycle state change", "coordination state", "coordination {}"),
    151: _M("Coordinated phase yield point", _PHASE, "phase {} yield point"),
    152: _M("Coordinated phase begin", _PHASE, "coordinated phase {} begins"),
    153: _M("Logic Statement True", "logic statement", "logic statement {} true"),
    154: _M("Logic Statement False", "logic statement", "logic statement {} false"),
    155: _M("Unit Control Status Change", "unit control status", "unit control: {}"),
    156: _M("Additional Cycle Length Change", _SECONDS, "cycle length plus {} s"),
}
_CABINET: Final = {
    171: _M("Test Input On", "test input (A=1, B=2, ...)", "test input {} on"),
    172: _M("Test Input Off", "test input (A=1, B=2, ...)", "test input {} off"),
    173: _M("Unit Flash Status Change", "NTCIP unitFlashStatus", "unit flash status: {}"),
    174: _M("Unit Alarm Status 1 Change", "NTCIP unitAlarmStatus1 bits", "unit alarms: {}"),
    175: _M("Alarm Group State Change", "NTCIP alarmGroupState bits", "alarm inputs active: {}"),
    176: _M("Special Function Output On", "special function", "special function {} on"),
    177: _M("Special Function Output Off", "special function", "special function {} off"),
    178: _M("Manual control enable On/Off", _ON_OFF, "manual control {}"),
    179: _M("Interval Advance On/Off", _ON_OFF, "interval advance {}"),
    180: _M("Stop Time Input On/Off", _ON_OFF, "stop time {}"),
    181: _M("Controller Clock Updated", "correction in seconds", "clock updated ({} s)"),
    182: _M("Power Failure Detected", "1", "power failure"),
    184: _M("Power Restored", "1", "power restored"),
    185: _M("Vendor Specific Alarm", "vendor defined", "vendor alarm {}"),
    200: _M("Alarm On", "alarm (A=1, B=2, ...)", "alarm {} on"),
    201: _M("Alarm Off", "alarm (A=1, B=2, ...)", "alarm {} off"),
    202: _M("Aux Switch On/Off", _ON_OFF, "aux switch {}"),
}
INDIANA_EVENTS: Final[dict[int, EventMeaning]] = dict(
    sorted({**_PHASES, **_DETECTION, **_COORDINATION, **_CABINET}.items())
)

_OFF_ON: Final = ("off", "on")
# Parameters that are a value with a name rather than a number.
_VALUES: Final[dict[int, tuple[str, ...]]] = {
    150: ("free", "in step", "transition add", "transition subtract", "transition dwell",
          "local zero", "begin pickup", "master cycle zero"),
    155: ("", "other", "system control", "system standby", "backup mode", "manual", "timebase",
          "interconnect", "interconnect backup", "remote manual control",
          "local manual control"),
    173: ("", "other", "not flashing", "automatic flash", "local manual flash",
          "fault monitor flash", "MMU flash", "startup flash", "preempt flash"),
    178: _OFF_ON, 179: _OFF_ON, 180: _OFF_ON, 202: _OFF_ON,
}  # fmt: skip
# Parameters that are bitmaps, lowest bit first.
_BITS: Final[dict[int, tuple[str, ...]]] = {
    174: ("cycle fault", "coordination fault", "coordination fail", "cycle fail", "MMU flash",
          "local flash", "local free", "coordination active"),
    175: tuple(f"input {bit}" for bit in range(1, 9)),
}  # fmt: skip


def describe_event(code: int, param: int) -> str:
    """An event in words: ``describe_event(1, 2)`` is ``"phase 2 green"``.

    A code Indiana does not define is a vendor's (``"vendor event 412,
    parameter 3"``) above 255, and an undefined one below.
    """
    meaning = INDIANA_EVENTS.get(code)
    if meaning is None:
        kind = "vendor" if code > INDIANA_CODE_MAX else "undefined"
        return f"{kind} event {code}, parameter {param}"
    return meaning.phrase.format(_parameter_words(code, param))


def _parameter_words(code: int, param: int) -> str:
    """The parameter as the phrase wants it: a number, a value's name or the bits set."""
    if (names := _VALUES.get(code)) is not None:
        name = names[param] if 0 <= param < len(names) else ""
        return name or f"value {param}"
    if (bits := _BITS.get(code)) is not None:
        return ", ".join(bit for index, bit in enumerate(bits) if param >> index & 1) or "none"
    return str(param)
