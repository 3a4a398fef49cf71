"""The notification API's bodies: subscriptions and the delivery log.

Times are UTC epoch seconds inside; pydantic reads such a number into an
aware UTC datetime, so the bodies show ISO 8601 with ``Z``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from signalight.domain.alarms import EventKind, Severity
from signalight.domain.notifications import MAX_LEVEL, TARGET_MAX, Channel, DeliveryStatus

Target = Annotated[str, Field(min_length=1, max_length=TARGET_MAX)]
Level = Annotated[int, Field(ge=1, le=MAX_LEVEL)]
Label = Annotated[str, Field(max_length=200)]


class SubscriptionIn(BaseModel):
    """A new subscription."""

    model_config = ConfigDict(extra="forbid")

    channel: Channel
    target: Target = Field(description="The webhook URL, or the e-mail address")
    min_severity: Severity = Field(Severity.MINOR, description="The least severe alarm it hears of")
    level: Level = Field(1, description="1: as alarms happen; 2 and up: escalations")
    label: Label = ""
    enabled: bool = True


class SubscriptionPatch(BaseModel):
    """Fields to change; those left out stay. The channel cannot change."""

    model_config = ConfigDict(extra="forbid")

    target: Target | None = None
    min_severity: Severity | None = None
    level: Level | None = None
    label: Label | None = None
    enabled: bool | None = None


class SubscriptionOut(BaseModel):
    """A subscription; its secret is never shown again after creation."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    channel: Channel
    target: str
    min_severity: Severity
    level: int
    label: str
    enabled: bool
    created_at: datetime
    last_sent_at: datetime | None = Field(description="The last e-mail sent to it")


class SubscriptionCreated(SubscriptionOut):
    """A new subscription (or a new secret) with its webhook signing secret, shown this once."""

    secret: str | None = Field(
        description="The key that signs its webhooks; keep it now, it is not shown again"
    )


class DeliveryOut(BaseModel):
    """One notification to one subscription, and its attempts."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    subscription_id: int
    channel: Channel
    alarm_id: int
    event_id: int
    event_kind: EventKind
    level: int
    status: DeliveryStatus
    attempts: int
    response_code: int | None = Field(description="The last HTTP status or SMTP reply code")
    error: str = Field(description="Why the last attempt failed")
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None = Field(description="When a pending delivery is due")
    delivered_at: datetime | None
    payload: dict[str, Any] = Field(description="What was (or will be) sent")


class DeliveryPage(BaseModel):
    """A page of the delivery log, newest first."""

    items: list[DeliveryOut]
    next_cursor: str | None
