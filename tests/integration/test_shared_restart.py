"""Shared-subscription ingest workers and a broker restart: what Mosquitto 2.0 drops, and the cure.

Mosquitto 2.0 does not save shared subscriptions in its store (it saves a
session's ordinary ones), so after a restart the workers' sessions come back
without them and the broker drops every message published until a worker
subscribes again, answering an MQTT 5 publisher 0x10 ("no matching
subscribers"). Ingest subscribes again on every connection, and a publisher
that sends a 0x10 message again loses nothing (docs/operations.md).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from signalight.adapters.sql.database import SqlDatabase
from tests.conftest import make_city
from tests.integration.broker import Broker, Client
from tests.integration.chaos_rig import NO_SUBSCRIBERS, SteadyLoad, wait_stored
from tests.integration.ingest_rig import (
    PASSWORDS,
    PUBLISHER,
    IngestProcess,
    add_fleet,
    messages,
    start_broker,
)

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]

GROUP = "ingest-test"
START = time.time() - 86_400  # a day ago: inside the accepted past


@pytest.fixture
def db(tmp_path: Path) -> Iterator[SqlDatabase]:
    instance = SqlDatabase.connect(f"sqlite:///{tmp_path / 'ingest.db'}")
    instance.migrate()
    yield instance
    instance.close()


def _workers(tmp_path: Path, db: SqlDatabase, broker: Broker, count: int) -> list[IngestProcess]:
    url = db.engine.url.render_as_string(hide_password=False)
    env = {"SIGNALIGHT_MQTT_SHARE_GROUP": GROUP} if count > 1 else {}
    return [
        IngestProcess(tmp_path, url, broker.port, env=env, worker=n) for n in range(1, count + 1)
    ]


def _publish_once(port: int, topic: str, payload: bytes) -> int | None:
    client = Client(port, PUBLISHER, PASSWORDS[PUBLISHER])
    assert client.connect() == 0
    try:
        return client.publish(topic, payload)
    finally:
        client.disconnect()


@pytest.mark.parametrize(("workers", "after_restart"), [(2, NO_SUBSCRIBERS), (1, 0x00)])
def test_a_restarted_broker_keeps_ordinary_subscriptions_and_drops_shared_ones(
    tmp_path: Path, db: SqlDatabase, workers: int, after_restart: int
) -> None:
    """The known case reproduced: with the workers away, only an ordinary subscription queues."""
    group = GROUP if workers > 1 else None
    broker = start_broker(tmp_path / "broker", workers=workers, share_group=group)
    city = make_city(db)
    stream = messages(city, add_fleet(db, city, 10), 3, START)
    try:
        assert _publish_once(broker.port, *stream[0]) == 0x00  # the sessions' subscriptions
        broker.stop()  # a clean stop: the broker saves its sessions
        broker.start()
        # No worker is connected: an ordinary subscription queues the message in its
        # session; the shared ones are gone, and the message with them.
        assert _publish_once(broker.port, *stream[1]) == after_restart
    finally:
        broker.stop()


def test_shared_workers_lose_nothing_over_a_broker_restart_when_0x10_is_sent_again(
    tmp_path: Path, db: SqlDatabase
) -> None:
    """Workers running through the restart: they subscribe again, the publisher re-sends 0x10."""
    broker = start_broker(tmp_path / "broker", workers=2, share_group=GROUP)
    city = make_city(db)
    stream = messages(city, add_fleet(db, city, 200), 6000, START)
    workers = _workers(tmp_path, db, broker, 2)
    for worker in workers:
        worker.start()
    load = SteadyLoad(broker.port, stream, rate=1000.0)
    try:
        load.start()
        deadline = time.monotonic() + 30
        while load.accepted < 1500 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert load.pause()
        broker.stop()  # the workers hold messages they have not acknowledged yet
        broker.start()
        load.resume(broker.port)
        assert load.finish(timeout=120)
        counted = wait_stored(db, city, load.accepted, timeout=60)
        assert (counted.published, counted.lost, counted.duplicated) == (6000, 0, 0)
        assert counted.rolled == counted.readings
        assert load.failed == {}
        assert all(worker.alive() for worker in workers)
    finally:
        load.close()
        for worker in workers:
            worker.stop()
        broker.stop()
