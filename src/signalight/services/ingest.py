"""Ingest: device messages in, checked, stored in batches, and only then acknowledged.

The path is the same whatever carries the messages (MQTT, HTTP, the demo's
in-process simulator): :meth:`IngestService.check` turns one message into
an :class:`Accepted` or a :class:`DeadLetter`, and a :class:`Batcher` gathers
messages, writes each batch in one transaction and then calls back, so that
the MQTT adapter acknowledges a message only once it is stored. A process
killed at any moment has acknowledged nothing that is not stored, and the
store skips a redelivered reading it already holds.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Generic, NamedTuple, Protocol, TypeVar

from signalight.codecs import lorawan
from signalight.codecs.senml import decode_pack
from signalight.domain.readings import PayloadError, Reading, RejectReason, reading_problem
from signalight.domain.telemetry import Accepted, DeadLetter, DeviceRef
from signalight.domain.topics import TOPIC_ROOT, Channel

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from signalight.ports import TelemetryStore

__all__ = [
    "Batcher",
    "DeviceDirectory",
    "EmbeddedFeed",
    "IngestLimits",
    "IngestObserver",
    "IngestService",
    "Message",
]

log = logging.getLogger(__name__)

_STATUS_VALUES: Final = frozenset({"online", "offline"})
T = TypeVar("T")


class Message(NamedTuple):
    """One message as it arrived: where, what, and when Signalight got it."""

    topic: str
    payload: bytes
    received_at: float  # UTC epoch seconds


@dataclass(frozen=True, slots=True)
class IngestLimits:
    """What ingest accepts."""

    max_bytes: int = 16_384  # the broker's packet limit; HTTP applies it too
    max_past_s: float = 7 * 86_400.0  # a node buffers at most a week offline
    max_future_s: float = 300.0  # clock drift a node may have


class IngestObserver(Protocol):
    """What ingest reports for metrics."""

    def received(self, transport: str, count: int) -> None:
        """Messages arrived."""
        ...

    def rejected(self, reason: RejectReason) -> None:
        """A message went to the dead-letter store."""
        ...

    def written(self, messages: int, readings: int, seconds: float, lag: float) -> None:
        """A batch was stored; ``lag`` is from the oldest message's receipt to the commit."""
        ...


class _NoObserver:
    def received(self, transport: str, count: int) -> None:
        pass

    def rejected(self, reason: RejectReason) -> None:
        pass

    def written(self, messages: int, readings: int, seconds: float, lag: float) -> None:
        pass


class DeviceDirectory:
    """Registered devices by (city, id), loaded once and looked up again on a miss.

    A miss asks the store at most once a minute per name, so a flood of
    messages from an unknown device cannot become a flood of queries.
    """

    RETRY_S: Final = 60.0

    def __init__(self, store: TelemetryStore) -> None:
        self._store = store
        self._devices: dict[tuple[str, str], DeviceRef] = {}
        self._misses: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self.reload()

    def reload(self) -> None:
        """Read every device again (after an inventory import, say)."""
        devices = {(ref.city_slug, ref.uid): ref for ref in self._store.devices()}
        with self._lock:
            self._devices = devices
            self._misses.clear()

    def __len__(self) -> int:
        return len(self._devices)

    def get(self, city_slug: str, uid: str) -> DeviceRef | None:
        """The device, or None if the city has none of that id."""
        key = (city_slug, uid)
        found = self._devices.get(key)
        if found is not None:
            return found
        now = time.monotonic()
        with self._lock:
            missed = self._misses.get(key)
            if missed is not None and now - missed < self.RETRY_S:
                return None
            found = self._store.find_device(city_slug, uid)
            if found is None:
                if len(self._misses) > 100_000:  # noqa: PLR2004 - a bound, not a tunable
                    self._misses.clear()
                self._misses[key] = now
            else:
                self._devices[key] = found
            return found


class IngestService:
    """Checks device messages and writes them, with their dead letters, to the store."""

    def __init__(
        self,
        store: TelemetryStore,
        *,
        limits: IngestLimits | None = None,
        observer: IngestObserver | None = None,
        lorawan_routes: Mapping[str, lorawan.ApplicationRoute] | None = None,
        stores: bool = True,
    ) -> None:
        self.store = store
        # False: check and hand on to the listeners, store nothing (a detection-only process)
        self.stores = stores
        self.limits = limits or IngestLimits()
        self.observer: IngestObserver = observer or _NoObserver()
        self.directory = DeviceDirectory(store)
        self._lorawan = dict(lorawan_routes or {})
        # Called with each batch's accepted messages once they are stored (fault detection).
        self.listeners: list[Callable[[Sequence[Accepted]], None]] = []

    def check(self, message: Message) -> Accepted | DeadLetter:
        """Decode and check one MQTT message; never raises for bad input."""
        topic = message.topic
        parts = topic.split("/")
        if len(parts) == 4 and parts[0] == TOPIC_ROOT:  # noqa: PLR2004 - signalight/{city}/{device}/{channel}
            return self._device_message(message, parts[1], parts[2], parts[3])
        if parts[0] in ("application", "v3"):
            return self._lorawan_message(message)
        return self._dead(
            message, RejectReason.BAD_TOPIC, f"no device topic has the shape {topic[:200]!r}"
        )

    def check_from(
        self, device: DeviceRef, payload: bytes, received_at: float, topic: str
    ) -> Accepted | DeadLetter:
        """Decode and check a SenML pack that an authenticated ``device`` sent (HTTP ingest)."""
        try:
            readings = self._decode(payload, device, received_at)
        except PayloadError as exc:
            return self._dead(
                Message(topic, payload, received_at),
                exc.reason,
                exc.message,
                device.city_id,
                device.uid,
            )
        return Accepted(device, readings, received_at)

    def write(self, accepted: Sequence[Accepted], dead: Sequence[DeadLetter]) -> int:
        """Store one batch in one transaction; returns how many readings were new."""
        started = time.monotonic()
        new = self.store.write(accepted, dead) if self.stores else 0
        finished = time.monotonic()
        oldest = min(
            [item.received_at for item in accepted] + [letter.received_at for letter in dead],
            default=None,
        )
        lag = 0.0 if oldest is None else max(0.0, time.time() - oldest)
        self.observer.written(len(accepted) + len(dead), new, finished - started, lag)
        for letter in dead:
            self.observer.rejected(letter.reason)
        for listener in self.listeners:
            listener(accepted)
        return new

    def ingest(self, messages: Sequence[Message]) -> tuple[list[Accepted], list[DeadLetter]]:
        """Check and store ``messages`` as one batch; returns what was accepted and refused."""
        accepted: list[Accepted] = []
        dead: list[DeadLetter] = []
        for message in messages:
            outcome = self.check(message)
            if isinstance(outcome, DeadLetter):
                dead.append(outcome)
            else:
                accepted.append(outcome)
        self.write(accepted, dead)
        return accepted, dead

    def _device_message(
        self, message: Message, city_slug: str, uid: str, channel: str
    ) -> Accepted | DeadLetter:
        device = self.directory.get(city_slug, uid)
        if device is None:
            text = f"no device {uid[:64]!r} is registered in city {city_slug[:64]!r}"
            return self._dead(message, RejectReason.UNKNOWN_DEVICE, text, None, uid)
        if channel == Channel.UP:
            try:
                readings = self._decode(message.payload, device, message.received_at)
            except PayloadError as exc:
                return self._dead(message, exc.reason, exc.message, device.city_id, uid)
            return Accepted(device, readings, message.received_at)
        if channel == Channel.STATUS:
            text = message.payload.decode("utf-8", "replace").strip()
            if text not in _STATUS_VALUES:
                reason = f"a status is 'online' or 'offline', not {text[:40]!r}"
                return self._dead(message, RejectReason.MALFORMED, reason, device.city_id, uid)
            status = Reading(message.received_at, "status", string_value=text)
            return Accepted(device, [status], message.received_at)
        text = f"ingest reads the 'up' and 'status' topics, not {channel[:20]!r}"
        return self._dead(message, RejectReason.BAD_TOPIC, text, device.city_id, uid)

    def _decode(self, payload: bytes, device: DeviceRef, received_at: float) -> list[Reading]:
        limits = self.limits
        return decode_pack(
            payload,
            device=device.uid,
            kind=device.kind,
            now=received_at,
            max_bytes=limits.max_bytes,
            max_past_s=limits.max_past_s,
            max_future_s=limits.max_future_s,
        )

    def _lorawan_message(self, message: Message) -> Accepted | DeadLetter:
        topic, payload, received_at = message
        parts = topic.split("/")
        if parts[0] == "application":
            server, application = (
                lorawan.NetworkServer.CHIRPSTACK,
                parts[1] if len(parts) > 1 else "",
            )
        else:
            server = lorawan.NetworkServer.THE_THINGS_STACK
            application = parts[1].split("@", 1)[0] if len(parts) > 1 else ""
        route = self._lorawan.get(application)
        if route is None:
            text = f"no city takes uplinks of LoRaWAN application {application[:64]!r}"
            return self._dead(message, RejectReason.UNKNOWN_DEVICE, text)
        decode = (
            lorawan.decode_chirpstack_up
            if server is lorawan.NetworkServer.CHIRPSTACK
            else lorawan.decode_tts_up
        )
        try:
            uplink = decode(
                topic,
                payload,
                route.mapping,
                now=received_at,
                max_past_s=self.limits.max_past_s,
                max_future_s=self.limits.max_future_s,
            )
        except PayloadError as exc:
            return self._dead(message, exc.reason, exc.message)
        uid = uplink.dev_eui or uplink.device_id
        device = self.directory.get(route.city_slug, uid) or self.directory.get(
            route.city_slug, uplink.device_id
        )
        if device is None:
            text = f"no device {uid!r} is registered in city {route.city_slug!r}"
            return self._dead(message, RejectReason.UNKNOWN_DEVICE, text, None, uid)
        for reading in uplink.readings:
            problem = reading_problem(device.kind, reading)
            if problem is not None:
                return self._dead(message, problem.reason, problem.message, device.city_id, uid)
        if not uplink.readings:
            text = "the uplink's decoded fields gave no reading (see the city's field mapping)"
            return self._dead(message, RejectReason.NOT_DECODED, text, device.city_id, uid)
        return Accepted(device, list(uplink.readings), received_at)

    @staticmethod
    def _dead(
        message: Message,
        reason: RejectReason,
        text: str,
        city_id: int | None = None,
        device_uid: str | None = None,
    ) -> DeadLetter:
        return DeadLetter.of(
            received_at=message.received_at,
            topic=message.topic,
            reason=reason,
            message=text,
            payload=message.payload,
            city_id=city_id,
            device_uid=device_uid,
        )


class Batcher(Generic[T]):
    """Gathers checked messages and stores them a batch at a time, on a thread of its own.

    ``put`` takes a checked message (the caller runs :meth:`IngestService.check`
    on its own thread, so decoding overlaps the database's work) and a token
    (the MQTT packet id, say); after a batch is stored, ``on_stored`` gets the
    batch's tokens in arrival order. A batch is written when it holds
    ``max_messages`` or its oldest message has waited ``max_wait`` seconds.
    If the store fails (the database is restarting), the same batch is tried
    again with a growing pause and nothing is acknowledged meanwhile; the
    broker keeps what it has not had acknowledged.
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
    ) -> None:
        self._service = service
        self._on_stored = on_stored
        self._transport = transport
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
        self._items: list[Accepted | DeadLetter] = []
        self._tokens: list[T] = []
        self._first_at = 0.0
        lock = threading.Lock()
        self._ready = threading.Condition(lock)  # the writer waits for a batch
        self._room = threading.Condition(lock)  # put waits for room
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
        self.failures = 0  # consecutive failed writes; 0 when the store is healthy

    def start(self) -> None:
        """Start the writer thread."""
        self._thread.start()

    def put(self, item: Accepted | DeadLetter, token: T) -> None:
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

    def _take(self) -> tuple[list[Accepted | DeadLetter], list[T]] | None:
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

    def _cut(self) -> tuple[list[Accepted | DeadLetter], list[T]]:
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
            self._store(batch)
            self._on_stored(tokens)

    def _store(self, batch: list[Accepted | DeadLetter]) -> None:
        accepted = [item for item in batch if not isinstance(item, DeadLetter)]
        dead = [item for item in batch if isinstance(item, DeadLetter)]
        pause = 0.1
        while True:
            try:
                self._service.write(accepted, dead)
            except Exception:  # the database is away: keep the batch, try again
                self.failures += 1
                log.exception(
                    "storing %d messages failed; trying again in %.1f s", len(batch), pause
                )
                time.sleep(pause)
                pause = min(pause * 2, 5.0)
            else:
                if self.failures:
                    log.warning("storing works again after %d failures", self.failures)
                self.failures = 0
                return


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
