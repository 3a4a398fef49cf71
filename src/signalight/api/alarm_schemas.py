"""The alarm API's bodies: alarms, their events, counts, operators' steps, detection settings.

Times are UTC epoch seconds inside; pydantic reads such a number into an
aware UTC datetime, so the bodies show ISO 8601 with ``Z``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from signalight.domain.alarms import Alarm, AlarmEvent, AlarmState, AlarmType, EventKind, Severity
from signalight.services.alarms import AlarmCounts, DetectionSettingsView

Note = Annotated[str, Field(max_length=2000, description="Free text kept in the history")]


class AlarmOut(BaseModel):
    """One alarm on one asset (or on a device bound to none)."""

    id: int
    type: AlarmType
    severity: Severity
    state: AlarmState
    asset_id: int | None
    asset: str | None = Field(description="The asset's code")
    device: str | None = Field(description="The device's id")
    raised_at: datetime = Field(description="When the rule confirmed it (or released it)")
    observed_at: datetime = Field(description="The time of the evidence behind its last raise")
    updated_at: datetime
    message: str = Field(description="What the rule saw, in plain words")
    detail: dict[str, Any] = Field(description="The figures behind the message")
    occurrences: int = Field(description="How often the condition came back within the window")
    held: bool = Field(description="Held under an outage incident: not notified, not counted")
    parent_id: int | None = Field(description="The outage incident it is (or was) held under")
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    cleared_at: datetime | None
    closed_at: datetime | None
    closed_by: str | None = Field(description="Who closed it; null when the detector did")

    @classmethod
    def of(cls, alarm: Alarm) -> AlarmOut:
        """The body of a stored alarm."""
        return cls.model_validate(
            {
                "id": alarm.pk,
                "type": alarm.type,
                "severity": alarm.severity,
                "state": alarm.state,
                "asset_id": alarm.asset_id,
                "asset": alarm.asset_code,
                "device": alarm.device_uid,
                "raised_at": alarm.raised_at,
                "observed_at": alarm.observed_at,
                "updated_at": alarm.updated_at,
                "message": alarm.message,
                "detail": alarm.detail,
                "occurrences": alarm.occurrences,
                "held": alarm.held,
                "parent_id": alarm.parent_id,
                "acknowledged_at": alarm.acknowledged_at,
                "acknowledged_by": alarm.acknowledged_by,
                "cleared_at": alarm.cleared_at,
                "closed_at": alarm.closed_at,
                "closed_by": alarm.closed_by,
            }
        )


class AlarmEventOut(BaseModel):
    """One step of an alarm's history."""

    id: int = Field(description="Orders every event; the live stream's event id")
    alarm_id: int
    kind: EventKind
    at: datetime
    state: AlarmState = Field(description="The alarm's state after the step")
    actor: str | None = Field(description="The user; null for the detector")
    note: str

    @classmethod
    def of(cls, event: AlarmEvent) -> AlarmEventOut:
        """The body of a stored event."""
        return cls.model_validate(
            {
                "id": event.id,
                "alarm_id": event.alarm_id,
                "kind": event.kind,
                "at": event.at,
                "state": event.state,
                "actor": event.actor,
                "note": event.note,
            }
        )


class AlarmStreamEventOut(AlarmEventOut):
    """An event of the live stream, with its alarm as it is when the event is sent."""

    alarm: AlarmOut | None = Field(description="Null if the alarm no longer exists")


class AlarmDetailOut(AlarmOut):
    """One alarm and its whole history, oldest first."""

    events: list[AlarmEventOut]


class AlarmPage(BaseModel):
    """Alarms newest first; pass ``next_before`` as ``before`` for the next page."""

    items: list[AlarmOut]
    next_before: int | None = Field(description="null when this is the last page")


class AlarmCountOut(BaseModel):
    """How many alarms of one type and severity."""

    type: AlarmType
    severity: Severity
    count: int


class AlarmCountsOut(BaseModel):
    """A city's alarm counts for a dashboard; held alarms are not counted."""

    states: list[AlarmState] = Field(description="The states counted")
    total: int
    by_type: dict[AlarmType, int] = Field(description="Every type, 0 included")
    by_severity: dict[Severity, int] = Field(description="Every severity, most urgent first")
    items: list[AlarmCountOut] = Field(description="Each type and severity that has any")

    @classmethod
    def of(cls, counts: AlarmCounts) -> AlarmCountsOut:
        """The body of a city's counts."""
        return cls(
            states=sorted(counts.states),
            total=counts.total,
            by_type=counts.by_type(),
            by_severity=counts.by_severity(),
            items=[AlarmCountOut(type=t, severity=s, count=n) for t, s, n in counts.rows],
        )


class StepIn(BaseModel):
    """An acknowledgement or a closing, with an optional note."""

    note: Note = ""


class NoteIn(BaseModel):
    """A note for an alarm's history."""

    note: Annotated[str, Field(min_length=1, max_length=2000)]


class DetectionSettingsOut(BaseModel):
    """A city's detection settings: every value the rules apply, and the city's overrides."""

    effective: dict[str, Any] = Field(
        description="Every setting, the defaults where not overridden"
    )
    overrides: dict[str, Any] = Field(description="What the city changed; PUT replaces it")

    @classmethod
    def of(cls, view: DetectionSettingsView) -> DetectionSettingsOut:
        """The body of a city's settings."""
        return cls(effective=view.effective, overrides=view.overrides)
