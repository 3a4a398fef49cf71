"""The lean MQTT 5 subscriber's packets, byte for byte, and its reading of a stream cut anywhere.

The broker side here is a socket pair that sends exactly the bytes MQTT 5.0
specifies; the end-to-end behaviour against a real Mosquitto is in
tests/integration/test_ingest_mqtt.py.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signalight.consumers.mqtt_wire import (
    ConnectionRefused,
    MqttProtocolError,
    SessionSettings,
    Subscriber,
    _read_varint,
    _varint,
    connect_packet,
    pubacks,
    subscribe_packet,
)


def publish(topic: str, payload: bytes, packet_id: int = 0, properties: bytes = b"") -> bytes:
    """A PUBLISH as a broker sends it (QoS 1 when ``packet_id``, else QoS 0)."""
    raw_topic = topic.encode()
    body = struct.pack("!H", len(raw_topic)) + raw_topic
    if packet_id:
        body += struct.pack("!H", packet_id)
    body += _varint(len(properties)) + properties + payload
    return bytes([0x32 if packet_id else 0x30]) + _varint(len(body)) + body


@given(st.integers(min_value=0, max_value=268_435_455))
def test_variable_byte_integers_round_trip(value: int) -> None:
    encoded = _varint(value)
    assert len(encoded) <= 4
    assert _read_varint(encoded, 0) == (value, len(encoded))
    assert _read_varint(encoded[:-1], 0) == (0, -1)  # cut short: wait for more


def test_spec_examples_of_variable_byte_integers() -> None:
    # MQTT 5.0, 1.5.5: the boundaries of one to four bytes.
    assert _varint(127) == b"\x7f"
    assert _varint(128) == b"\x80\x01"
    assert _varint(16_383) == b"\xff\x7f"
    assert _varint(2_097_152) == b"\x80\x80\x80\x01"
    with pytest.raises(MqttProtocolError):
        _read_varint(b"\xff\xff\xff\xff\x01", 0)


def test_connect_asks_for_a_persistent_session_with_its_limits() -> None:
    packet = connect_packet(
        SessionSettings(
            host="h",
            port=1,
            client_id="signalight-ingest",
            username="signalight-ingest",
            password="pw",
            keepalive=30,
            session_expiry=1_209_600,
            receive_maximum=4000,
        )
    )
    assert packet[0] == 0x10
    length, start = _read_varint(packet, 1)
    body = packet[start:]
    assert len(body) == length
    assert body[:7] == b"\x00\x04MQTT\x05"
    assert body[7] == 0xC0  # user name and password, clean start off
    assert struct.unpack_from("!H", body, 8) == (30,)
    assert b"\x11" + struct.pack("!I", 1_209_600) in body  # session expiry
    assert b"\x21" + struct.pack("!H", 4000) in body  # receive maximum
    assert body.endswith(b"\x00\x11signalight-ingest\x00\x11signalight-ingest\x00\x02pw")


def test_subscribe_and_pubacks() -> None:
    assert subscribe_packet(1, ["a/+"]) == b"\x82\x09\x00\x01\x00\x00\x03a/+\x01"
    assert pubacks([1, 258]) == b"\x40\x02\x00\x01\x40\x02\x01\x02"
    assert pubacks([]) == b""


class Broker:
    """The far end of a socket pair, speaking as a broker would."""

    def __init__(self) -> None:
        self.ours, self.theirs = socket.socketpair()

    def subscriber(self, on_message: object) -> Subscriber:
        subscriber = Subscriber(
            SessionSettings(host="test", port=0, client_id="c", keepalive=60),
            on_message,  # type: ignore[arg-type]
        )
        subscriber._sock = self.ours
        return subscriber

    def close(self) -> None:
        self.ours.close()
        self.theirs.close()

    def read_all(self) -> bytes:
        self.theirs.settimeout(0.5)
        data = b""
        try:
            while chunk := self.theirs.recv(65536):
                data += chunk
        except TimeoutError:
            pass
        return data


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.binary(max_size=400), min_size=1, max_size=12),
    st.integers(min_value=1, max_value=64),
)
def test_messages_are_read_whole_however_the_stream_is_cut(
    payloads: list[bytes], chunk: int
) -> None:
    broker = Broker()
    got: list[tuple[str, bytes, int]] = []
    subscriber = broker.subscriber(lambda t, p, i: got.append((t, p, i)))
    stream = b"".join(
        publish(f"signalight/c/d{n}/up", payload, packet_id=n + 1 if n % 2 else 0,
                properties=b"\x01\x01" if n % 3 == 0 else b"")
        for n, payload in enumerate(payloads)
    )  # fmt: skip
    stream += b"\xd0\x00"  # a PINGRESP in between is handled and not passed on
    for start in range(0, len(stream), chunk):
        broker.theirs.sendall(stream[start : start + chunk])
        subscriber._read_some()
        subscriber._dispatch()
    assert got == [
        (f"signalight/c/d{n}/up", payload, n + 1 if n % 2 else 0)
        for n, payload in enumerate(payloads)
    ]
    broker.close()


@pytest.fixture
def broker() -> Iterator[Broker]:
    far_end = Broker()
    yield far_end
    far_end.close()


def test_a_disconnect_from_the_broker_ends_the_run(broker: Broker) -> None:
    subscriber = broker.subscriber(lambda *_: None)
    broker.theirs.sendall(b"\xe0\x01\x8b")  # DISCONNECT, server shutting down
    with pytest.raises(MqttProtocolError, match="0x8b"):
        subscriber.run(threading.Event())


def test_a_closed_connection_ends_the_run(broker: Broker) -> None:
    subscriber = broker.subscriber(lambda *_: None)
    broker.theirs.close()
    with pytest.raises(MqttProtocolError, match="closed"):
        subscriber.run(threading.Event())


def test_a_refused_subscription_is_an_error(broker: Broker) -> None:
    subscriber = broker.subscriber(lambda *_: None)
    broker.theirs.sendall(b"\x90\x04\x00\x01\x00\x87")  # SUBACK: not authorised
    with pytest.raises(ConnectionRefused) as refused:
        subscriber.subscribe(["signalight/#"], packet_id=1)
    assert refused.value.code == 0x87
    assert broker.read_all().startswith(b"\x82")  # the SUBSCRIBE went out


def test_acks_go_out_in_one_write_in_order(broker: Broker) -> None:
    subscriber = broker.subscriber(lambda *_: None)
    subscriber.ack([5, 6, 7])
    assert broker.read_all() == pubacks([5, 6, 7])
