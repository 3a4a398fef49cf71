"""Alarms: what the fault rules raise, and the life of each alarm until an operator closes it.

An alarm belongs to one asset and one fault type; at most one alarm per
asset and type is open (not closed) at a time. Its life:

    raised ──ack──> acknowledged
       │                 │
       └──condition ends─┴──> cleared ──(reopen window passes, or operator)──> closed
                                 │
                                 └──condition returns within the window──> raised again

A returning condition reopens the same alarm (``occurrences`` counts how
often) instead of raising a new one, so that a flapping light is one alarm,
not a stream of them. An alarm raised while its cabinet is in outage is
*held* under the outage incident (``parent_id``): not notified, not counted
as raised, listed under the incident, and released if the cabinet recovers
while the condition stays.

Times are UTC epoch seconds, as in the telemetry store: they are the times
of the evidence stream (a replayed week is judged on its own clock).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

__all__ = [
    "OPEN_STATES",
    "Alarm",
    "AlarmEvent",
    "AlarmQuery",
    "AlarmState",
    "AlarmType",
    "EventKind",
    "Severity",
]


class AlarmType(StrEnum):
    """What is wrong. Lamp and supply names follow the TALQ lamp-monitor vocabulary.

    The traffic-signal names follow the same camelCase style; ``docs/faults.md``
    says what raises and clears each.
    """

    LAMP_FAILURE = "lampFailure"  # should be lit, draws far less than expected
    LAMP_UNEXPECTED_ON = "lampUnexpectedOn"  # day burning
    CYCLING_FAILURE = "cyclingFailure"  # going out and back while it should burn steadily
    DIMMING_FAILURE = "dimmingFailure"  # dim level not the scheduled one
    HIGH_POWER = "highPower"  # draws well above its rating (driver fault)
    HIGH_VOLTAGE = "highVoltage"
    LOW_VOLTAGE = "lowVoltage"
    LOW_POWER_FACTOR = "lowPowerFactor"
    NODE_FAULT = "nodeFault"  # the node's own diagnosis (its ``fault`` report)
    ORIENTATION_CHANGED = "orientationChanged"  # the pole leans: knocked or bent
    COMMUNICATION_FAILURE = "communicationFailure"  # silent, or its last will said offline
    SUPPLY_LOSS = "supplyLoss"  # a cabinet (feeder) outage: the incident its lights hang under
    # Traffic signals: a signal cabinet's monitor, or its controller's events.
    SIGNAL_FLASH = "signalFlash"  # the controller is in flash (not by its MMU's conflict)
    SIGNAL_DARK = "signalDark"  # every lamp of the intersection is off
    CONFLICT_FLASH = "conflictFlash"  # the MMU saw conflicting greens and put it in flash
    RED_LAMP_FAILURE = "redLampFailure"  # a red that should be lit draws no current
    MANUAL_CONTROL = "manualControl"  # run by hand from the cabinet (or remotely)
    STOP_TIME = "stopTime"  # the controller's timing is stopped by its stop-time input
    MAINS_FAILURE = "mainsFailure"  # the cabinet lost mains: dark, or on its battery
    BATTERY_LOW = "batteryLow"  # the backup battery is nearly flat (or worn)
    DOOR_OPEN_UNAUTHORISED = "doorOpenUnauthorised"  # opened with no maintenance window
    DOOR_OPEN_TOO_LONG = "doorOpenTooLong"  # open longer than the city allows, authorised or not
    CABINET_ALARM = "cabinetAlarm"  # an alarm input other than the door (fan, heater, flood)
    DETECTOR_FAULT = "detectorFault"  # a vehicle detector faulted (83-88) or stuck on
    PEDESTRIAN_DETECTOR_FAULT = "pedestrianDetectorFault"  # a push button failed (91)


class Severity(StrEnum):
    """How urgent an alarm is; notifications and escalation are set per severity."""

    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"
    WARNING = "warning"

    @property
    def rank(self) -> int:
        """0 for the most urgent."""
        return _SEVERITY_ORDER.index(self)


_SEVERITY_ORDER: Final = (Severity.CRITICAL, Severity.MAJOR, Severity.MINOR, Severity.WARNING)


class AlarmState(StrEnum):
    """Where an alarm is in its life."""

    RAISED = "raised"  # the condition holds; nobody has acknowledged it
    ACKNOWLEDGED = "acknowledged"  # the condition holds; an operator has taken it
    CLEARED = "cleared"  # the condition ended; may still reopen
    CLOSED = "closed"  # done: history only


OPEN_STATES: Final = frozenset({AlarmState.RAISED, AlarmState.ACKNOWLEDGED, AlarmState.CLEARED})
ACTIVE_STATES: Final = frozenset({AlarmState.RAISED, AlarmState.ACKNOWLEDGED})


class EventKind(StrEnum):
    """One step of an alarm's history, as kept and streamed."""

    RAISED = "raised"
    HELD = "held"  # raised under an outage incident: not notified
    RELEASED = "released"  # the incident ended and the condition stayed: now raised
    ACKNOWLEDGED = "acknowledged"
    NOTED = "noted"
    CLEARED = "cleared"
    REOPENED = "reopened"
    CLOSED = "closed"
    ESCALATED = "escalated"  # not acknowledged in time: the next level was notified
    REMINDED = "reminded"  # still down: a reminder was sent


@dataclass(slots=True, kw_only=True, eq=False)
class Alarm:
    """One alarm on one asset (or, for a device bound to no asset, on the device)."""

    city_id: int
    type: AlarmType
    severity: Severity
    state: AlarmState = AlarmState.RAISED
    asset_id: int | None = None
    asset_code: str | None = None
    device_id: int | None = None
    device_uid: str | None = None
    raised_at: float  # when the rule confirmed it (stream time)
    observed_at: float  # the time of the evidence that confirmed it
    updated_at: float
    message: str = ""  # what the rule saw, in plain words
    detail: dict[str, Any] = field(default_factory=dict)  # the figures behind the message
    occurrences: int = 1
    held: bool = False
    parent_id: int | None = None  # the outage incident it is held (or was raised) under
    acknowledged_at: float | None = None
    acknowledged_by: str | None = None
    cleared_at: float | None = None
    closed_at: float | None = None
    closed_by: str | None = None
    id: int | None = None  # set once stored

    @property
    def active(self) -> bool:
        """Whether the condition still holds (raised or acknowledged)."""
        return self.state in ACTIVE_STATES

    @property
    def pk(self) -> int:
        """The stored alarm's id."""
        if self.id is None:
            raise ValueError("the alarm is not stored yet")
        return self.id


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmEvent:
    """One step of one alarm's history; ``id`` orders every city's events (the SSE cursor)."""

    alarm_id: int
    city_id: int
    kind: EventKind
    at: float
    state: AlarmState  # the alarm's state after the step
    actor: str | None = None  # the user, or None for the detector
    note: str = ""
    id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmQuery:
    """A filter over one city's alarms, newest first, paged by id."""

    types: frozenset[AlarmType] = frozenset()
    severities: frozenset[Severity] = frozenset()
    states: frozenset[AlarmState] = frozenset()
    asset_id: int | None = None
    parent_id: int | None = None
    include_held: bool = False
    bbox: tuple[float, float, float, float] | None = None  # west, south, east, north
    since: float | None = None  # raised at or after
    until: float | None = None  # raised before
    before_id: int | None = None
    limit: int = 100
