"""Bulk writes of plain tuples, past SQLAlchemy's per-row parameter processing.

An inventory import writes 100,000 rows at once. SQLAlchemy's executemany
spends most of its time building a parameter dict per row; here rows are
tuples of plain values, sent with PostgreSQL's COPY or with SQLite's
multi-row VALUES (:func:`sqlite_values`), in the caller's transaction.
Values are converted the way the SQLAlchemy column types would store them,
so reads through SQLAlchemy see the same thing either way (tests/adapters
check that).
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from itertools import chain
from typing import Any, Final

from sqlalchemy import JSON, Connection, Date, DateTime, Table
from sqlalchemy.types import TypeEngine

from signalight.adapters.sql.tables import UTCDateTime

Row = tuple[Any, ...]

# Values bound in one statement at most (SQLite allows 32,766 since 3.32):
# 8,192 make four statements of a 2,000-message batch of readings.
_PARAMETERS: Final = 8_192


Convert = Callable[[Any], Any]


def insert_rows(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Row]
) -> None:
    """Insert ``rows`` (values in ``columns`` order) into ``table``."""
    if not rows:
        return
    names = ", ".join(columns)
    prepared = _prepare(conn, table, columns, rows)
    if conn.dialect.name == "postgresql":
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in prepared:
                copy.write_row(row)
        return
    driver = conn.connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)  # noqa: S101 - the dialect says so
    sqlite_values(driver, f"INSERT INTO {table.name} ({names}) VALUES", prepared)


def sqlite_values(
    driver: sqlite3.Connection, head: str, rows: Sequence[Sequence[Any]], tail: str = ""
) -> int:
    """Run ``{head} (?, ...), (?, ...) ... {tail}`` over ``rows``, many rows a statement.

    SQLite's ``executemany`` steps once per row, and Python's sqlite3 lets go
    of the interpreter lock around every step: with another thread busy (ingest
    reads MQTT while it writes), each row then waits to get the lock back, up
    to the switch interval (5 ms). One statement per thousand rows or so takes
    the lock back a few times a batch, and binds a fifth faster.

    Statements take up to ``_PARAMETERS`` values, then halves of that down to
    one row: a handful of statement shapes, so the connection's statement
    cache (each prepared statement holds a slot per parameter) stays small
    whatever the batch sizes.

    Returns the rows changed (``rowcount`` summed over the statements).
    """
    if not rows:
        return 0
    width = len(rows[0])
    size = max(1, min(_PARAMETERS, _variable_limit(driver)) // width)
    changed = 0
    start, left = 0, len(rows)
    cursor = driver.cursor()
    try:
        while left:
            while size > left:
                size //= 2
            statement = _statement(head, tail, width, size)
            while left >= size:
                cursor.execute(statement, list(chain.from_iterable(rows[start : start + size])))
                changed += cursor.rowcount
                start, left = start + size, left - size
    finally:
        cursor.close()
    return changed


@functools.lru_cache(maxsize=256)
def _statement(head: str, tail: str, width: int, rows: int) -> str:
    one = "(" + ", ".join("?" * width) + ")"
    return f"{head} {', '.join([one] * rows)} {tail}"


def _variable_limit(driver: sqlite3.Connection) -> int:
    return driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)


def update_rows(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Row]
) -> None:
    """Set ``columns`` of the rows whose id is the last value of each tuple."""
    if not rows:
        return
    mark = "%s" if conn.dialect.paramstyle in ("format", "pyformat") else "?"
    sets = ", ".join(f"{name} = {mark}" for name in columns)
    sql = f"UPDATE {table.name} SET {sets} WHERE id = {mark}"  # noqa: S608 (names are ours)
    conn.exec_driver_sql(sql, _prepare(conn, table, [*columns, "id"], rows))


def _prepare(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Row]
) -> list[Row]:
    """Rows with each value stored as the column's SQLAlchemy type would store it."""
    sqlite = conn.dialect.name == "sqlite"
    converters = [_converter(table.c[name].type, sqlite=sqlite) for name in columns]
    todo = [(i, f) for i, f in enumerate(converters) if f is not None]
    if not todo:
        return list(rows)
    prepared = []
    # Many rows share a value (the write time, most dates); convert each once.
    memo: list[dict[Any, Any]] = [{} for _ in todo]
    for row in rows:
        values = list(row)
        for (i, convert), seen in zip(todo, memo, strict=True):
            value = values[i]
            if value is not None:
                done = seen.get(value)
                if done is None:
                    done = seen[value] = convert(value)
                values[i] = done
        prepared.append(tuple(values))
    return prepared


def _converter(column_type: TypeEngine[Any], *, sqlite: bool) -> Convert | None:
    if isinstance(column_type, JSON):
        return _json
    if not sqlite:
        return None
    # As SQLAlchemy's SQLite types store them: ISO text, and naive UTC times.
    if isinstance(column_type, DateTime | UTCDateTime):
        return _sqlite_datetime
    if isinstance(column_type, Date):
        return date.isoformat
    return None


def _json(value: Sequence[Any]) -> str:
    return json.dumps(list(value)) if value else "[]"


def _sqlite_datetime(value: datetime) -> str:
    naive = value.astimezone(UTC).replace(tzinfo=None)
    return naive.isoformat(sep=" ", timespec="microseconds")
