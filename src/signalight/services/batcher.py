"""Gathering checked messages into batches and storing them, a batch at a time, on a thread.

A batch is stored in one transaction and only then handed to the listeners
(fault detection) and acknowledged. What the store says decides what
happens next:

- the database is away or busy (:class:`StorageUnavailableError`): the same
  batch is tried again with a growing pause, nothing is acknowledged
  meanwhile, and the broker keeps what it has not had acknowledged;
- the database refuses the batch for what it holds (a constraint, a value):
  the batch is split in halves, and halves again, until the one message it
  refuses is alone; that message is tried once more alone (an odd error
  that does not come back is no reason to file it), then becomes a dead
  letter (reason ``not_stored``, its readings as a SenML pack) and the rest
  are stored. A poisoned message never holds back the others, nor the other
  cities.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, Generic, TypeVar

from signalight.codecs.senml import encode_pack
from signalight.domain.errors import StorageUnavailableError
from signalight.domain.readings import RejectReason
from signalight.domain.telemetry import Accepted, DeadLetter

if TYPE_CHECKING:
    from signalight.services.ingest import IngestService

__all__ = ["Batcher", "refused_letter"]

log = logging.getLogger(__name__)

T = TypeVar("T")
Item = Accepted | DeadLetter

_PAUSE_FIRST: Final = 0.1
_PAUSE_MAX: Final = 5.0


def refused_letter(item: Accepted, exc: Exception) -> DeadLetter:
    """The dead letter of an accepted message the database refused, with the database's words."""
    device = item.device
    return DeadLetter.of(
        received_at=item.received_at,
        topic=f"signalight/{device.city_slug}/{device.uid}/up",
        reason=RejectReason.NOT_STORED,
        message=f"the database refused it: {exc}",
        payload=encode_pack(device.uid, item.readings),
        city_id=device.city_id,
        device_uid=device.uid,
    )


class _Piece:
    """Part of a batch on its way to the store: its items, and whether they are stored."""

    __slots__ = ("items", "stored", "tried")

    def __init__(self, items: list[Item]) -> None:
        self.items = items
        self.stored = False
        self.tried = False  # a lone message refused once: tried again before it is filed


class Batcher(Generic[T]):
    """Gathers checked messages and stores them a batch at a time, on a thread of its own.

    ``put`` takes a checked message (the caller runs :meth:`IngestService.check`
    on its own thread, so decoding overlaps the database's work) and a token
    (the MQTT packet id, say); after a batch is stored, ``on_stored`` gets the
    batch's tokens in arrival order. A batch is written when it holds
    ``max_messages`` or its oldest message has waited ``max_wait`` seconds.
    See the module's docstring for what a failed write does.
    """

    def __init__(
        self,
        service: IngestService,
        on_stored: Callable[[list[T]], None],
        *,
        transport: str,
        max_messages: int = 2000,
        max_wait: float = 0.05,
        max_pending: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._service = service
        self._on_stored = on_stored
        self._transport = transport
        self._sleep = sleep
        self.max_messages = max_messages
        self.max_wait = max_wait
        # ``put`` waits while this many are queued: the reader stops reading,
        # and the broker (or the simulator) waits. Mosquitto 2.0.11 sent a
        # reconnecting session's whole backlog (96,000 messages, measured)
        # whatever Receive Maximum ingest asked for, so the bound is ours.
        # Twenty batches keep the reader checking ahead while the writer
        # waits on the database: 19,000 msg/s where a two-batch bound gave
        # 16,500 (PostgreSQL drain, bench machine).
        self.max_pending = max_pending or 20 * max_messages
        self._items: list[Item] = []
        self._tokens: list[T] = []
        self._first_at = 0.0
        lock = threading.Lock()
        self._ready = threading.Condition(lock)  # the writer waits for a batch
        self._room = threading.Condition(lock)  # put waits for room
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
        self.failures = 0  # consecutive failed writes; 0 when the store is healthy
        self.refused = 0  # messages the database refused, filed as dead letters
        self._stalled = False  # storing has stopped working, and the listeners were told

    def start(self) -> None:
        """Start the writer thread."""
        self._thread.start()

    def put(self, item: Item, token: T) -> None:
        """Queue one checked message; waits while ``max_pending`` are queued already."""
        with self._ready:
            while len(self._items) >= self.max_pending and not self._stopping:
                self._room.wait()
            if not self._items:
                self._first_at = time.monotonic()
                self._ready.notify()  # the writer starts counting max_wait
            self._items.append(item)
            self._tokens.append(token)
            if len(self._items) == self.max_messages:
                self._ready.notify()

    def pending(self) -> int:
        """Messages waiting for the next batch."""
        return len(self._items)

    def stop(self, timeout: float = 30.0) -> None:
        """Store what is queued, then stop the writer thread."""
        with self._ready:
            self._stopping = True
            self._ready.notify()
            self._room.notify_all()
        self._thread.join(timeout)

    def _take(self) -> tuple[list[Item], list[T]] | None:
        with self._ready:
            while True:
                if self._items:
                    waited = time.monotonic() - self._first_at
                    full = len(self._items) >= self.max_messages
                    if self._stopping or full or waited >= self.max_wait:
                        return self._cut()
                    self._ready.wait(self.max_wait - waited)
                elif self._stopping:
                    return None
                else:
                    self._ready.wait()

    def _cut(self) -> tuple[list[Item], list[T]]:
        """The oldest ``max_messages`` (lock held)."""
        size = self.max_messages
        batch, tokens = self._items[:size], self._tokens[:size]
        del self._items[:size], self._tokens[:size]
        if self._items:
            self._first_at = time.monotonic()
        self._room.notify_all()
        return batch, tokens

    def _run(self) -> None:
        while (taken := self._take()) is not None:
            batch, tokens = taken
            self._service.observer.received(self._transport, len(batch))  # once a batch: cheap
            self.store(batch)
            self._on_stored(tokens)

    def store(self, batch: list[Item]) -> None:
        """Store ``batch`` and hand it to the listeners; returns only when all of it is done.

        Pieces are stored in arrival order; a stored piece is never written
        again, so a retry after the listeners failed adds no second row.
        """
        todo: deque[_Piece] = deque([_Piece(batch)])
        pause = _PAUSE_FIRST
        while todo:
            piece = todo[0]
            try:
                if not piece.stored:
                    self._write(piece, todo)
                    if not piece.stored:  # split, tried again, or turned into its dead letter
                        continue
                    self._stall(stalled=False)  # before the listeners judge the backlog
                self._service.notify([i for i in piece.items if isinstance(i, Accepted)])
            except StorageUnavailableError as exc:
                self.failures += 1
                self._service.observer.store_failed(refused=False)
                self._stall(stalled=True)
                if self.failures == 1 or self.failures % 20 == 0:
                    log.warning(
                        "storing %d messages failed (%d in a row): %s; trying again in %.1f s",
                        len(piece.items),
                        self.failures,
                        exc,
                        pause,
                    )
                self._sleep(pause * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not a secret
                pause = min(pause * 2, _PAUSE_MAX)
                continue
            todo.popleft()
            if self.failures:
                log.warning("storing works again after %d failures", self.failures)
                self.failures = 0
                self._stall(stalled=False)
                pause = _PAUSE_FIRST

    def _stall(self, *, stalled: bool) -> None:
        """Tell ingest's stall listeners when storing stops or works again, once each way."""
        if stalled != self._stalled:
            self._stalled = stalled
            self._service.stalled(stalled)

    def _write(self, piece: _Piece, todo: deque[_Piece]) -> None:
        """Store one piece; on a refusal, put its halves (or its dead letter) in its place."""
        accepted = [i for i in piece.items if isinstance(i, Accepted)]
        dead = [i for i in piece.items if isinstance(i, DeadLetter)]
        try:
            self._service.store(accepted, dead)
        except StorageUnavailableError:
            raise
        except Exception as exc:
            self._service.observer.store_failed(refused=True)
            todo.popleft()
            items = piece.items
            if len(items) > 1:
                mid = len(items) // 2
                todo.extendleft([_Piece(items[mid:]), _Piece(items[:mid])])
                return
            if not piece.tried:
                # A refusal is about the message and comes back the same; an odd
                # error that does not is not worth a dead letter.
                piece.tried = True
                todo.appendleft(piece)
                return
            [item] = items
            if isinstance(item, DeadLetter):
                # Even a dead letter is refused: the store itself is broken, so
                # hold the batch (unacknowledged) rather than lose the message.
                todo.appendleft(piece)
                raise StorageUnavailableError(
                    f"the dead letter of a refused message was refused too: {exc}"
                ) from exc
            log.error(  # noqa: TRY400 - the database's words are enough; no traceback
                "the database refused a message of %s in %s; kept as a dead letter: %s",
                item.device.uid,
                item.device.city_slug,
                exc,
            )
            self.refused += 1
            todo.appendleft(_Piece([refused_letter(item, exc)]))
            return
        piece.stored = True
