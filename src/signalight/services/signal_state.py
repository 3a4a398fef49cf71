"""What an intersection is doing, as its monitor's readings and its controller's events tell it.

A signal cabinet speaks through two sources, either of which may be missing:
the monitor's readings (``mode``, ``mmu``, ``door``, ``mains``, ``battery``,
lamp currents), which state the cabinet as it is at the report's time, and
the controller's Indiana events, which state each change at its own time
(``indiana_enumerations.md``). :class:`SignalState` keeps the newest word of
each source apart; the rules (``signal_rules.py``) read a condition as held
when either source says so, so that a controller that only logs events and a
monitor that only reports its mode are both judged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from signalight.domain.alarms import AlarmType

if TYPE_CHECKING:
    from collections.abc import Mapping

    from signalight.domain.alarms import Alarm
    from signalight.domain.faults import DeviceProfile

__all__ = ["DETECTOR_FAULTS", "FLASH_NAMES", "SignalState", "event_parameter"]

# Indiana event codes (indiana_enumerations.md) the rules read.
PHASE_GREEN: Final = 1
PHASE_YELLOW: Final = 8
PHASE_RED: Final = frozenset({9, 10, 11, 12})  # end of yellow, red clearance, inactive
PHASE_CHANGES: Final = frozenset({PHASE_GREEN, PHASE_YELLOW, *PHASE_RED})
DETECTOR_OFF: Final = 81
DETECTOR_ON: Final = 82
DETECTOR_RESTORED: Final = 83
DETECTOR_FAULTS: Final = {
    84: "other fault",
    85: "watchdog fault",
    86: "open loop",
    87: "shorted loop",
    88: "excessive change",
}
PED_FAILED: Final = 91
PED_RESTORED: Final = 92
UNIT_CONTROL: Final = 155  # NTCIP unitControlStatus: 5 manual, 9 remote manual, 10 local manual
FLASH_STATUS: Final = 173  # NTCIP unitFlashStatus
ALARM_STATUS: Final = 174  # NTCIP unitAlarmStatus1 bitmap
ALARM_GROUP: Final = 175  # NTCIP alarmGroupState bitmap: bit 0 is alarm input 1
MANUAL: Final = 178  # manual control enable, 1 on / 0 off
STOP_TIME: Final = 180  # stop time input, 1 on / 0 off
POWER_FAILED: Final = 182
POWER_RESTORED: Final = 184
ALARM_ON: Final = 200  # parameter: the alarm input (A=1, B=2, ...)
ALARM_OFF: Final = 201
# unitFlashStatus values: 1 other, 2 notFlash, 3 automatic, 4 localManual, 5 faultMonitor,
# 6 mmu, 7 startup, 8 preempt. Startup and preempt flash are the controller's own
# programme (a few seconds after power-up, a railway preemption), not a fault.
FLASH_NAMES: Final = {
    1: "other",
    3: "automatic",
    4: "local manual",
    5: "fault monitor",
    6: "MMU",
}
MMU_FLASH_STATUS: Final = 6
MMU_FLASH_BIT: Final = 16  # unitAlarmStatus1 bit 4
LOCAL_FLASH_BIT: Final = 32  # bit 5
MANUAL_CONTROL_STATUS: Final = frozenset({5, 9, 10})
ALARM_INPUTS: Final = 8  # one alarm group
# The events that change a condition a rule judges; the rest only follow the cycle.
CONTROLLER: Final = frozenset(
    {UNIT_CONTROL, FLASH_STATUS, ALARM_STATUS, MANUAL, STOP_TIME, POWER_FAILED, POWER_RESTORED}
)
JUDGED: Final = frozenset(
    {
        *CONTROLLER,
        ALARM_GROUP,
        ALARM_ON,
        ALARM_OFF,
        DETECTOR_RESTORED,
        *DETECTOR_FAULTS,
        PED_FAILED,
        PED_RESTORED,
    }
)
# Faults an MMU names that are not a conflict: its flash is for them.
_NOT_CONFLICT: Final = frozenset({"red_fail", "voltage", "other"})


def event_parameter(text: str | None) -> int | None:
    """An event's parameter from its decimal text, or None if it is not one."""
    if text is None or not text.isdigit():
        return None
    return int(text)


@dataclass(slots=True, eq=False)
class SignalState:
    """One intersection as its monitor last reported it and its controller last logged it.

    ``profile`` is the device profile it was built for: a new profile (the
    inventory changed) starts a new state.
    """

    profile: DeviceProfile
    # The monitor's newest readings (None: never reported).
    mode: str | None = None
    mmu: str | None = None
    door: bool | None = None
    mains: bool | None = None
    # The controller's newest events (None: never logged).
    flash_status: int | None = None
    alarm_status: int | None = None
    manual_event: bool | None = None
    power_event: bool | None = None  # False after 182, True after 184
    stop_time: bool = False
    inputs: set[int] = field(default_factory=set)  # alarm inputs on
    phases: dict[int, int] = field(default_factory=dict)  # phase: its newest phase event
    detectors_on: dict[int, float] = field(default_factory=dict)  # channel: on since
    detector_faults: dict[int, int] = field(default_factory=dict)  # channel: fault code
    ped_faults: set[int] = field(default_factory=set)
    # What the rules keep between reports.
    opened_at: float | None = None  # when the door was first seen open
    asking: bool = False  # the door's authority has not answered yet
    authorised: str | None = None  # who or what authorised the opening
    red_out: dict[int, int] = field(default_factory=dict)  # phase: good reports since out
    colours_seen: bool = False  # the monitor reports green and yellow lamps, not reds alone
    battery_streak: int = 0  # >0 low reports in a row, <0 good ones
    last_report: float = -math.inf
    mains_lost_at: float | None = None
    mains_wait: float | None = None  # waiting until then for the cabinet meter's word

    def event(self, code: int, param: int, at: float) -> bool:
        """Apply one logged event; returns whether it changes what a rule judges."""
        if code in PHASE_CHANGES:
            self.phases[param] = code
        elif code == DETECTOR_ON:
            self.detectors_on.setdefault(param, at)
        elif code == DETECTOR_OFF:
            self.detectors_on.pop(param, None)
        elif code in JUDGED:
            if code in CONTROLLER:
                self._controller_event(code, param)
            else:
                self._input_event(code, param)
            return True
        return False

    def _controller_event(self, code: int, param: int) -> None:
        """A change of the controller's own state: flash, alarms, manual, stop time, power."""
        match code:
            case 173:
                self.flash_status = param
            case 174:
                self.alarm_status = param
            case 155:
                self.manual_event = param in MANUAL_CONTROL_STATUS
            case 178:
                self.manual_event = param == 1
            case 180:
                self.stop_time = param == 1
            case _:  # 182 power failed, 184 restored
                self.power_event = code == POWER_RESTORED

    def _input_event(self, code: int, param: int) -> None:
        """A change of an alarm input or of a detector's health."""
        match code:
            case 175:
                group = {n for n in range(1, ALARM_INPUTS + 1) if param & (1 << (n - 1))}
                self.inputs = {n for n in self.inputs if n > ALARM_INPUTS} | group
            case 200:
                self.inputs.add(param)
            case 201:
                self.inputs.discard(param)
            case 83:
                self.detector_faults.pop(param, None)
            case 91:
                self.ped_faults.add(param)
            case 92:
                self.ped_faults.discard(param)
            case _:  # 84-88: a detector fault of its channel
                self.detector_faults[param] = code

    def cabinet(self, mode: str | None, mmu: str | None, mains: bool | None) -> None:
        """Apply the monitor's mode, MMU and mains of a report (None: not in it).

        They are applied before the report's events are read: they say why the
        events happened (the MMU names the fault it flashed for) and where they
        led (a flash's end logged, the mode back to normal).
        """
        if mode is not None:
            self.mode = mode
        if mmu is not None:
            self.mmu = mmu
        if mains is not None:
            self.mains = mains

    def forget_detectors(self) -> None:
        """Forget which detectors are on and which phase is where: their events were not seen.

        A controller in flash or dark serves no phase and logs no detector, and
        a report lost leaves a gap in the log: a detector seen on before either
        is not stuck for want of its "off".
        """
        self.detectors_on.clear()
        self.phases.clear()

    def restore(self, alarms: Mapping[AlarmType, Alarm], stuck_s: float) -> None:
        """Take back what the open alarms say of the events behind them (after a restart).

        An event's state lasts until the next event says otherwise: one seen
        before the restart is known now only by the alarm it raised, which
        would otherwise clear at the first report for want of it, and raise
        again at the next event.
        """
        for kind, alarm in alarms.items():
            if alarm.active:
                self._restore_controller(kind, alarm.detail)
                self._restore_parts(kind, alarm, stuck_s)

    def _restore_controller(self, kind: AlarmType, d: Mapping[str, Any]) -> None:
        match kind:
            case AlarmType.SIGNAL_FLASH | AlarmType.CONFLICT_FLASH:
                self.flash_status = _int(d.get("flash_status"))
                self.alarm_status = _int(d.get("alarm_status"))
            case AlarmType.MANUAL_CONTROL if d.get("mode") != "manual":
                self.manual_event = True
            case AlarmType.STOP_TIME:
                self.stop_time = True
            case AlarmType.MAINS_FAILURE if d.get("power_event") is False:
                self.power_event = False
            case _:
                pass

    def _restore_parts(self, kind: AlarmType, alarm: Alarm, stuck_s: float) -> None:
        d = alarm.detail
        match kind:
            case AlarmType.RED_LAMP_FAILURE:
                self.red_out = dict.fromkeys(_ints(d.get("phases")), 0)
            case AlarmType.DOOR_OPEN_UNAUTHORISED | AlarmType.DOOR_OPEN_TOO_LONG:
                self.opened_at = _float(d.get("opened_at")) or alarm.observed_at
                self.authorised = d.get("authorised_by")
            case AlarmType.CABINET_ALARM:
                self.inputs |= set(_ints([_first(pair) for pair in d.get("inputs", ())]))
            case AlarmType.DETECTOR_FAULT:
                for pair in d.get("faults", ()):
                    channel, code = _first(pair), _int(pair[-1]) if pair else None
                    if isinstance(channel, int) and code is not None:
                        self.detector_faults[channel] = code
                self.detectors_on |= dict.fromkeys(
                    _ints(d.get("stuck")), alarm.observed_at - stuck_s
                )
            case AlarmType.PEDESTRIAN_DETECTOR_FAULT:
                self.ped_faults |= set(_ints(d.get("detectors")))
            case _:
                pass

    # What the sources say, together.

    @property
    def mmu_flash(self) -> bool:
        """The controller logged a flash by its MMU (173 = 6, or 174 bit 4)."""
        return self.flash_status == MMU_FLASH_STATUS or bool(
            (self.alarm_status or 0) & MMU_FLASH_BIT
        )

    @property
    def flashing(self) -> bool:
        """In flash: the monitor's mode, or a fault flash in the controller's events."""
        return (
            self.mode == "flash"
            or self.flash_status in FLASH_NAMES
            or bool((self.alarm_status or 0) & (MMU_FLASH_BIT | LOCAL_FLASH_BIT))
        )

    @property
    def conflict(self) -> bool:
        """The MMU says conflict, or logged an MMU flash without naming another fault."""
        return self.mmu == "conflict" or (self.mmu_flash and self.mmu not in _NOT_CONFLICT)

    @property
    def manual(self) -> bool:
        """Under manual control: the monitor's mode, or events 178 and 155."""
        return self.mode == "manual" or self.manual_event is True

    @property
    def mains_lost(self) -> bool:
        """Mains lost: the monitor's ``mains``, or a power failure (182) not restored (184)."""
        return self.mains is False or self.power_event is False

    def door_open(self, names: Mapping[int, str]) -> bool:
        """The door is open: its reading, or an alarm input named door."""
        return self.door is True or any(_is_door(names.get(n)) for n in self.inputs)

    def other_inputs(self, names: Mapping[int, str]) -> dict[int, str]:
        """The alarm inputs on that are not the door, with their names."""
        return {
            n: names.get(n) or f"input {n}"
            for n in sorted(self.inputs)
            if not _is_door(names.get(n))
        }


def _int(value: object) -> int | None:
    return value if isinstance(value, int) else None


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _first(pair: object) -> object:
    return pair[0] if isinstance(pair, list) and pair else None


def _ints(value: object) -> list[int]:
    return [v for v in value if isinstance(v, int)] if isinstance(value, list) else []


def _is_door(name: str | None) -> bool:
    return name is not None and name.lower() == "door"
