"""The generated password file and ACL in a real Mosquitto: each device stays in its topics."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from paho.mqtt.enums import MQTTProtocolVersion
from typer.testing import CliRunner

from signalight.adapters import mosquitto
from signalight.cli.main import app
from signalight.domain.topics import INGEST_USER, Channel, device_topic, device_username
from tests.integration.broker import (
    ACCEPTED,
    NOT_AUTHORIZED,
    REFUSED,
    Broker,
    Client,
)

pytestmark = pytest.mark.mqtt

CITY = "ipoh"
QUIET = 0.5  # how long to wait for a message that must not come


@dataclass(frozen=True)
class Fleet:
    """A running broker and the passwords of two devices and the ingest account."""

    broker: Broker
    passwords: dict[str, str]

    def client(self, who: str, **options: object) -> Client:
        """A client logged in as device ``who`` ("A", "B") or as the ingest account."""
        username = INGEST_USER if who == INGEST_USER else device_username(CITY, who)
        return Client(self.broker.port, username, self.passwords[who], **options)  # type: ignore[arg-type]

    def connected(self, who: str, **options: object) -> Client:
        """A client of ``who`` that has connected."""
        client = self.client(who, **options)
        assert client.connect() == 0
        return client


def up(device: str) -> str:
    return device_topic(CITY, device, Channel.UP)


def down(device: str) -> str:
    return device_topic(CITY, device, Channel.DOWN)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A broker that is stopped (killed if need be) whatever the test does."""
    instance = Broker(tmp_path)
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture(params=["pattern", "per-device"])
def fleet(request: pytest.FixtureRequest, broker: Broker) -> Fleet:
    """Devices A and B of a city and the ingest account, in files as broker-files writes them."""
    passwords = {"A": "secret-of-device-a", "B": "secret-of-device-b", INGEST_USER: "ingest-pw"}
    devices = [device_username(CITY, "A"), device_username(CITY, "B")]
    entries = [
        (INGEST_USER if who == INGEST_USER else device_username(CITY, who), hashed)
        for who, secret in passwords.items()
        # Hashed in Python: the broker must accept what Signalight stores.
        for hashed in [mosquitto.hash_password(secret)]
    ]
    broker.passwd.write_text(mosquitto.password_file(entries))
    per_device = devices if request.param == "per-device" else None
    broker.acl.write_text(mosquitto.acl_file(INGEST_USER, per_device))
    broker.start()
    return Fleet(broker, passwords)


def test_a_device_publishes_under_its_own_topic(fleet: Fleet) -> None:
    ingest = fleet.connected(INGEST_USER)
    assert ingest.subscribe("signalight/#") == 1  # granted QoS 1
    device = fleet.connected("A")
    assert device.publish(up("A"), b'[{"n":"lamp","vb":true}]') == 0
    assert ingest.expect(up("A")).payload == b'[{"n":"lamp","vb":true}]'
    device.disconnect()
    ingest.disconnect()


def test_a_device_cannot_publish_under_another_devices_topics(fleet: Fleet) -> None:
    ingest = fleet.connected(INGEST_USER)
    ingest.subscribe("signalight/#")
    forged = [device_topic(CITY, "B", channel) for channel in Channel] + [
        "signalight/other-city/A/up",
        f"signalight/{CITY}/A/up/extra",
        f"signalight/{CITY}/A",
        down("A"),  # commands come from the ingest service only
    ]
    for topic in forged:
        forger = fleet.connected("A")
        # MQTT 5 tells the publisher why, and Mosquitto closes the connection.
        assert forger.publish(topic, b"forged") == NOT_AUTHORIZED, topic
        assert forger.dropped(), topic
    device = fleet.connected("A")
    assert device.publish(up("A"), b"its own") == 0
    # Only the device's own reading reached the ingest subscriber.
    assert [(m.topic, m.payload) for m in ingest.received(QUIET)] == [(up("A"), b"its own")]
    assert not device.dropped(0)
    device.disconnect()
    ingest.disconnect()


def test_a_wrong_password_is_refused_at_connect(fleet: Fleet) -> None:
    stranger = Client(fleet.broker.port, device_username(CITY, "A"), "secret-of-device-b")
    assert stranger.connect() in REFUSED
    nobody = Client(fleet.broker.port, device_username(CITY, "C"), "anything")
    assert nobody.connect() in REFUSED
    # Another device's password is no key to the ingest account either.
    posing = Client(fleet.broker.port, INGEST_USER, "secret-of-device-a")
    assert posing.connect() in REFUSED


def test_commands_reach_only_their_device(fleet: Fleet) -> None:
    device_a = fleet.connected("A")
    device_b = fleet.connected("B")
    device_a.subscribe(down("A"))
    # Mosquitto 2.0 grants any SUBSCRIBE and checks read access per message,
    # so what proves the ACL is that B's commands never reach A.
    device_a.subscribe(down("B"))
    device_a.subscribe(f"signalight/{CITY}/+/down")
    device_b.subscribe(down("B"))
    ingest = fleet.connected(INGEST_USER)
    assert ingest.publish(down("B"), b"dim 40") == 0
    assert device_b.expect(down("B")).payload == b"dim 40"
    assert device_a.received(QUIET) == []
    assert ingest.publish(down("A"), b"dim 60") == 0
    assert device_a.expect(down("A")).payload == b"dim 60"
    assert device_b.received(QUIET) == []
    # A device cannot read other devices' readings either.
    device_a.subscribe("signalight/#")
    assert device_b.publish(up("B"), b"reading") == 0
    assert all(m.topic != up("B") for m in device_a.received(QUIET))
    for client in (device_a, device_b, ingest):
        client.disconnect()


def test_the_last_will_marks_a_device_offline_and_only_its_own(fleet: Fleet) -> None:
    status_a = device_topic(CITY, "A", Channel.STATUS)
    status_b = device_topic(CITY, "B", Channel.STATUS)
    ingest = fleet.connected(INGEST_USER)
    ingest.subscribe(f"signalight/{CITY}/+/status")
    device = fleet.connected("A", will=(status_a, b"offline"))
    assert device.publish(status_a, b"online", retain=True) == 0
    assert ingest.expect(status_a).payload == b"online"
    device.disconnect(with_will=True)
    assert ingest.expect(status_a).payload == b"offline"
    # A will on B's status would let A mark B offline: Mosquitto accepts the
    # CONNECT but checks the ACL before it sends the will, and drops it.
    forger = fleet.connected("A", will=(status_b, b"offline"))
    forger.disconnect(with_will=True)
    assert all(m.topic != status_b for m in ingest.received(QUIET))
    ingest.disconnect()
    # A later subscriber sees the retained state.
    late = fleet.connected(INGEST_USER)
    late.subscribe(status_a)
    message = late.expect(status_a)
    assert (message.payload, message.retain) == (b"offline", True)
    late.disconnect()


def test_a_device_cannot_take_over_another_devices_session(fleet: Fleet) -> None:
    device_b = fleet.connected("B", client_id=device_username(CITY, "B"), session_expiry=3600)
    device_b.subscribe(down("B"))
    # The broker replaces the client id with the username, so A claiming B's
    # id neither pushes B off nor gets B's session.
    device_a = fleet.connected("A", client_id=device_username(CITY, "B"), session_expiry=3600)
    assert not device_b.dropped(QUIET)
    ingest = fleet.connected(INGEST_USER)
    assert ingest.publish(down("B"), b"switch off") == 0
    assert device_b.expect(down("B")).payload == b"switch off"
    assert device_a.received(QUIET) == []
    for client in (device_a, device_b, ingest):
        client.disconnect()


def test_queued_messages_outlast_the_default_limit_and_a_restart(fleet: Fleet) -> None:
    # The ingest service's persistent session, away while 1,500 readings come
    # in: past Mosquitto's default max_queued_messages of 1,000.
    ingest = fleet.connected(INGEST_USER, client_id="ingest", session_expiry=3600)
    ingest.subscribe(f"signalight/{CITY}/+/up")
    ingest.disconnect()
    device = fleet.connected("A")
    for n in range(1500):
        assert device.publish(up("A"), str(n).encode()) in ACCEPTED
    device.disconnect()
    fleet.broker.stop()
    fleet.broker.start()
    ingest = fleet.connected(INGEST_USER, client_id="ingest", session_expiry=3600)
    got = [ingest.expect(up("A")).payload for _ in range(1500)]
    assert got == [str(n).encode() for n in range(1500)]
    ingest.disconnect()


def test_oversized_packets_are_refused_not_acknowledged(fleet: Fleet) -> None:
    ingest = fleet.connected(INGEST_USER)
    ingest.subscribe("signalight/#")
    # MQTT 5 clients are told the limit and keep to it themselves.
    modern = fleet.connected("A")
    assert modern.connect_properties is not None
    assert modern.connect_properties.MaximumPacketSize == 16384  # type: ignore[attr-defined]
    modern.disconnect()
    # An MQTT 3.1.1 device is not told; its oversized reading gets no PUBACK,
    # so it still holds it, and the broker closes the connection.
    old = fleet.connected("A", protocol=MQTTProtocolVersion.MQTTv311)
    assert old.publish(up("A"), b"x" * 8192) == 0
    assert old.publish(up("A"), b"x" * 16384, timeout=1.0) is None
    assert old.dropped()
    assert [len(m.payload) for m in ingest.received(QUIET)] == [8192]
    ingest.disconnect()


def test_rotated_credentials_take_effect_on_reload(fleet: Fleet) -> None:
    old = fleet.passwords["A"]
    entries = [
        (device_username(CITY, "A"), mosquitto.hash_password("a-new-secret")),
        (INGEST_USER, mosquitto.hash_password(fleet.passwords[INGEST_USER])),
    ]
    fleet.broker.passwd.write_text(mosquitto.password_file(entries))
    fleet.broker.reload()
    assert Client(fleet.broker.port, device_username(CITY, "A"), old).connect() in REFUSED
    renewed = Client(fleet.broker.port, device_username(CITY, "A"), "a-new-secret")
    assert renewed.connect() == 0
    renewed.disconnect()
    # B is gone from the password file: revoked.
    assert fleet.client("B").connect() in REFUSED


runner = CliRunner()


def test_the_generated_files_keep_devices_apart(
    broker: Broker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end: inventory, `device credentials`, `device broker-files`, Mosquitto."""
    monkeypatch.setenv("SIGNALIGHT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SIGNALIGHT_DATABASE_URL", raising=False)
    monkeypatch.setenv("SIGNALIGHT_LOG_LEVEL", "WARNING")

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, result.stderr
        return result.stdout

    run("city", "add", "Ipoh", "--country", "MY", "--lat", "4.6", "--lon", "101.1",
        "--timezone", "Asia/Kuala_Lumpur", "--currency", "MYR")  # fmt: skip
    inventory = tmp_path / "lights.csv"
    inventory.write_text(
        "kind,code,lat,lon,device\n"
        "streetlight,SL-1,4.5979,101.0901,A\n"
        "streetlight,SL-2,4.5980,101.0902,B\n"
    )
    run("import", CITY, str(inventory))
    rows = list(csv.DictReader(io.StringIO(run("device", "credentials", CITY))))
    passwords = {row["device"]: row["password"] for row in rows}
    assert sorted(passwords) == ["A", "B"]
    run("device", "broker-files", "--passwd", str(broker.passwd), "--acl", str(broker.acl))
    passwords[INGEST_USER] = (tmp_path / "data" / "mqtt-ingest.secret").read_text().strip()
    broker.start()
    fleet = Fleet(broker, passwords)
    ingest = fleet.connected(INGEST_USER)
    ingest.subscribe("signalight/#")
    device = fleet.connected("A")
    assert device.publish(up("B"), b"forged") == NOT_AUTHORIZED
    assert device.dropped()
    device = fleet.connected("A")
    assert device.publish(up("A"), b"real") == 0
    assert [m.payload for m in ingest.received(QUIET)] == [b"real"]
    device.disconnect()
    ingest.disconnect()
