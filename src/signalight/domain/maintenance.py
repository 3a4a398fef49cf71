"""Maintenance: incidents, the work orders that repair them, and the service levels they are due by.

An incident groups what belongs together: an alarm, the alarms held under it
(a cabinet outage's lights) and its asset's other open alarms. A work order
is made from an incident, from an alarm (its incident is found or opened),
or by hand on an asset (no incident, no alarms). Its life:

    open ──assign──> assigned ──start──> in_progress ──finish──> done
      │                 │  ^                 │
      │                 └──┘ (reassign)      │ (reassign keeps it in progress)
      └────────────────cancel────────────────┴──> cancelled

Done means fixed: a finished order is ``confirmed`` once every alarm of its
incident is cleared or closed (the cleared ones are closed by the order),
and ``not_confirmed`` while any is still raised or acknowledged; it is
confirmed later, when they clear.

Times are timezone-aware UTC datetimes (wall time, not the evidence stream's).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from signalight.domain.alarms import Severity
from signalight.domain.errors import ConflictError, InvalidInputError
from signalight.domain.users import Role, User

__all__ = [
    "DEFAULT_SERVICE_HOURS",
    "DOOR_GRACE",
    "MAX_SERVICE_HOURS",
    "Confirmation",
    "Incident",
    "Part",
    "Photo",
    "ServiceLevels",
    "Step",
    "WorkOrder",
    "WorkOrderNote",
    "WorkOrderQuery",
    "WorkOrderState",
    "next_state",
]

TITLE_MAX: Final = 200
NOTE_MAX: Final = 2000
PART_MAX: Final = 64
MAX_PARTS: Final = 50
MAX_QUANTITY: Final = 10_000
LAMP_PART: Final = "lamp"  # the part whose use sets the asset's lamp_changed_on
MAX_SERVICE_HOURS: Final = 24 * 365
# How long after its due time an order still opens its cabinet's door: a crew
# that runs late must not be locked out of the cabinet it is repairing.
DOOR_GRACE: Final = timedelta(hours=2)

# Hours from creation to due, per priority (the severity words).
DEFAULT_SERVICE_HOURS: Final = {
    Severity.CRITICAL: 4.0,
    Severity.MAJOR: 24.0,
    Severity.MINOR: 72.0,
    Severity.WARNING: 168.0,
}


class WorkOrderState(StrEnum):
    """Where a work order is in its life."""

    OPEN = "open"  # made, nobody assigned
    ASSIGNED = "assigned"  # a crew has it, not yet on site
    IN_PROGRESS = "in_progress"  # the crew started the work
    DONE = "done"  # the crew finished; see its confirmation
    CANCELLED = "cancelled"  # dropped by an operator


ACTIVE_ORDER_STATES: Final = frozenset(
    {WorkOrderState.OPEN, WorkOrderState.ASSIGNED, WorkOrderState.IN_PROGRESS}
)


class Confirmation(StrEnum):
    """Whether telemetry confirms a finished order's repair."""

    CONFIRMED = "confirmed"  # every linked alarm cleared or closed
    NOT_CONFIRMED = "not_confirmed"  # some linked alarm still raised or acknowledged


class Step(StrEnum):
    """What can be done to a work order."""

    ASSIGN = "assign"
    START = "start"
    FINISH = "finish"
    CANCEL = "cancel"


def next_state(state: WorkOrderState, step: Step) -> WorkOrderState:
    """The state after ``step``; ConflictError if the step is not allowed in ``state``."""
    match step, state:
        case Step.ASSIGN, WorkOrderState.OPEN | WorkOrderState.ASSIGNED:
            return WorkOrderState.ASSIGNED
        case Step.ASSIGN, WorkOrderState.IN_PROGRESS:
            return WorkOrderState.IN_PROGRESS  # handed over mid-job
        case Step.START, WorkOrderState.ASSIGNED:
            return WorkOrderState.IN_PROGRESS
        case Step.FINISH, WorkOrderState.IN_PROGRESS:
            return WorkOrderState.DONE
        case Step.CANCEL, (
            WorkOrderState.OPEN | WorkOrderState.ASSIGNED | WorkOrderState.IN_PROGRESS
        ):
            return WorkOrderState.CANCELLED
    hint = {
        Step.START: "only an assigned order can be started",
        Step.FINISH: "only an order in progress can be finished (start it first)",
    }.get(step, "the order is closed")
    raise ConflictError(f"cannot {step} a work order that is {state}: {hint}")


def takes_orders(user: User, city_id: int) -> bool:
    """Whether an order of the city may be given to ``user``: enabled, and above viewer there."""
    return not user.disabled and user.role_in(city_id) not in (None, Role.VIEWER)


@dataclass(frozen=True, slots=True)
class Part:
    """A part used on a job."""

    part: str
    quantity: int = 1

    def __post_init__(self) -> None:
        """Refuse a blank or overlong name and a quantity out of range."""
        if not self.part.strip() or len(self.part) > PART_MAX:
            raise InvalidInputError(f"parts: a part needs a name of 1 to {PART_MAX} characters")
        if not 1 <= self.quantity <= MAX_QUANTITY:
            raise InvalidInputError(f"parts: quantity must be 1 to {MAX_QUANTITY}")


@dataclass(frozen=True, slots=True)
class ServiceLevels:
    """A city's service levels: hours from a work order's creation to its due time, per priority."""

    hours: dict[Severity, float] = field(default_factory=lambda: dict(DEFAULT_SERVICE_HOURS))

    def merged(self, overrides: dict[str, float]) -> ServiceLevels:
        """These levels with ``overrides`` (priority word -> hours) applied; checked."""
        hours = dict(self.hours)
        for name, value in overrides.items():
            try:
                priority = Severity(name)
            except ValueError:
                words = ", ".join(s.value for s in Severity)
                raise InvalidInputError(f"{name!r} is no priority; use {words}") from None
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidInputError(f"{name}: hours must be a number")
            if not 0 < value <= MAX_SERVICE_HOURS:
                raise InvalidInputError(f"{name}: hours must be above 0 and at most a year")
            hours[priority] = float(value)
        return ServiceLevels(hours)

    def due(self, priority: Severity, created_at: datetime) -> datetime:
        """When an order of ``priority`` made at ``created_at`` is due."""
        return created_at + timedelta(hours=self.hours[priority])


@dataclass(frozen=True, slots=True, kw_only=True)
class Incident:
    """What belongs together on one asset: an alarm, those held under it, the asset's others."""

    city_id: int
    asset_id: int | None  # the asset, or the cabinet for an outage
    opened_at: datetime
    alarm_ids: tuple[int, ...] = ()
    closed_at: datetime | None = None
    id: int | None = None

    @property
    def open(self) -> bool:
        """Not closed yet."""
        return self.closed_at is None


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkOrder:
    """A job for a crew on one asset."""

    city_id: int
    asset_id: int | None  # None once the asset is deleted
    asset_code: str
    title: str
    priority: Severity
    state: WorkOrderState
    due_at: datetime
    created_at: datetime
    created_by: str
    incident_id: int | None = None
    crew: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    confirmation: Confirmation | None = None
    confirmed_at: datetime | None = None
    parts: tuple[Part, ...] = ()
    alarm_ids: tuple[int, ...] = ()  # its incident's alarms
    updated_at: datetime | None = None
    id: int | None = None

    @property
    def pk(self) -> int:
        """The stored order's id."""
        if self.id is None:
            raise ValueError("the work order is not stored yet")
        return self.id

    def past_due(self, now: datetime) -> bool:
        """Still to be done (not done nor cancelled) after its due time."""
        return self.state in ACTIVE_ORDER_STATES and self.due_at < now


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkOrderNote:
    """A note on a work order."""

    work_order_id: int
    at: datetime
    author: str
    text: str
    id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Photo:
    """A photo of a job, re-encoded without metadata (``data`` is the stored image)."""

    work_order_id: int
    at: datetime
    author: str
    media_type: str  # image/jpeg or image/png
    width: int
    height: int
    data: bytes = b""
    id: int | None = None


@dataclass(frozen=True, slots=True)
class WorkOrderDetail:
    """One order with its notes and its photos (without their bytes)."""

    order: WorkOrder
    notes: list[WorkOrderNote]
    photos: list[Photo]


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkOrderQuery:
    """A filter over one city's work orders, newest first, paged by id."""

    states: frozenset[WorkOrderState] = frozenset()
    crew: str | None = None
    asset_id: int | None = None
    incident_id: int | None = None
    before_id: int | None = None
    limit: int = 100
