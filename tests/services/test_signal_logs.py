"""Controller logs imported: every real sample stored once, in the city's time, with the live feed.

The samples are the real logs of ``../shared/atspm_samples`` (read from
there, not copied); each runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import threading
import zlib
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from signalight.adapters.sql.database import SqlDatabase
from signalight.codecs.signal_logs import decode_log
from signalight.container import Container
from signalight.domain.assets import AssetKind, AssetRecord
from signalight.domain.cities import City
from signalight.domain.readings import Reading
from signalight.domain.signals import LogStatus
from signalight.domain.telemetry import Accepted
from signalight.domain.users import Role
from signalight.services.signal_drop import DropDirectory
from signalight.services.signal_logs import SignalLogs, to_utc
from tests.conftest import bearer, make_city, make_token

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "atspm_samples"
UDOT = SAMPLES / "udot-atspm"
DAT = UDOT / "ECON_10.205.17.215_2024_02_21_1115.dat"
DATZ = UDOT / "1210_ECON_10.204.7.239_2021_08_09_1841.datZ"
PARQUET = SAMPLES / "shawnstrasser-atspm" / "hires_test_data.parquet"

pytestmark = pytest.mark.skipif(not UDOT.is_dir(), reason=f"the ATSPM samples are not at {UDOT}")


def intersections(db: SqlDatabase, city: City, **controllers: str) -> None:
    """Intersections by code, each with the controller id its logs carry."""
    db.assets.upsert_assets(
        city.pk,
        [
            AssetRecord(
                kind=AssetKind.INTERSECTION,
                code=code,
                lat=40.7 + n / 100,
                lon=-111.9,
                controller_id=controller,
                device=f"MON-{code}",
            )
            for n, (code, controller) in enumerate(controllers.items())
        ],
    )


@pytest.fixture
def denver(database: SqlDatabase) -> City:
    return make_city(database, timezone="America/Denver", country="US", lat=40.76, lon=-111.89)


@pytest.fixture
def logs(database: SqlDatabase) -> SignalLogs:
    return SignalLogs(database.signal_events, database.signal_logs, max_bytes=64 * 1024 * 1024)


def stored(db: SqlDatabase, city: City, code: str) -> list[tuple[float, int, int]]:
    (asset_id,) = db.signal_logs.controllers(city.pk, {code}).get(code, (None, ""))[:1]
    assert asset_id is not None
    found = db.signal_events.events(city.pk, asset_id, 0, 4e9, limit=10**6)
    return [(e.time, e.code, e.param) for e in found]


def test_real_logs_are_stored_once_in_the_city_time_and_again_add_nothing(
    database: SqlDatabase, denver: City, logs: SignalLogs
) -> None:
    intersections(database, denver, **{"INT-215": "10.205.17.215", "INT-239": "10.204.7.239"})
    first = logs.take_path(denver, DAT)
    assert (first.status, first.events, first.new, first.intersections) == (
        LogStatus.STORED,
        1168,
        1168,
        ("INT-215",),
    )
    events = stored(database, denver, "INT-215")
    assert len(events) == 1168
    # The header says 2-21-2024 11:15 on the controller's clock: Denver, 7 hours behind UTC.
    start = datetime(2024, 2, 21, 11, 15, tzinfo=ZoneInfo("America/Denver")).timestamp()
    assert start <= events[0][0] < start + 60
    # The derived CSV (decoded independently from the published format) agrees, row by row.
    derived = SAMPLES / "derived" / "ECON_10.205.17.215_2024_02_21_1115_decoded.csv"
    with derived.open(newline="") as file:
        rows = list(csv.DictReader(file))
    zone = ZoneInfo("America/Denver")
    want = sorted(
        (
            round(datetime.fromisoformat(r["timestamp"]).replace(tzinfo=zone).timestamp(), 3),
            int(r["event_code"]),
            int(r["event_param"]),
        )
        for r in rows
    )
    assert events == want
    again = logs.take_path(denver, DAT)
    assert (again.status, again.new, again.duplicates) == (LogStatus.STORED, 0, 1168)
    assert len(stored(database, denver, "INT-215")) == 1168
    compressed = logs.take_path(denver, DATZ)
    assert (compressed.events, compressed.new) == (275, 275)


def test_a_log_imported_after_the_live_feed_adds_only_what_the_feed_missed(
    database: SqlDatabase, denver: City, logs: SignalLogs
) -> None:
    intersections(database, denver, **{"INT-215": "10.205.17.215"})
    decoded = decode_log(DAT.name, DAT.read_bytes())
    events = to_utc(decoded.signals["10.205.17.215"], ZoneInfo(denver.timezone))
    monitor = database.telemetry.find_device(denver.slug, "MON-INT-215")
    assert monitor is not None
    live = events[::3]  # the monitor reported a third of them before its link dropped
    readings = [Reading(t, "event", float(code), string_value=str(p)) for t, code, p in live]
    assert database.telemetry.write([Accepted(monitor, readings, live[-1][0])], []) == len(
        set(live)
    )
    outcome = logs.take_path(denver, DAT)
    assert outcome.new == len(set(events)) - len(set(live))
    assert len(stored(database, denver, "INT-215")) == len(set(events))


def test_a_log_of_several_controllers_stores_those_the_city_knows(
    database: SqlDatabase, denver: City, logs: SignalLogs
) -> None:
    if not PARQUET.is_file():
        pytest.skip("no parquet sample")
    intersections(database, denver, **{"INT-227": "227", "INT-452": "452"})
    outcome = logs.take_path(denver, PARQUET)
    assert outcome.status is LogStatus.PARTIAL
    assert "'454'" in outcome.reason
    assert sorted(outcome.intersections) == ["INT-227", "INT-452"]
    stored_227 = stored(database, denver, "INT-227")
    decoded = decode_log(PARQUET.name, PARQUET.read_bytes())
    assert len(stored_227) == len(set(decoded.signals["227"]))  # exact copies kept once
    assert len(stored_227) < len(decoded.signals["227"])  # the sample holds copies
    # Detector faults (83, 87, 88) of 227, against the derived extract (each distinct once).
    with (SAMPLES / "derived" / "hires_test_data_detector_fault_events.csv").open() as file:
        rows = [r for r in csv.DictReader(file) if r["signal_id"] == "227"]
    distinct = {(r["timestamp"], r["event_code"], r["event_param"]) for r in rows}
    assert len(distinct) > 10
    assert sum(1 for _, code, _ in stored_227 if code in {83, 87, 88}) == len(distinct)


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        (
            "ECON_10.205.17.215_2024_02_21_1115.dat",
            DAT.read_bytes()[:-2] if DAT.exists() else b"",
            "truncated",
        ),
        ("x.datZ", zlib.compress(b"not a log")[:-4] + b"\x00\x01", ""),
        ("x.xml", b"<html><body>no events</body></html>", ""),
        ("x.csv", b"a,b\n1,2\n", ""),
        ("x.dat", b"", ""),
    ],
)
def test_bad_files_are_refused_with_their_reason_and_recorded(
    database: SqlDatabase, denver: City, logs: SignalLogs, name: str, data: bytes, reason: str
) -> None:
    intersections(database, denver, **{"INT-215": "10.205.17.215"})
    outcome = logs.take(denver, name, data)
    assert outcome.status is LogStatus.REFUSED
    assert name in outcome.reason
    assert reason in outcome.reason
    assert outcome.new == 0
    kept = database.signal_logs.files(denver.pk, status=LogStatus.REFUSED)
    assert [f.reason for f in kept][:1] == [outcome.reason]
    assert stored(database, denver, "INT-215") == []


def test_a_file_over_the_limit_is_refused_unread_and_an_unknown_controller_named(
    database: SqlDatabase, denver: City, logs: SignalLogs, tmp_path: Path
) -> None:
    small = SignalLogs(database.signal_events, database.signal_logs, max_bytes=4096)
    huge = tmp_path / "ECON_10.205.17.215_2024_02_21_1115.dat"
    with huge.open("wb") as file:  # 2 GB on disk, nothing written: a sparse file
        file.truncate(2 * 1024**3)
    outcome = small.take_path(denver, huge)
    assert outcome.status is LogStatus.REFUSED
    assert "2,147,483,648 bytes, over the limit of 4,096" in outcome.reason
    unknown = logs.take_path(denver, DAT)  # the city has no intersection 10.205.17.215
    assert unknown.status is LogStatus.REFUSED
    assert "no intersection of the city has controller id or code '10.205.17.215'" in (
        unknown.reason
    )


def test_local_times_cross_daylight_saving_changes_in_the_city_zone() -> None:
    zone = ZoneInfo("America/Denver")
    # 2024-03-10 01:59:59 MST, then the clock jumps to 03:00 MDT.
    before = datetime(2024, 3, 10, 1, 59, 59, tzinfo=UTC).timestamp()
    after = datetime(2024, 3, 10, 3, 0, 0, tzinfo=UTC).timestamp()
    (b, _, _), (a, _, _) = to_utc([(before, 1, 2), (after, 1, 2)], zone)
    assert a - b == 1.0  # one second apart in reality
    assert datetime.fromtimestamp(b, UTC) == datetime(2024, 3, 10, 8, 59, 59, tzinfo=UTC)


def test_the_drop_directory_takes_whole_files_and_puts_refused_ones_aside(
    database: SqlDatabase, denver: City, logs: SignalLogs, tmp_path: Path
) -> None:
    intersections(database, denver, **{"INT-215": "10.205.17.215"})
    drop = tmp_path / "drop"
    folder = drop / denver.slug
    folder.mkdir(parents=True)
    (folder / DAT.name).write_bytes(DAT.read_bytes())
    (folder / "broken.datZ").write_bytes(b"\x78\x9c garbage")
    (folder / "coming.dat.part").write_bytes(b"half")
    watcher = DropDirectory(logs, drop, database.cities.get_city)
    assert watcher.look() == 0  # first look: not yet known to be whole
    assert watcher.look() == 2
    assert (folder / "done" / DAT.name).is_file()
    assert (folder / "refused" / "broken.datZ").is_file()
    reason = (folder / "refused" / "broken.datZ.reason.txt").read_text()
    assert "broken.datZ" in reason
    assert (folder / "coming.dat.part").is_file()  # still being written: left alone
    assert len(stored(database, denver, "INT-215")) == 1168
    # It runs on after a bad file, in its own thread, until told to stop.
    (folder / "again.dat").write_bytes(b"\x00" * 3)
    stop = threading.Event()
    runner = threading.Thread(target=watcher.run, args=(stop, 0.05))
    runner.start()
    try:
        for _ in range(200):
            if (folder / "refused" / "again.dat").exists():
                break
            stop.wait(0.05)
    finally:
        stop.set()
        runner.join(5)
    assert (folder / "refused" / "again.dat").exists()
    assert watcher.refused == 2


def test_the_api_lists_the_files_taken_refused_ones_with_their_reason_for_operators(
    client: TestClient, container: Container, denver: City, logs: SignalLogs
) -> None:
    intersections(container.db, denver, **{"INT-215": "10.205.17.215"})
    logs.take_path(denver, DAT)
    logs.take(denver, "broken.datZ", b"\x78\x9c garbage")
    url = f"/api/v1/cities/{denver.slug}/signals/logs"
    operator = bearer(make_token(container, denver, Role.OPERATOR))
    body = client.get(url, headers=operator).json()
    assert body["counts"] == {"stored": 1, "partial": 0, "refused": 1}
    assert [(f["name"], f["status"]) for f in body["items"]] == [
        ("broken.datZ", "refused"),
        (DAT.name, "stored"),
    ]
    assert body["items"][1]["new"] == 1168
    assert "broken.datZ" in body["items"][0]["reason"]
    refused = client.get(url, params={"status": "refused"}, headers=operator).json()
    assert [f["name"] for f in refused["items"]] == ["broken.datZ"]
    viewer = bearer(make_token(container, denver, Role.VIEWER))
    assert client.get(url, headers=viewer).status_code == 403
