"""Migration 0005 on SQLite and PostgreSQL: readings become reports, and back again."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
from alembic import command
from sqlalchemy import Connection, Engine, text

from signalight.adapters.sql.engine import make_engine
from signalight.adapters.sql.migrate import alembic_config
from signalight.adapters.sql.report_values import decoded, encoded
from tests.conftest import POSTGRES_URL

DAY = 86_400.0
# 2001-09-09 01:46:40 UTC; the second day follows it, and a third day has no partition.
T0 = 1_000_000_000.0
T1 = T0 + DAY
T_DEFAULT = T0 + 5 * DAY

# A readings row: device id, time, name, city id, value, bool value, string value.
Row = tuple[int, float, str, int, float | None, bool | None, str | None]
READINGS: list[Row] = [
    (1, T0, "on", 10, None, True, None),
    (1, T0, "voltage", 10, 229.87, None, None),
    (1, T0, "power", 10, 0.1, None, None),
    (1, T0, "energy", 10, 123456.789, None, None),
    # Needs 17 significant digits: SQLite's own JSON functions write 0.3.
    (1, T0, "current", 10, 0.1 + 0.2, None, None),
    (1, T0 + 60, "on", 10, None, False, None),
    (1, T0 + 60, "voltage", 10, 230.0, None, None),
    (1, T0 + 60, "energy", 10, 123456.889, None, None),
    (1, T0 + 60, "firmware", 10, None, None, "2.4.1"),
    (2, T0, "event", 10, 17.0, None, "3"),
    (2, T0, "status", 10, None, None, "ok"),
    (2, T0, "note", 10, None, None, None),
    (2, T0, "mixed", 10, -1.5, False, 'x"y'),
    (2, T1, "power", 10, 1 / 3, None, None),
    (2, T1, "on", 10, None, True, None),
    (3, T_DEFAULT, "temperature", 20, -12.5, None, None),
    (3, T_DEFAULT, "energy", 20, 1e-7, None, None),
]


def _stamp(time: float) -> str:
    return datetime.fromtimestamp(time // DAY * DAY, UTC).strftime("%Y%m%d")


DAY_STAMPS = {_stamp(T0), _stamp(T1)}  # 20010909 and 20010910


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A database of its own on the test server, dropped afterwards."""
    base = POSTGRES_URL.rpartition("/")[0]
    name = f"signalight_migrate_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(f"{base}/postgres", autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at {base}: {exc}")
    yield f"{base}/{name}"
    with psycopg.connect(f"{base}/postgres", autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'migrate.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    yield engine
    engine.dispose()


def _postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def _partitions(conn: Connection, table: str) -> set[str]:
    found = conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = :table"
        ),
        {"table": table},
    ).scalars()
    return set(found)


def _placed(conn: Connection, table: str) -> set[tuple[str, int, float]]:
    """Which partition holds each device and time of ``table``."""
    query = f"SELECT tableoid::regclass::text, device_id, time FROM {table}"  # noqa: S608 - ours
    return {
        (partition, device_id, time) for partition, device_id, time in conn.execute(text(query))
    }


def _tables(conn: Connection) -> set[str]:
    if _postgres(conn):
        query = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
    else:
        query = "SELECT name FROM sqlite_master WHERE type = 'table'"
    return set(conn.execute(text(query)).scalars())


def _insert_readings(conn: Connection) -> None:
    if _postgres(conn):
        # As the telemetry store creates them; T_DEFAULT's day has none.
        for day in (T0 // DAY, T1 // DAY):
            conn.execute(
                text(
                    f"CREATE TABLE readings_{_stamp(day * DAY)} PARTITION OF readings"
                    f" FOR VALUES FROM ({day * DAY!r}) TO ({(day + 1) * DAY!r})"
                )
            )
    conn.execute(
        text(
            "INSERT INTO readings"
            " (device_id, time, name, city_id, value, bool_value, string_value)"
            " VALUES (:d, :t, :n, :c, :v, :b, :s)"
        ),
        [dict(zip("dtncvbs", row, strict=True)) for row in READINGS],
    )


def _readings(conn: Connection) -> list[Row]:
    rows = conn.execute(
        text("SELECT device_id, time, name, city_id, value, bool_value, string_value FROM readings")
    )
    # SQLite keeps booleans as 0 and 1.
    return [(d, t, n, c, v, None if b is None else bool(b), s) for d, t, n, c, v, b, s in rows]


def _typed(rows: Iterable[Row]) -> set[tuple[Any, ...]]:
    """The rows with their values' types, since True == 1 and 1.0 == 1 in a plain set."""
    return {(*row, *(type(field).__name__ for field in row[4:])) for row in rows}


def _strict(value: Any) -> Any:
    """A JSON value with booleans told apart from numbers (PostgreSQL writes 230.0 as 230)."""
    if isinstance(value, bool | str) or value is None:
        return (type(value).__name__, value)
    if isinstance(value, int | float):
        return ("number", float(value))
    if isinstance(value, list):
        return [_strict(item) for item in value]
    return {key: _strict(item) for key, item in value.items()}


def test_readings_become_reports_and_come_back(engine: Engine) -> None:
    config = alembic_config(engine)
    command.upgrade(config, "0004")
    with engine.begin() as conn:
        _insert_readings(conn)
        assert _typed(_readings(conn)) == _typed(READINGS)

    command.upgrade(config, "0005")

    with engine.connect() as conn:
        reports = conn.execute(
            text("SELECT device_id, time, city_id, size, data FROM reports")
        ).all()
        assert "readings" not in _tables(conn)
        if _postgres(conn):
            assert _partitions(conn, "reports") == {"reports_default"} | {
                f"reports_{stamp}" for stamp in DAY_STAMPS
            }
            assert _placed(conn, "reports") == {
                (f"reports_{_stamp(T0)}", 1, T0),
                (f"reports_{_stamp(T0)}", 1, T0 + 60),
                (f"reports_{_stamp(T0)}", 2, T0),
                (f"reports_{_stamp(T1)}", 2, T1),
                ("reports_default", 3, T_DEFAULT),
            }
            assert (
                conn.execute(
                    text(
                        "SELECT data_type FROM information_schema.columns"
                        " WHERE table_name = 'reports' AND column_name = 'data'"
                    )
                ).scalar_one()
                == "json"
            )
        else:
            schema = conn.execute(
                text("SELECT sql FROM sqlite_master WHERE name = 'reports'")
            ).scalar_one()
            assert "WITHOUT ROWID" in schema
            assert conn.execute(
                text(
                    "SELECT json_type(data, '$.on') FROM reports WHERE device_id = 1 ORDER BY time"
                )
            ).scalars().all() == ["true", "false"]

    expected: dict[tuple[int, float], list[Row]] = {}
    for row in READINGS:
        expected.setdefault((row[0], row[1]), []).append(row)
    assert len(reports) == len(expected) == 5
    restored: list[Row] = []
    for device_id, time, city_id, size, raw in reports:
        data = orjson.loads(raw) if isinstance(raw, str | bytes) else raw
        rows = expected[device_id, time]
        assert city_id == rows[0][3]
        assert size == len(rows)
        assert _strict(data) == _strict({row[2]: encoded(*row[4:]) for row in rows})
        restored.extend(
            (device_id, time, r.name, city_id, r.value, r.bool_value, r.string_value)
            for r in decoded(time, data)
        )
    assert _typed(restored) == _typed(READINGS)

    command.downgrade(config, "0004")

    with engine.connect() as conn:
        assert _typed(_readings(conn)) == _typed(READINGS)
        assert "reports" not in _tables(conn)
        if _postgres(conn):
            assert _partitions(conn, "readings") == {"readings_default"} | {
                f"readings_{stamp}" for stamp in DAY_STAMPS
            }
            assert _placed(conn, "readings") == {
                (
                    f"readings_{_stamp(row[1])}" if row[1] < T_DEFAULT else "readings_default",
                    *row[:2],
                )
                for row in READINGS
            }
