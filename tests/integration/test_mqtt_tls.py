"""MQTT over TLS on the shipped broker's 8883 listener, with a CA made in the test.

Ingest and the simulator's publisher both verify the broker's certificate
and may present their own; a client that trusts another CA, or that has no
certificate where the listener requires one, is refused.
"""

from __future__ import annotations

import os
import ssl
import subprocess
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from signalight.adapters.mqtt_publisher import MqttPublisher, PublishError
from signalight.adapters.sql.database import SqlDatabase
from signalight.adapters.tls import client_context
from signalight.consumers.mqtt_wire import MqttProtocolError, SessionSettings, Subscriber
from signalight.domain.topics import INGEST_USER
from tests.conftest import make_city
from tests.integration.broker import Broker
from tests.integration.ingest_rig import (
    PASSWORDS,
    PUBLISHER,
    SIGNALIGHT,
    IngestProcess,
    start_broker,
    stored,
    wait_for,
)
from tests.pki import Authority
from tests.sim.simulation import CITY, RECORDS, simulator

pytestmark = [pytest.mark.mqtt]

TIMEOUT = 60.0


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """The shipped configuration with its TLS listener requiring client certificates."""
    instance = start_broker(tmp_path / "broker", require_certificate=True)
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[SqlDatabase]:
    database = SqlDatabase.connect(f"sqlite:///{tmp_path / 'city.db'}")
    database.migrate()
    yield database
    database.close()


def tls_env(broker: Broker, *, ca: Path | None = None, client: bool = True) -> dict[str, str]:
    """The settings that make `signalight ingest` read the broker's TLS listener.

    Fault detection is off: these tests are about the way in.
    """
    env = {"SIGNALIGHT_MQTT_TLS_CA": str(ca or broker.ca.cert), "SIGNALIGHT_DETECT": "false"}
    if client:
        pair = broker.ca.client("ingest")
        env |= {
            "SIGNALIGHT_MQTT_TLS_CERT": str(pair.cert),
            "SIGNALIGHT_MQTT_TLS_KEY": str(pair.key),
        }
    return env


def wait_for_log(process: IngestProcess, text: str) -> str:
    """The process's log once it holds ``text``; fails with the log if it never does."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        log = process.log.read_text() if process.log.exists() else ""
        if text in log:
            return log
        time.sleep(0.1)
    pytest.fail(f"{text!r} never appeared in the log:\n{process.log.read_text()[-3000:]}")


@pytest.mark.slow
def test_ingest_over_tls_stores_what_the_simulator_publishes_over_tls(
    tmp_path: Path, broker: Broker, db: SqlDatabase
) -> None:
    city = make_city(db, slug=CITY.slug)
    db.assets.upsert_assets(city.pk, RECORDS)
    url = f"sqlite:///{tmp_path / 'city.db'}"
    ingest = IngestProcess(tmp_path, url, broker.tls_port, env=tls_env(broker))
    ingest.start()
    try:
        pair = broker.ca.client("simulator")
        context = client_context(broker.ca.cert, pair.cert, pair.key)
        sim = simulator(datetime.now(UTC) - timedelta(hours=2))
        sent: list[tuple[str, bytes]] = []
        with MqttPublisher(
            "127.0.0.1", broker.tls_port, PUBLISHER, PASSWORDS[PUBLISHER], tls=context
        ) as out:

            def sink(topic: str, payload: bytes) -> None:
                out(topic, payload)
                sent.append((topic, payload))

            sim.run(sink, until=sim.now + 600.0)
        assert out.in_flight == 0
        readings = sum(len(orjson.loads(p)) for topic, p in sent if topic.endswith("/up"))
        assert readings > 1000
        # Each status message ("online") is a reading too, unless it lands on
        # the same device and second as one already held.
        wait_for(db, city, readings, ingest, TIMEOUT)
        assert db.telemetry.dead_letter_counts(city.pk) == {}
        log = ingest.log.read_text()
        assert "mqtts://127.0.0.1" in log
        assert "WARNING" not in log
        assert "ERROR" not in log

        # The same through the command an operator runs.
        before = stored(db, city)[0]
        env = {
            **os.environ,
            "SIGNALIGHT_DATA_DIR": str(tmp_path / "data"),
            "SIGNALIGHT_DATABASE_URL": url,
        }
        simulate = subprocess.run(  # noqa: S603 - our own command
            [
                str(SIGNALIGHT), "simulate", "--city", city.slug, "--speed", "max",
                "--start", (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
                "--duration", "10m", "--fault-rate-scale", "0",
                "--broker", f"127.0.0.1:{broker.tls_port}",
                "--username", PUBLISHER, "--password", PASSWORDS[PUBLISHER],
                "--tls-ca", str(broker.ca.cert),
                "--tls-cert", str(pair.cert), "--tls-key", str(pair.key),
            ],
            env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert simulate.returncode == 0, simulate.stderr[-2000:]
        wait_for(db, city, before + 1000, ingest, TIMEOUT)
        assert db.telemetry.dead_letter_counts(city.pk) == {}
    finally:
        ingest.stop()


def test_a_client_that_trusts_another_ca_is_refused(
    tmp_path: Path, broker: Broker, db: SqlDatabase
) -> None:
    other = Authority.create(tmp_path / "other", "other")
    pair = broker.ca.client("simulator")
    wrong = client_context(other.cert, pair.cert, pair.key)
    with pytest.raises(PublishError, match="certificate"):
        MqttPublisher(
            "127.0.0.1", broker.tls_port, PUBLISHER, PASSWORDS[PUBLISHER], tls=wrong, timeout=5
        ).connect()
    session = SessionSettings(
        host="127.0.0.1",
        port=broker.tls_port,
        client_id=INGEST_USER,
        username=INGEST_USER,
        password=PASSWORDS[INGEST_USER],
        tls=wrong,
    )
    with pytest.raises(ssl.SSLCertVerificationError):
        Subscriber(session, lambda *_: None).connect()
    # `signalight ingest` says why in its log, and keeps trying (the CA may be fixed).
    url = f"sqlite:///{tmp_path / 'city.db'}"
    env = tls_env(broker, ca=other.cert) | {"COLUMNS": "300"}  # the line not wrapped
    ingest = IngestProcess(tmp_path, url, broker.tls_port, env=env)
    ingest.start()
    try:
        log = wait_for_log(ingest, "the broker's certificate is not trusted")
        assert "SIGNALIGHT_MQTT_TLS_CA" in log
        assert ingest.alive()
    finally:
        ingest.stop()


def test_without_a_client_certificate_a_client_is_refused_where_one_is_required(
    broker: Broker,
) -> None:
    no_certificate = client_context(broker.ca.cert)
    # With TLS 1.3 the broker refuses after the handshake: its alert says
    # "certificate required", but the connection's reset may overtake it.
    with pytest.raises(PublishError, match="closed the connection before accepting us"):
        MqttPublisher(
            "127.0.0.1",
            broker.tls_port,
            PUBLISHER,
            PASSWORDS[PUBLISHER],
            tls=no_certificate,
            timeout=5,
        ).connect()
    session = SessionSettings(
        host="127.0.0.1",
        port=broker.tls_port,
        client_id=INGEST_USER,
        username=INGEST_USER,
        password=PASSWORDS[INGEST_USER],
        tls=no_certificate,
    )
    subscriber = Subscriber(session, lambda *_: None)
    with pytest.raises(MqttProtocolError):
        subscriber.connect()
    subscriber.close(clean=False)
    # With one, the same account is let in.
    pair = broker.ca.client("ingest")
    subscriber = Subscriber(
        SessionSettings(
            host="127.0.0.1",
            port=broker.tls_port,
            client_id=INGEST_USER,
            username=INGEST_USER,
            password=PASSWORDS[INGEST_USER],
            tls=client_context(broker.ca.cert, pair.cert, pair.key),
        ),
        lambda *_: None,
    )
    subscriber.connect()
    subscriber.close()


def _pinned(broker: Broker, version: ssl.TLSVersion) -> Subscriber:
    """A subscriber that offers only TLS ``version`` (and a client certificate)."""
    pair = broker.ca.client("ingest")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(broker.ca.cert)
    context.load_cert_chain(pair.cert, pair.key)
    # OpenSSL's default security level would refuse TLS 1.1 on our side first.
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():  # TLS 1.1 is deprecated: that is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = context.maximum_version = version
    session = SessionSettings(
        host="127.0.0.1",
        port=broker.tls_port,
        client_id=INGEST_USER,
        username=INGEST_USER,
        password=PASSWORDS[INGEST_USER],
        tls=context,
    )
    return Subscriber(session, lambda *_: None)


def test_the_listener_refuses_tls_older_than_1_2(broker: Broker) -> None:
    with pytest.raises(ssl.SSLError, match="ALERT_PROTOCOL_VERSION"):
        _pinned(broker, ssl.TLSVersion.TLSv1_1).connect()
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        subscriber = _pinned(broker, version)
        subscriber.connect()
        subscriber.close()
