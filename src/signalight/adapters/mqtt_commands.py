"""The command link over MQTT 5: commands out with QoS 1, answers in through a persistent session.

One connection does both, as the broker makes an account's username its
client id (two connections of one account would push each other off). The
session is persistent (clean start off, a 14-day expiry), so answers that
come while the service is down wait in the broker. An answer is
acknowledged to the broker (PUBACK) only after the handler has stored what
it did, so a crash loses none: the broker delivers it again, and the
handler counts the copy as a duplicate. The connection is
``mqtt_command_wire.CommandWire`` (see there why not paho-mqtt); a reader
thread holds it, reconnecting with a growing pause (1 to 30 s).

``publish`` keeps at most the broker's Receive Maximum of commands waiting
for their PUBACK, and returns once every one is acknowledged; if the
connection drops first it raises LinkError, and the dispatcher sends those
commands again (the same ids) after their pause. A PUBACK of 0x10 ("no
matching subscribers") means no device session took the command (a device
that never connected): it is counted as unheard, and sent again likewise.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
import threading
import time
from collections.abc import Sequence
from typing import Final

from signalight.adapters.mqtt_command_wire import CommandWire, publish_packet
from signalight.consumers.mqtt_wire import ConnectionRefused, MqttProtocolError, SessionSettings
from signalight.ports.commands import AckHandler, LinkError

__all__ = ["COMMANDS_USER", "MqttCommandLink"]

log = logging.getLogger(__name__)

COMMANDS_USER: Final = "signalight-commands"  # the account that writes `down` and reads `ack`
SESSION_EXPIRY_S: Final = 14 * 86_400  # as persistent_client_expiration in the shipped broker
NO_SUBSCRIBERS: Final = 0x10
_BATCH: Final = 5000  # answers handed to the handler at once
_BATCH_WAIT_S: Final = 0.1
_WRITE: Final = 256  # PUBLISH packets written in one sendall


class MqttCommandLink:
    """Implements ``CommandLink`` over one persistent MQTT 5 session.

    Args:
        host: The broker.
        port: Its MQTT port.
        username: The commands account (``signalight-commands``); None: anonymous.
        password: Its password.
        filters: The answer topics to subscribe to (``Router.filters``).
        client_id: The session's id (the broker may make it the username).
        tls: Connect over TLS with this context (it verifies the broker).
        timeout: Seconds ``publish`` waits for a connection, room in flight, and PUBACKs.
        max_inflight: At most this many commands await their PUBACK (and at most
            the broker's Receive Maximum).
    """

    def __init__(
        self,
        host: str,
        port: int,
        username: str | None,
        password: str | None,
        filters: Sequence[str],
        *,
        client_id: str = COMMANDS_USER,
        tls: ssl.SSLContext | None = None,
        timeout: float = 30.0,
        max_inflight: int = 1000,
    ) -> None:
        self.where = f"{host}:{port}"
        self._filters = list(filters)
        self._timeout = timeout
        self._max_inflight = max_inflight
        self._session = SessionSettings(
            host=host,
            port=port,
            client_id=client_id,
            username=username,
            password=password,
            session_expiry=SESSION_EXPIRY_S,
            receive_maximum=2 * _BATCH,
            tls=tls,
        )
        self._lock = threading.Condition()
        self._wire: CommandWire | None = None
        self._generation = 0  # bumped on every connection; ids and PUBACKs belong to one
        self._inflight: set[int] = set()
        self._next_id = 0
        self._low_water = 0  # in flight at or below this, the publisher is woken
        self._inbox: list[tuple[int, str, bytes, int]] = []  # generation, topic, payload, id
        self._stop = threading.Event()
        self._handler: AckHandler | None = None
        self._threads: list[threading.Thread] = []
        self.connected = threading.Event()
        self.unheard = 0  # commands no session took (PUBACK 0x10)
        self.answers = 0

    def start(self, on_acks: AckHandler) -> None:
        """Connect (retrying until the broker answers) and hand answers to ``on_acks``."""
        self._handler = on_acks
        self._threads = [
            threading.Thread(target=self._read, name="command-link", daemon=True),
            threading.Thread(target=self._answers, name="command-acks", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def wait_connected(self, timeout: float) -> bool:
        """Whether the link is connected (and subscribed) within ``timeout`` seconds."""
        return self.connected.wait(timeout)

    def publish(self, messages: Sequence[tuple[str, bytes]]) -> None:
        """Publish with QoS 1 and wait for every PUBACK; LinkError if that cannot be."""
        if not messages:
            return
        if not self.connected.wait(self._timeout):
            raise LinkError(f"no connection to the broker at {self.where}")
        deadline = time.monotonic() + self._timeout
        with self._lock:
            wire, generation = self._wire, self._generation
        if wire is None:
            raise LinkError(f"no connection to the broker at {self.where}")
        window = max(1, min(self._max_inflight, wire.receive_maximum))
        with self._lock:
            self._low_water = window // 2
        mine: set[int] = set()
        pending: list[bytes] = []
        for topic, payload in messages:
            with self._lock:
                full = len(self._inflight) >= window
            if full and pending:  # written before waiting, outside the lock the reader needs
                self._write(wire, pending)
            with self._lock:
                ok = self._lock.wait_for(
                    lambda: len(self._inflight) < window or self._generation != generation,
                    max(0.0, deadline - time.monotonic()),
                )
                if not ok or self._generation != generation:
                    raise LinkError(self._lost(len(mine)))
                packet_id = self._packet_id()
                self._inflight.add(packet_id)
                mine.add(packet_id)
            pending.append(publish_packet(topic, payload, packet_id))
            if len(pending) >= _WRITE:
                self._write(wire, pending)
        self._write(wire, pending)
        with self._lock:
            done = self._lock.wait_for(
                lambda: not (mine & self._inflight) or self._generation != generation,
                max(0.0, deadline - time.monotonic()),
            )
            if not done or self._generation != generation:
                raise LinkError(self._lost(len(mine & self._inflight)))

    def _lost(self, count: int) -> str:
        return f"the broker at {self.where} did not take {count} commands (lost or slow)"

    def _write(self, wire: CommandWire, pending: list[bytes]) -> None:
        if not pending:
            return
        data = b"".join(pending)
        pending.clear()
        try:
            wire.send_packets(data)
        except MqttProtocolError as exc:
            raise LinkError(f"the broker at {self.where}: {exc}") from exc

    def _packet_id(self) -> int:
        """A packet id not in flight (1-65535); the lock is held."""
        while True:
            self._next_id = self._next_id % 65_535 + 1
            if self._next_id not in self._inflight:
                return self._next_id

    def stop(self) -> None:
        """Hand over the answers received, then disconnect; the session stays."""
        self._stop.set()
        wire = self._wire
        if wire is not None:
            wire.close()
        for thread in self._threads:
            thread.join(10)

    def _read(self) -> None:
        pause = 1.0
        while not self._stop.is_set():
            wire = CommandWire(self._session, self._on_message, self._on_puback)
            try:
                wire.connect()
                # Answers the session kept may come before the SUBACK: they belong to
                # this connection, so the generation moves first.
                with self._lock:
                    self._generation += 1
                    self._inflight.clear()
                    self._wire = wire
                    self._lock.notify_all()
                wire.subscribe(self._filters)
                self.connected.set()
                session = "its session resumed" if wire.session_present else "a new session"
                log.info("command link connected to %s: %s", self.where, session)
                pause = 1.0
                wire.run(self._stop)
            except ConnectionRefused as exc:
                log.error("command link at %s: %s", self.where, exc)  # noqa: TRY400 - no traceback
            except (MqttProtocolError, OSError) as exc:
                if not self._stop.is_set():
                    log.warning("command link lost the broker at %s (%s)", self.where, exc)
            finally:
                self.connected.clear()
                with self._lock:
                    self._generation += 1  # whoever waits for a PUBACK gives up now
                    self._wire = None
                    self._lock.notify_all()
                wire.close(clean=False)
            if self._stop.wait(pause):
                return
            pause = min(pause * 2, 30.0)

    def _on_puback(self, packet_id: int, reason: int) -> None:
        with self._lock:
            if reason == NO_SUBSCRIBERS:
                self.unheard += 1
            self._inflight.discard(packet_id)
            # The publisher is woken once half the window is free (or all of it), not
            # for every PUBACK: it then writes half a window in one go, and the two
            # threads do not pass the GIL back and forth for each message.
            if len(self._inflight) <= self._low_water:
                self._lock.notify_all()

    def _on_message(self, topic: str, payload: bytes, packet_id: int) -> None:
        with self._lock:
            self._inbox.append((self._generation, topic, payload, packet_id))
            self._lock.notify_all()

    def _answers(self) -> None:
        """Hand answers over in batches; acknowledge them to the broker once handled."""
        while True:
            with self._lock:
                self._lock.wait_for(lambda: bool(self._inbox) or self._stop.is_set(), 0.5)
                if not self._inbox:
                    if self._stop.is_set():
                        return
                    continue
            time.sleep(_BATCH_WAIT_S)  # let a burst gather into one batch
            with self._lock:
                batch, self._inbox = self._inbox[:_BATCH], self._inbox[_BATCH:]
            try:
                assert self._handler is not None  # noqa: S101 - set by start()
                self._handler([(topic, payload) for _g, topic, payload, _id in batch])
            except Exception:
                # The store is away: keep them (unacknowledged, so the broker holds them
                # too) and try again after a pause.
                log.exception("handling %d answers failed; trying again", len(batch))
                with self._lock:
                    self._inbox[:0] = batch
                if self._stop.wait(1.0):
                    return
                continue
            self.answers += len(batch)
            self._acknowledge(batch)

    def _acknowledge(self, batch: list[tuple[int, str, bytes, int]]) -> None:
        with self._lock:
            wire, generation = self._wire, self._generation
        ids = [packet_id for got, _t, _p, packet_id in batch if got == generation and packet_id]
        if wire is None or not ids:
            return  # on a new connection the broker sends them again
        with contextlib.suppress(MqttProtocolError):  # likewise
            wire.ack(ids)
