"""One city's alarm that cannot be stored never holds back another city's, nor another alarm.

Two streets, in two cities, judged by one detector as ingest runs it. The
store refuses one alarm (its asset was deleted under the detector, as the
old asset deletion did); every other alarm of both cities is stored, and the
refused one is kept as a dead letter with its reason.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import delete, update

from signalight.adapters.mosquitto import hash_password
from signalight.adapters.sql.database import SqlDatabase
from signalight.adapters.sql.inventory_changes import settle_inventory
from signalight.adapters.sql.tables import assets
from signalight.domain.alarms import Alarm, AlarmEvent, AlarmState, AlarmType, EventKind
from signalight.domain.assets import AssetStatus
from signalight.domain.errors import StorageUnavailableError
from signalight.domain.readings import RejectReason
from signalight.services.credentials import CredentialService
from tests.conftest import make_city
from tests.services.detection_rig import LAT, LON, Fleet, local

LAMP = AlarmType.LAMP_FAILURE


@pytest.fixture
def db(tmp_path: Path) -> Iterator[SqlDatabase]:
    """A migrated SQLite database of this test's own."""
    database = SqlDatabase.connect(f"sqlite:///{tmp_path / 'signalight.db'}")
    database.migrate()
    yield database
    database.close()


def two_cities(db: SqlDatabase) -> tuple[Fleet, Fleet]:
    """Two healthy streets at 22:00, both judged by the first street's detector."""
    a = Fleet(db, start=local(15, 21), city=make_city(db, lat=LAT, lon=LON))
    b = Fleet(db, start=local(15, 21), city=make_city(db, lat=LAT, lon=LON))
    b.detector = a.detector
    b.wall = a.wall
    for _ in range(12):
        step(a, b)
    return a, b


def step(a: Fleet, b: Fleet) -> None:
    """Both streets report once, in one batch, then the detector ticks and stores."""
    batch = a.batch() + b.batch()
    a.wall.now = max(a.wall.now, a.t)
    a.detector.observe(batch)
    a.detector.tick()
    a.detector.flush()


def test_an_alarm_the_store_refuses_is_a_dead_letter_and_every_other_alarm_is_stored(
    db: SqlDatabase,
) -> None:
    a, b = two_cities(db)
    # The asset of N1 goes from under the detector, which still knows it by its id.
    with db.engine.begin() as conn:
        conn.execute(delete(assets).where(assets.c.city_id == a.city.pk, assets.c.code == "SL-1"))
    a.nodes["N1"].power = 0.0
    a.nodes["N2"].power = 0.0
    b.nodes["N3"].power = 0.0
    step(a, b)  # a dead lamp is raised on its first report

    assert [x.asset_code for x in b.alarms(LAMP)] == ["SL-3"]
    assert [x.asset_code for x in a.alarms(LAMP)] == ["SL-2"]
    letters = db.telemetry.dead_letters(a.city.pk, 10)
    assert [(d.reason, d.topic) for d in letters] == [
        (RejectReason.ALARM_NOT_STORED, "alarms/lampFailure/SL-1")
    ]
    assert "FOREIGN KEY" in letters[0].message
    assert b'"kind":"raised"' in letters[0].payload
    assert a.detector.recorder.rejected == 1

    # Alarms keep flowing in both cities, and the refused one is not tried again.
    b.nodes["N4"].power = 0.0
    a.nodes["N5"].power = 0.0
    step(a, b)
    step(a, b)
    assert [x.asset_code for x in b.alarms(LAMP)] == ["SL-3", "SL-4"]
    assert [x.asset_code for x in a.alarms(LAMP)] == ["SL-2", "SL-5"]
    assert len(db.telemetry.dead_letters(a.city.pk, 10)) == 1
    assert db.telemetry.dead_letters(b.city.pk, 10) == []
    assert a.detector.recorder.waiting == 0


# What removing, retiring, unbinding and revoking do to a live device with open alarms.


def lamp_out(a: Fleet, b: Fleet) -> None:
    """N1 of city A fails and is raised; nothing is open in city B."""
    a.nodes["N1"].power = 0.0
    step(a, b)
    assert [(x.asset_code, x.state) for x in a.alarms(LAMP)] == [("SL-1", AlarmState.RAISED)]


def keeps_flowing(a: Fleet, b: Fleet, db: SqlDatabase) -> None:
    """City B's alarms are still raised and stored, and nothing went to the dead letters."""
    before = len(b.alarms(LAMP))
    b.nodes["N2"].power = 0.0
    step(a, b)
    step(a, b)
    assert len(b.alarms(LAMP)) == before + 1
    assert db.telemetry.dead_letter_counts(None).get(RejectReason.ALARM_NOT_STORED, 0) == 0
    assert a.detector.recorder.waiting == 0


def test_deleting_a_live_asset_retires_it_and_closes_its_alarms(db: SqlDatabase) -> None:
    a, b = two_cities(db)
    lamp_out(a, b)
    sl1 = db.assets.get_asset(a.city.pk, a.only(LAMP, "SL-1").asset_id or -1)
    assert db.assets.delete_asset(a.city.pk, sl1.id) is False  # retired, not deleted
    retired = db.assets.get_asset(a.city.pk, sl1.id)
    assert retired.status is AssetStatus.REMOVED
    assert db.assets.get_device(a.city.pk, "N1").asset_id is None
    closed = a.only(LAMP, "SL-1")
    assert (closed.state, closed.closed_by) == (AlarmState.CLOSED, "inventory")
    keeps_flowing(a, b, db)
    # The device goes on reporting a dead lamp, and goes silent: nothing more is raised on it.
    a.nodes["N1"].silent = True
    for _ in range(6):
        step(a, b)
    assert [x.state for x in a.alarms() if x.device_uid == "N1"] == [AlarmState.CLOSED]
    assert a.detector.refresh([a.city.pk]) == 0  # the detector already followed


def test_retiring_a_live_asset_by_status_closes_its_alarms(db: SqlDatabase) -> None:
    a, b = two_cities(db)
    lamp_out(a, b)
    a.set_status("SL-1", AssetStatus.OUT_OF_SERVICE)
    assert a.only(LAMP, "SL-1").state is AlarmState.CLOSED
    keeps_flowing(a, b, db)
    assert a.only(LAMP, "SL-1").state is AlarmState.CLOSED  # not raised again while out
    a.set_status("SL-1", AssetStatus.IN_SERVICE)
    step(a, b)  # the detector follows the change at its tick, within a second
    step(a, b)
    states = [x.state for x in a.alarms(LAMP, "SL-1")]
    assert states == [AlarmState.CLOSED, AlarmState.RAISED]  # back in service: judged anew


def test_unbinding_a_live_device_closes_its_alarms_and_the_new_device_is_judged(
    db: SqlDatabase,
) -> None:
    a, b = two_cities(db)
    lamp_out(a, b)
    # The crew fits a new node, N1B, to SL-1: N1 is unbound.
    record = replace(a.records["SL-1"], device="N1B")
    db.assets.upsert_assets(a.city.pk, [record])
    assert db.assets.get_device(a.city.pk, "N1").asset_id is None
    assert a.only(LAMP, "SL-1").state is AlarmState.CLOSED
    keeps_flowing(a, b, db)
    assert [x.state for x in a.alarms(LAMP, "SL-1")] == [AlarmState.CLOSED]


def test_revoking_a_live_device_stops_nothing_else(db: SqlDatabase) -> None:
    a, b = two_cities(db)
    lamp_out(a, b)
    credentials = CredentialService(db.assets, db.credentials, hash_password)
    credentials.issue(a.city, "N1")
    credentials.revoke(a.city, "N1")
    keeps_flowing(a, b, db)
    # Its lamp is still out in the street: the alarm stays until someone acts.
    assert a.only(LAMP, "SL-1").state is AlarmState.RAISED


def test_a_change_made_by_another_process_is_followed_at_the_next_tick(db: SqlDatabase) -> None:
    a, b = two_cities(db)
    lamp_out(a, b)
    # Another process (the API) retires SL-2, and the detector judges a report
    # of it before its tick has looked: at the tick it closes what it raised.
    with db.engine.begin() as conn:
        conn.execute(
            update(assets)
            .where(assets.c.city_id == a.city.pk, assets.c.code == "SL-2")
            .values(status=AssetStatus.REMOVED.value)
        )
        settle_inventory(conn, a.city.pk, a.wall.now)
    a.nodes["N2"].power = 0.0
    step(a, b)
    assert [x.state for x in a.alarms(LAMP, "SL-2")] == [AlarmState.CLOSED]
    step(a, b)
    assert [x.state for x in a.alarms(LAMP, "SL-2")] == [AlarmState.CLOSED]
    keeps_flowing(a, b, db)


def test_steps_kept_while_the_database_was_away_are_stored_with_no_new_step(
    db: SqlDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = two_cities(db)
    a.nodes["N1"].power = 0.0
    real = db.alarms.record

    def away(_changes: Sequence[tuple[Alarm, EventKind, float]]) -> list[AlarmEvent]:
        raise StorageUnavailableError("store alarms: database unavailable")

    monkeypatch.setattr(db.alarms, "record", away)
    with pytest.raises(StorageUnavailableError):
        step(a, b)
    assert a.detector.recorder.waiting == 1
    monkeypatch.setattr(db.alarms, "record", real)
    a.detector.flush()  # nothing new was decided: what waited is stored all the same
    assert a.detector.recorder.waiting == 0
    assert [x.asset_code for x in a.alarms(LAMP)] == ["SL-1"]
