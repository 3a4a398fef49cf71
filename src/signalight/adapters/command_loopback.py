"""A command link without a broker: commands handed straight to simulated nodes in this process.

For the demo (``signalight demo`` with no broker configured, where the
fleet's telemetry also goes straight into ingest) and for tests: the
dispatcher, the answers and every rule about them are the real ones; only
the broker between them is missing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Final

from signalight.ports.commands import AckHandler
from signalight.sim.command_nodes import NodeFleet

__all__ = ["LoopbackLink"]

log = logging.getLogger(__name__)

_BATCH: Final = 5000


class LoopbackLink:
    """Implements ``CommandLink``: ``publish`` runs each command on the fleet's node at once.

    The nodes' answers reach the handler from a thread of the link's own, in
    batches, as the MQTT link's do.
    """

    def __init__(self, fleet: NodeFleet) -> None:
        self.fleet = fleet
        self._lock = threading.Condition()
        self._answers: list[tuple[str, bytes]] = []
        self._stop = threading.Event()
        self._handler: AckHandler | None = None
        self._thread: threading.Thread | None = None

    def start(self, on_acks: AckHandler) -> None:
        """Deliver the nodes' answers to ``on_acks`` until stopped."""
        self._handler = on_acks
        self._thread = threading.Thread(target=self._deliver, name="command-loopback", daemon=True)
        self._thread.start()

    def publish(self, messages: Sequence[tuple[str, bytes]]) -> None:
        """Hand each command to its node; their answers follow on the link's thread."""
        answers = [a for topic, payload in messages if (a := self.fleet.receive(topic, payload))]
        with self._lock:
            self._answers += answers
            self._lock.notify_all()

    def stop(self) -> None:
        """Deliver what is waiting, then stop."""
        self._stop.set()
        with self._lock:
            self._lock.notify_all()
        if self._thread is not None:
            self._thread.join(10)

    def pending(self) -> int:
        """Answers not yet handed over."""
        with self._lock:
            return len(self._answers)

    def _deliver(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(lambda: bool(self._answers) or self._stop.is_set(), 0.5)
                batch, self._answers = self._answers[:_BATCH], self._answers[_BATCH:]
            if batch and self._handler is not None:
                try:
                    self._handler(batch)
                except Exception:
                    log.exception("handling %d answers failed; trying again", len(batch))
                    with self._lock:
                        self._answers[:0] = batch
                    if self._stop.wait(1.0):
                        return
            elif self._stop.is_set():
                return
