"""Maintenance windows: when, and by whom, an intersection's cabinet door may be opened.

A traffic-signal cabinet door opened with nothing authorising it is a
break-in alarm (``doorOpenUnauthorised``, critical). A window names the
intersection (or the cabinet that feeds it), the span ``[starts_at,
ends_at)``, the person who will open the door and why. Ending a window
early sets ``ended_at``; from then on it authorises nothing.

Times are timezone-aware UTC datetimes (wall time, not the evidence stream's).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from signalight.domain.errors import InvalidInputError

__all__ = [
    "MAX_WINDOW",
    "WHY_MAX",
    "MaintenanceWindow",
    "WindowQuery",
    "check_span",
]

WHY_MAX: Final = 500
# The longest window: a door left authorised for longer is no longer a visit
# but a hole in the break-in alarm. A job that takes longer gets a new window.
MAX_WINDOW: Final = timedelta(days=7)


@dataclass(frozen=True, slots=True, kw_only=True)
class MaintenanceWindow:
    """A span in which ``who`` may open the cabinet door of an asset of the city."""

    city_id: int
    asset_id: int  # an intersection, or a cabinet
    asset_code: str
    starts_at: datetime
    ends_at: datetime
    who: str  # the username of the person who will open the door
    why: str
    created_by: str
    created_at: datetime
    work_order_id: int | None = None  # the order that made it, if one did
    ended_at: datetime | None = None  # set when it was ended early
    id: int | None = None

    @property
    def pk(self) -> int:
        """The stored window's id."""
        if self.id is None:
            raise ValueError("the maintenance window is not stored yet")
        return self.id

    @property
    def closes_at(self) -> datetime:
        """When it stops authorising: its end, or the moment it was ended early."""
        if self.ended_at is not None and self.ended_at < self.ends_at:
            return self.ended_at
        return self.ends_at

    def covers(self, at: datetime) -> bool:
        """Whether the door may be opened at ``at`` under this window."""
        return self.starts_at <= at < self.closes_at

    def over(self, now: datetime) -> bool:
        """Whether it has closed by ``now`` (run out, or ended early)."""
        return self.closes_at <= now


@dataclass(frozen=True, slots=True)
class WindowQuery:
    """A filter over one city's windows, newest first, paged by id."""

    asset_id: int | None = None
    who: str | None = None
    active_at: datetime | None = None  # only those that cover this instant
    before_id: int | None = None
    limit: int = 100


def check_span(starts_at: datetime, ends_at: datetime, now: datetime) -> None:
    """Refuse a span that cannot be a window: unordered, too long, or already over.

    Raises:
        InvalidInputError: naming the field at fault.
    """
    if starts_at.utcoffset() is None or ends_at.utcoffset() is None:
        raise InvalidInputError("starts_at, ends_at: need a time zone")
    if ends_at <= starts_at:
        raise InvalidInputError("ends_at: must be after starts_at")
    if ends_at - starts_at > MAX_WINDOW:
        raise InvalidInputError(f"ends_at: a window lasts {MAX_WINDOW.days} days at most")
    if ends_at <= now:
        raise InvalidInputError("ends_at: already past; a window is for a visit to come")
