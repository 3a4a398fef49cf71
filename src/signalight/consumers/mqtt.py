"""The MQTT side of ingest: a persistent MQTT 5 session, QoS 1, acknowledged once stored.

paho-mqtt runs the network loop on its own thread and hands each message to
:meth:`MqttIngest._on_message`, which checks it there and queues it on the
:class:`~signalight.services.ingest.Batcher`; the batcher's thread stores a
batch and then :meth:`MqttIngest._ack` sends the PUBACKs, in arrival order as
MQTT requires. Until then the broker counts the messages as in flight and
redelivers them on the next connection if this process dies.

The session survives restarts (clean start off, a long session expiry), so
the broker queues what arrives while ingest is down. A PUBACK belongs to one
connection: a batch received before a reconnect is stored but not
acknowledged on the new connection (the broker redelivers those messages and
the store skips them as already held).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from signalight.domain.topics import INGEST_USER, TOPIC_ROOT, Channel
from signalight.services.ingest import Batcher, IngestService, Message

if TYPE_CHECKING:
    from paho.mqtt.reasoncodes import ReasonCode

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
    """Subscribes to every device topic and feeds the messages through ingest."""

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
        self._receive_maximum = min(RECEIVE_MAXIMUM_CAP, 2 * max_messages)
        self._generation = 0  # bumped on every connection; PUBACKs belong to one
        self._lock = threading.Lock()
        self.connected = threading.Event()
        self.received = 0
        self._client = self._make_client()

    def _make_client(self) -> paho.Client:
        settings = self._settings
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=settings.client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=True,
        )
        if settings.password is not None:
            client.username_pw_set(settings.username, settings.password)
        client.max_inflight_messages_set(100)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def start(self) -> None:
        """Connect (retrying until the broker answers) and start receiving."""
        self._batcher.start()
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = SESSION_EXPIRY_S
        properties.ReceiveMaximum = self._receive_maximum
        self._client.connect_async(
            self._settings.host,
            self._settings.port,
            keepalive=self._settings.keepalive,
            clean_start=False,
            properties=properties,
        )
        self._client.loop_start()

    def stop(self) -> None:
        """Store what has arrived, acknowledge it, and disconnect; the session stays."""
        self._batcher.stop()
        self._client.disconnect()
        self._client.loop_stop()

    def pending(self) -> int:
        """Messages received and not yet stored."""
        return self._batcher.pending()

    def _on_connect(
        self,
        client: paho.Client,
        _userdata: Any,  # noqa: ANN401 - paho's signature
        _flags: Any,  # noqa: ANN401
        reason: ReasonCode,
        _properties: Any,  # noqa: ANN401
    ) -> None:
        if reason.is_failure:
            log.error("the MQTT broker refused ingest: %s", reason)
            return
        with self._lock:
            self._generation += 1
        # The session keeps the subscriptions; subscribing again is harmless
        # and covers a broker that lost its store. A session that once had
        # the other form (shared or not) would get every message twice: drop it.
        shared = bool(self._settings.share_group)
        client.unsubscribe(subscriptions(self._settings, shared=not shared))
        client.subscribe([(topic, 1) for topic in subscriptions(self._settings)])
        self.connected.set()
        log.info("ingest connected to mqtt://%s:%d", self._settings.host, self._settings.port)

    def _on_disconnect(self, *_args: Any) -> None:  # noqa: ANN401 - paho's signature
        self.connected.clear()
        log.warning("ingest lost the MQTT broker; reconnecting")

    def _on_message(
        self,
        _client: paho.Client,
        _userdata: Any,  # noqa: ANN401 - paho's signature
        message: paho.MQTTMessage,
    ) -> None:
        self.received += 1
        outcome = self._service.check(Message(message.topic, bytes(message.payload), time.time()))
        self._batcher.put(outcome, (self._generation, message.mid if message.qos else 0))

    def _ack(self, tokens: list[tuple[int, int]]) -> None:
        generation = self._generation
        ack = self._client.ack
        for token_generation, mid in tokens:
            if mid and token_generation == generation:
                ack(mid, 1)
