"""What the command service reports: a dispatcher round, a batch of answers, and its counts.

Apart from ``services.commands`` (which re-exports them) to keep that module
to the service itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from signalight.domain.commands import CommandState, Stray, StrayReason

if TYPE_CHECKING:
    from datetime import datetime

    from signalight.domain.commands import Ending

__all__ = ["AnswerReport", "CommandObserver", "DispatchReport", "NoObserver", "too_late"]


class CommandObserver(Protocol):
    """Counts what happens to commands (``adapters.command_metrics``)."""

    def sent(self, count: int) -> None:
        """Commands published (a resend counts again)."""

    def ended(self, state: CommandState, count: int) -> None:
        """Commands that ended in ``state``."""

    def stray(self, reason: StrayReason) -> None:
        """An answer that changed nothing."""


class NoObserver:
    """Counts nothing."""

    def sent(self, count: int) -> None:
        """Nothing."""

    def ended(self, state: CommandState, count: int) -> None:
        """Nothing."""

    def stray(self, reason: StrayReason) -> None:
        """Nothing."""


@dataclass(slots=True)
class DispatchReport:
    """One round of the dispatcher."""

    expired: int = 0
    failed: int = 0
    sent: int = 0
    link_error: str = ""  # the broker did not take them; they are sent again later


@dataclass(slots=True)
class AnswerReport:
    """What one batch of answers did."""

    ended: int = 0
    strays: dict[StrayReason, int] = field(default_factory=dict)
    news: int = 0  # network servers' news that ends nothing


def too_late(command: Ending, now: datetime) -> Stray:
    """An answer whose command ended between reading it and storing the answer."""
    return Stray(
        reason=StrayReason.LATE if now >= command.expires_at else StrayReason.DUPLICATE,
        at=now,
        city_id=command.city_id,
        device_uid=command.device_uid,
        command_id=command.id,
        detail=f"answered {command.ack_status} after the command ended",
    )
