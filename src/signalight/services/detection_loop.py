"""Running the fault rules for ingest: on each stored batch, and on a clock when idle."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from signalight.domain.telemetry import Accepted
    from signalight.services.detection import Detector

__all__ = ["DetectionLoop"]

log = logging.getLogger(__name__)


class DetectionLoop:
    """Runs a :class:`Detector` for ingest: on each stored batch, and on a clock when idle.

    ``submit`` is what ingest calls after each stored batch, on its writer
    thread: the batch is judged there, and every ``tick_s`` the timed rules
    run and the alarms are stored. A thread of its own does the same only
    while no batch comes (silence is judged when nothing arrives). A third
    busy thread would only add a third contender for the interpreter to the
    reader and the writer; the rules' cost (about 9 µs a message) is paid
    either way. A failed store is kept and tried again.
    """

    def __init__(self, detector: Detector, *, tick_s: float = 1.0) -> None:
        self.detector = detector
        self.tick_s = tick_s
        self._lock = threading.Lock()
        self._last_tick = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._idle, name="detection", daemon=True)
        self.failures = 0

    def start(self) -> None:
        """Start the idle clock."""
        self._thread.start()

    def submit(self, accepted: Sequence[Accepted]) -> None:
        """Judge a stored batch; now and then also run the timed rules and store the alarms."""
        if not accepted:
            return
        with self._lock:
            self._safely(lambda: self.detector.observe(accepted))
            if time.monotonic() - self._last_tick >= self.tick_s:
                self._tick()

    def stop(self, timeout: float = 30.0) -> None:
        """Run the timed rules once more, store the alarms, and stop."""
        self._stop.set()
        self._thread.join(timeout)
        with self._lock:
            self._tick()

    def _idle(self) -> None:
        while not self._stop.wait(self.tick_s):
            with self._lock:
                if time.monotonic() - self._last_tick >= self.tick_s:
                    self._tick()

    def _tick(self) -> None:
        self._last_tick = time.monotonic()
        self._safely(self.detector.tick)
        self._safely(self.detector.flush)

    def _safely(self, step: Callable[[], object]) -> None:
        try:
            step()
        except Exception:
            self.failures += 1
            log.exception("fault detection step failed; carrying on")
