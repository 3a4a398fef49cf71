"""The maintenance window API's bodies: a window to open, one as stored, a page of them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from signalight.api.params import MAX_ID, IsoTime
from signalight.domain.windows import MAX_WINDOW, WHY_MAX, MaintenanceWindow


class WindowIn(BaseModel):
    """A new window: who may open the cabinet door of an intersection (or cabinet), and when."""

    model_config = ConfigDict(extra="forbid")

    asset: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        description="The code of the intersection, or of the cabinet that feeds intersections"
    )
    starts_at: IsoTime = Field(description="From (ISO 8601 with a zone)")
    ends_at: IsoTime = Field(
        description=f"Until, not included: after starts_at and now, {MAX_WINDOW.days} days at most"
    )
    who: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        description="The username who will open the door: crew, operator or admin of the city"
    )
    why: Annotated[str, Field(min_length=1, max_length=WHY_MAX, pattern=r"\S")]
    work_order: Annotated[int, Field(ge=1, le=MAX_ID)] | None = Field(
        default=None, description="The city's work order the visit is for"
    )


class WindowOut(BaseModel):
    """One maintenance window."""

    id: int
    asset: str = Field(description="The intersection's or cabinet's code")
    asset_id: int
    starts_at: datetime
    ends_at: datetime
    who: str
    why: str
    work_order_id: int | None
    created_by: str
    created_at: datetime
    ended_at: datetime | None = Field(description="Set when it was ended early")
    active: bool = Field(description="Authorises the door now: begun, not run out nor ended")

    @classmethod
    def of(cls, window: MaintenanceWindow, now: datetime) -> WindowOut:
        """The body of a stored window, ``active`` judged at ``now``."""
        return cls(
            id=window.pk,
            asset=window.asset_code,
            asset_id=window.asset_id,
            starts_at=window.starts_at,
            ends_at=window.ends_at,
            who=window.who,
            why=window.why,
            work_order_id=window.work_order_id,
            created_by=window.created_by,
            created_at=window.created_at,
            ended_at=window.ended_at,
            active=window.covers(now),
        )


class WindowPage(BaseModel):
    """Windows newest first; pass ``next_before`` as ``before`` for the next page."""

    items: list[WindowOut]
    next_before: int | None = Field(description="null when this is the last page")
