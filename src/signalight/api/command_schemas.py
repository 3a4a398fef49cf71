"""The command API's bodies: a request, a batch with its progress, a command, a stray answer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from signalight.api.params import IsoTime
from signalight.domain.command_batches import (
    MAX_LISTED_ASSETS,
    WHY_MAX,
    BatchProgress,
    CommandBatch,
    Target,
    TargetKind,
)
from signalight.domain.commands import AckStatus, Command, CommandKind, CommandState, Stray

Code = Annotated[str, Field(min_length=1, max_length=64)]


class TargetIn(BaseModel):
    """Which assets' devices get the command: exactly one of the four."""

    model_config = ConfigDict(extra="forbid")

    assets: list[Code] | None = Field(
        default=None, max_length=MAX_LISTED_ASSETS, description="Asset codes"
    )
    group: Code | None = Field(default=None, description="Every asset of this group")
    cabinet: Code | None = Field(default=None, description="Every asset this cabinet feeds")
    city: bool = Field(default=False, description="Every asset of the city")

    @model_validator(mode="after")
    def _one(self) -> TargetIn:
        given = [self.assets is not None, self.group is not None, self.cabinet is not None]
        if sum(given) + self.city != 1:
            raise ValueError("give exactly one of assets, group, cabinet or city")
        return self

    def target(self) -> Target:
        """As the service takes it."""
        if self.assets is not None:
            return Target(TargetKind.ASSETS, tuple(dict.fromkeys(self.assets)))
        if self.group is not None:
            return Target(TargetKind.GROUP, (self.group,))
        if self.cabinet is not None:
            return Target(TargetKind.CABINET, (self.cabinet,))
        return Target(TargetKind.CITY)


class CommandIn(BaseModel):
    """A command to the devices of some assets (``docs/protocol.md``, Commands, for ``args``)."""

    model_config = ConfigDict(extra="forbid")

    kind: CommandKind
    args: dict[str, Any] = Field(
        default_factory=dict,
        description='switch {"on": bool}; dim {"level": 0-100}; override {"on"|"level",'
        ' "until": epoch s}; read {}; clock {}; profile {"profile": {...}}',
    )
    target: TargetIn
    expires_at: IsoTime | None = Field(
        default=None, description="Not run after this (ISO 8601); default 24 h, at most 14 days"
    )
    why: Annotated[str, Field(max_length=WHY_MAX)] = ""


class BatchOut(BaseModel):
    """One request and how far its commands have got."""

    id: int
    kind: CommandKind
    args: dict[str, Any]
    target: str = Field(description="The assets, in words")
    target_kind: TargetKind
    target_names: list[str]
    requested_by: str
    why: str
    created_at: datetime
    expires_at: datetime
    total: int = Field(description="Commands made: one per device")
    skipped: list[str] = Field(description="Asset codes named that have no device")
    progress: dict[str, int] = Field(description="Commands in each state")
    done: bool = Field(description="Every command has ended")

    @classmethod
    def of(cls, batch: CommandBatch, progress: BatchProgress) -> BatchOut:
        """The body of a stored batch."""
        return cls(
            id=batch.id,
            kind=batch.kind,
            args=dict(batch.args),
            target=batch.target.describe(),
            target_kind=batch.target.kind,
            target_names=list(batch.target.names),
            requested_by=batch.requested_by,
            why=batch.why,
            created_at=batch.created_at,
            expires_at=batch.expires_at,
            total=batch.total,
            skipped=list(batch.skipped),
            progress=progress.as_dict(),
            done=progress.done,
        )


class StrayOut(BaseModel):
    """An answer that changed no command."""

    reason: str
    at: datetime
    device: str = Field(description="The device whose topic it came on")
    command_id: str
    detail: str

    @classmethod
    def of(cls, stray: Stray) -> StrayOut:
        """The body of a stored stray."""
        return cls(
            reason=str(stray.reason),
            at=stray.at,
            device=stray.device_uid,
            command_id=stray.command_id,
            detail=stray.detail,
        )


class CommandOut(BaseModel):
    """One command to one device."""

    id: str
    batch_id: int | None
    device: str
    asset: str | None
    kind: CommandKind
    args: dict[str, Any]
    state: CommandState
    attempts: int = Field(description="Times published (a resend has the same id)")
    requested_by: str
    created_at: datetime
    expires_at: datetime
    next_at: datetime | None = Field(description="When it is sent again, if still waiting")
    sent_at: datetime | None
    done_at: datetime | None
    ack_status: AckStatus | None
    reason: str
    stray_acks: int = Field(description="Answers naming it that changed nothing")
    strays: list[StrayOut] | None = Field(default=None, description="Those answers (one command)")

    @classmethod
    def of(cls, command: Command, strays: list[Stray] | None = None) -> CommandOut:
        """The body of a stored command."""
        return cls(
            id=command.id,
            batch_id=command.batch_id,
            device=command.device_uid,
            asset=command.asset_code,
            kind=command.kind,
            args=dict(command.args),
            state=command.state,
            attempts=command.attempts,
            requested_by=command.requested_by,
            created_at=command.created_at,
            expires_at=command.expires_at,
            next_at=command.next_at,
            sent_at=command.sent_at,
            done_at=command.done_at,
            ack_status=command.ack_status,
            reason=command.reason,
            stray_acks=command.stray_acks,
            strays=None if strays is None else [StrayOut.of(s) for s in strays],
        )


class CommandPage(BaseModel):
    """Commands newest first; pass ``next_before`` as ``before`` for the next page."""

    items: list[CommandOut]
    next_before: datetime | None = Field(description="null when this is the last page")
    next_after: str | None = Field(description="pass as `after` with `before`")
