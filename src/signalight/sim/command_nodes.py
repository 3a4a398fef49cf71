"""Simulated nodes that obey commands (or fail to), with ground truth of what each ran.

:class:`NodeFleet` is pure: a ``down`` message in, the node's answer out,
as ``docs/protocol.md`` (Commands) asks of a device: each id run at most
once and a repeated id answered again without running it, an expired
command rejected. :class:`MqttNodes` puts a fleet on a broker, one client
for all its nodes (as the simulator's publisher speaks for the fleet).
Tests and the benchmark read the ground truth: ``ran`` (what each node ran,
in order) and ``answers`` (what it said).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

import orjson
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from signalight.domain.commands import AckStatus, encode_ack
from signalight.domain.topics import TOPIC_ROOT, Channel

__all__ = ["Behaviour", "MqttNodes", "NodeFleet", "NodeState"]

_PARTS: Final = 4


class Behaviour(StrEnum):
    """How a simulated node treats commands."""

    OBEY = "obey"  # runs it, answers ok
    FAIL = "fail"  # tries, answers error (a stuck relay)
    SILENT = "silent"  # runs it and never answers (a broken uplink)
    OFFLINE = "offline"  # gets nothing: its messages wait in the broker


@dataclass(slots=True)
class NodeState:
    """One node: its lamp, and every command id it has seen with its answer."""

    on: bool = True
    level: float = 100.0
    profile: dict[str, Any] | None = None
    clock_set_to: int | None = None
    answered: dict[str, tuple[AckStatus, str]] = field(default_factory=dict)


class NodeFleet:
    """The command-handling part of a fleet of nodes, without I/O.

    Args:
        behaviours: Per device; others obey.
        now: The nodes' clock (epoch seconds), to reject expired commands.
    """

    def __init__(
        self,
        behaviours: Mapping[str, Behaviour] | None = None,
        now: Callable[[], float] | None = None,
    ) -> None:
        import time

        self.behaviours: dict[str, Behaviour] = dict(behaviours or {})
        self._now = now or time.time
        self.nodes: dict[str, NodeState] = {}
        self.ran: dict[str, list[str]] = {}  # device -> command ids run, in order
        self.received: Counter[str] = Counter()  # command id -> copies received
        self._lock = threading.Lock()

    def receive(self, topic: str, payload: bytes) -> tuple[str, bytes] | None:
        """Handle one ``down`` message; the answer's topic and payload, or None for silence."""
        parts = topic.split("/")
        if len(parts) != _PARTS or parts[0] != TOPIC_ROOT or parts[3] != Channel.DOWN:
            return None
        device = parts[2]
        body = orjson.loads(payload)
        command_id = body["id"]
        with self._lock:
            behaviour = self.behaviours.get(device, Behaviour.OBEY)
            node = self.nodes.setdefault(device, NodeState())
            self.received[command_id] += 1
            if command_id in node.answered:  # a repeated id: answered again, never run again
                status, reason = node.answered[command_id]
            else:
                status, reason = self._run(device, node, behaviour, body)
                node.answered[command_id] = (status, reason)
        if behaviour is Behaviour.SILENT:
            return None
        ack_topic = f"{TOPIC_ROOT}/{parts[1]}/{device}/{Channel.ACK}"
        return ack_topic, encode_ack(command_id, status, reason)

    def _run(
        self, device: str, node: NodeState, behaviour: Behaviour, body: dict[str, Any]
    ) -> tuple[AckStatus, str]:
        if self._now() >= body["exp"]:
            return AckStatus.REJECTED, "expired"
        self.ran.setdefault(device, []).append(body["id"])
        if behaviour is Behaviour.FAIL:
            return AckStatus.ERROR, "relay stuck"
        args = body["args"]
        match body["kind"]:
            case "switch":
                node.on = args["on"]
            case "dim":
                node.level = args["level"]
            case "override":
                node.on = args.get("on", node.on)
                node.level = args.get("level", node.level)
            case "profile":
                node.profile = args["profile"]
            case "clock":
                node.clock_set_to = body["t"]
            case "read":
                pass
            case _:
                self.ran[device].pop()
                return AckStatus.REJECTED, f"unknown kind {body['kind']}"
        return AckStatus.OK, ""

    def runs(self) -> Counter[str]:
        """How many times each command id was run (ground truth: never above 1)."""
        return Counter(command_id for ids in self.ran.values() for command_id in ids)


class MqttNodes:
    """A fleet's nodes on a broker: one MQTT 5 client reads a city's ``down``, answers on ``ack``.

    Persistent session (QoS 1), so commands wait in the broker while the
    client is away, as a sleeping device's do. Nodes marked OFFLINE get
    their messages but do nothing, as if they had not come yet; call
    :meth:`deliver_held` once they are back.
    """

    def __init__(
        self,
        port: int,
        city_slug: str,
        fleet: NodeFleet,
        *,
        host: str = "127.0.0.1",
        client_id: str = "signalight-sim-nodes",
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.fleet = fleet
        self.city_slug = city_slug
        self._host, self._port = host, port
        self.held: list[tuple[str, bytes]] = []  # messages to OFFLINE nodes, in order
        self.connected = threading.Event()
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
        )
        if username is not None:
            self._client.username_pw_set(username, password)
        self._client.max_inflight_messages_set(1000)
        self._client.max_queued_messages_set(0)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.on_disconnect = lambda *_a: self.connected.clear()

    def start(self) -> None:
        """Connect (and subscribe on every connection) and answer until stopped."""
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = 86_400
        self._client.connect_async(
            self._host, self._port, keepalive=30, clean_start=False, properties=properties
        )
        self._client.loop_start()

    def stop(self) -> None:
        """Disconnect; the session keeps what comes meanwhile."""
        self._client.disconnect()
        self._client.loop_stop()

    def deliver_held(self) -> int:
        """Hand the OFFLINE nodes' held messages to them (now back online); how many."""
        held, self.held = self.held, []
        for topic, payload in held:
            self._answer(topic, payload)
        return len(held)

    def _on_connect(self, *_args: Any) -> None:  # noqa: ANN401 - paho's callback
        self._client.subscribe(f"{TOPIC_ROOT}/{self.city_slug}/+/{Channel.DOWN}", qos=1)
        self.connected.set()

    def _on_message(self, _c: Any, _u: Any, message: paho.MQTTMessage) -> None:  # noqa: ANN401
        topic, payload = message.topic, bytes(message.payload)
        device = topic.split("/")[2]
        if self.fleet.behaviours.get(device) is Behaviour.OFFLINE:
            self.held.append((topic, payload))
            return
        self._answer(topic, payload)

    def _answer(self, topic: str, payload: bytes) -> None:
        answer = self.fleet.receive(topic, payload)
        if answer is not None:
            self._client.publish(answer[0], answer[1], qos=1)

    def publish(self, topic: str, payload: bytes) -> None:
        """Publish as a node would (tests use it for forged, repeated and late answers)."""
        self._client.publish(topic, payload, qos=1).wait_for_publish(5)
