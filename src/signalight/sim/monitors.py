"""Simulated traffic-signal monitors: a running controller's lamps and events, and their faults.

Each intersection's controller (``controller.py``) cycles its phases; its
monitor reports every ``interval`` the cabinet's state (mode, MMU, door,
mains, battery), the current of every lit lamp and the events the controller
logged since its last report. A fault changes what it reports, and leaves
its events in the log when it starts and when it ends, as a real controller
logs them (``indiana_enumerations.md``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from signalight.codecs.senml import encode_pack
from signalight.domain.readings import Reading
from signalight.sim.controller import DETECTOR_OFF, DETECTOR_ON, Controller
from signalight.sim.faults import DOOR_OPENINGS, HOUR, Fault, FaultType

if TYPE_CHECKING:
    from signalight.domain.faults import DetectionSettings

BATTERY_V: Final = 27.2  # a 24 V battery on float charge
BATTERY_START_V: Final = 25.6  # where it stands once the charger has dropped out
BATTERY_DRAIN_V_PER_H: Final = 1.2
BATTERY_EMPTY_V: Final = 22.0  # below this the UPS lets the signal go dark
WORN_BATTERY_V: Final = (21.0, 22.8)  # a worn battery's voltage on charge
FLASH_DUTY: Final = 0.5
MMU_RED_FAIL: Final = 0.25  # the share of red lamp failures the MMU sees and flashes for

# Indiana event codes.
FLASH_STATUS: Final = 173  # parameter: NTCIP unitFlashStatus
ALARM_STATUS: Final = 174  # parameter: NTCIP unitAlarmStatus1 bitmap
ALARM_GROUP: Final = 175  # parameter: NTCIP alarmGroupState bitmap (bit 0: input 1)
MANUAL: Final = 178
STOP_TIME: Final = 180
POWER_FAILED: Final = 182
POWER_RESTORED: Final = 184
ALARM_ON: Final = 200  # parameter: alarm input; the door switch is wired to input 1
ALARM_OFF: Final = 201
DETECTOR_RESTORED: Final = 83
DETECTOR_FAULT_CODES: Final = (84, 85, 86, 87, 88)
PED_FAILED: Final = 91
PED_RESTORED: Final = 92
NOT_FLASH, AUTOMATIC_FLASH, MMU_FLASH = 2, 3, 6
MMU_FLASH_BIT: Final = 16
DOOR_INPUT: Final = 1
OTHER_INPUTS: Final = (2, 3, 4)  # fan, heater, flood switch: named by the city

_MMU_FLASH: Final = (((FLASH_STATUS, MMU_FLASH), (ALARM_STATUS, MMU_FLASH_BIT)),)
_MMU_BACK: Final = (((FLASH_STATUS, NOT_FLASH), (ALARM_STATUS, 0)),)
_DOOR: Final = (((ALARM_ON, DOOR_INPUT),), ((ALARM_OFF, DOOR_INPUT),))
# The events a fault leaves in the controller's log when it starts and when it ends.
_FAULT_EVENTS: Final[dict[FaultType, tuple[tuple[tuple[int, int], ...], ...]]] = {
    FaultType.SIGNAL_FLASH: (((FLASH_STATUS, AUTOMATIC_FLASH),), ((FLASH_STATUS, NOT_FLASH),)),
    FaultType.CONFLICT_FLASH: _MMU_FLASH + _MMU_BACK,
    FaultType.MAINS_FAILURE: (((POWER_FAILED, 1),), ((POWER_RESTORED, 1),)),
    FaultType.MANUAL_CONTROL: (((MANUAL, 1),), ((MANUAL, 0),)),
    FaultType.STOP_TIME: (((STOP_TIME, 1),), ((STOP_TIME, 0),)),
    **dict.fromkeys(DOOR_OPENINGS, _DOOR),
}

# The monitor's mode and MMU while a fault holds.
_MODES: Final = {
    FaultType.SIGNAL_FLASH: ("flash", "ok"),
    FaultType.CONFLICT_FLASH: ("flash", "conflict"),
    FaultType.SIGNAL_DARK: ("dark", "ok"),
    FaultType.MANUAL_CONTROL: ("manual", "ok"),
}

Random = Callable[[], float]


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
        self.controller = Controller(phases, random.Random(rng.getrandbits(64)))  # noqa: S311
        self.amps = {p: 0.12 * rng.randint(2, 4) for p in phases}  # LED heads of 0.12 A
        self.last: float | None = None
        self.fault: Fault | None = None
        self.silent = False
        self.pending: list[tuple[float, int, int]] = []

    def begin(self, fault: Fault, rng: random.Random) -> None:
        """Start ``fault`` on the intersection, drawing what it strikes (a phase, an input)."""
        self.fault = fault
        kind = fault.type
        self.silent = kind is FaultType.COMMUNICATION_FAILURE
        phases = self.phases or (1,)
        events = _FAULT_EVENTS.get(kind, ((), ()))[0]
        match kind:
            case FaultType.RED_LAMP_FAILURE:
                fault.index = rng.choice(phases)
                if fault.level or (not fault.injected and rng.random() < MMU_RED_FAIL):
                    fault.level = 1.0  # the MMU saw it: it flashes the signal
                    events = _MMU_FLASH[0]
            case FaultType.DETECTOR_FAULT:
                fault.index = rng.choice(phases)
                # Half log a fault code; the other half stick on and log nothing more.
                code = int(fault.level) or (
                    rng.choice(DETECTOR_FAULT_CODES) if rng.random() < 0.5 else DETECTOR_ON  # noqa: PLR2004
                )
                fault.level = float(code)
                events = ((code, fault.index),)
                if code == DETECTOR_ON:
                    self.controller.stuck = fault.index
            case FaultType.PEDESTRIAN_DETECTOR_FAULT:
                fault.index = rng.choice([p for p in phases if p % 2 == 0] or list(phases))
                events = ((PED_FAILED, fault.index),)
            case FaultType.CABINET_ALARM:
                fault.index = rng.choice(OTHER_INPUTS)
                events = ((ALARM_GROUP, 1 << (fault.index - 1)),)
            case FaultType.BATTERY_LOW if not fault.level:
                fault.level = round(rng.uniform(*WORN_BATTERY_V), 1)
            case _:
                pass
        self.pending += [(fault.start, code, parameter) for code, parameter in events]

    def finish(self) -> None:
        """End the intersection's fault, logging what its end leaves in the log."""
        fault = self.fault
        self.fault = None
        self.silent = False
        self.controller.stuck = -1
        if fault is None or fault.end is None:
            return
        events = _FAULT_EVENTS.get(fault.type, ((), ()))[1]
        match fault.type:
            case FaultType.RED_LAMP_FAILURE if fault.level:
                events = _MMU_BACK[0]
            case FaultType.DETECTOR_FAULT:
                back = DETECTOR_OFF if fault.level == DETECTOR_ON else DETECTOR_RESTORED
                events = ((back, fault.index),)
            case FaultType.PEDESTRIAN_DETECTOR_FAULT:
                events = ((PED_RESTORED, fault.index),)
            case FaultType.CABINET_ALARM:
                events = ((ALARM_GROUP, 0),)
            case _:
                pass
        self.pending += [(fault.end, code, parameter) for code, parameter in events]

    def follows(self, fault: Fault, settings: DetectionSettings) -> list[Fault]:
        """The faults that follow from ``fault`` as it lasts, for the ground truth.

        A long mains failure drains the battery below ``battery_low_v`` and
        then to empty, when the signal goes dark; a door open past
        ``door_open_max_s`` is open too long (from when it opened: the scorer
        knows when that shows).
        """
        end = fault.end
        found: list[Fault] = []
        if fault.type is FaultType.MAINS_FAILURE:
            for kind, volts in (
                (FaultType.BATTERY_LOW, settings.battery_low_v),
                (FaultType.SIGNAL_DARK, BATTERY_EMPTY_V),
            ):
                at = math.ceil(
                    fault.start + (BATTERY_START_V - volts) / BATTERY_DRAIN_V_PER_H * HOUR
                )
                if end is None or at < end:
                    found.append(Fault(kind, fault.asset, at, end, consequence=True))
        elif fault.type in DOOR_OPENINGS and (
            end is None or end - fault.start > settings.door_open_max_s
        ):
            kind = FaultType.DOOR_OPEN_TOO_LONG
            found.append(Fault(kind, fault.asset, fault.start, end, consequence=True))
        for follow in found:
            follow.device = self.uid
        return found

    def report(self, t: float) -> bytes | None:
        """The monitor's SenML pack at ``t``, or None while it is silent."""
        since = t - self.interval if self.last is None else self.last
        self.last = t
        if self.silent or self.uid is None:
            return None
        fault = self.fault
        mode, mmu, door, mains, battery = self._cabinet(t, fault)
        readings = [
            Reading(t, "door", string_value=door),
            Reading(t, "mode", string_value=mode),
            Reading(t, "mmu", string_value=mmu),
            Reading(t, "mains", bool_value=mains),
            Reading(t, "battery", round(battery, 2)),
            *self._lamps(t, mode, fault),
        ]
        if mode in ("normal", "manual"):  # a controller in flash or dark does not cycle
            readings += [
                Reading(at, "event", float(code), string_value=str(parameter))
                for at, code, parameter in self.controller.events(since, t)
            ]
        readings += [
            Reading(at, "event", float(code), string_value=str(parameter))
            for at, code, parameter in self.pending
        ]
        self.pending.clear()
        return encode_pack(self.uid, readings, t)

    def _cabinet(self, t: float, fault: Fault | None) -> tuple[str, str, str, bool, float]:
        """The cabinet's mode, MMU, door, mains and battery at ``t``, as its fault leaves them."""
        mode, mmu, door, mains = "normal", "ok", "closed", True
        battery = BATTERY_V + (self.rnd() - 0.5) * 0.2
        if fault is None:
            return mode, mmu, door, mains, battery
        mode, mmu = _MODES.get(fault.type, (mode, mmu))
        match fault.type:
            case FaultType.RED_LAMP_FAILURE if fault.level:
                mode, mmu = "flash", "red_fail"
            case kind if kind in DOOR_OPENINGS:
                door = "open"
            case FaultType.BATTERY_LOW:
                battery = fault.level
            case FaultType.MAINS_FAILURE:
                mains = False
                drained = BATTERY_DRAIN_V_PER_H * (t - fault.start) / HOUR
                battery = max(20.0, BATTERY_START_V - drained)
                if battery < BATTERY_EMPTY_V:
                    mode = "dark"
            case _:
                pass
        return mode, mmu, door, mains, battery

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
        out = -1 if fault is None or fault.type is not FaultType.RED_LAMP_FAILURE else fault.index
        return [
            Reading(
                t,
                f"lamp/{p}/{colour}",
                0.0
                if p == out and colour == "red"
                else round(self.amps[p] * (0.95 + 0.1 * rnd()), 3),
            )
            for p, colour in self.controller.colours(t).items()
        ]
