"""Simulated nodes on a broker: one MQTT 5 session answers for a whole fleet of them.

The nodes' behaviour and ground truth are ``sim.command_nodes.NodeFleet``;
this is their I/O, for the tests and the commands benchmark.
"""

from __future__ import annotations

import threading

from signalight.adapters.mqtt_command_wire import CommandWire, publish_packet
from signalight.consumers.mqtt_wire import MqttProtocolError, SessionSettings
from signalight.domain.topics import TOPIC_ROOT, Channel
from signalight.sim.command_nodes import Behaviour, NodeFleet

__all__ = ["MqttNodes"]


class MqttNodes:
    """A fleet's nodes on a broker: one MQTT 5 session reads a city's ``down``, answers on ``ack``.

    Persistent session (QoS 1 both ways), so commands wait in the broker
    while the nodes are away, as a sleeping device's do. Nodes marked
    OFFLINE get their messages but do nothing, as if they had not come yet;
    :meth:`deliver_held` hands them over once they are back. The connection
    is the command link's lean client: a paho-mqtt node fleet answered only
    1-2 thousand commands a second, slower than what it simulates.
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
        self.held: list[tuple[str, bytes]] = []  # messages to OFFLINE nodes, in order
        self.connected = threading.Event()
        self._settings = SessionSettings(
            host=host,
            port=port,
            client_id=client_id,
            username=username,
            password=password,
            session_expiry=86_400,
            receive_maximum=10_000,
        )
        self._lock = threading.Condition()
        self._outbox: list[tuple[str, bytes]] = []  # answers to publish
        self._received: list[int] = []  # packet ids of commands taken, to acknowledge
        self._inflight: set[int] = set()
        self._next_id = 0
        self._wire: CommandWire | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Connect (and subscribe on every connection) and answer until stopped."""
        self._stop.clear()
        self._threads = [
            threading.Thread(target=self._read, name="sim-nodes-read", daemon=True),
            threading.Thread(target=self._write, name="sim-nodes-write", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Disconnect; the session keeps what comes meanwhile."""
        self._stop.set()
        with self._lock:
            self._lock.notify_all()
        wire = self._wire
        if wire is not None:
            wire.close()
        for thread in self._threads:
            thread.join(10)
        self.connected.clear()

    def deliver_held(self) -> int:
        """Hand the OFFLINE nodes' held messages to them (now back online); how many."""
        held, self.held = self.held, []
        for topic, payload in held:
            self._answer(topic, payload)
        return len(held)

    def publish(self, topic: str, payload: bytes) -> None:
        """Publish as a node would (tests use it for forged, repeated and late answers)."""
        with self._lock:
            self._outbox.append((topic, payload))
            self._lock.notify_all()
            self._lock.wait_for(lambda: not self._outbox and not self._inflight, 5)

    def _read(self) -> None:
        while not self._stop.is_set():
            wire = CommandWire(self._settings, self._on_message, self._on_puback)
            try:
                wire.connect()
                with self._lock:
                    self._wire = wire
                    self._inflight.clear()
                    self._received.clear()  # a new connection: the broker sends them again
                wire.subscribe([f"{TOPIC_ROOT}/{self.city_slug}/+/{Channel.DOWN}"])
                self.connected.set()
                wire.run(self._stop)
            except (MqttProtocolError, OSError):
                pass
            finally:
                self.connected.clear()
                with self._lock:
                    self._wire = None
                    self._lock.notify_all()
                wire.close(clean=False)
            self._stop.wait(0.2)

    def _on_message(self, topic: str, payload: bytes, packet_id: int) -> None:
        device = topic.split("/")[2]
        if self.fleet.behaviours.get(device) is Behaviour.OFFLINE:
            self.held.append((topic, payload))
        else:
            self._answer(topic, payload)
        with self._lock:
            if packet_id:
                self._received.append(packet_id)
            self._lock.notify_all()

    def _answer(self, topic: str, payload: bytes) -> None:
        answer = self.fleet.receive(topic, payload)
        if answer is not None:
            with self._lock:
                self._outbox.append(answer)
                self._lock.notify_all()

    def _on_puback(self, packet_id: int, _reason: int) -> None:
        with self._lock:
            self._inflight.discard(packet_id)
            self._lock.notify_all()

    def _write(self) -> None:
        """Publish the answers (QoS 1, within the broker's window) and acknowledge the commands."""
        while not self._stop.is_set():
            with self._lock:
                self._lock.wait_for(
                    lambda: (
                        self._stop.is_set()
                        or (self._wire is not None and (self._received or self._outbox))
                    ),
                    0.5,
                )
                wire = self._wire
                if wire is None:
                    continue
                room = max(0, min(1000, wire.receive_maximum) - len(self._inflight))
                sending, self._outbox = self._outbox[:room], self._outbox[room:]
                acks, self._received = self._received, []
                packets = []
                for topic, payload in sending:
                    self._next_id = self._next_id % 65_535 + 1
                    self._inflight.add(self._next_id)
                    packets.append(publish_packet(topic, payload, self._next_id))
                if not sending and not acks and self._outbox:
                    self._lock.wait(0.05)  # the window is full: wait for PUBACKs
            try:
                if packets:
                    wire.send_packets(b"".join(packets))
                if acks:
                    wire.ack(acks)
            except MqttProtocolError:
                with self._lock:  # sent again on the next connection
                    self._outbox[:0] = sending
