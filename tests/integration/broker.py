"""A real Mosquitto started from deploy/mosquitto/signalight.conf, and a small MQTT 5 client."""

from __future__ import annotations

import getpass
import os
import queue
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from tests.pki import Authority, Pair

MOSQUITTO = Path("/usr/sbin/mosquitto")
CONF = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto" / "signalight.conf"
TIMEOUT = 5.0
NOT_AUTHORIZED = 0x87
# Mosquitto 2.0 refuses a wrong password with "not authorized", not 0x86.
REFUSED = frozenset({0x86, 0x87})
# PUBACK codes of an accepted message: success, and "no matching subscribers".
ACCEPTED = frozenset({0x00, 0x10})


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def render_conf(
    port: int,
    passwd: Path,
    acl: Path,
    store: Path,
    *,
    tls_port: int,
    server: Pair,
    client_ca: Path | None = None,
) -> str:
    """The shipped configuration with only the listeners' ports, the paths and the user changed.

    ``client_ca`` uncomments the shipped lines that require a client
    certificate signed by that CA on the TLS listener.
    """
    replacements = {
        "listener 1883": f"listener {port} 127.0.0.1",
        "listener 8883": f"listener {tls_port} 127.0.0.1",
        "certfile": f"certfile {server.cert}",
        "keyfile": f"keyfile {server.key}",
        "#cafile": f"cafile {client_ca}" if client_ca else None,
        "#require_certificate": "require_certificate true" if client_ca else None,
        "password_file": f"password_file {passwd}",
        "acl_file": f"acl_file {acl}",
        "persistence_location": f"persistence_location {store}/",
    }
    lines, seen = [], set()
    for line in CONF.read_text().splitlines():
        words = line.split(" ")
        key = " ".join(words[:2]) if words[0] == "listener" else words[0]
        if key in replacements:
            seen.add(key)
            line = replacements[key] or line  # noqa: PLW2901 (the line, rewritten)
        lines.append(line)
    assert seen == set(replacements), f"{CONF} lost one of {sorted(set(replacements) - seen)}"
    # As root Mosquitto drops to the `mosquitto` user, which cannot read the
    # test's private temporary files; run it as whoever runs the tests.
    lines.append(f"user {getpass.getuser()}")
    return "\n".join(lines) + "\n"


@dataclass
class Broker:
    """One Mosquitto process on a port of its own, with its files in ``workdir``."""

    workdir: Path
    port: int = field(default_factory=free_port)
    tls_port: int = field(default_factory=free_port)
    # Whether the TLS listener also requires a client certificate signed by ``ca``.
    require_certificate: bool = False
    process: subprocess.Popen[bytes] | None = None
    _ca: Authority | None = field(default=None, init=False, repr=False)

    @property
    def ca(self) -> Authority:
        """The test's CA: it signed the TLS listener's certificate (made on first use)."""
        if self._ca is None:
            self._ca = Authority.create(self.workdir / "pki")
        return self._ca

    @property
    def passwd(self) -> Path:
        """The password file the broker reads."""
        return self.workdir / "passwd"

    @property
    def acl(self) -> Path:
        """The ACL file the broker reads."""
        return self.workdir / "acl"

    @property
    def log(self) -> Path:
        """Everything the broker wrote to stderr."""
        return self.workdir / "mosquitto.log"

    def start(self) -> None:
        """Start the broker and wait until it accepts connections."""
        if not MOSQUITTO.exists():
            pytest.fail("Mosquitto is needed: apt-get install mosquitto", pytrace=False)
        store = self.workdir / "store"
        store.mkdir(exist_ok=True)
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(
            render_conf(
                self.port,
                self.passwd,
                self.acl,
                store,
                tls_port=self.tls_port,
                server=self.ca.server(),
                client_ca=self.ca.cert if self.require_certificate else None,
            )
        )
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 (a fixed binary and our own file)
                [str(MOSQUITTO), "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"Mosquitto exited at start:\n{self.log.read_text()}", pytrace=False)
            try:
                for port in (self.port, self.tls_port):
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            except OSError:
                time.sleep(0.05)
            else:
                return
        self.stop()
        pytest.fail(f"Mosquitto did not listen in time:\n{self.log.read_text()}", pytrace=False)

    def reload(self) -> None:
        """SIGHUP, as an operator does after rewriting the files."""
        assert self.process is not None
        self.process.send_signal(signal.SIGHUP)
        time.sleep(0.3)

    def stop(self) -> None:
        """Stop the broker cleanly (it saves its store), or kill it if it hangs."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(TIMEOUT)
        self.process = None


@dataclass(frozen=True)
class Received:
    """One message a client got."""

    topic: str
    payload: bytes
    retain: bool


class Client:
    """An MQTT 5 client that waits for each acknowledgement and collects what it receives."""

    def __init__(
        self,
        port: int,
        username: str,
        password: str,
        *,
        client_id: str = "",
        session_expiry: int = 0,
        will: tuple[str, bytes] | None = None,
        protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv5,
    ) -> None:
        self.port = port
        self.messages: queue.Queue[Received] = queue.Queue()
        self._acks: dict[int, ReasonCode | list[ReasonCode]] = {}
        self._acked = threading.Condition()
        self._connected = threading.Event()
        self._dropped = threading.Event()
        self.connect_code: ReasonCode | None = None
        self.connect_properties: Properties | None = None
        self._protocol = protocol
        self._session_expiry = session_expiry
        self._mqtt = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"test-{os.getpid()}-{id(self)}",
            protocol=protocol,
            # A test says when to connect again; a silent reconnect would hide a drop.
            reconnect_on_failure=False,
        )
        self._mqtt.username_pw_set(username, password)
        if will is not None:
            self._mqtt.will_set(will[0], will[1], qos=1, retain=True)
        self._mqtt.on_connect = self._on_connect
        self._mqtt.on_message = self._on_message
        self._mqtt.on_disconnect = self._on_disconnect
        self._mqtt.on_publish = self._on_ack
        self._mqtt.on_subscribe = self._on_ack

    def connect(self) -> int:
        """Connect and return the CONNACK reason code (0 is success)."""
        if self._protocol is MQTTProtocolVersion.MQTTv5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = self._session_expiry
            self._mqtt.connect(
                "127.0.0.1", self.port, keepalive=30, clean_start=False, properties=properties
            )
        else:
            self._mqtt.connect("127.0.0.1", self.port, keepalive=30)
        self._mqtt.loop_start()
        if not self._connected.wait(TIMEOUT):
            self._mqtt.loop_stop()
            pytest.fail("no CONNACK from the broker")
        assert self.connect_code is not None
        if self.connect_code.is_failure:
            self._mqtt.loop_stop()
        return self.connect_code.value

    def subscribe(self, topic: str) -> int:
        """Subscribe with QoS 1; the SUBACK reason code (1: granted QoS 1)."""
        _, mid = self._mqtt.subscribe(topic, qos=1)
        assert mid is not None
        code = self._wait(mid)
        assert isinstance(code, list)
        return code[0].value

    def publish(
        self, topic: str, payload: bytes, *, retain: bool = False, timeout: float = TIMEOUT
    ) -> int | None:
        """Publish with QoS 1; the PUBACK reason code (0: accepted), None if none came."""
        info = self._mqtt.publish(topic, payload, qos=1, retain=retain)
        code = self._wait(info.mid, timeout, required=False)
        if code is None:
            return None
        assert isinstance(code, ReasonCode)
        return code.value

    def expect(self, topic: str, timeout: float = TIMEOUT) -> Received:
        """The next message on ``topic``; fails if none comes in time."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = self.messages.get(timeout=left)
            except queue.Empty:
                break
            if message.topic == topic:
                return message
        pytest.fail(f"nothing arrived on {topic} within {timeout} s")

    def received(self, wait: float) -> list[Received]:
        """Everything that arrives within ``wait`` seconds."""
        time.sleep(wait)
        got = []
        while not self.messages.empty():
            got.append(self.messages.get_nowait())
        return got

    def dropped(self, timeout: float = TIMEOUT) -> bool:
        """Whether the broker closes the connection within ``timeout``."""
        closed = self._dropped.wait(timeout)
        if closed:
            self._mqtt.loop_stop()
        return closed

    def disconnect(self, *, with_will: bool = False) -> None:
        """Disconnect; ``with_will`` asks the broker to publish the will (as after a drop)."""
        code = ReasonCode(PacketTypes.DISCONNECT, identifier=4 if with_will else 0)
        self._mqtt.disconnect(reasoncode=code)
        self._mqtt.loop_stop()

    def _wait(
        self, mid: int, timeout: float = TIMEOUT, *, required: bool = True
    ) -> ReasonCode | list[ReasonCode] | None:
        with self._acked:
            if not self._acked.wait_for(lambda: mid in self._acks, timeout):
                if required:
                    pytest.fail(f"no acknowledgement for message {mid}")
                return None
            return self._acks.pop(mid)

    def _on_connect(self, *args: Any) -> None:
        self.connect_code = args[3]
        self.connect_properties = args[4]
        self._connected.set()

    def _on_disconnect(self, *_args: Any) -> None:
        self._dropped.set()

    def _on_message(self, _client: Any, _userdata: Any, message: paho.MQTTMessage) -> None:
        self.messages.put(Received(message.topic, bytes(message.payload), bool(message.retain)))

    def _on_ack(self, _client: Any, _userdata: Any, mid: int, codes: Any, _props: Any) -> None:
        with self._acked:
            self._acks[mid] = codes
            self._acked.notify_all()
