"""The MQTT side of ingest: a persistent MQTT 5 session, QoS 1, acknowledged once stored.

A reader thread holds the connection (``mqtt_wire.Subscriber``, a lean MQTT
5 client: see there why not paho) and hands each message to
:meth:`MqttIngest._on_message`, which checks it there and queues it on the
:class:`~signalight.services.batcher.Batcher`; the batcher's thread stores a
batch and then :meth:`MqttIngest._ack` sends its PUBACKs in one write, in
arrival order as MQTT requires. Until then the broker counts the messages as in flight and
redelivers them on the next connection if this process dies.

The session survives restarts (clean start off, a long session expiry), so
the broker queues what arrives while ingest is down. A PUBACK belongs to one
connection: a batch received before a reconnect is stored but not
acknowledged on the new connection (the broker redelivers those messages and
the store skips them as already held).
"""

from __future__ import annotations

import contextlib
import logging
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Final

from signalight.consumers.mqtt_wire import (
    ConnectionRefused,
    MqttProtocolError,
    SessionSettings,
    Subscriber,
)
from signalight.domain.topics import INGEST_USER, TOPIC_ROOT, Channel
from signalight.services.batcher import Batcher
from signalight.services.ingest import IngestService, Message

__all__ = ["SHARE_GROUP", "MqttIngest", "MqttSettings", "subscriptions"]

log = logging.getLogger(__name__)

SESSION_EXPIRY_S: Final = (
    14 * 86_400
)  # as persistent_client_expiration in the shipped broker config
RECEIVE_MAXIMUM_CAP: Final = 65_535  # MQTT 5's largest Receive Maximum
SHARE_GROUP: Final = "signalight-ingest"  # the default group of several workers


@dataclass(frozen=True, slots=True, kw_only=True)
class MqttSettings:
    """Where the broker is and how ingest signs in."""

    host: str = "127.0.0.1"
    port: int = 1883
    username: str = INGEST_USER
    password: str | None = None
    client_id: str = INGEST_USER
    # Ingest workers with the same group share the subscriptions (MQTT 5
    # shared subscriptions): each message goes to one of them.
    share_group: str | None = None
    lorawan: bool = False  # also read ChirpStack and The Things Stack uplinks
    keepalive: int = 30
    # TLS with this context, which verifies the broker's certificate; None: plain MQTT.
    tls: ssl.SSLContext | None = None

    @property
    def url(self) -> str:
        """The broker, as ``mqtt://host:port`` or ``mqtts://host:port`` (TLS)."""
        return f"{'mqtts' if self.tls is not None else 'mqtt'}://{self.host}:{self.port}"


def subscriptions(settings: MqttSettings, *, shared: bool | None = None) -> list[str]:
    """The topic filters ingest subscribes to (``shared`` overrides the settings' choice)."""
    filters = [f"{TOPIC_ROOT}/+/+/{Channel.UP}", f"{TOPIC_ROOT}/+/+/{Channel.STATUS}"]
    if settings.lorawan:
        filters += ["application/+/device/+/event/up", "v3/+/devices/+/up"]
    if settings.share_group if shared is None else shared:
        group = settings.share_group or SHARE_GROUP
        filters = [f"$share/{group}/{topic}" for topic in filters]
    return filters


class MqttIngest:
    """Subscribes to every device topic and feeds the messages through ingest.

    A reader thread holds the connection (reconnecting with a growing pause,
    1 to 30 s, whenever it drops) and checks each message as it arrives; the
    batcher's thread stores batches and then acknowledges them.
    """

    def __init__(
        self,
        service: IngestService,
        settings: MqttSettings,
        *,
        max_messages: int = 2000,
        max_wait: float = 0.05,
    ) -> None:
        self._service = service
        self._settings = settings
        self._batcher: Batcher[tuple[int, int]] = Batcher(
            service, self._ack, transport="mqtt", max_messages=max_messages, max_wait=max_wait
        )
        # Twice a batch in flight: one being stored while the next one fills.
        self._session = SessionSettings(
            host=settings.host,
            port=settings.port,
            client_id=settings.client_id,
            username=settings.username if settings.password is not None else None,
            password=settings.password,
            keepalive=settings.keepalive,
            session_expiry=SESSION_EXPIRY_S,
            receive_maximum=min(RECEIVE_MAXIMUM_CAP, 2 * max_messages),
            tls=settings.tls,
        )
        self._generation = 0  # bumped on every connection; PUBACKs belong to one
        self._subscriber: Subscriber | None = None
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._read, name="ingest-mqtt", daemon=True)
        self.connected = threading.Event()
        self.received = 0

    def start(self) -> None:
        """Start storing and connecting (retrying until the broker answers)."""
        self._batcher.start()
        self._reader.start()

    def stop(self) -> None:
        """Store what has arrived, acknowledge it, and disconnect; the session stays."""
        self._stop.set()
        self._batcher.stop()
        subscriber = self._subscriber
        if subscriber is not None:
            subscriber.close()  # wakes the reader out of its receive
        self._reader.join(10)

    def pending(self) -> int:
        """Messages received and not yet stored."""
        return self._batcher.pending()

    def _read(self) -> None:
        pause = 1.0
        where = self._settings.url
        while not self._stop.is_set():
            subscriber = Subscriber(self._session, self._on_message)
            try:
                subscriber.connect()
                self._generation += 1
                self._subscriber = subscriber
                # The session keeps the subscriptions; subscribing again is
                # harmless and covers a broker that lost its store. A session
                # that once had the other form (shared or not) would get every
                # message twice: drop it.
                shared = bool(self._settings.share_group)
                subscriber.unsubscribe(subscriptions(self._settings, shared=not shared))
                subscriber.subscribe(subscriptions(self._settings))
                self.connected.set()
                session = "its session resumed" if subscriber.session_present else "a new session"
                log.info("ingest connected to %s: %s", where, session)
                pause = 1.0
                subscriber.run(self._stop)
            except ConnectionRefused as exc:
                log.error("ingest at %s: %s", where, exc)  # noqa: TRY400 - no traceback to show
            except ssl.SSLCertVerificationError as exc:
                # Not a lost connection: it will fail the same way until the CA
                # setting or the broker's certificate changes. Retried all the same.
                log.error(  # noqa: TRY400 - no traceback to show
                    "ingest at %s: the broker's certificate is not trusted (%s);"
                    " check SIGNALIGHT_MQTT_TLS_CA and the host name",
                    where,
                    exc.verify_message or exc,
                )
            except (MqttProtocolError, OSError) as exc:
                if not self._stop.is_set():
                    log.warning("ingest lost the MQTT broker at %s (%s); reconnecting", where, exc)
            finally:
                self.connected.clear()
                subscriber.close(clean=False)
            if self._stop.wait(pause):
                return
            pause = min(pause * 2, 30.0)

    def _on_message(self, topic: str, payload: bytes, packet_id: int) -> None:
        self.received += 1
        outcome = self._service.check(Message(topic, payload, time.time()))
        self._batcher.put(outcome, (self._generation, packet_id))

    def _ack(self, tokens: list[tuple[int, int]]) -> None:
        generation, subscriber = self._generation, self._subscriber
        if subscriber is None:
            return
        ids = [
            packet_id
            for token_generation, packet_id in tokens
            if packet_id and token_generation == generation
        ]
        # If the connection is gone, the broker sends them again on the next one.
        with contextlib.suppress(MqttProtocolError):
            subscriber.ack(ids)
