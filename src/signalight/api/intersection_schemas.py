"""The shapes of the intersections API: live state, lamps, open alarms, controller events."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field

from signalight.domain.indiana import describe_event
from signalight.domain.intersections import Lamp
from signalight.domain.signals import ControllerEvent
from signalight.services.intersections import IntersectionView

__all__ = ["ControllerEventOut", "IntersectionDetailOut", "IntersectionOut"]


def _at(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


class LampOut(BaseModel):
    """A phase's lamp currents (A) and the colour lit."""

    phase: int
    red: float | None
    yellow: float | None
    green: float | None
    lit: str | None = Field(description="red, yellow or green by current; null when none is")

    @classmethod
    def of(cls, lamp: Lamp) -> LampOut:
        """The lamp's currents and the colour lit."""
        return cls(
            phase=lamp.phase, red=lamp.red, yellow=lamp.yellow, green=lamp.green, lit=lamp.lit
        )


class OpenAlarmOut(BaseModel):
    """An open alarm of the intersection."""

    id: int
    type: str
    severity: str
    state: str
    raised_at: datetime
    message: str


class ControllerEventOut(BaseModel):
    """One controller event: Indiana code and parameter, and what they mean."""

    time: datetime
    code: int
    param: int
    meaning: str

    @classmethod
    def of(cls, event: ControllerEvent) -> ControllerEventOut:
        """The event with its meaning in words."""
        return cls(
            time=datetime.fromtimestamp(event.time, UTC),
            code=event.code,
            param=event.param,
            meaning=describe_event(event.code, event.param),
        )


class IntersectionOut(BaseModel):
    """An intersection and its monitor's live state."""

    id: int = Field(description="The asset's id (`/cities/{city}/assets/{id}`)")
    code: str
    name: str
    lat: float
    lon: float
    status: str
    street: str
    controller_id: str
    controller_vendor: str
    phases: list[int]
    cabinet: str | None = Field(description="The code of the cabinet feeding it")
    device: str | None = Field(description="Its cabinet monitor; null when none is bound")
    mode: str | None = Field(description="normal, flash, dark, manual or preempt")
    door: str | None
    door_authorised: str | None = Field(
        description="While the door is open: the maintenance window or work order that"
        " authorises it now; null when nothing does (a break-in) or the door is shut"
    )
    mmu: str | None
    mains: bool | None
    battery: float | None = Field(description="V")
    green: list[int] = Field(description="The phases green now (lamp currents, else events)")
    now: str = Field(description="What the controller is doing, in words")
    flags: list[str]
    observed_at: datetime | None = Field(description="The newest reading's time")
    silent_s: float | None = Field(description="Seconds without a report, once over 3 intervals")
    lamps: list[LampOut]
    alarms: list[OpenAlarmOut]

    @classmethod
    def of(cls, view: IntersectionView) -> IntersectionOut:
        """The intersection and its state."""
        row, state = view.row, view.state
        return cls(
            id=row.id,
            code=row.code,
            name=row.name,
            lat=row.lat,
            lon=row.lon,
            status=row.status,
            street=row.street,
            controller_id=row.controller_id,
            controller_vendor=row.controller_vendor,
            phases=list(row.phases),
            cabinet=row.cabinet,
            device=row.device,
            mode=state.mode,
            door=state.door,
            door_authorised=view.door_authorised,
            mmu=state.mmu,
            mains=state.mains,
            battery=state.battery,
            green=list(state.green),
            now=state.now,
            flags=list(state.flags),
            observed_at=_at(state.observed_at),
            silent_s=state.silent_s,
            lamps=[LampOut.of(lamp) for lamp in state.lamps],
            alarms=[
                OpenAlarmOut(
                    id=a.id,
                    type=a.type,
                    severity=a.severity,
                    state=a.state,
                    raised_at=datetime.fromtimestamp(a.raised_at, UTC),
                    message=a.message,
                )
                for a in row.alarms
            ],
        )


class IntersectionDetailOut(IntersectionOut):
    """An intersection with its controller's newest events, newest first."""

    events: list[ControllerEventOut]

    @classmethod
    def of(cls, view: IntersectionView) -> IntersectionDetailOut:
        """The intersection, its state and its newest events."""
        return cls(
            **IntersectionOut.of(view).model_dump(),
            events=[ControllerEventOut.of(e) for e in view.state.events],
        )
