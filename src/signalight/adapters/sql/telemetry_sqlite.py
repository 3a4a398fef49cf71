"""The telemetry writer for SQLite: a batch in one transaction, under the write lock taken first.

Reports, controller events (:mod:`signal_events`), states, rollups and dead
letters go in together.

The rows go in with multi-row VALUES (:func:`bulk.sqlite_values`). Each
device's state is merged per name: the stored times are read first; a
device whose batch values are all newer is merged by json_patch in SQL,
the others name by name in Python.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any, Final

import orjson
from sqlalchemy import Connection, Engine

from signalight.adapters.sql.bulk import sqlite_values
from signalight.adapters.sql.dead_letters import insert_letters
from signalight.adapters.sql.signal_events import sqlite_add_live
from signalight.adapters.sql.telemetry_batch import (
    ADD_NAMES,
    HOUR_COLUMNS,
    REPORT_COLUMNS,
    STATE_COLUMNS,
    Gathered,
    ReportRow,
    StateEntry,
    gather,
    hour_updates,
    merge_stored,
    regather,
    state_rows,
)
from signalight.domain.telemetry import Accepted, DeadLetter

__all__ = ["SqliteTelemetryWriter"]

# SQLite's two-argument min/max give NULL if either is NULL; PostgreSQL's LEAST/GREATEST skip NULLs.
_LOW: Final = "{name} = coalesce(min(reading_hours.{name}, excluded.{name}), {fill})"
_HIGH: Final = "{name} = coalesce(max(reading_hours.{name}, excluded.{name}), {fill})"
_FILL: Final = "reading_hours.{name}, excluded.{name}"
_HOUR_UPDATES: Final = hour_updates(
    _LOW.replace("{fill}", _FILL), _HIGH.replace("{fill}", _FILL), "max"
)
# The stored values of a batch's devices as one JSON object, {"device id": values}:
# one row, so one step, and the values' JSON text is pasted, not parsed.
_STORED_STATES: Final = (
    "SELECT '{' || group_concat('\"' || device_id || '\":' || state_values) || '}'"
    " FROM device_states WHERE device_id IN (SELECT value FROM json_each(?))"
)
# When each of a batch's devices last reported, as one JSON object {"device id": time}.
# printf keeps the microseconds (the text of a REAL has 15 digits; see _SLACK).
_STORED_TIMES: Final = (
    "SELECT '{' || group_concat('\"' || device_id || '\":' || printf('%.6f', observed_at))"
    " || '}' FROM device_states WHERE device_id IN (SELECT value FROM json_each(?))"
)
_SLACK: Final = 1e-3  # seconds: a stored time this close to the batch's is merged name by name
# The stored rows of a batch's keys, given as one JSON array of [device id, time].
_STORED_REPORTS: Final = (
    "SELECT r.device_id, r.time, r.data FROM json_each(?) AS k JOIN reports AS r"
    " ON r.device_id = json_extract(k.value, '$[0]') AND r.time = json_extract(k.value, '$[1]')"
)
_ADD_NAMES: Final = ADD_NAMES.format(p="?")
# The statements that take a batch's rows are written up to VALUES;
# ``sqlite_values`` adds as many rows a statement as fit.
_INSERT_NEW: Final = f"INSERT INTO reports ({REPORT_COLUMNS}) VALUES"
_ADD_HOURS: Final = f"INSERT INTO reading_hours ({HOUR_COLUMNS}) VALUES"
_ADD_HOURS_TAIL: Final = f"ON CONFLICT (device_id, hour) DO UPDATE SET {_HOUR_UPDATES}"
# The batch's states are merged with the stored ones already (``merge_stored``,
# under SQLite's write lock), so they replace them whole.
_STATES: Final = f"INSERT INTO device_states ({STATE_COLUMNS}) VALUES"
# Every value of the batch is newer than the stored ones: each name replaces the
# stored one. json_patch does that in SQLite's C, without the interpreter lock,
# and Python neither reads nor parses the stored values.
_STATES_PATCH_TAIL: Final = """
    ON CONFLICT (device_id) DO UPDATE SET
        state_values = json_patch(device_states.state_values, excluded.state_values),
        observed_at = max(device_states.observed_at, excluded.observed_at),
        last_seen = max(device_states.last_seen, excluded.last_seen)
"""
_STATES_TAIL: Final = """
    ON CONFLICT (device_id) DO UPDATE SET
        state_values = excluded.state_values,
        observed_at = max(device_states.observed_at, excluded.observed_at),
        last_seen = max(device_states.last_seen, excluded.last_seen)
"""


class SqliteTelemetryWriter:
    """Batches of readings, states, rollups and dead letters into SQLite."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def write(self, accepted: Sequence[Accepted], dead: Sequence[DeadLetter]) -> int:
        """Store one batch in one transaction; returns how many readings were new."""
        batch = gather(accepted)
        rows = batch.rows()
        with self._engine.connect() as conn:
            # Take the write lock first: a transaction that reads and
            # then writes cannot wait for another writer in WAL mode
            # (SQLITE_BUSY at once), which two workers ran into.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            new = self._write_reports(conn, accepted, batch, rows)
            new += sqlite_add_live(_driver(conn), batch.events)
            self._write_states(conn, batch.states)
            insert_letters(conn, dead)
            conn.commit()
        return new

    def drop_days(self, conn: Connection, before: float) -> int:  # noqa: ARG002 - the port's shape
        """Nothing: SQLite keeps ``reports`` and ``signal_events`` whole, pruned row by row."""
        return 0

    @staticmethod
    def _write_reports(
        conn: Connection, accepted: Sequence[Accepted], batch: Gathered, rows: list[ReportRow]
    ) -> int:
        """The batch's rows and rollups; returns how many readings were new."""
        driver = _driver(conn)
        if not rows:
            return 0
        # Nearly always every row is new: straight in. A redelivery breaks
        # the key: undo, and add only what is not stored.
        driver.execute("SAVEPOINT new_reports")
        try:
            sqlite_values(driver, _INSERT_NEW, rows)
        except sqlite3.IntegrityError:
            driver.execute("ROLLBACK TO SAVEPOINT new_reports")
            driver.execute("RELEASE SAVEPOINT new_reports")
            keys = orjson.dumps(list(batch.reports)).decode()
            again = regather(accepted, driver.execute(_STORED_REPORTS, (keys,)))
            batch = again.batch
            sqlite_values(driver, _INSERT_NEW, again.fresh)
            driver.executemany(_ADD_NAMES, again.grown)
        else:
            driver.execute("RELEASE SAVEPOINT new_reports")
        sqlite_values(driver, _ADD_HOURS, batch.hours, _ADD_HOURS_TAIL)
        return batch.readings

    @staticmethod
    def _write_states(conn: Connection, states: dict[int, StateEntry]) -> None:
        """Merge the batch's states into the stored ones (its write lock is held).

        Nearly always every value of a device in the batch is newer than its
        stored state: json_patch replaces those names in SQL. A device with
        older values in the batch (a node emptying its buffer) is merged name
        by name in Python, with its stored values read.
        """
        driver = _driver(conn)
        found = driver.execute(_STORED_TIMES, (orjson.dumps(list(states)).decode(),))
        text = found.fetchone()[0]
        stored: dict[str, float] = orjson.loads(text) if text else {}
        behind = {
            device_id: states[device_id]
            for device_id in map(int, stored)
            if stored[str(device_id)] > states[device_id].oldest - _SLACK
        }
        if behind:
            merge_stored(behind, _stored_states(conn, list(behind)))
            sqlite_values(driver, _STATES, state_rows(behind), _STATES_TAIL)
            states = {key: entry for key, entry in states.items() if key not in behind}
        sqlite_values(driver, _STATES, state_rows(states), _STATES_PATCH_TAIL)


def _driver(conn: Connection) -> sqlite3.Connection:
    driver = conn.connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)  # noqa: S101 - the dialect says so
    return driver


def _stored_states(conn: Connection, device_ids: list[int]) -> Iterator[tuple[int, Any]]:
    """The stored values of these devices (its write lock is held already).

    One row of JSON for the whole batch, parsed with orjson: a row a
    device would be a step a device, each letting go of the interpreter
    lock and waiting to take it back.
    """
    found = conn.exec_driver_sql(_STORED_STATES, (orjson.dumps(device_ids),)).scalar()
    if found is None:  # none of them has a state yet
        return iter(())
    return ((int(device_id), values) for device_id, values in orjson.loads(found).items())
