"""Controller logs decoded and stored: events/s through `signalight signals import`'s service.

Builds a day of logs for many intersections from the real samples in
``../shared/atspm_samples``: Econolite ``.dat`` files (the 1,168 records of
``ECON_10.205.17.215_2024_02_21_1115.dat`` under each intersection's own
IP address, one file a quarter-hour as controllers write them) and ATSPM
CSV exports (the 246,413 rows of the ODOT Parquet sample written out as
CSV). Each is taken by :class:`SignalLogs` into a fresh SQLite database
(the embedded default) and, when ``SIGNALIGHT_TEST_POSTGRES_URL`` answers,
PostgreSQL: decode, time zone, intersection lookup, insert-or-ignore of
each (intersection, time, code, param), the file's record.

Printed beside it, measured in the same run on the same machine: the raw
decode speed alone (``decode_log``), and the reference of a plain
``executemany`` INSERT of the same rows into a bare SQLite table with the
same key: what storing costs before Signalight adds anything.

The issue's floor: 200,000 events/s stored on SQLite, decode included.
Exits 1 below it.
"""

from __future__ import annotations

import csv
import io
import os
import platform
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pyarrow.parquet as pq

from signalight.adapters.sql.database import SqlDatabase
from signalight.codecs.signal_logs import decode_log
from signalight.domain.assets import AssetKind, AssetRecord
from signalight.domain.cities import City
from signalight.domain.signals import LogStatus
from signalight.services.signal_logs import SignalLogs

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "atspm_samples"
DAT = SAMPLES / "udot-atspm" / "ECON_10.205.17.215_2024_02_21_1115.dat"
PARQUET = SAMPLES / "shawnstrasser-atspm" / "hires_test_data.parquet"
FLOOR = 200_000  # events/s stored on SQLite, decode included (issue 13)
INTERSECTIONS = 100
QUARTERS = 4  # files an intersection: an hour of quarter-hour logs
POSTGRES = os.environ.get(
    "SIGNALIGHT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/signalight_bench"
)


def dat_files() -> list[tuple[str, bytes]]:
    """Quarter-hour .dat logs of many intersections: the sample's records, each its own IP."""
    data = DAT.read_bytes()
    header_end = 0
    for _ in range(7):
        header_end = data.index(b"\n", header_end) + 1
    header, records = data[:header_end], data[header_end:]
    files = []
    for n in range(INTERSECTIONS):
        ip = f"10.99.{n // 250}.{n % 250 + 1}"
        for quarter in range(QUARTERS):
            minute = 15 * quarter
            head = header.replace(b"10.205.17.215", ip.encode()).replace(
                b"11:15:", f"{11 + minute // 60}:{minute % 60:02d}:".encode()
            )
            files.append((f"ECON_{ip}_2024_02_21_{1100 + minute:04d}.dat", head + records))
    return files


def csv_file() -> tuple[str, bytes]:
    """The ODOT Parquet sample as an ATSPM CSV export with a header."""
    table = pq.read_table(PARQUET)
    rows = zip(
        table.column("DeviceId").to_pylist(),
        table.column("TimeStamp").to_pylist(),
        table.column("EventId").to_pylist(),
        table.column("Parameter").to_pylist(),
        strict=True,
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["SignalId", "Timestamp", "EventCode", "EventParam"])
    for device, stamp, code, param in rows:
        if stamp is not None:  # the sample has none missing; a row without a time is no event
            writer.writerow([device, stamp.strftime("%m/%d/%Y %H:%M:%S.%f")[:-5], code, param])
    return "hires_test_data.csv", out.getvalue().encode()


def city_with(db: SqlDatabase, controllers: list[str]) -> City:
    city = db.cities.add_city(
        City(
            slug=f"bench-{time.time_ns()}",
            name="Bench",
            country="US",
            timezone="America/Denver",
            lat=40.76,
            lon=-111.89,
            currency="USD",
        )
    )
    db.assets.upsert_assets(
        city.pk,
        [
            AssetRecord(
                kind=AssetKind.INTERSECTION,
                code=f"INT-{n:04d}",
                lat=40.7 + n / 10_000,
                lon=-111.9,
                controller_id=controller,
            )
            for n, controller in enumerate(controllers)
        ],
    )
    return city


def store_rate(db: SqlDatabase, files: list[tuple[str, bytes]], controllers: list[str]) -> float:
    """Events/s of taking ``files`` into a fresh city of ``db``, wall time."""
    city = city_with(db, controllers)
    logs = SignalLogs(db.signal_events, db.signal_logs, max_bytes=1 << 30)
    events = 0
    started = time.perf_counter()
    for name, data in files:
        outcome = logs.take(city, name, data)
        if outcome.status is LogStatus.REFUSED:
            raise RuntimeError(f"{name}: {outcome.reason}")
        events += outcome.events
    return events / (time.perf_counter() - started)


def decode_rate(files: list[tuple[str, bytes]]) -> float:
    started = time.perf_counter()
    events = sum(decode_log(name, data).count for name, data in files)
    return events / (time.perf_counter() - started)


def reference_rate(files: list[tuple[str, bytes]], path: Path) -> float:
    """A bare executemany INSERT of the decoded rows into a table with the same key."""
    rows = []
    for n, (name, data) in enumerate(files):
        for events in decode_log(name, data).signals.values():
            rows += [(n, t, code, param, 1) for t, code, param in events]
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE e (a INTEGER, t FLOAT, c INTEGER, p INTEGER, city INTEGER,"
        " PRIMARY KEY (a, t, c, p)) WITHOUT ROWID"
    )
    started = time.perf_counter()
    conn.executemany("INSERT OR IGNORE INTO e VALUES (?, ?, ?, ?, ?)", rows)
    conn.commit()
    elapsed = time.perf_counter() - started
    conn.close()
    return len(rows) / elapsed


def postgres() -> SqlDatabase | None:
    base, _, name = POSTGRES.rpartition("/")
    try:
        with psycopg.connect(f"{base}/postgres", autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError:
        return None
    db = SqlDatabase.connect(POSTGRES)
    db.migrate()
    return db


def line(label: str, value: float, unit: str = "events/s") -> None:
    print(f"  {label:<52} {value:>12,.0f} {unit}")


def main() -> int:
    if not DAT.is_file() or not PARQUET.is_file():
        print(f"the ATSPM samples are not at {SAMPLES}")
        return 2
    print(
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {platform.machine()}"
    )
    dats = dat_files()
    dat_ips = [name.split("_")[1] for name, _ in dats[::QUARTERS]]
    csv_name, csv_data = csv_file()
    csv_files = [(csv_name, csv_data)]
    csv_ids = [str(d) for d in decode_log(csv_name, csv_data).signals]
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for label, files, controllers in (
            (f".dat, {len(dats)} files of 1,168 events", dats, dat_ips),
            (f"ATSPM CSV, {len(csv_data) / 1e6:.1f} MB", csv_files, csv_ids),
        ):
            print(label)
            line("decode alone (decode_log)", decode_rate(files))
            line(
                "reference: bare SQLite executemany, same rows",
                reference_rate(files, Path(tmp) / f"ref-{len(files)}.db"),
            )
            db = SqlDatabase.connect(f"sqlite:///{Path(tmp) / f'bench-{len(files)}.db'}")
            db.migrate()
            stored = store_rate(db, files, controllers)
            db.close()
            verdict = "PASS" if stored >= FLOOR else "BELOW"
            failed |= stored < FLOOR
            line(f"stored on SQLite, decode included [{verdict} >= {FLOOR:,}]", stored)
            pg = postgres()
            if pg is not None:
                line("stored on PostgreSQL, decode included", store_rate(pg, files, controllers))
                pg.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
