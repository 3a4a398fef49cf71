"""A batch of commands: one request fanned out to a group, a cabinet, a list of assets or a city."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from signalight.domain.commands import CommandKind, CommandState
from signalight.domain.errors import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "MAX_LISTED_ASSETS",
    "BatchProgress",
    "CommandBatch",
    "CommandQuery",
    "Target",
    "TargetKind",
]

MAX_LISTED_ASSETS: Final = 10_000  # asset codes one request may list
WHY_MAX: Final = 500


class TargetKind(StrEnum):
    """What a request names as its devices."""

    ASSETS = "assets"  # the devices of the listed assets (codes)
    GROUP = "group"  # of every asset in the group
    CABINET = "cabinet"  # of every asset the cabinet feeds
    CITY = "city"  # of every asset in the city


@dataclass(frozen=True, slots=True)
class Target:
    """The assets a request is for; their devices get one command each."""

    kind: TargetKind
    names: tuple[str, ...] = ()  # asset codes; the group's name; the cabinet's code; none

    def __post_init__(self) -> None:
        match self.kind:
            case TargetKind.ASSETS:
                if not 1 <= len(self.names) <= MAX_LISTED_ASSETS:
                    raise InvalidInputError(f"target: 1 to {MAX_LISTED_ASSETS} asset codes")
            case TargetKind.GROUP | TargetKind.CABINET:
                if len(self.names) != 1 or not self.names[0]:
                    raise InvalidInputError(f"target: a {self.kind} names one {self.kind}")
            case TargetKind.CITY:
                if self.names:
                    raise InvalidInputError("target: the whole city names nothing")

    def describe(self) -> str:
        """In words, for the audit log and lists: ``cabinet C-1``, ``3 assets``."""
        match self.kind:
            case TargetKind.ASSETS:
                return self.names[0] if len(self.names) == 1 else f"{len(self.names)} assets"
            case TargetKind.CITY:
                return "the whole city"
            case _:
                return f"{self.kind} {self.names[0]}"


@dataclass(frozen=True, slots=True)
class BatchProgress:
    """How many of a batch's commands are in each state."""

    counts: Mapping[CommandState, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Commands in the batch."""
        return sum(self.counts.values())

    @property
    def open(self) -> int:
        """Commands still waiting (queued or sent)."""
        return self.counts.get(CommandState.QUEUED, 0) + self.counts.get(CommandState.SENT, 0)

    @property
    def done(self) -> bool:
        """Every command has ended (acknowledged, failed or expired)."""
        return self.open == 0

    def as_dict(self) -> dict[str, int]:
        """Every state with its count, zeros included."""
        return {str(state): self.counts.get(state, 0) for state in CommandState}


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandBatch:
    """One request: what was asked, of which assets, by whom; its commands carry its id."""

    city_id: int
    kind: CommandKind
    args: Mapping[str, Any]
    target: Target
    requested_by: str
    why: str
    created_at: datetime
    expires_at: datetime
    total: int = 0  # commands made (assets without a device get none)
    skipped: Sequence[str] = ()  # asset codes named that have no device
    id: int = 0  # set when stored


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandQuery:
    """Which of a city's commands to list, newest first."""

    state: CommandState | None = None
    device_uid: str | None = None
    batch_id: int | None = None
    kind: CommandKind | None = None
    # The next page: created before ``before``, or at ``before`` with an id after ``after_id``
    # (a batch's commands share their time).
    before: datetime | None = None
    after_id: str | None = None
    limit: int = 100
