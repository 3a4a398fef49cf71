"""The telemetry writer for PostgreSQL: COPY into ``reports``, its day partitions, staged upserts.

Controller events go through a staging table into ``signal_events`` (see
:mod:`signal_events`), in the same transaction.

The rows go straight into ``reports`` with COPY, into the day partition made
before the batch needs it (:class:`ReportPartitions`); the rollups and the
states are copied into temporary staging tables and upserted from there,
each device's state merged per name in SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final

import psycopg
from sqlalchemy import Connection, Engine

from signalight.adapters.sql.dead_letters import insert_letters
from signalight.adapters.sql.partitions import DayPartitions
from signalight.adapters.sql.signal_events import EVENTS_STAGING, postgres_add_live
from signalight.adapters.sql.telemetry_batch import (
    ADD_NAMES,
    HOUR_COLUMNS,
    REPORT_COLUMNS,
    STATE_COLUMNS,
    Gathered,
    ReportRow,
    StateRow,
    gather,
    hour_updates,
    regather,
    state_rows,
)
from signalight.domain.telemetry import Accepted, DeadLetter

__all__ = ["PostgresTelemetryWriter"]


_STAGING: Final = (
    "CREATE TEMP TABLE IF NOT EXISTS staged_hours (LIKE reading_hours) ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS staged_states ("
    " device_id integer NOT NULL, city_id integer NOT NULL, last_seen double precision NOT NULL,"
    " observed_at double precision NOT NULL, state_values jsonb NOT NULL) ON COMMIT DELETE ROWS"
)
_STAGED: Final = "signalight_staging"  # in a connection's info once its staging tables exist
_HOUR_UPDATES: Final = hour_updates(
    "{name} = LEAST(reading_hours.{name}, excluded.{name})",
    "{name} = GREATEST(reading_hours.{name}, excluded.{name})",
    "GREATEST",
)
_ADD_HOURS: Final = f"""
    INSERT INTO reading_hours ({HOUR_COLUMNS}) SELECT {HOUR_COLUMNS} FROM staged_hours
    ON CONFLICT (device_id, hour) DO UPDATE SET {_HOUR_UPDATES}
"""  # noqa: S608 - column names are ours
_STORED_REPORTS: Final = (
    "SELECT r.device_id, r.time, r.data FROM unnest(%s::integer[], %s::float8[]) AS k (d, t)"
    " JOIN reports AS r ON r.device_id = k.d AND r.time = k.t"
)
_ADD_NAMES: Final = ADD_NAMES.format(p="%s")
_COPY_REPORTS: Final = f"COPY reports ({REPORT_COLUMNS}) FROM STDIN"
_COPY_HOURS: Final = f"COPY staged_hours ({HOUR_COLUMNS}) FROM STDIN"
_COPY_STATES: Final = f"COPY staged_states ({STATE_COLUMNS}) FROM STDIN"
# Per name, the newer of the stored and the batch's value (each a [time, value] pair).
# Nearly always every value of the batch is newer than all that is stored
# (observed_at is the newest stored time): then jsonb's || is that merge, at a
# quarter less of the server's time than joining the two name by name.
# ``{oldest}`` is the oldest time among the batch's values of the device.
_STATES_TEMPLATE: Final = f"""
    INSERT INTO device_states ({STATE_COLUMNS})
    SELECT {STATE_COLUMNS} FROM staged_states
    ON CONFLICT (device_id) DO UPDATE SET
        state_values = CASE
            WHEN device_states.observed_at <= {{oldest}}
            THEN device_states.state_values || excluded.state_values
            ELSE (
                SELECT jsonb_object_agg(name, CASE
                    WHEN old.pair IS NULL THEN new.pair
                    WHEN new.pair IS NULL THEN old.pair
                    WHEN (new.pair ->> 0)::float8 >= (old.pair ->> 0)::float8 THEN new.pair
                    ELSE old.pair END)
                FROM jsonb_each(excluded.state_values) AS new (name, pair)
                FULL JOIN jsonb_each(device_states.state_values) AS old (name, pair) USING (name)
            ) END,
        observed_at = GREATEST(device_states.observed_at, excluded.observed_at),
        last_seen = GREATEST(device_states.last_seen, excluded.last_seen)
"""  # noqa: S608 - column names are ours
_STATES: Final = _STATES_TEMPLATE.format(
    oldest="(SELECT min((pair ->> 0)::float8)"
    " FROM jsonb_each(excluded.state_values) AS new (name, pair))"
)
# When each device's values in the batch share one time (one report a device,
# the rule), that time is observed_at: no need to look into the JSON, which
# took about 3 µs a device of the server's time (measured, 20,000 devices).
_STATES_ONE_TIME: Final = _STATES_TEMPLATE.format(oldest="excluded.observed_at")


class PostgresTelemetryWriter:
    """Batches of readings, states, rollups and dead letters into PostgreSQL."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._partitions = DayPartitions(engine, "reports")
        self._event_partitions = DayPartitions(engine, "signal_events")

    def write(self, accepted: Sequence[Accepted], dead: Sequence[DeadLetter]) -> int:
        """Store one batch in one transaction; returns how many readings were new."""
        batch = gather(accepted)
        rows = batch.rows()
        self._partitions.ensure(row[1] for row in rows)
        self._event_partitions.ensure(row[1] for row in batch.events)
        with self._engine.connect() as conn:
            conn.begin()
            # PostgreSQL merges per name in the upsert.
            one_time = all(entry.oldest >= entry.observed_at for entry in batch.states.values())
            states = state_rows(batch.states)
            try:
                new = self._write(conn, accepted, batch, rows, states, one_time=one_time)
            except Exception:
                conn.info.pop(_STAGED, None)  # the retry makes them if they are gone
                raise
            insert_letters(conn, dead)
            conn.commit()
            conn.info[_STAGED] = True
        return new

    def drop_days(self, conn: Connection, before: float) -> int:
        """Drop the partitions of whole days before ``before``; returns the readings they held."""
        readings = self._partitions.drop_before(conn, before, "sum(size)")
        return readings + self._event_partitions.drop_before(conn, before, "count(*)")

    @staticmethod
    def _write(
        conn: Connection,
        accepted: Sequence[Accepted],
        batch: Gathered,
        rows: list[ReportRow],
        states: list[StateRow],
        *,
        one_time: bool,
    ) -> int:
        """The batch into PostgreSQL; ``one_time``: each device's values share one time."""
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        # The staging tables last as long as the database session: made once a
        # connection, and known to be there once a transaction that made them is
        # committed (``write`` marks the connection then).
        if not conn.info.get(_STAGED):
            cursor.execute(_STAGING)
            cursor.execute(EVENTS_STAGING)
        new = 0
        if rows:
            # Straight into the table: COPY stops at a broken key, and the
            # savepoint undoes it (a redelivery; then only what is not stored).
            cursor.execute("SAVEPOINT new_reports")
            try:
                _copy(cursor, _COPY_REPORTS, rows)
            except psycopg.errors.UniqueViolation:
                cursor.execute("ROLLBACK TO SAVEPOINT new_reports")
                keys = list(batch.reports)
                found = cursor.execute(
                    _STORED_REPORTS, ([key[0] for key in keys], [key[1] for key in keys])
                )
                again = regather(accepted, found)
                batch = again.batch
                _copy(cursor, _COPY_REPORTS, again.fresh)
                if again.grown:
                    cursor.executemany(_ADD_NAMES, again.grown)
            else:
                cursor.execute("RELEASE SAVEPOINT new_reports")
            # Rows in key order, so that two workers updating the same rows
            # lock them in the same order and never deadlock.
            _copy(cursor, _COPY_HOURS, sorted(batch.hours))
            cursor.execute(_ADD_HOURS)
            new = batch.readings
        new += postgres_add_live(cursor, batch.events)
        if states:
            _copy(cursor, _COPY_STATES, sorted(states))
            cursor.execute(_STATES_ONE_TIME if one_time else _STATES)
        cursor.close()
        return new


def _copy(cursor: psycopg.Cursor[Any], statement: str, rows: Iterable[Sequence[Any]]) -> None:
    with cursor.copy(statement) as copy:
        write = copy.write_row
        for row in rows:
            write(row)
