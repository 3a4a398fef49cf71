"""Bulk writes of plain tuples, past SQLAlchemy's per-row parameter processing.

An inventory import writes 100,000 rows at once. SQLAlchemy's executemany
spends most of its time building a parameter dict per row; here rows are
tuples of plain values, sent with PostgreSQL's COPY or with SQLite's
executemany, in the caller's transaction. Values are converted the way the
SQLAlchemy column types would store them, so reads through SQLAlchemy see
the same thing either way (tests/adapters check that).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Connection, Date, DateTime, Table
from sqlalchemy.types import TypeEngine

from signalight.adapters.sql.tables import UTCDateTime

Row = tuple[Any, ...]


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
    marks = ", ".join("?" for _ in columns)
    conn.exec_driver_sql(
        f"INSERT INTO {table.name} ({names}) VALUES ({marks})",  # noqa: S608 (names are ours)
        prepared,
    )


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
