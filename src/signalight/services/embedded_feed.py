"""Ingest for messages made in this process (the demo's simulator), with no broker between."""

from __future__ import annotations

import time

from signalight.services.batcher import Batcher
from signalight.services.ingest import IngestService, Message

__all__ = ["EmbeddedFeed"]


class EmbeddedFeed:
    """Ingest for messages made in this process (the demo's simulator): no broker between.

    Call it with a topic and a payload, as a simulator's sink; messages go
    through the same checks and batches as MQTT's.
    """

    def __init__(
        self, service: IngestService, *, max_messages: int = 2000, max_wait: float = 0.2
    ) -> None:
        self._service = service
        self._batcher: Batcher[None] = Batcher(
            service,
            lambda _tokens: None,
            transport="embedded",
            max_messages=max_messages,
            max_wait=max_wait,
        )
        self._batcher.start()

    def __call__(self, topic: str, payload: bytes) -> None:
        """Take one message; it is checked now and stored with its batch."""
        self._batcher.put(self._service.check(Message(topic, payload, time.time())), None)

    def close(self) -> None:
        """Store what is queued and stop."""
        self._batcher.stop()
