"""The command link over MQTT 5: commands out with QoS 1, answers in through a persistent session.

One connection does both, as the broker makes an account's username its
client id (two connections of one account would push each other off). The
session is persistent (clean start off, a 14-day expiry), so answers that
come while the service is down wait in the broker. An answer is
acknowledged to the broker (PUBACK, sent by hand) only after the handler has
stored what it did, so a crash loses none: the broker delivers it again,
and the handler counts the copy as a duplicate.

A PUBACK of 0x10 ("no matching subscribers") means no device session took
the command (a device that never connected): the broker dropped it. It is
counted as unheard; the command stays ``sent`` and is sent again after its
pause, until its expiry.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Sequence
from typing import Any, Final

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from signalight.ports.commands import AckHandler, LinkError

__all__ = ["COMMANDS_USER", "MqttCommandLink"]

log = logging.getLogger(__name__)

COMMANDS_USER: Final = "signalight-commands"  # the account that writes `down` and reads `ack`
SESSION_EXPIRY_S: Final = 14 * 86_400  # as persistent_client_expiration in the shipped broker
NO_SUBSCRIBERS: Final = 0x10
_BATCH: Final = 5000  # answers handed to the handler at once
_BATCH_WAIT_S: Final = 0.05


class MqttCommandLink:
    """Implements ``CommandLink`` with paho-mqtt.

    Args:
        host: The broker.
        port: Its MQTT port.
        username: The commands account (``signalight-commands``); None: anonymous.
        password: Its password.
        filters: The answer topics to subscribe to (``Router.filters``).
        tls: Connect over TLS with this context (it verifies the broker).
        timeout: Seconds ``publish`` waits for the broker's PUBACKs.
        max_inflight: Commands that may wait for their PUBACK at once.
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
        self._host, self._port = host, port
        self._filters = list(filters)
        self._timeout = timeout
        self._lock = threading.Condition()
        self._waiting: set[int] = set()  # mids published and not yet acknowledged
        self._early: set[int] = set()  # PUBACKs that came before publish() returned the mid
        self._inbox: list[tuple[int, str, bytes, int]] = []  # generation, topic, payload, mid
        self._generation = 0
        self._stop = threading.Event()
        self._handler: AckHandler | None = None
        self._worker: threading.Thread | None = None
        self.connected = threading.Event()
        self.unheard = 0  # commands no session took (PUBACK 0x10)
        self.answers = 0
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=True,
        )
        if username is not None:
            self._client.username_pw_set(username, password)
        if tls is not None:
            self._client.tls_set_context(tls)
        self._client.max_inflight_messages_set(max_inflight)
        self._client.max_queued_messages_set(0)
        self._client.reconnect_delay_set(1, 30)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        self._client.on_message = self._on_message

    def start(self, on_acks: AckHandler) -> None:
        """Connect (paho retries until the broker answers) and hand answers to ``on_acks``."""
        self._handler = on_acks
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = SESSION_EXPIRY_S
        self._client.connect_async(
            self._host, self._port, keepalive=30, clean_start=False, properties=properties
        )
        self._client.loop_start()
        self._worker = threading.Thread(target=self._answers, name="command-acks", daemon=True)
        self._worker.start()

    def wait_connected(self, timeout: float) -> bool:
        """Whether the link is connected (and subscribed) within ``timeout`` seconds."""
        return self.connected.wait(timeout)

    def publish(self, messages: Sequence[tuple[str, bytes]]) -> None:
        """Publish with QoS 1 and wait for every PUBACK; LinkError after the timeout."""
        if not messages:
            return
        mids = []
        for topic, payload in messages:
            info = self._client.publish(topic, payload, qos=1)
            if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
                raise LinkError(f"cannot publish to {topic}: {paho.error_string(info.rc)}")
            mids.append(info.mid)
        with self._lock:
            for mid in mids:
                if mid in self._early:
                    self._early.discard(mid)
                else:
                    self._waiting.add(mid)
            done = self._lock.wait_for(lambda: not self._waiting, self._timeout)
            left = len(self._waiting)
            self._waiting.clear()  # paho keeps them and sends them on the next connection
        if not done:
            raise LinkError(f"the broker at {self.where} did not take {left} commands in time")

    def stop(self) -> None:
        """Hand over the answers received, then disconnect; the session stays."""
        self._stop.set()
        if self._worker is not None:
            self._worker.join(10)
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(self, *args: Any) -> None:  # noqa: ANN401 - paho's callback
        code: ReasonCode = args[3]
        if code.is_failure:
            log.error("the broker at %s refused the command link: %s", self.where, code)
            return
        with self._lock:
            self._generation += 1
        # The session keeps the subscription; subscribing again covers a broker that lost it.
        self._client.subscribe([(topic, 1) for topic in self._filters])
        session = "its session resumed" if args[2].session_present else "a new session"
        log.info("command link connected to %s: %s", self.where, session)
        self.connected.set()

    def _on_disconnect(self, *args: Any) -> None:  # noqa: ANN401 - paho's callback
        self.connected.clear()
        if not self._stop.is_set():
            log.warning("command link lost the broker at %s: %s", self.where, args[3])

    def _on_publish(self, _c: Any, _u: Any, mid: int, code: ReasonCode, _p: Any) -> None:  # noqa: ANN401
        with self._lock:
            if code.value == NO_SUBSCRIBERS:
                self.unheard += 1
            if mid in self._waiting:
                self._waiting.discard(mid)
                if not self._waiting:
                    self._lock.notify_all()
            else:
                self._early.add(mid)

    def _on_message(self, _c: Any, _u: Any, message: paho.MQTTMessage) -> None:  # noqa: ANN401
        with self._lock:
            self._inbox.append(
                (self._generation, message.topic, bytes(message.payload), message.mid)
            )
            self._lock.notify_all()

    def _answers(self) -> None:
        """Hand answers over in batches; acknowledge them to the broker once handled."""
        while True:
            with self._lock:
                self._lock.wait_for(lambda: self._inbox or self._stop.is_set(), 0.5)
                if not self._inbox:
                    if self._stop.is_set():
                        return
                    continue
            time.sleep(_BATCH_WAIT_S)  # let a burst gather into one batch
            with self._lock:
                batch, self._inbox = self._inbox[:_BATCH], self._inbox[_BATCH:]
                generation = self._generation
            try:
                assert self._handler is not None  # noqa: S101 - set by start()
                self._handler([(topic, payload) for _g, topic, payload, _m in batch])
            except Exception:
                # Not acknowledged: the broker delivers them again on the next connection.
                log.exception("handling %d answers failed; they come again", len(batch))
                continue
            self.answers += len(batch)
            for got, _topic, _payload, mid in batch:
                if got == generation and mid:
                    self._client.ack(mid, 1)
