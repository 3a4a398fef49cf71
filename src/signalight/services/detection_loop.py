"""Running the fault rules for ingest: on each stored batch, and on a clock when idle."""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from signalight.domain.errors import StorageUnavailableError

if TYPE_CHECKING:
    from signalight.domain.alarms import AlarmEvent
    from signalight.domain.telemetry import Accepted
    from signalight.services.detection import Detector

__all__ = ["DetectionLoop"]

log = logging.getLogger(__name__)


class DetectionLoop:
    """Runs a :class:`Detector` for ingest: on each stored batch, and on a clock when idle.

    ``submit`` is what ingest calls after each stored batch, on its writer
    thread: the batch is judged there, the alarms it decided are stored
    before ``submit`` returns (so before ingest acknowledges the batch), and
    every ``tick_s`` the timed rules run. A thread of its own does the same
    only while no batch comes (silence is judged when nothing arrives). A
    third busy thread would only add a third contender for the interpreter to
    the reader and the writer; the rules' cost (about 9 µs a message) is paid
    either way.

    A step that cannot be stored is isolated to its city and alarm and kept
    as a dead letter (:class:`AlarmRecorder`); while the database is away,
    ``submit`` raises :class:`StorageUnavailableError` so that ingest keeps
    the batch unacknowledged, and the decided steps wait in memory for the
    next try. A rule that fails on a message is logged and counted, never
    allowed to stop ingest.
    """

    def __init__(self, detector: Detector, *, tick_s: float = 1.0) -> None:
        self.detector = detector
        self.tick_s = tick_s
        self._lock = threading.Lock()
        self._last_tick = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._idle, name="detection", daemon=True)
        self.failures = 0  # steps that raised: a rule's bug, or the database away
        self._away = False
        # Called with the events of each flush that stored some, on this
        # loop's thread (work orders confirm their repairs when alarms clear).
        self.event_listeners: list[Callable[[Sequence[AlarmEvent]], None]] = []

    def start(self) -> None:
        """Start the idle clock."""
        self._thread.start()

    def submit(self, accepted: Sequence[Accepted]) -> None:
        """Judge a stored batch and store what it decided; now and then run the timed rules.

        Raises:
            StorageUnavailableError: the alarms could not be stored for now.
        """
        if not accepted:
            return
        with self._lock:
            self._safely(lambda: self.detector.observe(accepted))
            if time.monotonic() - self._last_tick >= self.tick_s:
                self._last_tick = time.monotonic()
                self._safely(self.detector.tick)
            self._flush(raising=True)

    def stalled(self, stalled: bool) -> None:
        """Ingest cannot store (True), or can again (False): the stream's clocks stop meanwhile.

        While ingest is stalled no news is not silence: the devices may be
        speaking into a broker queue that ingest cannot empty. The cities'
        clocks stop, so the backlog is judged on the clock it was spoken on.
        """
        with self._lock:
            if stalled:
                self.detector.hold()
            else:
                self.detector.resume()

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
        self._flush(raising=False)

    def _flush(self, *, raising: bool) -> None:
        try:
            events = self.detector.flush()
        except StorageUnavailableError:
            self.failures += 1
            if not self._away:  # logged on the transition, not at every try
                log.warning(
                    "storing alarms failed: the database is away; %d steps wait",
                    self.detector.recorder.waiting,
                )
            self._away = True
            if raising:
                raise
            return
        except Exception:
            self.failures += 1
            log.exception("storing alarms failed; carrying on")
            return
        if self._away:
            log.warning("storing alarms works again")
            self._away = False
        if events:
            for listener in self.event_listeners:
                self._safely(functools.partial(listener, events))

    def _safely(self, step: Callable[[], object]) -> None:
        try:
            step()
        except Exception:
            self.failures += 1
            log.exception("fault detection step failed; carrying on")
