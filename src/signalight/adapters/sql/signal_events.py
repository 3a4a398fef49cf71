"""Controller events in SQL: the live feed's and imported logs', each stored once.

``signal_events`` (migration 0012) holds one row an event, keyed by the
asset the controller serves, the time, the code and the parameter; an
insert of an event stored already does nothing (``ON CONFLICT DO
NOTHING``, SQLite's ``INSERT OR IGNORE``), so a resent pack or a log file
imported twice, or after the live feed, adds nothing and loses nothing.

Live events arrive by device (:func:`gather` keeps the device id); the
insert joins ``devices`` for the asset the device is bound to at the moment
of writing, so a monitor moved to another intersection writes there at
once. Ingest refuses events from a device bound to no asset before they get
here (``unbound``). Imported logs are resolved to their intersection first
and written by asset, with the file's record in the same transaction
(:meth:`SqlSignalEvents.add_log`).

On PostgreSQL rows go through a staging table by COPY, into day
partitions made before they are needed (:class:`DayPartitions`).
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any, Final

import psycopg
from sqlalchemy import Engine, func, insert, select

from signalight.adapters.sql.bulk import sqlite_values
from signalight.adapters.sql.errors import translated
from signalight.adapters.sql.partitions import DayPartitions
from signalight.adapters.sql.signal_tables import signal_events, signal_log_files
from signalight.adapters.sql.telemetry_batch import EventRow
from signalight.domain.event_counts import CodeCount
from signalight.domain.signals import ControllerEvent, LogFile

__all__ = [
    "EVENTS_STAGING",
    "SqlSignalEvents",
    "log_row",
    "postgres_add_live",
    "sqlite_add_live",
]

_COLUMNS: Final = "asset_id, time, code, param, city_id"
_SQLITE_LIVE: Final = (
    f"INSERT OR IGNORE INTO signal_events ({_COLUMNS})"  # noqa: S608 - ours
    " SELECT d.asset_id, k.column2, k.column3, k.column4, d.city_id FROM (VALUES"
)
_SQLITE_LIVE_TAIL: Final = (
    ") AS k JOIN devices AS d ON d.id = k.column1 WHERE d.asset_id IS NOT NULL"
)
_SQLITE_ADD: Final = f"INSERT OR IGNORE INTO signal_events ({_COLUMNS}) VALUES"
# Made once a database session, as telemetry_postgres makes its own.
EVENTS_STAGING: Final = (
    "CREATE TEMP TABLE IF NOT EXISTS staged_events (device_id integer NOT NULL,"
    " time double precision NOT NULL, code integer NOT NULL, param integer NOT NULL)"
    " ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS staged_asset_events (LIKE signal_events)"
    " ON COMMIT DELETE ROWS"
)
# Key order, so that two writers lock the same rows in the same order.
_POSTGRES_LIVE: Final = (
    f"INSERT INTO signal_events ({_COLUMNS})"  # noqa: S608 - ours
    " SELECT d.asset_id, s.time, s.code, s.param, d.city_id FROM staged_events AS s"
    " JOIN devices AS d ON d.id = s.device_id WHERE d.asset_id IS NOT NULL"
    " ORDER BY 1, 2, 3, 4 ON CONFLICT DO NOTHING"
)
_POSTGRES_ADD: Final = (
    f"INSERT INTO signal_events ({_COLUMNS}) SELECT {_COLUMNS} FROM staged_asset_events"  # noqa: S608 - ours
    " ORDER BY 1, 2, 3, 4 ON CONFLICT DO NOTHING"
)
_CHUNK: Final = 50_000  # events a statement (PostgreSQL) of a large import
_ASSETS_A_QUERY: Final = 500  # intersections an IN list of a count


def _postgres_add(cursor: psycopg.Cursor[Any], rows: Sequence[tuple[Any, ...]]) -> int:
    cursor.execute(EVENTS_STAGING)
    new = 0
    for start in range(0, len(rows), _CHUNK):
        with cursor.copy(f"COPY staged_asset_events ({_COLUMNS}) FROM STDIN") as copy:
            for row in rows[start : start + _CHUNK]:
                copy.write_row(row)
        cursor.execute(_POSTGRES_ADD)
        new += max(cursor.rowcount, 0)
        cursor.execute("TRUNCATE staged_asset_events")
    return new


def log_row(city_id: int, log: LogFile) -> dict[str, object]:
    """A file's record as a ``signal_log_files`` row."""
    return {
        "city_id": city_id,
        "name": log.name[:255],
        "size": log.size,
        "format": log.format.value if log.format is not None else "",
        "events": log.events,
        "new": log.new,
        "status": log.status.value,
        "reason": log.reason[:2000],
        "intersections": list(log.intersections),
        "at": log.at,
    }


def sqlite_add_live(driver: sqlite3.Connection, rows: Sequence[EventRow]) -> int:
    """Store a batch's live events under their devices' assets; returns how many were new."""
    return sqlite_values(driver, _SQLITE_LIVE, rows, _SQLITE_LIVE_TAIL) if rows else 0


def postgres_add_live(cursor: psycopg.Cursor[Any], rows: Sequence[EventRow]) -> int:
    """The same on PostgreSQL, in the cursor's transaction (its staging tables made)."""
    if not rows:
        return 0
    with cursor.copy("COPY staged_events (device_id, time, code, param) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    cursor.execute(_POSTGRES_LIVE)
    return max(cursor.rowcount, 0)


class SqlSignalEvents:
    """Controller events by intersection: added from logs, read for the API and reports."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        postgres = engine.dialect.name == "postgresql"
        self._partitions = DayPartitions(engine, "signal_events") if postgres else None

    def add_log(
        self,
        city_id: int,
        placed: Sequence[tuple[int, Sequence[tuple[float, int, int]]]],
        log: LogFile,
    ) -> LogFile:
        """Store a log file's events by intersection, each once, and record the file.

        One transaction: the file's events are stored and it is recorded, or
        neither. ``placed`` is (asset id, its events) for each intersection
        the file's controllers are; a refused file has none. Returns the
        record, with its id and how many of its events were new.
        """
        rows = [
            (asset_id, time, code, param, city_id)
            for asset_id, events in placed
            for time, code, param in events
        ]
        with translated("store signal events"), self._engine.connect() as conn:
            if self._partitions is not None and rows:
                self._partitions.ensure(row[1] for row in rows)
            driver = conn.connection.driver_connection
            if isinstance(driver, sqlite3.Connection):
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                new = sqlite_values(driver, _SQLITE_ADD, rows)
            else:
                conn.begin()
                new = _postgres_add(driver.cursor(), rows) if rows else 0  # type: ignore[union-attr]
            stored = dataclasses.replace(log, new=new)
            found = conn.execute(insert(signal_log_files).values(log_row(city_id, stored)))
            conn.commit()
        key = found.inserted_primary_key
        return dataclasses.replace(stored, id=int(key[0]) if key else None)

    def events(
        self,
        city_id: int,
        asset_id: int,
        start: float,
        end: float,
        *,
        codes: Iterable[int] | None = None,
        limit: int = 10_000,
        newest_first: bool = False,
    ) -> list[ControllerEvent]:
        """An intersection's events with ``start <= time < end``, by time, at most ``limit``."""
        c = signal_events.c
        query = select(c.time, c.code, c.param).where(
            c.asset_id == asset_id, c.city_id == city_id, c.time >= start, c.time < end
        )
        if codes is not None:
            query = query.where(c.code.in_(list(codes)))
        order = (
            (c.time.desc(), c.code.desc(), c.param.desc())
            if newest_first
            else (
                c.time,
                c.code,
                c.param,
            )
        )
        query = query.order_by(*order).limit(limit)
        with translated("read signal events"), self._engine.connect() as conn:
            return [
                ControllerEvent(float(t), int(code), int(p)) for t, code, p in conn.execute(query)
            ]

    def tallies(
        self,
        city_id: int,
        asset_ids: Sequence[int],
        start: float,
        end: float,
        *,
        codes: Iterable[int] | None = None,
    ) -> dict[int, dict[tuple[int, int], CodeCount]]:
        """Per intersection, its events with ``start <= time < end`` counted by code and parameter.

        Counted in SQL (a day of a busy controller is 100,000 rows), with the
        first and last time of each; an intersection with none is absent.
        """
        c = signal_events.c
        found: dict[int, dict[tuple[int, int], CodeCount]] = {}
        wanted = None if codes is None else sorted(set(codes))
        with translated("count signal events"), self._engine.connect() as conn:
            for at in range(0, len(asset_ids), _ASSETS_A_QUERY):
                query = select(
                    c.asset_id, c.code, c.param, func.count(), func.min(c.time), func.max(c.time)
                ).where(
                    c.city_id == city_id,
                    c.asset_id.in_(asset_ids[at : at + _ASSETS_A_QUERY]),
                    c.time >= start,
                    c.time < end,
                )
                if wanted is not None:
                    query = query.where(c.code.in_(wanted))
                query = query.group_by(c.asset_id, c.code, c.param)
                for asset_id, code, param, n, first, last in conn.execute(query):
                    found.setdefault(int(asset_id), {})[(int(code), int(param))] = CodeCount(
                        int(n), float(first), float(last)
                    )
        return found
