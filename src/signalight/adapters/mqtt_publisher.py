"""An MQTT 5 publisher for the simulator: QoS 1, a bounded number of messages in flight.

The simulator publishes for the whole fleet over one connection, so it needs
an account that may write every device's ``up`` and ``status`` topics (the
broker's ACL gives devices only their own, and the ingest account none).
Messages to a ``status`` topic are retained, as a device's own are.

A PUBACK of 0x10 ("no matching subscribers") means the broker dropped the
message: nobody was subscribed at that instant. Mosquitto 2.0 answers so
right after a restart, before shared-subscription workers have subscribed
again (it does not keep shared subscriptions, see ``docs/operations.md``).
Such a message is sent again, after a short pause, for up to
``RESEND_WINDOW_S``; past that it is counted as unheard and logged.
"""

from __future__ import annotations

import heapq
import logging
import os
import ssl
import threading
import time
from types import TracebackType
from typing import Any, Final, Self

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from signalight.domain.errors import SignalightError
from signalight.domain.topics import Channel

logger = logging.getLogger(__name__)

DEFAULT_INFLIGHT: Final = 100  # within the broker's max_inflight_messages (1,000 shipped)
DEFAULT_TIMEOUT: Final = 30.0
SESSION_EXPIRY_S: Final = 3_600  # unacknowledged messages survive a reconnect within this
_STATUS_SUFFIX: Final = f"/{Channel.STATUS}"
NO_SUBSCRIBERS: Final = 0x10  # PUBACK reason: accepted, and dropped for want of a subscriber
RESEND_WINDOW_S: Final = 30.0  # how long a 0x10 message is sent again before it is given up
RESEND_PAUSE_S: Final = 0.25


class PublishError(SignalightError):
    """The broker could not be reached, refused us, or stopped acknowledging."""


class MqttPublisher:
    """Publishes ``(topic, payload)`` with QoS 1 and waits once too many are unacknowledged.

    Use it as a sink: ``publisher(topic, payload)``. Connect first (or use it
    as a context manager, which connects, and on leaving waits for every
    acknowledgement and disconnects).

    Args:
        host: The broker's host name or address.
        port: Its MQTT port.
        username: An account allowed to publish the fleet's topics.
        password: Its password.
        max_inflight: Messages that may wait for their PUBACK at once.
        timeout: Seconds to wait for the CONNACK or for room in flight.
        tls: Connect over TLS with this context (``adapters.tls.client_context``:
            it verifies the broker's certificate and may hold a client
            certificate); None: plain MQTT.
    """

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        password: str,
        *,
        max_inflight: int = DEFAULT_INFLIGHT,
        timeout: float = DEFAULT_TIMEOUT,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        if max_inflight < 1:
            raise ValueError("max_inflight must be at least 1")
        self.host = host
        self.port = port
        self.timeout = timeout
        self.published = 0
        self.acknowledged = 0
        self._room = threading.BoundedSemaphore(max_inflight)
        self._connected = threading.Event()
        self._answered = threading.Event()  # a CONNACK, or the connection lost before one
        self._connack: ReasonCode | None = None
        self._first_error: str | None = None  # paho's first error log line
        self._refused: str | None = None
        self._lock = threading.Lock()
        # Messages waiting for their PUBACK, by paho's message id: topic, payload and
        # when first sent. A PUBACK may come before publish() returns the id: it
        # waits in _early. (The lock is never held across a paho call: paho runs
        # on_publish holding its own lock, which publish() takes too.)
        self._sent: dict[int, tuple[str, bytes, float]] = {}
        self._early: dict[int, ReasonCode] = {}
        self._again: list[tuple[float, str, bytes, float]] = []  # due, topic, payload, first
        self._wake = threading.Condition(self._lock)
        self._closing = False
        self._resender = threading.Thread(target=self._resend, name="mqtt-resend", daemon=True)
        self.resent = 0  # messages sent again after a 0x10
        self.unheard = 0  # messages still answered 0x10 when the window closed
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"signalight-sim-{os.getpid()}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        self._client.username_pw_set(username, password)
        self._client.max_inflight_messages_set(max_inflight)
        self._client.reconnect_delay_set(1, 30)
        if tls is not None:
            self._client.tls_set_context(tls)
        self._client.on_connect = self._on_connect
        self._client.on_log = self._on_log
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish

    def connect(self) -> None:
        """Connect and wait for the broker to accept us.

        Raises:
            PublishError: The broker cannot be reached or refused the account.
        """
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = SESSION_EXPIRY_S
        try:
            self._client.connect(
                self.host, self.port, keepalive=30, clean_start=False, properties=properties
            )
        except ssl.SSLCertVerificationError as exc:
            raise PublishError(
                f"the MQTT broker at {self.where} has a certificate we do not trust"
                f" ({exc.verify_message}): check --tls-ca and the host name"
            ) from exc
        except ssl.SSLError as exc:
            raise PublishError(f"TLS with the MQTT broker at {self.where} failed: {exc}") from exc
        except OSError as exc:
            raise PublishError(f"cannot reach the MQTT broker at {self.where}: {exc}") from exc
        self._client.loop_start()
        if not self._resender.is_alive():
            self._resender.start()
        if not self._answered.wait(self.timeout):
            self._client.loop_stop()
            raise PublishError(f"no answer from the MQTT broker at {self.where}")
        if not self._connected.is_set():
            # Over TLS a broker that requires a client certificate says so only
            # after the handshake, by closing the connection.
            self._client.loop_stop()
            raise PublishError(
                f"the MQTT broker at {self.where} closed the connection before accepting us"
                f" ({self._first_error or 'no reason given'})"
            )
        code = self._connack
        if code is not None and code.is_failure:
            self._client.loop_stop()
            raise PublishError(f"the MQTT broker at {self.where} refused us: {code}")

    @property
    def where(self) -> str:
        """``host:port`` of the broker."""
        return f"{self.host}:{self.port}"

    @property
    def in_flight(self) -> int:
        """Messages published and not yet acknowledged."""
        with self._lock:
            return self.published - self.acknowledged

    def __call__(self, topic: str, payload: bytes) -> None:
        """Publish one message with QoS 1 (status topics retained).

        Raises:
            PublishError: The broker refused an earlier message, or gave no
                room in flight within the timeout.
        """
        if self._refused is not None:
            raise PublishError(self._refused)
        if not self._room.acquire(timeout=self.timeout):
            raise PublishError(
                f"the MQTT broker at {self.where} acknowledged nothing for {self.timeout:g} s"
            )
        with self._lock:
            self.published += 1
        self._send(topic, payload, time.monotonic())

    def _send(self, topic: str, payload: bytes, first: float) -> None:
        info = self._client.publish(topic, payload, qos=1, retain=topic.endswith(_STATUS_SUFFIX))
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            # Not sent and never to be acknowledged; while disconnected paho
            # keeps the message and sends it on reconnecting.
            self._release()
            raise PublishError(f"cannot publish to {topic}: {paho.error_string(info.rc)}")
        with self._lock:
            code = self._early.pop(info.mid, None)
            if code is None:
                self._sent[info.mid] = (topic, payload, first)
        if code is not None:
            self._answer(topic, payload, first, code)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every message is acknowledged; False if some still are not."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.in_flight == 0

    def close(self) -> None:
        """Wait for the acknowledgements (up to the timeout) and disconnect."""
        if not self.flush():
            logger.warning("%d messages were not acknowledged by the broker", self.in_flight)
        with self._lock:
            self._closing = True
            self._wake.notify_all()
        if self.unheard:
            logger.warning(
                "%d messages found no subscriber for %.0f s and were given up",
                self.unheard,
                RESEND_WINDOW_S,
            )
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> Self:
        self.connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _release(self) -> None:
        with self._lock:
            self.acknowledged += 1
        self._room.release()

    def _on_connect(self, *args: Any) -> None:  # noqa: ANN401 - paho's callback signature
        self._connack = args[3]
        if self._connected.is_set():
            logger.info("reconnected to the MQTT broker at %s", self.where)
        self._connected.set()
        self._answered.set()

    def _on_disconnect(self, *args: Any) -> None:  # noqa: ANN401 - paho's callback signature
        if not self._answered.is_set():
            self._answered.set()  # connect() reports it
            return
        logger.warning("disconnected from the MQTT broker at %s: %s", self.where, args[3])

    def _on_log(self, _client: paho.Client, _userdata: object, level: int, text: str) -> None:
        # paho tells why a connection failed (a TLS alert, say) only in its log.
        # The first error is the cause; those after it tell of the loop's retries.
        if level == paho.MQTT_LOG_ERR and self._first_error is None:
            self._first_error = text

    def _on_publish(
        self,
        _client: paho.Client,
        _userdata: object,
        mid: int,
        code: ReasonCode,
        _properties: Properties,
    ) -> None:
        with self._lock:
            sent = self._sent.pop(mid, None)
            if sent is None:  # publish() has not stored its id yet
                self._early[mid] = code
                return
        self._answer(*sent, code)

    def _answer(self, topic: str, payload: bytes, first: float, code: ReasonCode) -> None:
        """A message's PUBACK: done, refused, or to be sent again (0x10)."""
        if code.value == NO_SUBSCRIBERS:
            now = time.monotonic()
            with self._lock:
                if not self._closing and now - first < RESEND_WINDOW_S:
                    heapq.heappush(self._again, (now + RESEND_PAUSE_S, topic, payload, first))
                    self._wake.notify()
                    return
                self.unheard += 1
        elif code.is_failure and self._refused is None:
            self._refused = f"the MQTT broker refused a message to {topic}: {code}"
        self._release()

    def _resend(self) -> None:
        """Send again, after a pause, the messages answered 0x10 (the resend thread)."""
        while True:
            with self._lock:
                while not self._closing and (
                    not self._again or self._again[0][0] > time.monotonic()
                ):
                    wait = self._again[0][0] - time.monotonic() if self._again else None
                    self._wake.wait(wait)
                if self._closing:
                    return
                _due, topic, payload, first = heapq.heappop(self._again)
                self.resent += 1
            try:
                self._send(topic, payload, first)
            except PublishError:
                logger.exception("sending a message again failed")
