"""Prometheus metrics: what ingest, detection and retention report, in a registry per process."""

from __future__ import annotations

from typing import Final

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from signalight.domain.readings import RejectReason

__all__ = ["CONTENT_TYPE", "IngestMetrics"]

# The *_created series double the output and no dashboard reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]

CONTENT_TYPE: Final = CONTENT_TYPE_LATEST
_BATCH_BUCKETS: Final = (1, 10, 50, 100, 250, 500, 1000, 2000, 5000)
_SECONDS_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class IngestMetrics:
    """The Ingest, Recorder and Retention observers over prometheus_client, in one registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.messages_total = Counter(
            "signalight_ingest_messages",
            "Device messages received, by transport",
            ["transport"],
            registry=self.registry,
        )
        self.rejected_total = Counter(
            "signalight_ingest_rejected",
            "Messages refused into the dead-letter store, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.readings_total = Counter(
            "signalight_ingest_readings_stored",
            "Readings newly stored (a redelivered reading is not counted again)",
            registry=self.registry,
        )
        self.duplicates_total = Counter(
            "signalight_ingest_duplicates",
            "Readings and controller events received again (a redelivery, a resent pack, an"
            " event logged twice) and merged into the one stored",
            registry=self.registry,
        )
        self.batch = Histogram(
            "signalight_ingest_batch_messages",
            "Messages per stored batch",
            buckets=_BATCH_BUCKETS,
            registry=self.registry,
        )
        self.write = Histogram(
            "signalight_ingest_write_seconds",
            "Time to store one batch (one transaction)",
            buckets=_SECONDS_BUCKETS,
            registry=self.registry,
        )
        self.lag = Histogram(
            "signalight_ingest_lag_seconds",
            "From a batch's oldest message's receipt to its commit",
            buckets=_SECONDS_BUCKETS,
            registry=self.registry,
        )
        self.last_lag = Gauge(
            "signalight_ingest_last_lag_seconds",
            "The lag of the newest stored batch",
            registry=self.registry,
        )
        self.store_failures = Counter(
            "signalight_ingest_store_failures",
            "Failed batch writes: database away (unavailable, retried) or batch refused (split)",
            ["kind"],
            registry=self.registry,
        )
        for kind in ("unavailable", "refused"):
            self.store_failures.labels(kind=kind)
        self.alarm_rejected = Counter(
            "signalight_alarm_steps_rejected",
            "Alarm steps the database refused, kept as dead letters (reason alarm_not_stored)",
            registry=self.registry,
        )
        self.alarm_store_failures = Counter(
            "signalight_alarm_store_failures",
            "Times the alarms could not be stored because the database was away",
            registry=self.registry,
        )
        self.alarm_waiting = Gauge(
            "signalight_alarm_steps_waiting",
            "Alarm steps kept in memory until the database is back",
            registry=self.registry,
        )
        self.retention_prunes = Counter(
            "signalight_retention_prunes",
            "Retention prunes of old raw readings and dead letters, by outcome (ok, failed)",
            ["outcome"],
            registry=self.registry,
        )
        self.retention_deleted = Counter(
            "signalight_retention_deleted_readings",
            "Raw readings deleted by retention",
            registry=self.registry,
        )
        self.retention_last_success = Gauge(
            "signalight_retention_last_success_timestamp_seconds",
            "When a retention prune last succeeded (epoch seconds; 0: not yet)",
            registry=self.registry,
        )
        for outcome in ("ok", "failed"):  # both show, at 0, so that an alert can rate them
            self.retention_prunes.labels(outcome=outcome)
        for reason in RejectReason:  # every reason shows, at 0 until one happens
            self.rejected_total.labels(reason=str(reason))
        for transport in ("mqtt", "http", "embedded"):
            self.messages_total.labels(transport=transport)

    def received(self, transport: str, count: int) -> None:
        """Messages arrived."""
        self.messages_total.labels(transport=transport).inc(count)

    def rejected(self, reason: RejectReason) -> None:
        """A message went to the dead-letter store."""
        self.rejected_total.labels(reason=str(reason)).inc()

    def written(
        self, messages: int, readings: int, seconds: float, lag: float, duplicates: int = 0
    ) -> None:
        """A batch was stored."""
        self.readings_total.inc(readings)
        self.duplicates_total.inc(duplicates)
        self.batch.observe(messages)
        self.write.observe(seconds)
        self.lag.observe(lag)
        self.last_lag.set(lag)

    def store_failed(self, *, refused: bool) -> None:
        """A write failed: ``refused`` for what it held, else the database was away."""
        self.store_failures.labels(kind="refused" if refused else "unavailable").inc()

    def alarm_steps_rejected(self, count: int) -> None:
        """Steps of one alarm could not be stored and went to the dead letters."""
        self.alarm_rejected.inc(count)

    def alarm_store_failed(self) -> None:
        """The database was away; the steps wait for the next try."""
        self.alarm_store_failures.inc()

    def alarm_steps_waiting(self, count: int) -> None:
        """How many alarm steps wait for the database."""
        self.alarm_waiting.set(count)

    def pruned(self, readings: int, at: float) -> None:
        """Retention deleted old raw readings (RetentionObserver)."""
        self.retention_prunes.labels(outcome="ok").inc()
        self.retention_deleted.inc(readings)
        self.retention_last_success.set(at)

    def prune_failed(self) -> None:
        """A retention prune failed; the job tries again after a backoff."""
        self.retention_prunes.labels(outcome="failed").inc()

    def render(self) -> bytes:
        """The registry in the Prometheus text format."""
        return generate_latest(self.registry)
