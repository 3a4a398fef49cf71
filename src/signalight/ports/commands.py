"""Commands to devices: where they are kept, and the link that carries them."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Protocol

from signalight.domain.command_batches import BatchProgress, CommandBatch, CommandQuery
from signalight.domain.commands import Command, Due, Ending, RetryPolicy, Standing, Stray

__all__ = ["AckHandler", "CommandLink", "CommandStore", "LinkError"]

# Called by a link for every message on an answer topic: (topic, payload).
AckHandler = Callable[[Sequence[tuple[str, bytes]]], object]


class CommandStore(Protocol):
    """Batches, their commands and the strays; every read by an API names the city.

    A batch is stored with its commands and its audit entry in one
    transaction, so no command exists without the record of who asked.
    """

    def add_batch(self, batch: CommandBatch, commands: Sequence[Command]) -> CommandBatch:
        """Store a batch, its commands and the audit entry; returns the batch with its id."""
        ...

    def get_batch(self, city_id: int, batch_id: int) -> CommandBatch:
        """One batch of the city; NotFoundError if none."""
        ...

    def progress(self, batch_id: int) -> BatchProgress:
        """The batch's commands counted by state."""
        ...

    def get_command(self, city_id: int, command_id: str) -> Command:
        """One command of the city; NotFoundError if none."""
        ...

    def query_commands(self, city_id: int, query: CommandQuery) -> list[Command]:
        """The city's commands that match, newest first."""
        ...

    def standing(self, ids: Collection[str]) -> dict[str, Standing]:
        """The commands with those ids, whatever their city (answers name only the id)."""
        ...

    def expire_overdue(self, now: datetime) -> int:
        """End every waiting command whose expiry has come; how many."""
        ...

    def claim_due(self, now: datetime, limit: int, policy: RetryPolicy) -> list[Due]:
        """Count one more send of the waiting commands due by ``now``; returns them.

        Taken and moved on (``sent``, due again after the backoff) at once, so
        a command that ended meanwhile is not published again, and two
        dispatchers never take the same one.
        """
        ...

    def mark_failed(self, ids: Collection[str], reason: str, now: datetime) -> int:
        """End waiting commands as failed (they cannot be sent); how many."""
        ...

    def end(self, ended: Sequence[Ending]) -> list[str]:
        """Store answered commands, each only if it is still waiting; returns the ids stored."""
        ...

    def add_strays(self, strays: Sequence[Stray]) -> None:
        """Keep answers that changed nothing, and count each on its command if it has one."""
        ...

    def query_strays(
        self, city_id: int, *, command_id: str | None = None, limit: int = 100
    ) -> list[Stray]:
        """The city's strays, newest first (those naming ``command_id`` only, if given)."""
        ...


class LinkError(Exception):
    """The link could not hand messages to the broker; they are sent again later."""


class CommandLink(Protocol):
    """Carries commands out and answers in: the broker, or the demo's simulated nodes in process.

    ``publish`` returns once the broker holds every message (QoS 1 PUBACKs)
    or raises LinkError. Answers are handed to the handler given to
    ``start``, in batches; the link acknowledges them to the broker only
    after the handler returns, so an answer is never lost to a crash.
    """

    def start(self, on_acks: AckHandler) -> None:
        """Connect (retrying until the broker answers) and deliver answers to ``on_acks``."""
        ...

    def publish(self, messages: Sequence[tuple[str, bytes]]) -> None:
        """Publish with QoS 1 and wait until the broker holds them all."""
        ...

    def stop(self) -> None:
        """Disconnect; the persistent session keeps answers that come meanwhile."""
        ...
