"""Prometheus counters for commands to devices, in the process's registry beside ingest's."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from signalight.domain.commands import CommandState, StrayReason

__all__ = ["CommandMetrics"]


class CommandMetrics:
    """Implements ``CommandObserver``: commands sent, ended by state, and stray answers."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.sent_total = Counter(
            "signalight_command_sent",
            "Commands published to the broker (a resend of the same id counts again)",
            registry=self.registry,
        )
        self.ended_total = Counter(
            "signalight_command_ended",
            "Commands that ended, by state: acknowledged, failed, expired",
            ["state"],
            registry=self.registry,
        )
        self.strays_total = Counter(
            "signalight_command_strays",
            "Answers that changed no command, by reason: unknown_id, wrong_device,"
            " duplicate, late, malformed",
            ["reason"],
            registry=self.registry,
        )

    def sent(self, count: int) -> None:
        """Commands published."""
        self.sent_total.inc(count)

    def ended(self, state: CommandState, count: int) -> None:
        """Commands that ended in ``state``."""
        self.ended_total.labels(str(state)).inc(count)

    def stray(self, reason: StrayReason) -> None:
        """An answer that changed nothing."""
        self.strays_total.labels(str(reason)).inc()
