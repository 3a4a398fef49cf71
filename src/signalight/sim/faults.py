"""The faults the simulator injects: their types, rates and durations, and requests to inject one.

Type names follow the TALQ vocabulary for streetlights (``lampFailure``,
``supplyLoss``, ...) and the same camelCase style for traffic signals; the
ground-truth log and the fault detection that is scored against it use them.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Final

from signalight.domain.assets import AssetKind
from signalight.domain.errors import InvalidInputError

DAY: Final = 86_400.0
HOUR: Final = 3_600.0


class FaultType(StrEnum):
    """What goes wrong, named as the ground truth and the detection name it."""

    LAMP_FAILURE = "lampFailure"  # relay on, lamp draws next to nothing
    LAMP_UNEXPECTED_ON = "lampUnexpectedOn"  # day burning: on while the sun is up
    CYCLING_FAILURE = "cyclingFailure"  # end-of-life lamp going out and back every few minutes
    DIMMING_FAILURE = "dimmingFailure"  # dim level stuck, not what the schedule says
    ORIENTATION_CHANGED = "orientationChanged"  # pole knocked or bent: tilt jumps
    COMMUNICATION_FAILURE = "communicationFailure"  # the device goes silent (any kind)
    HIGH_POWER = "highPower"  # a driver fault: the lamp draws well above its rating while lit
    LOW_POWER_FACTOR = "lowPowerFactor"  # a driver's power-factor correction failed
    NODE_FAULT = "nodeFault"  # the node reports a diagnosis of its own (its ``fault`` reading)
    SUPPLY_LOSS = "supplyLoss"  # a cabinet loses mains: its meter reads 0 V, its lights go dark
    HIGH_VOLTAGE = "highVoltage"  # a cabinet's supply above the band: its meter and lights see it
    LOW_VOLTAGE = "lowVoltage"  # a cabinet's supply below the band, yet not lost
    # Traffic signals, named as the alarms that should answer them.
    SIGNAL_FLASH = "signalFlash"  # controller in flash
    SIGNAL_DARK = "signalDark"  # controller dark, every lamp off
    CONFLICT_FLASH = "conflictFlash"  # the MMU saw conflicting greens and put the signal in flash
    RED_LAMP_FAILURE = "redLampFailure"  # one phase's red draws no current while lit
    MANUAL_CONTROL = "manualControl"  # a police officer runs the signal from the cabinet
    STOP_TIME = "stopTime"  # the controller's stop-time input is on
    MAINS_FAILURE = "mainsFailure"  # mains lost, the cabinet runs on its battery
    BATTERY_LOW = "batteryLow"  # a worn battery; or a long mains failure draining it
    DOOR_OPEN_UNAUTHORISED = "doorOpenUnauthorised"  # the door opened with no window: a break-in
    DOOR_OPEN_AUTHORISED = "doorOpenAuthorised"  # a crew's opening in its window: no alarm
    DOOR_OPEN_TOO_LONG = "doorOpenTooLong"  # a crew's opening left open past the city's limit
    CABINET_ALARM = "cabinetAlarm"  # an alarm input other than the door (fan, heater, flood)
    DETECTOR_FAULT = "detectorFault"  # a vehicle detector faulted (84-88) or stuck on
    PEDESTRIAN_DETECTOR_FAULT = "pedestrianDetectorFault"  # a push button failed (91)


# A cabinet door opened: by a thief, by a crew in its window, by a crew that stayed on.
DOOR_OPENINGS: Final = frozenset(
    {
        FaultType.DOOR_OPEN_UNAUTHORISED,
        FaultType.DOOR_OPEN_AUTHORISED,
        FaultType.DOOR_OPEN_TOO_LONG,
    }
)
# Faults a crew's maintenance window covers: no alarm of a break-in is due.
AUTHORISED: Final = frozenset({FaultType.DOOR_OPEN_AUTHORISED, FaultType.DOOR_OPEN_TOO_LONG})


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """How often a fault starts and how long it lasts.

    Durations are log-normal around ``median_h``; a ``lasting`` share of
    faults (and all when ``median_h`` is None) last to the end of the run, as
    a broken lamp does until a crew replaces it.
    """

    kinds: frozenset[AssetKind]  # the assets it can strike
    per_day: float  # starts per device per simulated day
    median_h: float | None = None
    sigma: float = 1.0
    lasting: float = 0.0


_LIGHT = frozenset({AssetKind.STREETLIGHT})
_CABINET = frozenset({AssetKind.CABINET})
_SIGNAL = frozenset({AssetKind.INTERSECTION})
_ANY = frozenset(AssetKind)

# Rates give a 20,000-light fleet about 4% of its lights with a fault in a
# simulated week, lamp failures and silent nodes the most common.
DEFAULT_SPECS: Final[dict[FaultType, FaultSpec]] = {
    FaultType.LAMP_FAILURE: FaultSpec(_LIGHT, 0.002),
    FaultType.LAMP_UNEXPECTED_ON: FaultSpec(_LIGHT, 0.0005),
    FaultType.CYCLING_FAILURE: FaultSpec(_LIGHT, 0.0005),
    FaultType.DIMMING_FAILURE: FaultSpec(_LIGHT, 0.0003),
    FaultType.ORIENTATION_CHANGED: FaultSpec(_LIGHT, 0.0001),
    FaultType.COMMUNICATION_FAILURE: FaultSpec(_ANY, 0.002, median_h=3.0, sigma=1.2, lasting=0.1),
    FaultType.SUPPLY_LOSS: FaultSpec(_CABINET, 0.005, median_h=1.5),
    # Injected on request only (a rate of 0): a supply out of band raises an alarm
    # on every light of the cabinet, not one incident, and random runs keep the
    # faults their seeds have always drawn.
    FaultType.HIGH_POWER: FaultSpec(_LIGHT, 0.0),
    FaultType.LOW_POWER_FACTOR: FaultSpec(_LIGHT, 0.0),
    FaultType.NODE_FAULT: FaultSpec(_LIGHT, 0.0, median_h=4.0),
    FaultType.HIGH_VOLTAGE: FaultSpec(_CABINET, 0.0, median_h=2.0),
    FaultType.LOW_VOLTAGE: FaultSpec(_CABINET, 0.0, median_h=2.0),
    # Traffic signals, per intersection and day: a city of 100 intersections sees a
    # crew open a cabinet three times a day, a break-in every few days, a flash or a
    # mains failure every other day, a red lamp out every other day.
    FaultType.SIGNAL_FLASH: FaultSpec(_SIGNAL, 0.005, median_h=1.0),
    FaultType.SIGNAL_DARK: FaultSpec(_SIGNAL, 0.002, median_h=2.0),
    FaultType.CONFLICT_FLASH: FaultSpec(_SIGNAL, 0.002, median_h=3.0),
    FaultType.RED_LAMP_FAILURE: FaultSpec(_SIGNAL, 0.005),
    FaultType.MANUAL_CONTROL: FaultSpec(_SIGNAL, 0.003, median_h=1.0, sigma=0.7),
    FaultType.STOP_TIME: FaultSpec(_SIGNAL, 0.001, median_h=0.25),
    FaultType.MAINS_FAILURE: FaultSpec(_SIGNAL, 0.005, median_h=1.0),
    FaultType.BATTERY_LOW: FaultSpec(_SIGNAL, 0.0005),
    FaultType.DOOR_OPEN_UNAUTHORISED: FaultSpec(_SIGNAL, 0.003, median_h=0.3, sigma=0.8),
    FaultType.DOOR_OPEN_AUTHORISED: FaultSpec(_SIGNAL, 0.03, median_h=0.75, sigma=0.8),
    # Random crew openings that stay past the limit are authorised openings that last;
    # injected, it is a crew's opening for as long as asked.
    FaultType.DOOR_OPEN_TOO_LONG: FaultSpec(_SIGNAL, 0.0),
    FaultType.CABINET_ALARM: FaultSpec(_SIGNAL, 0.003, median_h=2.0),
    FaultType.DETECTOR_FAULT: FaultSpec(_SIGNAL, 0.01, median_h=24.0, lasting=0.5),
    FaultType.PEDESTRIAN_DETECTOR_FAULT: FaultSpec(_SIGNAL, 0.003, median_h=24.0, lasting=0.5),
}


@dataclass(slots=True, eq=False)
class Fault:
    """One fault on one asset, from ``start`` to ``end`` (None: to the end of the run).

    ``level`` and ``index`` carry what the fault draws when it starts: a stuck
    dim level, a tilt angle, a cycling period, a power or a power factor, a
    supply voltage, a phase or a detector channel. A ``consequence`` follows
    from another fault on the same asset (a long mains failure's flat battery):
    it is ground truth only, and does not keep the asset from other faults.
    """

    type: FaultType
    asset: str
    start: float
    end: float | None
    injected: bool = False
    level: float = 0.0
    index: int = 0
    device: str | None = field(default=None)
    consequence: bool = False  # it follows from another fault (ground truth only)

    def active(self, t: float) -> bool:
        """Whether the fault holds at ``t``."""
        return self.start <= t and (self.end is None or t < self.end)


def draw_duration(spec: FaultSpec, rng: random.Random) -> float | None:
    """A fault's duration in seconds, or None if it lasts to the end of the run."""
    if spec.median_h is None or rng.random() < spec.lasting:
        return None
    hours = rng.lognormvariate(math.log(spec.median_h), spec.sigma)
    return max(60.0, hours * HOUR)


@dataclass(frozen=True, slots=True)
class Injection:
    """A request to start a named fault on a named asset at a time, for a while.

    ``level`` names what the fault would otherwise draw when it starts: a
    cycling failure's period in seconds, the dim level a dimming failure is
    stuck at, a driver's power (times the expected) or power factor, a
    supply's voltage, a worn battery's voltage, a detector fault's code (84-88,
    or 82 for a detector stuck on), or 1 for a red lamp failure the MMU sees
    (and flashes the signal for). None draws it as for a random fault (an
    injected red lamp failure is then one the MMU misses); other types ignore it.
    """

    type: FaultType
    asset: str
    start: float  # UTC epoch seconds
    duration: float | None  # seconds; None lasts to the end of the run
    level: float | None = None


_SPAN = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNIT = {"s": 1.0, "m": 60.0, "h": HOUR, "d": DAY}


def parse_span(text: str) -> float:
    """Seconds in a span such as ``90s``, ``10m``, ``1h30m`` or ``7d``.

    Raises:
        InvalidInputError: The text is not such a span.
    """
    text = text.strip()
    if not text or _SPAN.sub("", text):
        raise InvalidInputError(f"{text!r} is not a span like 90s, 10m, 2h, 1h30m or 7d")
    return sum(float(number) * _UNIT[unit] for number, unit in _SPAN.findall(text))


def parse_time(text: str, origin: datetime) -> datetime:
    """An ISO 8601 time (UTC if it names no zone), or a span before or after ``origin``.

    ``+10m`` is ten minutes after ``origin``, ``-7d`` a week before it.

    Raises:
        InvalidInputError: The text is neither.
    """
    text = text.strip()
    if text[:1] in ("+", "-"):
        seconds = parse_span(text[1:])
        return origin + timedelta(seconds=seconds if text[0] == "+" else -seconds)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(f"{text!r} is not an ISO 8601 time nor +SPAN/-SPAN") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_injection(text: str, origin: datetime) -> Injection:
    """An injection written ``TYPE:ASSET@WHEN[/DURATION]``.

    ``WHEN`` is an ISO 8601 time or ``+SPAN`` after ``origin`` (the start of
    the run); without ``/DURATION`` the fault lasts to the end of the run.
    For example ``lampFailure:SL-000012@+10m/2h``.

    Raises:
        InvalidInputError: The text is not of that form or names no fault type.
    """
    head, at, when = text.partition("@")
    name, colon, asset = head.partition(":")
    if not at or not colon or not asset.strip():
        raise InvalidInputError(f"{text!r} is not TYPE:ASSET@WHEN[/DURATION]")
    try:
        kind = FaultType(name.strip())
    except ValueError:
        names = ", ".join(FaultType)
        raise InvalidInputError(f"{name!r} is not a fault type; the types are {names}") from None
    moment, slash, span = when.partition("/")
    duration = parse_span(span) if slash else None
    start = parse_time(moment, origin).timestamp()
    return Injection(kind, asset.strip(), start, duration)
