"""A rig for end-to-end ingest tests: a real Mosquitto, `signalight ingest` as a process,
a fleet in a real database, a fast QoS 1 publisher, and a private PostgreSQL to restart.
"""

from __future__ import annotations

import getpass
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from sqlalchemy import text

from signalight.adapters import mosquitto
from signalight.adapters.sql.database import SqlDatabase
from signalight.codecs.senml import encode_pack
from signalight.consumers.mqtt import SESSION_EXPIRY_S, MqttSettings, subscriptions
from signalight.domain.assets import AssetKind, AssetRecord
from signalight.domain.cities import City
from signalight.domain.readings import Reading
from signalight.domain.topics import INGEST_USER, Channel, device_topic, ingest_username
from tests.integration.broker import Broker, Client, free_port

SIGNALIGHT = Path(sys.executable).parent / "signalight"
PUBLISHER = "test-publisher"
PASSWORDS = {INGEST_USER: "ingest-secret", PUBLISHER: "publisher-secret"}
READINGS_PER_MESSAGE = 5
AHEAD = 2000  # messages published and not yet acknowledged by the broker


def start_broker(
    workdir: Path,
    workers: int = 1,
    share_group: str | None = None,
    primed: int | None = None,
    *,
    require_certificate: bool = False,
) -> Broker:
    """The shipped broker config, with ingest accounts and a publisher for every device.

    The first ``primed`` accounts (all by default) get their sessions made, in
    the group. ``require_certificate``: the TLS listener wants a client
    certificate from the broker's test CA.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    broker = Broker(workdir, require_certificate=require_certificate)
    secrets = {**PASSWORDS}
    for worker in range(2, workers + 1):
        secrets[ingest_username(INGEST_USER, worker)] = PASSWORDS[INGEST_USER]
    entries = [(user, mosquitto.hash_password(secret)) for user, secret in secrets.items()]
    broker.passwd.write_text(mosquitto.password_file(entries))
    # The publisher stands in for the whole fleet; devices' own ACL is tested elsewhere.
    broker.acl.write_text(mosquitto.acl_file(INGEST_USER, workers=workers, simulator=PUBLISHER))
    broker.start()
    for worker in range(1, (workers if primed is None else primed) + 1):
        prime_session(broker.port, share_group, ingest_username(INGEST_USER, worker))
    return broker


def prime_session(port: int, share_group: str | None = None, user: str = INGEST_USER) -> None:
    """Make the ingest account's persistent session and its subscriptions, as a first run does.

    Messages published before any ingest process ever subscribed would have
    nowhere to go; in production the session exists from the first start on.
    """
    client = Client(
        port, user, PASSWORDS[INGEST_USER], client_id=user, session_expiry=SESSION_EXPIRY_S
    )
    assert client.connect() == 0
    for topic in subscriptions(MqttSettings(share_group=share_group)):
        assert client.subscribe(topic) == 1
    client.disconnect()


def add_fleet(db: SqlDatabase, city: City, devices: int) -> list[str]:
    """``devices`` streetlights with a node each; returns the node ids."""
    uids = [f"N-{n:05d}" for n in range(devices)]
    db.assets.upsert_assets(
        city.pk,
        [
            AssetRecord(
                kind=AssetKind.STREETLIGHT, code=f"SL-{uid}", lat=5.38, lon=100.4, device=uid
            )
            for uid in uids
        ],
    )
    return uids


def messages(city: City, uids: list[str], count: int, start: float) -> list[tuple[str, bytes]]:
    """``count`` distinct SenML packs of five readings, over the devices, a second apart each."""
    out = []
    for n in range(count):
        uid = uids[n % len(uids)]
        at = start + n // len(uids)
        readings = [
            Reading(at, "on", bool_value=True),
            Reading(at, "dim", 80.0),
            Reading(at, "power", 60.0 + n % 7),
            Reading(at, "voltage", 230.0),
            Reading(at, "energy", 1000.0 + n),
        ]
        out.append((device_topic(city.slug, uid, Channel.UP), encode_pack(uid, readings, at)))
    return out


class Publisher:
    """A QoS 1 publisher that counts the broker's PUBACKs (each one: the broker holds it)."""

    def __init__(self, port: int) -> None:
        self.acked = 0
        self._lock = threading.Lock()
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id="test-publisher",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        self._client.username_pw_set(PUBLISHER, PASSWORDS[PUBLISHER])
        self._client.max_inflight_messages_set(500)
        self._client.max_queued_messages_set(0)
        self._client.on_publish = self._on_publish
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()

    def _on_publish(self, *_args: object) -> None:
        with self._lock:
            self.acked += 1

    def publish(self, batch: list[tuple[str, bytes]], *, timeout: float = 120.0) -> None:
        """Publish every message and wait until the broker has acknowledged each."""
        target = self.acked + len(batch)
        deadline = time.monotonic() + timeout
        for sent, (topic, payload) in enumerate(batch, start=target - len(batch) + 1):
            # paho walks its whole queue on every PUBACK: keep the queue short.
            while sent - self.acked > AHEAD and time.monotonic() < deadline:
                time.sleep(0.001)
            self._client.publish(topic, payload, qos=1)
        while self.acked < target:
            if time.monotonic() > deadline:
                pytest.fail(f"the broker acknowledged {self.acked} of {target} messages")
            time.sleep(0.05)

    def close(self) -> None:
        """Disconnect."""
        self._client.disconnect()
        self._client.loop_stop()


@dataclass
class IngestProcess:
    """`signalight ingest` in a process of its own, as an operator runs it."""

    workdir: Path
    database_url: str
    broker_port: int
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    env: dict[str, str] = field(default_factory=dict)
    worker: int = 1
    command: str = "ingest"  # or "detect": the fault rules alone
    metrics_port: int = 0  # 0: no metrics served

    @property
    def log(self) -> Path:
        """What the process wrote."""
        return self.workdir / f"{self.command}-{self.worker}.log"

    def start(self) -> None:
        """Start it; it connects by itself and retries until the broker answers."""
        env = {
            **os.environ,
            "SIGNALIGHT_DATA_DIR": str(self.workdir / "data"),
            "SIGNALIGHT_DATABASE_URL": self.database_url,
            "SIGNALIGHT_MQTT_HOST": "127.0.0.1",
            "SIGNALIGHT_MQTT_PORT": str(self.broker_port),
            "SIGNALIGHT_MQTT_PASSWORD": PASSWORDS[INGEST_USER],
            "SIGNALIGHT_LOG_LEVEL": "WARNING",
            **self.env,
        }
        self.starts += 1
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own script
                [
                    str(SIGNALIGHT),
                    self.command,
                    *(
                        ["--metrics-port", str(self.metrics_port)]
                        if self.command == "ingest"
                        else []
                    ),
                    "--worker",
                    str(self.worker),
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def received(self) -> float:
        """The messages it says it received over MQTT (its own /metrics; needs a metrics port)."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        text = urllib.request.urlopen(url, timeout=5).read().decode()
        found = re.search(
            r'^signalight_ingest_messages_total\{transport="mqtt"\} (\S+)$', text, re.MULTILINE
        )
        assert found, text
        return float(found.group(1))

    def kill(self) -> None:
        """SIGKILL: no chance to store or acknowledge anything more."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        """SIGTERM and wait; kill if it hangs."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def alive(self) -> bool:
        """Whether the process still runs."""
        return self.process is not None and self.process.poll() is None


def stored(db: SqlDatabase, city: City) -> tuple[int, int]:
    """(readings and controller events stored, readings counted in the hourly rollups)."""
    with db.engine.connect() as conn:
        readings = conn.execute(
            text(
                "SELECT (SELECT coalesce(sum(size), 0) FROM reports WHERE city_id = :c)"
                " + (SELECT count(*) FROM signal_events WHERE city_id = :c)"
            ),
            {"c": city.pk},
        ).scalar_one()
        rolled = conn.execute(
            text("SELECT coalesce(sum(samples), 0) FROM reading_hours WHERE city_id = :c"),
            {"c": city.pk},
        ).scalar_one()
    return int(readings), int(rolled)


def wait_for(
    db: SqlDatabase, city: City, readings: int, ingest: IngestProcess, timeout: float
) -> None:
    """Wait until the city holds ``readings`` readings; fail with the ingest log if not."""
    deadline = time.monotonic() + timeout
    got = (0, 0)
    while time.monotonic() < deadline:
        got = stored(db, city)
        if got[0] >= readings:
            return
        time.sleep(0.25)
    pytest.fail(
        f"{got[0]} of {readings} readings stored; ingest log:\n{ingest.log.read_text()[-3000:]}"
    )


@dataclass
class PrivatePostgres:
    """A PostgreSQL server of the test's own, to crash and restart at will.

    Its files live in a directory of their own under the system's temporary
    directory: the server runs as the ``postgres`` user when the tests run as
    root, and pytest's directories are private to root.
    """

    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="signalight-pg-")))
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        """Its URL, database ``postgres``."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        as_postgres = ["runuser", "-u", "postgres", "--"] if getpass.getuser() == "root" else []
        done = subprocess.run(  # noqa: S603 - PostgreSQL's own tools
            [*as_postgres, *command], capture_output=True, timeout=60, check=False
        )
        if done.returncode:
            pytest.fail(f"{command[0]} failed:\n{done.stderr.decode(errors='replace')}")

    def _pg_ctl(self, *arguments: str) -> None:
        self._run(str(_postgres_bindir() / "pg_ctl"), "-D", str(self.workdir / "data"), *arguments)

    def start(self) -> None:
        """initdb on first use, then start and wait until it accepts connections."""
        data = self.workdir / "data"
        if not data.exists():
            if getpass.getuser() == "root":
                shutil.chown(self.workdir, "postgres")
            initdb = str(_postgres_bindir() / "initdb")
            self._run(initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        options = f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1"
        self._pg_ctl("-o", options, "-l", str(self.workdir / "postgres.log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop it; ``immediate`` is a crash (no shutdown checkpoint, connections cut)."""
        self._pg_ctl("-m", mode, "-w", "stop")

    def remove(self) -> None:
        """Delete its files (stop it first)."""
        shutil.rmtree(self.workdir, ignore_errors=True)


def _postgres_bindir() -> Path:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not versions:
        pytest.fail(
            "PostgreSQL's server binaries are needed: apt-get install postgresql", pytrace=False
        )
    return versions[-1].parent
