"""Ingest: device messages in, checked, stored in batches, and only then acknowledged.

The path is the same whatever carries the messages (MQTT, HTTP, the demo's
in-process simulator): :meth:`IngestService.check` turns one message into
an :class:`Accepted` or a :class:`DeadLetter` (devices found through the
``device_directory``), and a ``Batcher`` (``batcher.py``) gathers messages,
writes each batch in one transaction and then calls back, so that the MQTT
adapter acknowledges a message only once it is stored; the demo feeds it
through an ``EmbeddedFeed`` (``embedded_feed.py``). A process killed at any
moment has acknowledged nothing that is not stored, and the store skips a
redelivered reading it already holds.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, NamedTuple, Protocol

from signalight.codecs import lorawan
from signalight.codecs.senml import decode_pack
from signalight.domain.errors import StorageUnavailableError
from signalight.domain.readings import PayloadError, Reading, RejectReason, reading_problem
from signalight.domain.telemetry import (
    MAX_FUTURE_S,
    MAX_MESSAGE_BYTES,
    MAX_PAST_S,
    Accepted,
    DeadLetter,
    DeviceRef,
)
from signalight.domain.topics import TOPIC_ROOT, Channel
from signalight.services.device_directory import DeviceDirectory

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from signalight.ports import TelemetryStore

__all__ = [
    "IngestLimits",
    "IngestObserver",
    "IngestService",
    "Message",
]

log = logging.getLogger(__name__)

_STATUS_VALUES: Final = frozenset({"online", "offline"})


class Message(NamedTuple):
    """One message as it arrived: where, what, and when Signalight got it."""

    topic: str
    payload: bytes
    received_at: float  # UTC epoch seconds


@dataclass(frozen=True, slots=True)
class IngestLimits:
    """What ingest accepts."""

    max_bytes: int = MAX_MESSAGE_BYTES  # the broker's packet limit; HTTP applies it too
    max_past_s: float = MAX_PAST_S  # a node buffers at most a week offline
    max_future_s: float = MAX_FUTURE_S  # clock drift a node may have


class IngestObserver(Protocol):
    """What ingest reports for metrics."""

    def received(self, transport: str, count: int) -> None:
        """Messages arrived."""
        ...

    def rejected(self, reason: RejectReason) -> None:
        """A message went to the dead-letter store."""
        ...

    def written(
        self, messages: int, readings: int, seconds: float, lag: float, duplicates: int = 0
    ) -> None:
        """A batch was stored; ``lag`` is from the oldest message's receipt to the commit.

        ``duplicates``: readings and events the batch held that were stored
        already or twice in it (a redelivery, a resent pack), merged into one.
        """
        ...

    def store_failed(self, *, refused: bool) -> None:
        """A write failed: ``refused`` for what it held, else the database was away."""
        ...


class _NoObserver:
    def received(self, transport: str, count: int) -> None:
        pass

    def rejected(self, reason: RejectReason) -> None:
        pass

    def written(
        self, messages: int, readings: int, seconds: float, lag: float, duplicates: int = 0
    ) -> None:
        pass

    def store_failed(self, *, refused: bool) -> None:
        pass


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
        self.telemetry = store
        # False: check and hand on to the listeners, store nothing (a detection-only process)
        self.stores = stores
        self.limits = limits or IngestLimits()
        self.observer: IngestObserver = observer or _NoObserver()
        self.directory = DeviceDirectory(store)
        self._lorawan = dict(lorawan_routes or {})
        # Called with each batch's accepted messages once they are stored (fault detection).
        self.listeners: list[Callable[[Sequence[Accepted]], None]] = []
        # Told True when storing stops working (the database is away) and False
        # when it works again: fault detection stops its clocks meanwhile.
        self.stall_listeners: list[Callable[[bool], None]] = []

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
        return self._up(Message(topic, payload, received_at), device)

    def write(self, accepted: Sequence[Accepted], dead: Sequence[DeadLetter]) -> int:
        """Store one batch in one transaction, then hand it on; returns how many readings were new.

        Raises:
            StorageUnavailableError: the database is away; nothing was stored.
            SignalightError: the database refused what the batch holds.
        """
        new = self.store(accepted, dead)
        self.notify(accepted)
        return new

    def store(self, accepted: Sequence[Accepted], dead: Sequence[DeadLetter]) -> int:
        """Store one batch in one transaction and count it; returns how many readings were new."""
        started = time.monotonic()
        new = self.telemetry.write(accepted, dead) if self.stores else 0
        finished = time.monotonic()
        oldest = min(
            [item.received_at for item in accepted] + [letter.received_at for letter in dead],
            default=None,
        )
        lag = 0.0 if oldest is None else max(0.0, time.time() - oldest)
        offered = sum(len(item.readings) for item in accepted) if self.stores else new
        self.observer.written(
            len(accepted) + len(dead), new, finished - started, lag, max(0, offered - new)
        )
        for letter in dead:
            self.observer.rejected(letter.reason)
        return new

    def notify(self, accepted: Sequence[Accepted]) -> None:
        """Hand stored messages to the listeners (fault detection).

        Raises:
            StorageUnavailableError: a listener could not store what it decided;
                the caller holds the batch back and calls again.
        """
        for listener in self.listeners:
            try:
                listener(accepted)
            except StorageUnavailableError:
                raise
            except Exception:  # a listener's bug must not stop ingest
                log.exception("a listener of stored messages failed; carrying on")

    def stalled(self, stalled: bool) -> None:
        """Tell the stall listeners that storing stopped (True) or works again (False)."""
        for listener in self.stall_listeners:
            try:
                listener(stalled)
            except Exception:  # a listener's bug must not stop ingest
                log.exception("a stall listener failed; carrying on")

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
            return self._up(message, device)
        if channel == Channel.STATUS:
            text = message.payload.decode("utf-8", "replace").strip()
            if text not in _STATUS_VALUES:
                reason = f"a status is 'online' or 'offline', not {text[:40]!r}"
                return self._dead(message, RejectReason.MALFORMED, reason, device.city_id, uid)
            status = Reading(message.received_at, "status", string_value=text)
            return Accepted(device, [status], message.received_at)
        text = f"ingest reads the 'up' and 'status' topics, not {channel[:20]!r}"
        return self._dead(message, RejectReason.BAD_TOPIC, text, device.city_id, uid)

    def _up(self, message: Message, device: DeviceRef) -> Accepted | DeadLetter:
        """A device's pack, decoded and checked, or its dead letter."""
        uid = device.uid
        try:
            readings = self._decode(message.payload, device, message.received_at)
        except PayloadError as exc:
            return self._dead(message, exc.reason, exc.message, device.city_id, uid)
        if device.asset_id is None and any(r.name == "event" for r in readings):
            text = (
                f"device {uid[:64]!r} is bound to no intersection, so its controller events"
                " have none to be kept under: bind it in the inventory"
            )
            return self._dead(message, RejectReason.UNBOUND, text, device.city_id, uid)
        return Accepted(device, readings, message.received_at)

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
