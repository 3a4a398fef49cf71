"""Multi-row VALUES on SQLite: every row in, however many statements it takes."""

from __future__ import annotations

import sqlite3

import pytest

from signalight.adapters.sql.bulk import sqlite_values


@pytest.fixture
def driver() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT, n INTEGER NOT NULL)")
    conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 7)  # two rows of three a statement
    return conn


def test_rows_beyond_one_statement_all_go_in(driver: sqlite3.Connection) -> None:
    rows = [(k, f"v{k}", k * 10) for k in range(7)]  # three full statements and one row
    assert sqlite_values(driver, "INSERT INTO t (k, v, n) VALUES", rows) == 7
    assert driver.execute("SELECT k, v, n FROM t ORDER BY k").fetchall() == rows


def test_the_tail_applies_to_every_statement(driver: sqlite3.Connection) -> None:
    head = "INSERT INTO t (k, v, n) VALUES"
    sqlite_values(driver, head, [(k, "old", 1) for k in range(5)])
    upsert = "ON CONFLICT (k) DO UPDATE SET n = t.n + excluded.n"
    sqlite_values(driver, head, [(k, "new", 2) for k in range(5)], upsert)
    assert driver.execute("SELECT DISTINCT n FROM t").fetchall() == [(3,)]


def test_a_broken_key_in_a_later_statement_raises(driver: sqlite3.Connection) -> None:
    driver.execute("INSERT INTO t VALUES (4, 'there', 0)")
    with pytest.raises(sqlite3.IntegrityError):
        sqlite_values(driver, "INSERT INTO t (k, v, n) VALUES", [(k, "x", 0) for k in range(6)])


def test_no_rows_is_no_statement(driver: sqlite3.Connection) -> None:
    assert sqlite_values(driver, "INSERT INTO nowhere VALUES", []) == 0
