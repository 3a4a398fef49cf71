"""Migration 0006 on SQLite: reports move to a rowid table with a unique index, and back."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic import command

from signalight.adapters.sql.engine import make_engine
from signalight.adapters.sql.migrate import alembic_config

ROWS = [
    (2, 1_000_000_060.0, 10, 2, '{"on":true,"power":0.30000000000000004}'),
    (1, 1_000_000_000.0, 10, 1, '{"voltage":229.87}'),
    (1, 1_000_000_060.0, 10, 3, '{"on":false,"event":[17.0,null,"3"],"firmware":"2.4.1"}'),
    (3, 999_999_940.0, 20, 1, '{"temperature":-12.5}'),
]


def _schema(path: Path) -> tuple[str, set[str]]:
    with sqlite3.connect(path) as conn:
        table = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'reports'").fetchone()[0]
        indexes = {
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'reports'"
            )
        }
    return table, indexes


def _rows(path: Path) -> set[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return set(conn.execute("SELECT device_id, time, city_id, size, data FROM reports"))


def test_reports_leave_the_clustered_table_and_come_back(tmp_path: Path) -> None:
    path = tmp_path / "migrate.db"
    engine = make_engine(f"sqlite:///{path}")
    config = alembic_config(engine)
    try:
        command.upgrade(config, "0005")
        with sqlite3.connect(path) as conn:
            conn.executemany("INSERT INTO reports VALUES (?, ?, ?, ?, ?)", ROWS)
        assert "WITHOUT ROWID" in _schema(path)[0]

        command.upgrade(config, "0006")

        table, indexes = _schema(path)
        assert "WITHOUT ROWID" not in table
        assert "ux_reports_device_time" in indexes
        assert _rows(path) == set(ROWS)
        with sqlite3.connect(path) as conn:
            # copied in time order, the order ingest goes on adding rows in
            times = [t for (t,) in conn.execute("SELECT time FROM reports ORDER BY rowid")]
            assert times == sorted(times)
            plan = " ".join(
                str(step[-1])
                for step in conn.execute(
                    "EXPLAIN QUERY PLAN SELECT data FROM reports"
                    " WHERE device_id = 1 AND time >= 0 ORDER BY time DESC"
                )
            )
            assert "ux_reports_device_time" in plan
            # the key still holds: a device's instant is stored once
            with pytest.raises(sqlite3.IntegrityError):
                conn.execute("INSERT INTO reports VALUES (1, 1000000000.0, 10, 1, '{}')")

        command.downgrade(config, "0005")

        table, indexes = _schema(path)
        assert "WITHOUT ROWID" in table
        assert "ux_reports_device_time" not in indexes
        assert _rows(path) == set(ROWS)
    finally:
        engine.dispose()
