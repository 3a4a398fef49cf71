"""One city's alarm that cannot be stored never holds back another city's, nor another alarm.

Two streets, in two cities, judged by one detector as ingest runs it. The
store refuses one alarm (its asset was deleted under the detector, as the
old asset deletion did); every other alarm of both cities is stored, and the
refused one is kept as a dead letter with its reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete

from signalight.adapters.sql.database import SqlDatabase
from signalight.adapters.sql.tables import assets
from signalight.domain.alarms import AlarmType
from signalight.domain.readings import RejectReason
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
