"""The fault rules' settings and the physics they rest on: expected power by dim level.

Every threshold a rule uses is a field of :class:`DetectionSettings`, with
its default and range; a city overrides any of them (and each alarm type's
severity) in its detection settings. ``docs/faults.md`` explains each rule.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from enum import IntEnum
from typing import Any, Final

from signalight.domain.alarms import AlarmType, Severity
from signalight.domain.assets import LuminaireType
from signalight.domain.errors import InvalidInputError

__all__ = [
    "DEFAULT_CURVES",
    "DEFAULT_SEVERITIES",
    "DetectionSettings",
    "DeviceProfile",
    "Evidence",
    "PowerCurve",
]


class Evidence(IntEnum):
    """What one report says about one rule."""

    UNKNOWN = 0  # the report cannot tell (the lamp is off by day, say): counters stay
    GOOD = 1
    BAD = 2


@dataclass(frozen=True, slots=True)
class PowerCurve:
    """Share of the rated power a luminaire draws at each dim level, interpolated linearly.

    ``points`` are ``(dim %, share of rating)`` by rising dim level, as the
    calibration tables of commercial lighting controllers give them.
    """

    points: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        levels = [level for level, _ in self.points]
        if len(levels) < 2 or levels != sorted(set(levels)) or levels[0] > 0 or levels[-1] < 100:  # noqa: PLR2004
            raise InvalidInputError("a power curve needs rising dim levels from 0 to 100")
        if any(not 0 <= share <= 2 for _, share in self.points):  # noqa: PLR2004
            raise InvalidInputError("a power curve's shares must be within 0..2 of the rating")

    def share(self, dim: float) -> float:
        """The share of rated power at ``dim`` percent."""
        points = self.points
        if dim >= points[-1][0]:
            return points[-1][1]
        if dim <= points[0][0]:
            return points[0][1]
        index = bisect.bisect_right(points, (dim, math.inf))
        (x0, y0), (x1, y1) = points[index - 1], points[index]
        return y0 + (y1 - y0) * (dim - x0) / (x1 - x0)


# LED drivers dim nearly linearly down to a small floor; HID ballasts (bi-level)
# dim no lower than about 60% and draw a tenth above the lamp's rating.
_LED: Final = PowerCurve(((0.0, 0.05), (100.0, 1.0)))
_HID: Final = PowerCurve(((0.0, 0.66), (60.0, 0.66), (100.0, 1.1)))
_FLUORESCENT: Final = PowerCurve(((0.0, 0.3), (100.0, 1.05)))
DEFAULT_CURVES: Final[Mapping[LuminaireType, PowerCurve]] = {
    LuminaireType.LED: _LED,
    LuminaireType.HPS: _HID,
    LuminaireType.METAL_HALIDE: _HID,
    LuminaireType.FLUORESCENT: _FLUORESCENT,
}
HID: Final = frozenset({LuminaireType.HPS, LuminaireType.METAL_HALIDE})

DEFAULT_SEVERITIES: Final[Mapping[AlarmType, Severity]] = {
    AlarmType.SUPPLY_LOSS: Severity.CRITICAL,
    AlarmType.ORIENTATION_CHANGED: Severity.MAJOR,  # a pole down is a hazard in the street
    AlarmType.HIGH_VOLTAGE: Severity.MAJOR,
    AlarmType.LOW_VOLTAGE: Severity.MAJOR,
    AlarmType.LAMP_FAILURE: Severity.MINOR,
    AlarmType.CYCLING_FAILURE: Severity.MINOR,
    AlarmType.HIGH_POWER: Severity.MINOR,
    AlarmType.NODE_FAULT: Severity.MINOR,
    AlarmType.COMMUNICATION_FAILURE: Severity.MINOR,
    AlarmType.LAMP_UNEXPECTED_ON: Severity.WARNING,
    AlarmType.DIMMING_FAILURE: Severity.WARNING,
    AlarmType.LOW_POWER_FACTOR: Severity.WARNING,
    # Traffic signals. Dark and conflict flash leave drivers without safe signals, a red
    # out lets one approach run it; a flashing signal is an all-way stop drivers know.
    AlarmType.SIGNAL_DARK: Severity.CRITICAL,
    AlarmType.CONFLICT_FLASH: Severity.CRITICAL,
    AlarmType.RED_LAMP_FAILURE: Severity.CRITICAL,
    AlarmType.DOOR_OPEN_UNAUTHORISED: Severity.CRITICAL,  # a break-in until shown otherwise
    AlarmType.SIGNAL_FLASH: Severity.MAJOR,
    AlarmType.MAINS_FAILURE: Severity.MAJOR,  # on battery for a few hours, then dark
    AlarmType.BATTERY_LOW: Severity.MAJOR,
    AlarmType.STOP_TIME: Severity.MAJOR,
    AlarmType.DOOR_OPEN_TOO_LONG: Severity.MAJOR,
    AlarmType.MANUAL_CONTROL: Severity.MINOR,
    AlarmType.CABINET_ALARM: Severity.MINOR,
    AlarmType.DETECTOR_FAULT: Severity.MINOR,  # the controller places a call: it still serves
    AlarmType.PEDESTRIAN_DETECTOR_FAULT: Severity.MINOR,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class DetectionSettings:
    """Every threshold of the fault rules; a city may override any of them.

    Ratios compare measured power with the power expected at the reported
    dim level (:class:`PowerCurve` times the luminaire's rating). A rule
    raises after ``confirm_reports`` reports in a row say so (one, when the
    evidence is beyond doubt: a lamp drawing next to nothing, a lamp burning
    at midday) and clears after ``clear_reports`` say otherwise; thresholds
    to clear sit inside those to raise, so a value hovering at a threshold
    does not flap.
    """

    confirm_reports: int = 2
    clear_reports: int = 2
    lamp_low_ratio: float = 0.5  # lit, power below this share of expected: lamp failure
    lamp_ok_ratio: float = 0.7
    lamp_dead_ratio: float = 0.2  # below this, one report is enough: the lamp is out
    power_high_ratio: float = 1.3  # power above this share of expected: driver fault
    power_ok_ratio: float = 1.15
    hid_warmup_s: float = (
        600.0  # an HPS or metal-halide lamp reaches full power this long after switch-on
    )
    sun_margin_s: float = 900.0  # around sunrise and sunset, on/off is not judged
    # reports "off" this long by night, never lit, not cycling: a lamp failure (it does not start)
    scheduled_off_s: float = 14_400.0
    cycling_window_s: float = 21_600.0  # six hours: a lamp whose flicker the reports alias
    cycling_changes: int = 3  # lit/dark changes within the window while it should burn
    dim_tolerance: float = 5.0  # percentage points
    dim_edge_s: float = 600.0  # around a dimming step, dim level is not judged
    night_dim: float = 50.0  # the city's night dimming, until energy schedules come
    dim_from: time = field(default_factory=lambda: time(0))  # local time
    dim_until: time = field(default_factory=lambda: time(5))
    voltage_high: float = 253.0  # 230 V +10% (EN 50160)
    voltage_high_clear: float = 250.0
    voltage_low: float = 207.0  # 230 V -10%
    voltage_low_clear: float = 210.0
    mains_lost_v: float = 100.0  # a cabinet phase below this has no supply
    pf_low: float = 0.7
    pf_ok: float = 0.75
    pf_min_dim: float = 50.0  # drivers' power factor falls when deeply dimmed: judged above this
    tilt_max_deg: float = 15.0
    tilt_ok_deg: float = 10.0
    silent_intervals: float = 3.0  # reporting intervals without an uplink: communication failure
    offline_hold_s: float = 120.0  # an "offline" waits this long for its cabinet's story
    outage_share: float = 0.6  # this share of a cabinet's lights dark together: an outage
    outage_min_lights: int = 3
    reopen_window_s: float = 3600.0  # a cleared alarm reopens within this, else closes
    # Traffic signals (``services/signal_rules.py``).
    lamp_off_a: float = 0.03  # a signal lamp drawing less than this is not lit
    battery_low_v: float = 23.0  # a 24 V backup battery below this is nearly flat
    battery_ok_v: float = 24.0
    battery_absent_v: float = 5.0  # below this no battery is fitted: not judged
    door_open_max_s: float = 7200.0  # a cabinet door open longer than this, authorised or not
    detector_stuck_s: float = 900.0  # a vehicle detector on this long without going off
    # The cabinet's alarm inputs by number (175, 200/201); the one named "door" is the door.
    alarm_inputs: Mapping[int, str] = field(default_factory=lambda: {1: "door"})
    default_interval_s: Mapping[str, float] = field(
        default_factory=lambda: {
            "streetlight_node": 300.0,
            "cabinet_meter": 300.0,
            "signal_monitor": 60.0,
        }
    )
    severities: Mapping[AlarmType, Severity] = field(default_factory=lambda: DEFAULT_SEVERITIES)
    curves: Mapping[LuminaireType, PowerCurve] = field(default_factory=lambda: DEFAULT_CURVES)

    def severity(self, kind: AlarmType) -> Severity:
        """The severity alarms of ``kind`` get."""
        return self.severities.get(kind) or DEFAULT_SEVERITIES[kind]

    def curve(self, luminaire: LuminaireType | None) -> PowerCurve:
        """The power curve of a luminaire type (LED when unknown)."""
        return self.curves.get(luminaire or LuminaireType.LED) or _LED

    def merged(self, overrides: Mapping[str, Any]) -> DetectionSettings:
        """These settings with a city's overrides applied and checked.

        Raises:
            InvalidInputError: An override names no setting, has the wrong type
                or leaves a raise threshold on the wrong side of its clear one.
        """
        changes: dict[str, Any] = {}
        fields = {f.name: f for f in dataclasses.fields(self)}
        for name, value in overrides.items():
            if name not in fields:
                raise InvalidInputError(f"{name!r} is not a detection setting")
            changes[name] = _coerce(name, value, getattr(self, name))
        merged = dataclasses.replace(self, **changes)
        merged.check()
        return merged

    def as_overrides(self, base: DetectionSettings | None = None) -> dict[str, Any]:
        """The fields that differ from ``base`` (the defaults), as JSON-ready values."""
        base = base or DetectionSettings()
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value != getattr(base, f.name):
                out[f.name] = _plain(value)
        return out

    def check(self) -> None:
        """Raise InvalidInputError if the thresholds contradict each other."""
        rules = (
            (self.lamp_low_ratio < self.lamp_ok_ratio, "lamp_low_ratio < lamp_ok_ratio"),
            (self.lamp_dead_ratio <= self.lamp_low_ratio, "lamp_dead_ratio <= lamp_low_ratio"),
            (self.power_ok_ratio < self.power_high_ratio, "power_ok_ratio < power_high_ratio"),
            (self.voltage_high_clear < self.voltage_high, "voltage_high_clear < voltage_high"),
            (self.voltage_low < self.voltage_low_clear, "voltage_low < voltage_low_clear"),
            (
                self.voltage_low_clear < self.voltage_high_clear,
                "voltage_low_clear < voltage_high_clear",
            ),
            (self.pf_low < self.pf_ok, "pf_low < pf_ok"),
            (self.tilt_ok_deg < self.tilt_max_deg, "tilt_ok_deg < tilt_max_deg"),
            (self.confirm_reports >= 1, "confirm_reports >= 1"),
            (self.clear_reports >= 1, "clear_reports >= 1"),
            (self.silent_intervals >= 1.5, "silent_intervals >= 1.5"),  # noqa: PLR2004
            (0 < self.outage_share <= 1, "0 < outage_share <= 1"),
            (self.cycling_changes >= 2, "cycling_changes >= 2"),  # noqa: PLR2004
            (0 <= self.night_dim <= 100, "0 <= night_dim <= 100"),  # noqa: PLR2004
            (self.lamp_off_a > 0, "lamp_off_a > 0"),
            (self.battery_absent_v < self.battery_low_v, "battery_absent_v < battery_low_v"),
            (self.battery_low_v < self.battery_ok_v, "battery_low_v < battery_ok_v"),
            (self.door_open_max_s > 0, "door_open_max_s > 0"),
            (self.detector_stuck_s > 0, "detector_stuck_s > 0"),
        )
        for ok, rule in rules:
            if not ok:
                raise InvalidInputError(f"detection settings must keep {rule}")


def _coerce(name: str, value: object, current: object) -> object:
    """A JSON value as the type of the setting it overrides."""
    try:
        return _coerced(name, value, current)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name}: {value!r} is not a valid value") from exc


def _number(value: object, kind: type[int | float]) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(value)
    if kind is int and int(value) != value:
        raise TypeError(value)
    return kind(value)


def _coerced(name: str, value: object, current: object) -> object:
    if isinstance(current, int | float) and not isinstance(current, bool):
        return _number(value, type(current))
    if isinstance(current, time):
        return time.fromisoformat(str(value))
    if not isinstance(value, Mapping):
        raise TypeError(value)
    # a map setting overrides the entries it names and keeps the others
    if name == "severities" and isinstance(current, Mapping):
        return {**current, **{AlarmType(k): Severity(v) for k, v in value.items()}}
    if name == "curves" and isinstance(current, Mapping):
        return {
            **current,
            **{
                LuminaireType(k): PowerCurve(tuple((float(a), float(b)) for a, b in points))
                for k, points in value.items()
            },
        }
    if name == "default_interval_s" and isinstance(current, Mapping):
        return {**current, **{str(k): _number(v, float) for k, v in value.items()}}
    if name == "alarm_inputs" and isinstance(current, Mapping):
        return {**current, **{_input_number(k): _input_name(v) for k, v in value.items()}}
    raise TypeError(value)


def _input_number(value: object) -> int:
    """An alarm input's number, 1-255 (JSON gives map keys as text)."""
    number = int(str(value))
    if not 1 <= number <= 255:  # noqa: PLR2004 - an event parameter
        raise ValueError(value)
    return number


def _input_name(value: object) -> str:
    """An alarm input's name: a short text (``door``, ``fan``), kept as given but trimmed."""
    if not isinstance(value, str) or not value.strip() or len(value) > 40:  # noqa: PLR2004
        raise TypeError(value)
    return value.strip()


def _plain(value: object) -> object:
    if isinstance(value, time):
        return value.isoformat(timespec="minutes")
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, PowerCurve):
        return [list(point) for point in value.points]
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceProfile:
    """What the fault rules need to know of a device and the asset it is bound to."""

    device_id: int
    city_id: int
    uid: str
    kind: str  # DeviceKind value
    asset_id: int | None = None
    asset_code: str | None = None
    in_service: bool = True  # the asset is in service (out of service, planned: no alarms)
    cabinet_id: int | None = None  # the cabinet that powers it (lights)
    luminaire: LuminaireType | None = None
    rated_watts: float | None = None
    lat: float | None = None
    lon: float | None = None
    # what a light's schedule is assigned by (domain/assignments.py), "" for none
    group: str = ""
    cabinet_code: str = ""
    street_class: str = ""
