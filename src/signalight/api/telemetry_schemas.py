"""The telemetry API's bodies: ingest outcomes, live state, readings, rollups, dead letters.

Times are UTC epoch seconds inside; pydantic reads such a number into an
aware UTC datetime, so the bodies show ISO 8601 with ``Z``.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from signalight.domain.assets import DeviceKind
from signalight.domain.readings import Reading, RejectReason
from signalight.domain.telemetry import DeadLetter, DeviceRef, DeviceState


class IngestOut(BaseModel):
    """A stored pack."""

    readings: int = Field(description="Readings in the pack")
    stored: int = Field(description="Readings new to the store; a resent pack stores 0")


class IngestRefusedOut(BaseModel):
    """A refused pack; it is kept in the city's dead letters."""

    error: str = Field(description="invalid, or too_large")
    reason: RejectReason
    message: str


class EventValue(BaseModel):
    """A traffic-signal event: its Indiana event code and parameter."""

    code: int
    parameter: int


class StateValueOut(BaseModel):
    """The newest value of one name."""

    time: datetime
    value: float | bool | str


class DeviceStateOut(BaseModel):
    """A device's live state; ``last_seen`` is null if it never reported."""

    uid: str
    kind: DeviceKind
    last_seen: datetime | None = Field(description="When its newest message arrived")
    observed_at: datetime | None = Field(description="The time of its newest reading")
    values: dict[str, StateValueOut]

    @classmethod
    def of(cls, device: DeviceRef, state: DeviceState | None) -> DeviceStateOut:
        """The body for a device and its state (None if it never reported)."""
        if state is None:
            return cls(
                uid=device.uid, kind=device.kind, last_seen=None, observed_at=None, values={}
            )
        values = {
            name: StateValueOut.model_validate({"time": at, "value": value})
            for name, (at, value) in sorted(state.values.items())
        }
        return cls.model_validate(
            {
                "uid": device.uid,
                "kind": device.kind,
                "last_seen": state.last_seen,
                "observed_at": state.observed_at,
                "values": values,
            }
        )


class ReadingOut(BaseModel):
    """One reading: a number in its name's canonical unit, a boolean, a string or an event."""

    time: datetime
    name: str
    value: float | bool | str | EventValue | None

    @classmethod
    def of(cls, reading: Reading) -> ReadingOut:
        """The body of a stored reading."""
        value: float | bool | str | EventValue | None
        if reading.name == "event" and reading.value is not None:
            parameter = reading.string_value or "0"
            value = EventValue(code=int(reading.value), parameter=int(parameter))
        elif reading.bool_value is not None:
            value = reading.bool_value
        elif reading.string_value is not None:
            value = reading.string_value
        else:
            value = reading.value
        return cls.model_validate({"time": reading.time, "name": reading.name, "value": value})


class ReadingPage(BaseModel):
    """Readings oldest first; pass ``next_cursor`` as ``cursor`` (same ``to`` and ``names``)."""

    uid: str
    items: list[ReadingOut]
    next_cursor: str | None


class HourlyOut(BaseModel):
    """One hour of a device's readings, summed."""

    model_config = ConfigDict(from_attributes=True)

    hour: datetime = Field(description="The hour's start, UTC")
    samples: int
    energy_wh: float | None = Field(description="The energy counter's rise over the hour")
    on_hours: float | None = Field(description="The share of on reports that said on, in hours")
    voltage_min: float | None
    voltage_max: float | None
    voltage_mean: float | None
    power_min: float | None
    power_max: float | None
    power_mean: float | None


class HourlyList(BaseModel):
    """A device's hourly rollups, oldest first."""

    uid: str
    items: list[HourlyOut]


class DeadLetterOut(BaseModel):
    """A refused device message, kept for the operator."""

    id: int
    received_at: datetime
    topic: str
    reason: RejectReason
    message: str
    size: int = Field(description="The whole payload's length in bytes")
    device: str | None
    payload: str = Field(description="The kept payload: UTF-8 text, or base64 if not text")
    payload_encoding: Literal["utf-8", "base64"]
    payload_truncated: bool = Field(description="Whether only the payload's start was kept")

    @classmethod
    def of(cls, letter: DeadLetter) -> DeadLetterOut:
        """The body of a stored dead letter."""
        encoding: Literal["utf-8", "base64"]
        try:
            text, encoding = letter.payload.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            # Also the case when the cap cut a character in two: base64 keeps every byte.
            text, encoding = base64.b64encode(letter.payload).decode("ascii"), "base64"
        return cls.model_validate(
            {
                "id": letter.id,
                "received_at": letter.received_at,
                "topic": letter.topic,
                "reason": letter.reason,
                "message": letter.message,
                "size": letter.size,
                "device": letter.device_uid,
                "payload": text,
                "payload_encoding": encoding,
                "payload_truncated": letter.size > len(letter.payload),
            }
        )


class DeadLetterPage(BaseModel):
    """A city's dead letters newest first, and its counts by reason."""

    items: list[DeadLetterOut]
    counts: dict[RejectReason, int] = Field(description="All the city's dead letters by reason")
    next_before: int | None = Field(description="Pass as ``before`` for the next page")
