"""The command link's MQTT 5 connection: ingest's lean subscriber, taught to publish at QoS 1.

Why not paho-mqtt: on this project's 2-core machines paho publishes QoS 1 at
1,000-2,000 messages/s (each PUBLISH built, queued and written one by one,
its PUBACK handled on a second thread under the GIL), and a command fanned
out to 100,000 devices must go out at 5,000/s or more. Here the PUBLISH
packets of a batch are built as bytes and written in few ``sendall`` calls,
and PUBACKs are read by the same reader that takes the devices' answers.

:class:`CommandWire` adds to ``consumers.mqtt_wire.Subscriber`` the PUBLISH
packet, the PUBACKs of what it publishes (handed to a callback), and the
broker's Receive Maximum from its CONNACK, which bounds how many QoS 1
messages may await their PUBACK at once (Mosquitto's
``max_inflight_messages``; exceeding it is a protocol error).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Final

from signalight.consumers.mqtt_wire import CONNACK, PUBACK, SessionSettings, Subscriber

__all__ = ["CommandWire", "publish_packet", "receive_maximum"]

_PUBLISH_QOS1: Final = 0x32
_DEFAULT_RECEIVE_MAXIMUM: Final = 65_535  # MQTT 5's value when the CONNACK gives none
# Property identifier -> length of its value (-1: a UTF-8 string or binary data with a
# 2-byte length; -2: a string pair; 0: a variable byte integer), MQTT 5.0 section 2.2.2.2.
_PROPERTY_SIZES: Final = {
    0x01: 1, 0x02: 4, 0x03: -1, 0x08: -1, 0x09: -1, 0x0B: 0, 0x11: 4, 0x12: -1, 0x13: 2,
    0x15: -1, 0x16: -1, 0x17: 1, 0x18: 4, 0x19: 1, 0x1A: -1, 0x1C: -1, 0x1F: -1, 0x21: 2,
    0x22: 2, 0x23: 2, 0x24: 1, 0x25: 1, 0x26: -2, 0x27: 4, 0x28: 1, 0x29: 1, 0x2A: 1,
}  # fmt: skip
_RECEIVE_MAXIMUM: Final = 0x21


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def publish_packet(topic: str, payload: bytes, packet_id: int) -> bytes:
    """A QoS 1 PUBLISH (not retained, no properties)."""
    raw = topic.encode()
    body = struct.pack("!H", len(raw)) + raw + struct.pack("!H", packet_id) + b"\x00" + payload
    return bytes([_PUBLISH_QOS1]) + _varint(len(body)) + body


def receive_maximum(connack: bytes) -> int:
    """The Receive Maximum a CONNACK's body gives (65,535 when it gives none)."""
    at, length, shift = 2, 0, 0
    while at < len(connack):  # the properties' length, a variable byte integer
        byte = connack[at]
        length |= (byte & 0x7F) << shift
        at += 1
        shift += 7
        if not byte & 0x80:
            break
    end = min(at + length, len(connack))
    while at < end:
        identifier = connack[at]
        at += 1
        size = _PROPERTY_SIZES.get(identifier)
        if size is None:
            break  # unknown to MQTT 5.0: nothing further can be read safely
        if identifier == _RECEIVE_MAXIMUM:
            return int(struct.unpack_from("!H", connack, at)[0])
        if size > 0:
            at += size
        elif size == 0:
            while connack[at] & 0x80:
                at += 1
            at += 1
        else:
            for _ in range(-size):
                at += 2 + struct.unpack_from("!H", connack, at)[0]
    return _DEFAULT_RECEIVE_MAXIMUM


class CommandWire(Subscriber):
    """One connection of the link's session: answers in, commands out.

    ``on_message(topic, payload, packet_id)`` gets every PUBLISH, as the
    subscriber's does; ``on_puback(packet_id, reason_code)`` every PUBACK of
    what :meth:`send_packets` wrote. Both run on the reader's thread.
    """

    def __init__(
        self,
        settings: SessionSettings,
        on_message: Callable[[str, bytes, int], None],
        on_puback: Callable[[int, int], None],
    ) -> None:
        super().__init__(settings, on_message)
        self._on_puback = on_puback
        self.receive_maximum = _DEFAULT_RECEIVE_MAXIMUM

    def send_packets(self, data: bytes) -> None:
        """Write ready-made packets (``publish_packet``); MqttProtocolError if the link is down."""
        self._send(data)

    # The two hooks below reach into the subscriber's reading: its CONNACK and the
    # PUBACKs, which ingest's subscriber (which never publishes) only sets aside.

    def _next_control_packet(self) -> tuple[int, int, bytes]:
        packet = super()._next_control_packet()
        if packet[0] == CONNACK:
            self.receive_maximum = receive_maximum(packet[2])
        return packet

    def _control(self, kind: int, body: bytes) -> None:
        if kind == PUBACK:
            packet_id = body[0] << 8 | body[1]
            self._on_puback(packet_id, body[2] if len(body) > 2 else 0)  # noqa: PLR2004
            return
        super()._control(kind, body)
