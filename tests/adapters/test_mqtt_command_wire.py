"""The command link's PUBLISH packets and the broker's Receive Maximum read, byte for byte."""

from __future__ import annotations

import struct

from signalight.adapters.mqtt_command_wire import publish_packet, receive_maximum


def test_a_qos1_publish_as_mqtt_5_lays_it_out() -> None:
    packet = publish_packet("signalight/ipoh/N-1/down", b'{"id":"x"}', 0x1234)
    topic = b"signalight/ipoh/N-1/down"
    body = struct.pack("!H", len(topic)) + topic + b"\x12\x34" + b"\x00" + b'{"id":"x"}'
    assert packet == bytes([0x32, len(body)]) + body
    long = publish_packet("t", b"x" * 200, 1)
    assert long[1:3] == bytes([(3 + 2 + 1 + 200) & 0x7F | 0x80, 1])  # a two-byte length


def test_the_receive_maximum_among_a_connacks_properties() -> None:
    # flags, reason, then properties: session expiry (4), an assigned client id
    # (a string), topic alias maximum (2), receive maximum (2).
    properties = (
        b"\x11" + struct.pack("!I", 60)
        + b"\x12" + struct.pack("!H", 3) + b"abc"
        + b"\x22" + struct.pack("!H", 10)
        + b"\x21" + struct.pack("!H", 100)
    )  # fmt: skip
    assert receive_maximum(b"\x00\x00" + bytes([len(properties)]) + properties) == 100
    assert receive_maximum(b"\x00\x00\x00") == 65_535  # none given: MQTT 5's default
    assert receive_maximum(b"\x00\x00\x03\x24\x01\x25") == 65_535
