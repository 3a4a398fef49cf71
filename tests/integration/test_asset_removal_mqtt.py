"""The reproduction of issue 17's High finding, end to end: removing a live asset stops no city.

A device with a last will reports; its city's admin deletes its asset over
the API; the device drops and its will says offline. `signalight ingest`
goes on storing and judging, and another city's leaning pole is raised as
before. (Before the fix, the will's alarm broke a foreign key about 120 s
later and no city's alarm was stored from then on.)
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from signalight.adapters.sql.database import SqlDatabase
from signalight.api.app import create_app
from signalight.codecs.senml import encode_pack
from signalight.container import Container
from signalight.domain.alarms import AlarmQuery, AlarmState, AlarmType
from signalight.domain.assets import AssetQuery, AssetStatus
from signalight.domain.cities import City
from signalight.domain.readings import Reading
from signalight.domain.topics import Channel, device_topic
from signalight.settings import Settings
from tests.conftest import bearer, make_city, make_token
from tests.integration.broker import Client
from tests.integration.ingest_rig import (
    PASSWORDS,
    PUBLISHER,
    IngestProcess,
    add_fleet,
    start_broker,
)

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]

HOLD_S = 1.0  # city A's last wills count at once: the failure came after the hold


@pytest.fixture
def db(tmp_path: Path) -> Iterator[SqlDatabase]:
    database = SqlDatabase.connect(f"sqlite:///{tmp_path / 'cities.db'}")
    database.migrate()
    yield database
    database.close()


def pack(city: City, uid: str, tilt: float) -> tuple[str, bytes]:
    at = time.time()
    # Switched off (judged the same by day and by night), leaning by ``tilt`` degrees.
    readings = [
        Reading(at, "on", bool_value=False),
        Reading(at, "voltage", 230.0),
        Reading(at, "tilt", tilt),
    ]
    return device_topic(city.slug, uid, Channel.UP), encode_pack(uid, readings, at)


def alarms_of(db: SqlDatabase, city: City) -> list[tuple[str, str | None, str]]:
    query = AlarmQuery(states=frozenset(AlarmState), include_held=True, limit=100)
    found = db.alarms.query_alarms(city.pk, query).items
    return sorted((str(a.type), a.asset_code, str(a.state)) for a in found)


def wait_until(check: object, what: str, ingest: IngestProcess, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.2)
    pytest.fail(f"{what}; ingest log:\n{ingest.log.read_text()[-3000:]}")


def test_deleting_a_live_asset_stops_no_city_s_alarms(tmp_path: Path, db: SqlDatabase) -> None:
    broker = start_broker(tmp_path / "broker")
    a, b = make_city(db), make_city(db)
    [gone] = add_fleet(db, a, 1)
    [leaning] = add_fleet(db, b, 1)
    db.alarms.set_detection_overrides(a.pk, {"offline_hold_s": HOLD_S}, time.time())
    url = db.engine.url.render_as_string(hide_password=False)
    ingest = IngestProcess(tmp_path, url, broker.port)
    will = (device_topic(a.slug, gone, Channel.STATUS), b"offline")
    device = Client(broker.port, PUBLISHER, PASSWORDS[PUBLISHER], will=will)
    other = Client(broker.port, PUBLISHER, PASSWORDS[PUBLISHER])
    settings = Settings(data_dir=tmp_path / "api", database_url=url)
    container = Container(settings, db)
    try:
        ingest.start()
        assert device.connect() == 0
        assert other.connect() == 0
        device.publish(*pack(a, gone, 1.0))
        other.publish(*pack(b, leaning, 1.0))
        ref = db.telemetry.find_device(a.slug, gone)
        assert ref is not None
        wait_until(lambda: db.telemetry.device_state(a.pk, ref.id), "A's report stored", ingest)

        # The admin deletes the asset over the API; then the device drops.
        asset = db.assets.query_assets(a.pk, AssetQuery(code=f"SL-{gone}", limit=1)).items[0]
        admin = bearer(make_token(container, a))
        with TestClient(create_app(container)) as api:
            deleted = api.delete(f"/api/v1/cities/{a.slug}/assets/{asset.id}", headers=admin)
        assert deleted.status_code == 204
        device.disconnect(with_will=True)
        time.sleep(HOLD_S + 2.0)  # the will's hold passes, and the detector ticks past it

        # City B's pole leans: two reports, one alarm, stored as before.
        other.publish(*pack(b, leaning, 30.0))
        other.publish(*pack(b, leaning, 31.0))
        wait_until(
            lambda: (
                (str(AlarmType.ORIENTATION_CHANGED), f"SL-{leaning}", "raised") in alarms_of(db, b)
            ),
            "city B's leaning pole raised",
            ingest,
        )
        assert db.assets.get_asset(a.pk, asset.id).status is AssetStatus.REMOVED
        assert alarms_of(db, a) == []  # a device bound to nothing is not judged
        log = ingest.log.read_text()
        assert "fault detection step failed" not in log
        assert "not stored" not in log
        assert ingest.alive()
    finally:
        other.disconnect()
        ingest.stop()
        broker.stop()
