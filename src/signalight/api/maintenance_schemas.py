"""The maintenance API's bodies: work orders, their notes, photos and parts, incidents, settings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from signalight.api.params import MAX_ID
from signalight.domain.alarms import Severity
from signalight.domain.maintenance import (
    MAX_PARTS,
    MAX_QUANTITY,
    NOTE_MAX,
    PART_MAX,
    TITLE_MAX,
    Confirmation,
    Incident,
    Part,
    Photo,
    WorkOrder,
    WorkOrderDetail,
    WorkOrderNote,
    WorkOrderState,
)
from signalight.domain.users import Role
from signalight.services.maintenance import ServiceLevelsView

RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
Username = Annotated[str, Field(min_length=1, max_length=64)]
Title = Annotated[str, Field(min_length=1, max_length=TITLE_MAX)]
NoteText = Annotated[str, Field(max_length=NOTE_MAX)]


class CrewMemberOut(BaseModel):
    """A user an order may be assigned to."""

    username: str
    role: Role = Field(description="Their role in the city: crew, operator or admin")


class PartIO(BaseModel):
    """A part used on a job; ``lamp`` sets the light's lamp date when the order is finished."""

    model_config = ConfigDict(extra="forbid")

    part: Annotated[str, Field(min_length=1, max_length=PART_MAX, pattern=r"\S")]
    quantity: Annotated[int, Field(ge=1, le=MAX_QUANTITY)] = 1

    def domain(self) -> Part:
        """The part as the service takes it."""
        return Part(self.part.strip(), self.quantity)


class WorkOrderIn(BaseModel):
    """A new work order: from an alarm, from an incident, or by hand on an asset (one of them)."""

    model_config = ConfigDict(extra="forbid")

    alarm: RowId | None = Field(default=None, description="Make it for this alarm's incident")
    incident: RowId | None = Field(default=None, description="Make it for this open incident")
    asset: RowId | None = Field(default=None, description="Make it by hand on this asset (id)")
    title: Title | None = Field(default=None, description="Required by hand; else a default")
    priority: Severity | None = Field(
        default=None,
        description="Required by hand; from an alarm its severity, from an incident major",
    )
    crew: Username | None = Field(default=None, description="Assign it at once to this user")

    @model_validator(mode="after")
    def _one_source(self) -> WorkOrderIn:
        sources = [s for s in (self.alarm, self.incident, self.asset) if s is not None]
        if len(sources) != 1:
            raise ValueError("give exactly one of alarm, incident or asset")
        if self.asset is not None and (self.title is None or self.priority is None):
            raise ValueError("an order made by hand on an asset needs a title and a priority")
        return self


class AssignIn(BaseModel):
    """Who does the job: a user with the crew role (or above) in the city."""

    model_config = ConfigDict(extra="forbid")

    crew: Username


class NoteIn(BaseModel):
    """A note on a work order."""

    model_config = ConfigDict(extra="forbid")

    note: Annotated[str, Field(min_length=1, max_length=NOTE_MAX, pattern=r"\S")]


class FinishIn(BaseModel):
    """What the crew used and says when the job is done."""

    model_config = ConfigDict(extra="forbid")

    parts: Annotated[list[PartIO], Field(max_length=MAX_PARTS)] = []
    note: NoteText = ""


class CancelIn(BaseModel):
    """Why the order is dropped."""

    model_config = ConfigDict(extra="forbid")

    note: NoteText = ""


class WorkOrderOut(BaseModel):
    """One work order."""

    id: int
    incident_id: int | None
    asset_id: int | None = Field(description="null once the asset is deleted")
    asset: str = Field(description="The asset's code")
    title: str
    priority: Severity
    crew: str | None
    state: WorkOrderState
    due_at: datetime = Field(description="created_at + the city's service level for the priority")
    past_due: bool = Field(description="Not done nor cancelled, and due_at has passed")
    created_at: datetime
    created_by: str
    started_at: datetime | None
    finished_at: datetime | None
    confirmation: Confirmation | None = Field(
        description="null until done; then confirmed (every alarm cleared or closed) or"
        " not_confirmed (some still active: confirmed when they clear)"
    )
    confirmed_at: datetime | None
    parts: list[PartIO]
    alarm_ids: list[int] = Field(description="The incident's alarms")
    updated_at: datetime | None

    @classmethod
    def of(cls, order: WorkOrder, now: datetime) -> WorkOrderOut:
        """The body of a stored order, ``past_due`` judged at ``now``."""
        return cls(
            id=order.pk,
            incident_id=order.incident_id,
            asset_id=order.asset_id,
            asset=order.asset_code,
            title=order.title,
            priority=order.priority,
            crew=order.crew,
            state=order.state,
            due_at=order.due_at,
            past_due=order.past_due(now),
            created_at=order.created_at,
            created_by=order.created_by,
            started_at=order.started_at,
            finished_at=order.finished_at,
            confirmation=order.confirmation,
            confirmed_at=order.confirmed_at,
            parts=[PartIO(part=p.part, quantity=p.quantity) for p in order.parts],
            alarm_ids=list(order.alarm_ids),
            updated_at=order.updated_at,
        )


class WorkOrderPage(BaseModel):
    """Work orders newest first; pass ``next_before`` as ``before`` for the next page."""

    items: list[WorkOrderOut]
    next_before: int | None = Field(description="null when this is the last page")


class NoteOut(BaseModel):
    """A note on a work order."""

    id: int
    at: datetime
    author: str
    text: str

    @classmethod
    def of(cls, note: WorkOrderNote) -> NoteOut:
        """The body of a stored note."""
        return cls(id=note.id or 0, at=note.at, author=note.author, text=note.text)


class PhotoOut(BaseModel):
    """A photo of a job, as stored (re-encoded, without metadata)."""

    id: int
    at: datetime
    author: str
    media_type: str = Field(description="image/jpeg or image/png")
    width: int
    height: int

    @classmethod
    def of(cls, photo: Photo) -> PhotoOut:
        """The body of a stored photo (not its bytes: GET .../photos/{id} serves those)."""
        return cls(
            id=photo.id or 0,
            at=photo.at,
            author=photo.author,
            media_type=photo.media_type,
            width=photo.width,
            height=photo.height,
        )


class WorkOrderDetailOut(WorkOrderOut):
    """One work order with its notes and photos, oldest first."""

    notes: list[NoteOut]
    photos: list[PhotoOut]

    @classmethod
    def of_detail(cls, detail: WorkOrderDetail, now: datetime) -> WorkOrderDetailOut:
        """The body of an order with its notes and photos."""
        return cls(
            **WorkOrderOut.of(detail.order, now).model_dump(),
            notes=[NoteOut.of(n) for n in detail.notes],
            photos=[PhotoOut.of(p) for p in detail.photos],
        )


class IncidentOut(BaseModel):
    """What belongs together on one asset: an alarm, those held under it, the asset's others."""

    id: int
    asset_id: int | None
    opened_at: datetime
    closed_at: datetime | None = Field(description="Set when its repair is confirmed")
    state: str = Field(description="open or closed")
    alarm_ids: list[int]

    @classmethod
    def of(cls, incident: Incident) -> IncidentOut:
        """The body of a stored incident."""
        return cls(
            id=incident.id or 0,
            asset_id=incident.asset_id,
            opened_at=incident.opened_at,
            closed_at=incident.closed_at,
            state="open" if incident.open else "closed",
            alarm_ids=list(incident.alarm_ids),
        )


class IncidentDetailOut(IncidentOut):
    """One incident with its work orders (a crew member's own only)."""

    work_orders: list[WorkOrderOut]


class IncidentPage(BaseModel):
    """Incidents newest first; pass ``next_before`` as ``before`` for the next page."""

    items: list[IncidentOut]
    next_before: int | None = Field(description="null when this is the last page")


class MaintenanceSettingsOut(BaseModel):
    """A city's service levels: hours from a work order's creation to its due time."""

    service_hours: dict[Severity, float] = Field(description="Every priority, in force")
    overrides: dict[Severity, float] = Field(description="What the city changed; PUT replaces it")

    @classmethod
    def of(cls, view: ServiceLevelsView) -> MaintenanceSettingsOut:
        """The body of a city's service levels."""
        return cls(
            service_hours={Severity(k): v for k, v in view.hours.items()},
            overrides={Severity(k): v for k, v in view.overrides.items()},
        )


class MaintenanceSettingsIn(BaseModel):
    """The city's service-level overrides, hours per priority; ``{}`` resets to the defaults."""

    model_config = ConfigDict(extra="forbid")

    service_hours: dict[Severity, Annotated[float, Field(gt=0, le=24 * 365)]] = {}
