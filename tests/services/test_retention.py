"""The retention job: prunes on its own thread, and outlives a prune that fails."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from signalight.adapters.metrics import IngestMetrics
from signalight.adapters.sql.database import SqlDatabase
from signalight.domain.cities import City
from signalight.domain.telemetry import DeviceRef
from signalight.services.retention import RetentionJob, backoff_s
from tests.adapters.test_sql_telemetry import node, pack
from tests.conftest import make_city

DAY = 86_400.0
NOW = time.time()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[SqlDatabase]:
    """A database of its own: the test breaks a table, which no other test may see."""
    database = SqlDatabase.connect(f"sqlite:///{tmp_path / 'retention.db'}")
    database.migrate()
    yield database
    database.close()


def until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.01)


def stored_times(db: SqlDatabase, city: City, device: DeviceRef) -> set[float]:
    rows = db.telemetry.readings(city.pk, device.id, NOW - 60 * DAY, NOW + DAY, None, 100)
    return {reading.time for reading in rows}


def sample(metrics: IngestMetrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def test_a_failed_prune_is_counted_and_the_job_goes_on_until_one_works(db: SqlDatabase) -> None:
    city = make_city(db)
    device = node(db, city)
    old, recent = NOW - 40 * DAY, NOW - DAY
    db.telemetry.write([pack(device, old, 10.0, 1.0), pack(device, recent, 20.0, 2.0)], [])
    # A real failure: the table a prune deletes from is not there (as after a bad restore).
    with db.engine.begin() as conn:
        conn.execute(text("ALTER TABLE dead_letters RENAME TO dead_letters_away"))
    metrics = IngestMetrics()
    job = RetentionJob(db.telemetry, 30, every_s=3600.0, retry_s=0.01, observer=metrics)
    job.start()
    try:
        until(lambda: job.failures >= 3)  # tried again, and again
        assert job.running
        assert job.prunes == 0
        assert sample(metrics, "signalight_retention_prunes_total", outcome="failed") >= 3
        assert stored_times(db, city, device) == {old, recent}  # the failed prune rolled back
        with db.engine.begin() as conn:
            conn.execute(text("ALTER TABLE dead_letters_away RENAME TO dead_letters"))
        until(lambda: job.prunes == 1)
        assert job.failing == 0
        assert job.running  # and now waits its hour
    finally:
        job.stop()
    assert not job.running
    assert stored_times(db, city, device) == {recent}
    assert sample(metrics, "signalight_retention_prunes_total", outcome="ok") == 1
    assert sample(metrics, "signalight_retention_deleted_readings_total") == 4
    assert sample(metrics, "signalight_retention_last_success_timestamp_seconds") >= NOW


def test_retention_off_starts_no_thread_and_deletes_nothing(db: SqlDatabase) -> None:
    city = make_city(db)
    device = node(db, city)
    db.telemetry.write([pack(device, NOW - 400 * DAY, 10.0, 1.0)], [])
    job = RetentionJob(db.telemetry, 0)
    job.start()
    assert not job.running
    job.stop()
    assert stored_times(db, city, device) == set()  # older than the query's window
    rows = db.telemetry.readings(city.pk, device.id, NOW - 401 * DAY, NOW, None, 10)
    assert len(rows) == 4


def test_a_stopped_job_starts_again(db: SqlDatabase) -> None:
    job = RetentionJob(db.telemetry, 30)
    for expected in (1, 2):
        job.start()
        job.start()  # already running: no second thread
        until(lambda: job.prunes == expected)  # noqa: B023 - used before the loop moves on
        job.stop()
        assert not job.running


@pytest.mark.parametrize(
    ("failures", "ceiling"), [(1, 60.0), (2, 120.0), (3, 240.0), (6, 1920.0), (7, 3600.0)]
)
def test_retries_back_off_doubling_up_to_the_interval(failures: int, ceiling: float) -> None:
    for _ in range(50):
        assert ceiling / 2 <= backoff_s(failures, 60.0, 3600.0) <= ceiling
    assert backoff_s(10_000, 60.0, 3600.0) <= 3600.0
