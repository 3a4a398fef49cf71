"""Retention: raw readings and dead letters past their time, deleted on a schedule of their own."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from signalight.ports import TelemetryStore

__all__ = ["RetentionJob", "RetentionObserver", "backoff_s"]

log = logging.getLogger(__name__)

DAY_S = 86_400.0
EVERY_S = 3600.0  # a prune deletes a day's rows at most once a day; hourly keeps it small
RETRY_S = 60.0  # the first retry after a failure; it doubles up to EVERY_S


class RetentionObserver(Protocol):
    """Where the job reports what it did (Prometheus metrics in the service)."""

    def pruned(self, readings: int, at: float) -> None:
        """A prune deleted ``readings`` raw readings; ``at`` is the epoch time it ended."""
        ...

    def prune_failed(self) -> None:
        """A prune failed; the job tries again later."""
        ...


class _NoObserver:
    def pruned(self, readings: int, at: float) -> None:
        pass

    def prune_failed(self) -> None:
        pass


def backoff_s(failures: int, retry_s: float, every_s: float) -> float:
    """How long to wait after ``failures`` failed prunes in a row: doubling, capped, jittered.

    The jitter (down to half) keeps several processes on one database (ingest
    workers and servers) from retrying in step.
    """
    ceiling = min(every_s, retry_s * 2.0 ** min(failures - 1, 30))
    return ceiling * random.uniform(0.5, 1.0)  # noqa: S311 - spreading retries, not a secret


class RetentionJob:
    """Deletes raw readings and dead letters older than ``keep_days``, now and every ``every_s``.

    It runs on a daemon thread of its own, in every process that stores or
    serves telemetry (`ingest`, `serve`, `demo`), so that no process has to
    remember it and none depends on it: a prune that fails is logged, counted
    and tried again after a backoff, and never raises out of the job, so
    ingest and the API go on whatever happens to retention. Several
    processes on one database each prune; the rows go once, and a prune that
    collides with another's (a partition dropped under it) is a counted
    failure that the next try makes good.
    """

    def __init__(
        self,
        store: TelemetryStore,
        keep_days: float,
        *,
        every_s: float = EVERY_S,
        retry_s: float = RETRY_S,
        observer: RetentionObserver | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.keep_s = keep_days * DAY_S
        self.every_s = every_s
        self.retry_s = retry_s
        self.observer: RetentionObserver = observer or _NoObserver()
        self.clock = clock
        self.prunes = 0  # that succeeded
        self.failures = 0  # in all
        self.failing = 0  # in a row, up to now
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        """Whether anything is ever deleted (SIGNALIGHT_RETENTION_DAYS=0 keeps everything)."""
        return self.keep_s > 0

    @property
    def running(self) -> bool:
        """Whether the job's thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Prune now, then every ``every_s``, on a thread; nothing when retention is off.

        Starting a running job does nothing; a stopped job may be started again.
        """
        if not self.enabled:
            log.info("retention: off (SIGNALIGHT_RETENTION_DAYS=0); raw readings are kept")
            return
        if self.running:
            return
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(self._stop,), name="retention", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the thread, letting a prune under way finish (it is one transaction)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def prune_once(self) -> bool:
        """Delete what is past retention now; False if that failed (logged and counted)."""
        before = self.clock() - self.keep_s
        try:
            deleted = self.store.prune(before)
        except Exception as exc:  # any failure: the job must outlive it
            self.failures += 1
            self.failing += 1
            self.observer.prune_failed()
            if self.failing == 1:  # the cause in full once, then a line a try
                log.exception("retention: deleting old raw readings failed; trying again later")
            else:
                log.warning("retention: failed again (%d in a row): %s", self.failing, exc)
            return False
        if self.failing:
            log.warning("retention: works again after %d failures", self.failing)
        self.failing = 0
        self.prunes += 1
        self.observer.pruned(deleted, self.clock())
        if deleted:
            log.info("retention: deleted %d raw readings older than %s days", deleted, self.days)
        return True

    @property
    def days(self) -> str:
        """The retention in days, as the settings give it."""
        return f"{self.keep_s / DAY_S:g}"

    def _run(self, stop: threading.Event) -> None:
        delay = 0.0
        while not stop.wait(delay):
            try:
                ok = self.prune_once()
            except Exception:  # the observer's, say: still never the end of the job
                log.exception("retention: the job failed; trying again later")
                ok = False
            if ok:
                delay = self.every_s
            else:
                delay = backoff_s(max(self.failing, 1), self.retry_s, self.every_s)
