"""The simulator's MQTT publisher against a real Mosquitto: all arrives, refusals are loud."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from signalight.adapters import mosquitto
from signalight.adapters.mqtt_publisher import MqttPublisher, PublishError
from signalight.domain.topics import INGEST_USER
from tests.integration.broker import Broker, Client, Received, free_port
from tests.sim.simulation import NOON, simulator

pytestmark = pytest.mark.mqtt

SIM_USER = "signalight-sim"
PASSWORDS = {SIM_USER: "sim-secret", INGEST_USER: "ingest-secret", "nobody": "nobody-secret"}


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A broker where the simulator's account may write every device topic; 'nobody' none."""
    instance = Broker(tmp_path)
    entries = [(user, mosquitto.hash_password(secret)) for user, secret in PASSWORDS.items()]
    instance.passwd.write_text(mosquitto.password_file(entries))
    instance.acl.write_text(mosquitto.acl_file(INGEST_USER, simulator=SIM_USER))
    try:
        instance.start()
        yield instance
    finally:
        instance.stop()


def collect(client: Client, count: int, timeout: float = 20.0) -> list[Received]:
    got: list[Received] = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        try:
            got.append(client.messages.get(timeout=0.2))
        except queue.Empty:
            continue
    return got


def test_every_simulated_message_reaches_a_subscriber(broker: Broker) -> None:
    ingest = Client(broker.port, INGEST_USER, PASSWORDS[INGEST_USER])
    assert ingest.connect() == 0
    assert ingest.subscribe("signalight/#") == 1
    sim = simulator(NOON)
    sent: list[tuple[str, bytes]] = []
    with MqttPublisher(
        "127.0.0.1", broker.port, SIM_USER, PASSWORDS[SIM_USER], max_inflight=8
    ) as out:

        def sink(topic: str, payload: bytes) -> None:
            out(topic, payload)
            sent.append((topic, payload))
            assert out.in_flight <= 8

        stats = sim.run(sink, until=sim.now + 600.0)
    assert stats.messages == len(sent) > 600
    assert out.in_flight == 0
    got = collect(ingest, len(sent))
    assert sorted((m.topic, m.payload) for m in got) == sorted(sent)
    ingest.disconnect()
    # Status messages are retained, as a device's own are.
    late = Client(broker.port, INGEST_USER, PASSWORDS[INGEST_USER])
    assert late.connect() == 0
    late.subscribe("signalight/+/+/status")
    retained = collect(late, 1, timeout=5.0)
    assert retained
    assert retained[0].retain
    assert retained[0].payload == b"online"
    late.disconnect()


def test_a_refused_message_stops_the_publisher(broker: Broker) -> None:
    with MqttPublisher("127.0.0.1", broker.port, "nobody", PASSWORDS["nobody"], timeout=5) as out:
        out("signalight/city/n-1/up", b"[]")  # PUBACK 0x87, not authorised
        out.flush()
        with pytest.raises(PublishError, match="refused"):
            out("signalight/city/n-1/up", b"[]")


def test_a_wrong_password_or_no_broker_is_a_clear_error(broker: Broker) -> None:
    with pytest.raises(PublishError, match="refused"):
        MqttPublisher("127.0.0.1", broker.port, SIM_USER, "wrong", timeout=5).connect()
    with pytest.raises(PublishError, match="cannot reach"):
        MqttPublisher("127.0.0.1", free_port(), SIM_USER, "x", timeout=5).connect()


def test_a_message_nobody_was_subscribed_to_is_sent_again_until_someone_is(
    broker: Broker,
) -> None:
    # As right after a broker restart, before shared workers subscribe again:
    # the broker answers 0x10 and drops the message; the publisher sends it again.
    sent = [(f"signalight/city/n-{n}/up", f"[{n}]".encode()) for n in range(5)]
    with MqttPublisher("127.0.0.1", broker.port, SIM_USER, PASSWORDS[SIM_USER], timeout=10) as out:
        for topic, payload in sent:
            out(topic, payload)
        deadline = time.monotonic() + 10
        while out.resent < len(sent) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert out.resent >= len(sent)  # each was answered 0x10 at least once
        ingest = Client(broker.port, INGEST_USER, PASSWORDS[INGEST_USER])
        assert ingest.connect() == 0
        assert ingest.subscribe("signalight/#") == 1
        got = collect(ingest, len(sent))
        assert out.flush(timeout=10)
    assert sorted((m.topic, m.payload) for m in got) == sorted(sent)
    assert out.unheard == 0
    ingest.disconnect()
