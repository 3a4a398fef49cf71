"""End to end through a real Mosquitto: nothing accepted is lost, nothing is stored twice.

`signalight ingest` runs as a process, as in production, and is killed,
its broker restarted and its database crashed while messages flow.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from sqlalchemy import text

from signalight.adapters.sql.database import SqlDatabase
from signalight.codecs.senml import encode_pack
from signalight.domain.alarms import AlarmQuery, AlarmType
from signalight.domain.assets import AssetKind, AssetRecord, LuminaireType
from signalight.domain.readings import Reading, RejectReason
from signalight.domain.topics import INGEST_USER, Channel, device_topic, ingest_username
from tests.conftest import make_city
from tests.integration.broker import Broker, free_port
from tests.integration.ingest_rig import (
    READINGS_PER_MESSAGE,
    IngestProcess,
    PrivatePostgres,
    Publisher,
    add_fleet,
    messages,
    prime_session,
    start_broker,
    stored,
    wait_for,
)

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]

DEVICES = 2000
START = time.time() - 86_400  # a day ago: inside the accepted past


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    instance = start_broker(tmp_path / "broker")
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[SqlDatabase]:
    db = SqlDatabase.connect(f"sqlite:///{tmp_path / 'ingest.db'}")
    db.migrate()
    yield db
    db.close()


def _ingest(tmp_path: Path, db: SqlDatabase, broker: Broker, **env: str) -> IngestProcess:
    url = db.engine.url.render_as_string(hide_password=False)
    process = IngestProcess(tmp_path, url, broker.port, env=env)
    process.start()
    return process


def test_bad_messages_are_dead_letters_and_the_good_around_them_are_all_stored(
    tmp_path: Path, broker: Broker, sqlite_db: SqlDatabase
) -> None:
    city = make_city(sqlite_db)
    uids = add_fleet(sqlite_db, city, 3)
    ingest = _ingest(tmp_path, sqlite_db, broker, SIGNALIGHT_INGEST_MAX_BYTES="1024")
    publisher = Publisher(broker.port)
    try:
        good = messages(city, uids, 30, START)
        now = time.time()
        bad = [
            (good[0][0], b'[{"bn": "N-00000/", "n": "power", "v": 7'),  # malformed JSON
            (good[0][0], orjson.dumps([{"bn": "N-00000/", "n": "power", "v": 7, "u": "V"}])),
            (good[0][0], orjson.dumps([{"bn": "N-00001/", "n": "power", "v": 7}])),  # another's bn
            (good[0][0], b"[" + b" " * 2000 + b"]"),  # over the 1,024-byte ingest limit
            (device_topic(city.slug, "N-99999", Channel.UP), good[0][1]),  # unknown device
            (
                good[1][0],
                orjson.dumps([{"bn": "N-00001/", "bt": now + 86_400, "n": "dim", "v": 5}]),
            ),
        ]
        stream = []
        for n, message in enumerate(good):
            stream.append(message)
            if n % 5 == 4 and bad:
                stream.append(bad.pop(0))
        assert bad == []
        publisher.publish(stream)
        wait_for(sqlite_db, city, 30 * READINGS_PER_MESSAGE, ingest, timeout=30)
        time.sleep(0.5)  # dead letters are in the same batches; give the last one a moment
        assert ingest.alive()
        counts = sqlite_db.telemetry.dead_letter_counts(city.pk)
        assert counts == {
            RejectReason.MALFORMED: 1,
            RejectReason.WRONG_UNIT: 1,
            RejectReason.FOREIGN_BASE_NAME: 1,
            RejectReason.TOO_LARGE: 1,
            RejectReason.BAD_TIME: 1,
        }
        unknown = [
            letter
            for letter in sqlite_db.telemetry.dead_letters(None, 100)
            if letter.reason is RejectReason.UNKNOWN_DEVICE
        ]
        assert [letter.device_uid for letter in unknown] == ["N-99999"]
        assert stored(sqlite_db, city) == (150, 150)
    finally:
        publisher.close()
        ingest.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(
    request: pytest.FixtureRequest, sqlite_db: SqlDatabase, database: SqlDatabase
) -> SqlDatabase:
    """The SQLite file of this test, or the suite's PostgreSQL database."""
    if request.param != database.engine.dialect.name:
        pytest.skip("runs once per backend")
    return sqlite_db if request.param == "sqlite" else database


def test_sigkill_mid_run_loses_nothing_and_stores_each_message_once(
    tmp_path: Path, broker: Broker, store: SqlDatabase
) -> None:
    total = 200_000
    city = make_city(store)
    uids = add_fleet(store, city, DEVICES)
    stream = messages(city, uids, total, START)
    ingest = _ingest(tmp_path, store, broker)
    publisher = Publisher(broker.port)
    try:
        publisher.publish(stream[: total // 2])
        # Kill it while it is busy storing: some batches are in flight, unacknowledged.
        wait_for(store, city, total // 4 * READINGS_PER_MESSAGE, ingest, timeout=120)
        ingest.kill()
        before_restart = stored(store, city)[0]
        assert before_restart < total * READINGS_PER_MESSAGE
        publisher.publish(stream[total // 2 :])
        ingest.start()
        wait_for(store, city, total * READINGS_PER_MESSAGE, ingest, timeout=300)
        time.sleep(1.0)  # anything stored twice would show now
        assert stored(store, city) == (total * READINGS_PER_MESSAGE, total * READINGS_PER_MESSAGE)
        postgres = store.engine.dialect.name == "postgresql"
        energy = "data ->> 'energy'" if postgres else "json_extract(data, '$.energy')"
        with store.engine.connect() as conn:
            energies = conn.execute(
                text(
                    f"SELECT count(DISTINCT {energy}) FROM reports WHERE city_id = :c"  # noqa: S608
                ),
                {"c": city.pk},
            ).scalar_one()
        assert energies == total  # every message, by its unique counter value
    finally:
        publisher.close()
        ingest.stop()


def test_a_broker_restart_mid_run_loses_nothing(
    tmp_path: Path, broker: Broker, sqlite_db: SqlDatabase
) -> None:
    total = 40_000
    city = make_city(sqlite_db)
    uids = add_fleet(sqlite_db, city, DEVICES)
    stream = messages(city, uids, total, START)
    ingest = _ingest(tmp_path, sqlite_db, broker)
    publisher = Publisher(broker.port)
    publisher.publish(stream[: total // 2])
    publisher.close()
    broker.stop()  # ingest is mid-run: what it had not acknowledged stays with the broker
    time.sleep(1.0)
    broker.start()
    publisher = Publisher(broker.port)
    try:
        publisher.publish(stream[total // 2 :])
        wait_for(sqlite_db, city, total * READINGS_PER_MESSAGE, ingest, timeout=120)
        assert ingest.alive()
        assert stored(sqlite_db, city) == (total * READINGS_PER_MESSAGE,) * 2
    finally:
        publisher.close()
        ingest.stop()


def test_a_postgresql_crash_mid_run_loses_nothing(tmp_path: Path, broker: Broker) -> None:
    server = PrivatePostgres()
    server.start()
    db = SqlDatabase.connect(server.url)
    try:
        db.migrate()
        total = 40_000
        city = make_city(db)
        uids = add_fleet(db, city, DEVICES)
        stream = messages(city, uids, total, START)
        ingest = _ingest(tmp_path, db, broker)
        publisher = Publisher(broker.port)
        try:
            publisher.publish(stream[: total // 2])
            wait_for(db, city, total // 8 * READINGS_PER_MESSAGE, ingest, timeout=60)
            server.stop("immediate")  # a crash: connections cut mid-transaction
            time.sleep(3.0)  # ingest keeps receiving, cannot store, acknowledges nothing
            assert ingest.alive()
            server.start()
            publisher.publish(stream[total // 2 :])
            wait_for(db, city, total * READINGS_PER_MESSAGE, ingest, timeout=180)
            assert stored(db, city) == (total * READINGS_PER_MESSAGE,) * 2
        finally:
            publisher.close()
            ingest.stop()
    finally:
        db.close()
        server.stop()
        server.remove()


def test_the_city_of_a_message_is_its_topics(
    tmp_path: Path, broker: Broker, sqlite_db: SqlDatabase
) -> None:
    """The same device id in two cities: each message lands in its own topic's city."""
    ipoh, kl = make_city(sqlite_db), make_city(sqlite_db)
    add_fleet(sqlite_db, ipoh, 1)
    add_fleet(sqlite_db, kl, 1)
    ingest = _ingest(tmp_path, sqlite_db, broker)
    publisher = Publisher(broker.port)
    try:
        publisher.publish(messages(ipoh, ["N-00000"], 3, START))
        publisher.publish(messages(kl, ["N-00000"], 1, START))
        wait_for(sqlite_db, ipoh, 15, ingest, timeout=30)
        wait_for(sqlite_db, kl, 5, ingest, timeout=30)
        assert stored(sqlite_db, ipoh)[0] == 15
        assert stored(sqlite_db, kl)[0] == 5
    finally:
        publisher.close()
        ingest.stop()


def test_two_workers_share_the_load_and_store_each_message_once(
    tmp_path: Path, sqlite_db: SqlDatabase
) -> None:
    group = "ingest-test"
    broker = start_broker(tmp_path / "broker2", workers=2, share_group=group)
    total = 20_000
    city = make_city(sqlite_db)
    uids = add_fleet(sqlite_db, city, DEVICES)
    url = sqlite_db.engine.url.render_as_string(hide_password=False)
    env = {"SIGNALIGHT_MQTT_SHARE_GROUP": group}
    workers = [
        IngestProcess(tmp_path, url, broker.port, env=env, worker=n, metrics_port=free_port())
        for n in (1, 2)
    ]
    publisher = Publisher(broker.port)
    try:
        for worker in workers:
            worker.start()
        publisher.publish(messages(city, uids, total, START))
        wait_for(sqlite_db, city, total * READINGS_PER_MESSAGE, workers[0], timeout=120)
        time.sleep(0.5)
        assert stored(sqlite_db, city) == (total * READINGS_PER_MESSAGE,) * 2
        assert all(worker.alive() for worker in workers)
        # Both took a share, and neither pushed the other off.
        shares = [worker.received() for worker in workers]
        assert sum(shares) >= total
        assert min(shares) >= 0.2 * total, shares
        assert "lost the MQTT broker" not in workers[0].log.read_text()
        assert "lost the MQTT broker" not in workers[1].log.read_text()
    finally:
        publisher.close()
        for worker in workers:
            worker.stop()
        broker.stop()


def night_longitude(at: float) -> float:
    """A longitude where ``at`` falls near local solar midnight."""
    hours = (at % 86_400.0) / 3600.0
    return (-15.0 * hours + 180.0) % 360.0 - 180.0


def test_beside_shared_workers_detect_judges_every_message_once(
    tmp_path: Path, sqlite_db: SqlDatabase
) -> None:
    """Two workers share the topics and judge nothing; `signalight detect` reads them all."""
    group = "ingest-test"
    broker = start_broker(tmp_path / "broker3", workers=3, share_group=group, primed=2)
    prime_session(broker.port, None, ingest_username(INGEST_USER, 3))  # its own, not shared
    city = make_city(sqlite_db)
    uids = [f"L-{n}" for n in range(6)]
    start = time.time() - 600
    # Lights where it is night at the reports' times, undimmed: only L-0's lamp is a
    # fault, whatever the hour the test runs at (no day burning, no dimming schedule).
    sqlite_db.alarms.set_detection_overrides(city.pk, {"night_dim": 100}, start)
    sqlite_db.assets.upsert_assets(
        city.pk,
        [
            AssetRecord(
                kind=AssetKind.STREETLIGHT,
                code=f"SL-{uid}",
                lat=5.38,
                lon=night_longitude(start),
                device=uid,
                luminaire=LuminaireType.LED,
                rated_watts=100.0,
            )
            for uid in uids
        ],
    )
    url = sqlite_db.engine.url.render_as_string(hide_password=False)
    env = {"SIGNALIGHT_MQTT_SHARE_GROUP": group}
    workers = [
        IngestProcess(tmp_path, url, broker.port, env=env, worker=n, metrics_port=free_port())
        for n in (1, 2)
    ]
    judge = IngestProcess(tmp_path, url, broker.port, worker=3, command="detect")
    publisher = Publisher(broker.port)
    packs = []
    for round_ in range(4):
        at = start + 60 * round_
        for n, uid in enumerate(uids):
            power = 1.0 if n == 0 else 99.0  # L-0's lamp is out
            readings = [
                Reading(at, "on", bool_value=True),
                Reading(at, "dim", 100.0),
                Reading(at, "power", power),
            ]
            packs.append((device_topic(city.slug, uid, Channel.UP), encode_pack(uid, readings, at)))
    try:
        for process in (*workers, judge):
            process.start()
        publisher.publish(packs)
        wait_for(sqlite_db, city, len(packs) * 3, workers[0], timeout=60)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = sqlite_db.alarms.query_alarms(city.pk, AlarmQuery()).items
            if found:
                break
            time.sleep(0.2)
        time.sleep(1.5)  # a second judge (a worker that should not judge) would show by now
        found = sqlite_db.alarms.query_alarms(city.pk, AlarmQuery()).items
        assert [(a.type, a.asset_code) for a in found] == [(AlarmType.LAMP_FAILURE, "SL-L-0")]
        assert "fault detection is off in shared-subscription workers" in (
            workers[0].log.read_text()
        )
        assert judge.alive()
    finally:
        publisher.close()
        for process in (*workers, judge):
            process.stop()
        broker.stop()
