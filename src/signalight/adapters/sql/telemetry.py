"""Readings, live state, hourly rollups and dead letters in SQL, written a batch at a time.

One batch is one transaction. The batch is first gathered in one pass
(:func:`gather`): its reading rows, each device's newest values and, on
SQLite, its hourly rollups. Then:

1. The readings go straight in (PostgreSQL COPY to a staging table and one
   INSERT; SQLite multi-row VALUES), and the rollups take them. Nearly
   always every reading is new; if one is stored already (a redelivery
   after a crash), the insert breaks the key, is undone, and the batch goes
   through a staging table that leaves out what is stored, so exactly the
   new readings are added to the rollups and a redelivered message is
   counted once.
2. Each device's state is merged per name: an older value never replaces a
   newer one, whatever order the messages came in.
3. Dead letters are filed.
"""

from __future__ import annotations

import logging
import math
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple

import orjson
import psycopg
from sqlalchemy import Connection, Engine, and_, func, insert, select, text

from signalight.adapters.sql.bulk import sqlite_values
from signalight.adapters.sql.errors import translated
from signalight.adapters.sql.tables import (
    cities,
    dead_letters,
    device_states,
    devices,
    reading_hours,
    readings,
)
from signalight.domain.assets import DeviceKind
from signalight.domain.readings import Reading, RejectReason
from signalight.domain.telemetry import (
    Accepted,
    DeadLetter,
    DeviceRef,
    DeviceState,
    HourlyRollup,
    StateValue,
    hour_of,
)

__all__ = [
    "Gathered",
    "SqlTelemetryStore",
    "gather",
    "merge_stored",
    "state_rows",
]

log = logging.getLogger(__name__)

DAY: Final = 86_400.0
_READING_COLUMNS: Final = "device_id, time, name, city_id, value, bool_value, string_value"

_SQLITE_STAGING: Final = (
    "CREATE TEMP TABLE IF NOT EXISTS staged_readings ("
    " device_id INTEGER NOT NULL, time FLOAT NOT NULL, name TEXT NOT NULL,"
    " city_id INTEGER NOT NULL, value FLOAT, bool_value BOOLEAN, string_value TEXT,"
    " PRIMARY KEY (device_id, time, name)) WITHOUT ROWID"
)
_PG_STAGING: Final = (
    "CREATE TEMP TABLE IF NOT EXISTS staged_readings ("
    " device_id integer NOT NULL, time double precision NOT NULL, name varchar(64) NOT NULL,"
    " city_id integer NOT NULL, value double precision, bool_value boolean, string_value text)"
    " ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS staged_states ("
    " device_id integer NOT NULL, city_id integer NOT NULL, last_seen double precision NOT NULL,"
    " observed_at double precision NOT NULL, state_values jsonb NOT NULL) ON COMMIT DELETE ROWS"
)

# The aggregates of one hour, over whichever readings the FROM clause gives.
_HOUR_AGGREGATES: Final = """
    count(*),
    count(*) FILTER (WHERE name = 'on'),
    count(*) FILTER (WHERE name = 'on' AND bool_value),
    min(value) FILTER (WHERE name LIKE 'voltage%'),
    max(value) FILTER (WHERE name LIKE 'voltage%'),
    coalesce(sum(value) FILTER (WHERE name LIKE 'voltage%'), 0),
    count(*) FILTER (WHERE name LIKE 'voltage%'),
    min(value) FILTER (WHERE name = 'power'),
    max(value) FILTER (WHERE name = 'power'),
    coalesce(sum(value) FILTER (WHERE name = 'power'), 0),
    count(*) FILTER (WHERE name = 'power'),
    min(value) FILTER (WHERE name = 'energy'),
    max(value) FILTER (WHERE name = 'energy')
"""
_HOUR_COLUMNS: Final = (
    "device_id, hour, city_id, samples, on_reports, on_true,"
    " voltage_min, voltage_max, voltage_sum, voltage_count,"
    " power_min, power_max, power_sum, power_count, energy_min, energy_max"
)
_ADDED: Final = (
    "samples",
    "on_reports",
    "on_true",
    "voltage_sum",
    "voltage_count",
    "power_sum",
    "power_count",
)
_LOWEST: Final = ("voltage_min", "power_min", "energy_min")
_HIGHEST: Final = ("voltage_max", "power_max", "energy_max")


def _hour_updates(lowest: str, highest: str) -> str:
    added = [f"{name} = reading_hours.{name} + excluded.{name}" for name in _ADDED]
    low = [lowest.format(name=name) for name in _LOWEST]
    high = [highest.format(name=name) for name in _HIGHEST]
    return ", ".join(added + low + high)


# SQLite's two-argument min/max give NULL if either is NULL; PostgreSQL's LEAST/GREATEST skip NULLs.
_SQLITE_LOW: Final = "{name} = coalesce(min(reading_hours.{name}, excluded.{name}), {fill})"
_SQLITE_HIGH: Final = "{name} = coalesce(max(reading_hours.{name}, excluded.{name}), {fill})"
_FILL: Final = "reading_hours.{name}, excluded.{name}"
_SQLITE_HOUR_UPDATES: Final = _hour_updates(
    _SQLITE_LOW.replace("{fill}", _FILL), _SQLITE_HIGH.replace("{fill}", _FILL)
)
_PG_HOUR_UPDATES: Final = _hour_updates(
    "{name} = LEAST(reading_hours.{name}, excluded.{name})",
    "{name} = GREATEST(reading_hours.{name}, excluded.{name})",
)
_SQLITE_HOURS: Final = f"""
    INSERT INTO reading_hours ({_HOUR_COLUMNS})
    SELECT device_id, CAST(time / 3600 AS INTEGER) * 3600.0 AS hour, min(city_id),
        {_HOUR_AGGREGATES}
    FROM staged_readings WHERE true GROUP BY device_id, hour
    ON CONFLICT (device_id, hour) DO UPDATE SET {_SQLITE_HOUR_UPDATES}
"""  # noqa: S608 - column names are ours
# {conflict} is empty on the fast path (a batch of new readings, nearly
# always) and ON CONFLICT DO NOTHING after a redelivery: checking every row
# for a conflict doubles the cost of the insert.
_PG_WRITE: Final = f"""
    WITH fresh AS (
        INSERT INTO readings ({_READING_COLUMNS})
        SELECT {_READING_COLUMNS} FROM staged_readings
        {{conflict}}
        RETURNING device_id, time, name, city_id, value, bool_value
    ), rolled AS (
        INSERT INTO reading_hours ({_HOUR_COLUMNS})
        SELECT device_id, floor(time / 3600) * 3600 AS hour, min(city_id), {_HOUR_AGGREGATES}
        FROM fresh GROUP BY device_id, hour
        ON CONFLICT (device_id, hour) DO UPDATE SET {_PG_HOUR_UPDATES}
        RETURNING 1
    )
    SELECT count(*) FROM fresh
"""  # noqa: S608 - column names are ours
_PG_WRITE_NEW: Final = _PG_WRITE.format(conflict="")
_PG_WRITE_SOME_KNOWN: Final = _PG_WRITE.format(conflict="ON CONFLICT DO NOTHING")
# The stored values of a batch's devices as one JSON object, {"device id": values}:
# one row, so one step, and the values' JSON text is pasted, not parsed.
_SQLITE_STORED_STATES: Final = (
    "SELECT '{' || group_concat('\"' || device_id || '\":' || state_values) || '}'"
    " FROM device_states WHERE device_id IN (SELECT value FROM json_each(?))"
)
# The SQLite statements that take a batch's rows are written up to VALUES;
# ``sqlite_values`` adds as many rows a statement as fit.
_SQLITE_INSERT_NEW: Final = f"INSERT INTO readings ({_READING_COLUMNS}) VALUES"
_SQLITE_ADD_HOURS: Final = f"INSERT INTO reading_hours ({_HOUR_COLUMNS}) VALUES"
_SQLITE_ADD_HOURS_TAIL: Final = (
    f"ON CONFLICT (device_id, hour) DO UPDATE SET {_SQLITE_HOUR_UPDATES}"
)
_SQLITE_STAGE: Final = f"INSERT OR IGNORE INTO staged_readings ({_READING_COLUMNS}) VALUES"
_SQLITE_DROP_KNOWN: Final = (
    "DELETE FROM staged_readings WHERE EXISTS (SELECT 1 FROM readings AS r"
    " WHERE r.device_id = staged_readings.device_id AND r.time = staged_readings.time"
    " AND r.name = staged_readings.name)"
)
_SQLITE_INSERT: Final = (
    f"INSERT INTO readings ({_READING_COLUMNS})"  # noqa: S608 - column names are ours
    f" SELECT {_READING_COLUMNS} FROM staged_readings"
)
_PG_COPY_STATES: Final = (
    "COPY staged_states (device_id, city_id, last_seen, observed_at, state_values) FROM STDIN"
)
# The batch's states are merged with the stored ones already (``merge_stored``,
# under SQLite's write lock), so they replace them whole.
_SQLITE_STATES: Final = (
    "INSERT INTO device_states (device_id, city_id, last_seen, observed_at, state_values) VALUES"
)
_SQLITE_STATES_TAIL: Final = """
    ON CONFLICT (device_id) DO UPDATE SET
        state_values = excluded.state_values,
        observed_at = max(device_states.observed_at, excluded.observed_at),
        last_seen = max(device_states.last_seen, excluded.last_seen)
"""
# Per name, the newer of the stored and the batch's value (each a [time, value] pair).
# Nearly always every value of the batch is newer than all that is stored
# (observed_at is the newest stored time): then jsonb's || is that merge, at a
# quarter less of the server's time than joining the two name by name.
_PG_STATES: Final = """
    INSERT INTO device_states (device_id, city_id, last_seen, observed_at, state_values)
    SELECT device_id, city_id, last_seen, observed_at, state_values FROM staged_states
    ON CONFLICT (device_id) DO UPDATE SET
        state_values = CASE
            WHEN device_states.observed_at <= (
                SELECT min((pair ->> 0)::float8)
                FROM jsonb_each(excluded.state_values) AS new (name, pair)
            ) THEN device_states.state_values || excluded.state_values
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
"""

ReadingRow = tuple[int, float, str, int, float | None, bool | None, str | None]
StateRow = tuple[int, int, float, float, str]


StateEntry = list[Any]  # [city id, last seen, observed at, {name: (time, value)}]
HourRow = tuple[Any, ...]
# samples, on reports, on true; voltage min, max, sum, count; power the same; energy min, max
_EMPTY_HOUR: Final = (0, 0, 0, None, None, 0.0, 0, None, None, 0.0, 0, None, None)


class Gathered(NamedTuple):
    """A batch as the tables take it."""

    rows: list[ReadingRow]  # in ``readings`` column order
    states: dict[int, StateEntry]  # per device: newest receipt, reading time and values
    hours: list[HourRow]  # ``reading_hours`` rows; empty unless asked for


def gather(accepted: Sequence[Accepted], *, hours: bool) -> Gathered:  # noqa: C901, PLR0912 - one hot loop, see below
    """The batch's reading rows, each device's newest state and, if asked, its hourly rollups.

    One pass over every reading ingest stores, in one frame (three passes,
    or a call a reading, cost a fifth more, measured). In a device's state
    an older value never replaces a newer one of the same name. The rollups
    are summed as ``_HOUR_AGGREGATES`` sums them in SQL, in ``reading_hours``
    column order: device, hour, city, then ``_EMPTY_HOUR``'s fields.
    """
    rows: list[ReadingRow] = []
    append = rows.append
    merged: dict[int, StateEntry] = {}
    rollups: dict[tuple[int, float], list[Any]] = {}
    for device, batch, received_at in accepted:
        device_id, city_id = device.id, device.city_id
        entry = merged.get(device_id)
        if entry is None:
            values: dict[str, tuple[float, StateValue]] = {}
            entry = merged[device_id] = [city_id, received_at, -math.inf, values]
        else:
            values = entry[3]
            entry[1] = max(entry[1], received_at)
        observed = entry[2]
        acc: list[Any] = []
        acc_time = math.nan  # the time ``acc`` is for: a pack's readings share one, mostly
        for reading in batch:
            time, name, value, bool_value, string_value = reading
            append((device_id, time, name, city_id, value, bool_value, string_value))
            if hours:
                if time != acc_time:
                    hour = hour_of(time)
                    acc = rollups.get((device_id, hour)) or rollups.setdefault(
                        (device_id, hour), [device_id, hour, city_id, *_EMPTY_HOUR]
                    )
                    acc_time = time
                acc[3] += 1
                if name == "on":
                    acc[4] += 1
                    if bool_value:
                        acc[5] += 1
                elif value is None:
                    pass
                elif name == "power":
                    _widen(acc, 10, value)
                elif name.startswith("voltage"):
                    _widen(acc, 6, value)
                elif name == "energy":
                    acc[14] = value if acc[14] is None else min(acc[14], value)
                    acc[15] = value if acc[15] is None else max(acc[15], value)
            if name == "event":  # happened once; not state
                continue
            held = values.get(name)
            if held is None or time >= held[0]:
                if bool_value is not None:
                    values[name] = (time, bool_value)
                elif string_value is not None:
                    values[name] = (time, string_value)
                elif value is not None:
                    values[name] = (time, value)
            observed = max(observed, time)
        entry[2] = observed
    return Gathered(rows, merged, [tuple(acc) for acc in rollups.values()])


def merge_stored(merged: dict[int, StateEntry], stored: Iterable[tuple[int, Any]]) -> None:
    """Fold the stored values into the batch's: per name, the newer value stays.

    Per name, not per message: a node that says ``online`` on reconnecting
    and then empties its buffer of older readings must still show each
    name's newest value. (The times of the state itself, last seen and
    observed at, take the later of the two in the upsert.)
    """
    for device_id, values in stored:
        mine = merged[device_id][3]
        for name, (time, value) in values.items():
            held = mine.get(name)
            if held is None or time > held[0]:
                mine[name] = (time, value)


def state_rows(merged: dict[int, StateEntry]) -> list[StateRow]:
    """The merged states as ``device_states`` rows, values as JSON text."""
    dumps = orjson.dumps
    return [
        (
            device_id,
            city_id,
            last_seen,
            observed if observed > -math.inf else last_seen,
            dumps(values).decode(),
        )
        for device_id, (city_id, last_seen, observed, values) in merged.items()
    ]


def _widen(acc: list[Any], at: int, value: float) -> None:
    """Widen min and max, add to the sum and the count, at ``acc[at:at + 4]``."""
    acc[at] = value if acc[at] is None else min(acc[at], value)
    acc[at + 1] = value if acc[at + 1] is None else max(acc[at + 1], value)
    acc[at + 2] += value
    acc[at + 3] += 1


class SqlTelemetryStore:
    """The TelemetryStore port over SQLite or PostgreSQL."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        self._partitions: set[int] = set()  # days (epoch // DAY) whose partition exists

    def devices(self) -> Iterator[DeviceRef]:
        """Every registered device of every city."""
        kinds = {kind.value: kind for kind in DeviceKind}
        slugs: dict[str, str] = {}  # one string per city, not one per device
        with translated("list devices"), self._engine.connect() as conn:
            # Streamed: a million rows held at once would stay in the heap.
            rows = conn.execution_options(yield_per=10_000).execute(_device_select())
            for row in rows:
                slug = slugs.setdefault(row.slug, row.slug)
                yield DeviceRef(row.id, row.city_id, slug, row.uid, kinds[row.kind])

    def find_device(self, city_slug: str, uid: str) -> DeviceRef | None:
        """One device by its city and id, or None."""
        query = _device_select().where(cities.c.slug == city_slug, devices.c.uid == uid)
        with translated("find device"), self._engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return DeviceRef(row.id, row.city_id, row.slug, row.uid, DeviceKind(row.kind))

    def write(self, accepted: Sequence[Accepted], dead: Sequence[DeadLetter]) -> int:
        """Store one batch in one transaction; returns how many readings were new."""
        batch = gather(accepted, hours=not self._postgres)
        rows, merged = batch.rows, batch.states
        with translated("store readings"):
            if self._postgres and rows:
                self._ensure_partitions(rows)
            with self._engine.connect() as conn:
                if self._postgres:
                    conn.begin()
                else:
                    # Take the write lock first: a transaction that reads and
                    # then writes cannot wait for another writer in WAL mode
                    # (SQLITE_BUSY at once), which two workers ran into.
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                if not self._postgres:  # PostgreSQL merges per name in the upsert
                    merge_stored(merged, self._stored_states(conn, list(merged)))
                states = state_rows(merged)
                new = (
                    self._write_pg(conn, rows, states)
                    if self._postgres
                    else self._write_sqlite(conn, batch, states)
                )
                if dead:
                    conn.execute(insert(dead_letters), [_letter_row(letter) for letter in dead])
                conn.commit()
        return new

    @staticmethod
    def _stored_states(conn: Connection, device_ids: list[int]) -> Iterator[tuple[int, Any]]:
        """The stored values of these devices (SQLite; its write lock is held already).

        One row of JSON for the whole batch, parsed with orjson: a row a
        device would be a step a device, each letting go of the interpreter
        lock and waiting to take it back.
        """
        found = conn.exec_driver_sql(_SQLITE_STORED_STATES, (orjson.dumps(device_ids),)).scalar()
        if found is None:  # none of them has a state yet
            return iter(())
        return ((int(device_id), values) for device_id, values in orjson.loads(found).items())

    def _write_sqlite(self, conn: Connection, batch: Gathered, states: list[StateRow]) -> int:
        rows = batch.rows
        driver = conn.connection.driver_connection
        assert isinstance(driver, sqlite3.Connection)  # noqa: S101 - the dialect says so
        new = 0
        if rows:
            # Nearly always every reading is new: straight in, the rollups
            # summed here. A redelivery (or a device's own duplicate) breaks
            # the key: undo, and go through the staging table, which leaves
            # out what is stored already.
            driver.execute("SAVEPOINT new_readings")
            try:
                sqlite_values(driver, _SQLITE_INSERT_NEW, rows)
            except sqlite3.IntegrityError:
                driver.execute("ROLLBACK TO SAVEPOINT new_readings")
                driver.execute("RELEASE SAVEPOINT new_readings")
                new = self._write_sqlite_some_known(driver, rows)
            else:
                driver.execute("RELEASE SAVEPOINT new_readings")
                sqlite_values(driver, _SQLITE_ADD_HOURS, batch.hours, _SQLITE_ADD_HOURS_TAIL)
                new = len(rows)
        if states:
            sqlite_values(driver, _SQLITE_STATES, states, _SQLITE_STATES_TAIL)
        return new

    @staticmethod
    def _write_sqlite_some_known(driver: sqlite3.Connection, rows: list[ReadingRow]) -> int:
        driver.execute(_SQLITE_STAGING)
        sqlite_values(driver, _SQLITE_STAGE, rows)
        driver.execute(_SQLITE_DROP_KNOWN)
        new = driver.execute(_SQLITE_INSERT).rowcount
        driver.execute(_SQLITE_HOURS)
        driver.execute("DELETE FROM staged_readings")
        return int(new)

    def _write_pg(self, conn: Connection, rows: list[ReadingRow], states: list[StateRow]) -> int:
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(_PG_STAGING)
        new = 0
        if rows:
            with cursor.copy(f"COPY staged_readings ({_READING_COLUMNS}) FROM STDIN") as copy:
                write = copy.write_row
                for row in rows:
                    write(row)
            new = _pg_insert_readings(cursor)
        if states:
            with cursor.copy(_PG_COPY_STATES) as copy:
                write = copy.write_row
                for state in states:
                    write(state)
            cursor.execute(_PG_STATES)
        cursor.close()
        return int(new)

    def _ensure_partitions(self, rows: list[ReadingRow]) -> None:
        times = [row[1] for row in rows]
        first, last = int(min(times) // DAY), int(max(times) // DAY)
        missing = [day for day in range(first, last + 1) if day not in self._partitions]
        if not missing:
            return
        with self._engine.begin() as conn:
            existing = _partition_days(conn)
            for day in missing:
                if day not in existing:
                    name = _partition_name(day)
                    conn.exec_driver_sql(
                        f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF readings"
                        f" FOR VALUES FROM ({day * DAY!r}) TO ({(day + 1) * DAY!r})"
                    )
                    log.info("created readings partition %s", name)
        self._partitions.update(missing)

    def device_state(self, city_id: int, device_id: int) -> DeviceState | None:
        """The device's live state, or None if it has never reported."""
        query = select(device_states).where(
            device_states.c.city_id == city_id, device_states.c.device_id == device_id
        )
        with translated("read device state"), self._engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        raw = row.state_values
        values: dict[str, Any] = orjson.loads(raw) if isinstance(raw, str | bytes) else raw
        return DeviceState(
            device_id=row.device_id,
            city_id=row.city_id,
            last_seen=row.last_seen,
            observed_at=row.observed_at,
            values={name: (float(pair[0]), _state_value(pair[1])) for name, pair in values.items()},
        )

    def readings(
        self,
        city_id: int,
        device_id: int,
        start: float,
        end: float,
        names: Collection[str] | None,
        limit: int,
    ) -> list[Reading]:
        """A device's readings with ``start <= time < end``, oldest first, at most ``limit``."""
        c = readings.c
        query = (
            select(c.time, c.name, c.value, c.bool_value, c.string_value)
            .where(c.device_id == device_id, c.city_id == city_id, c.time >= start, c.time < end)
            .order_by(c.time, c.name)
            .limit(limit)
        )
        if names is not None:
            query = query.where(c.name.in_(sorted(names)))
        with translated("read readings"), self._engine.connect() as conn:
            return [
                Reading(
                    row.time,
                    row.name,
                    row.value,
                    None if row.bool_value is None else bool(row.bool_value),
                    row.string_value,
                )
                for row in conn.execute(query)
            ]

    def hourly(self, city_id: int, device_id: int, start: float, end: float) -> list[HourlyRollup]:
        """A device's hourly rollups whose hour starts in ``[start, end)``, oldest first."""
        c = reading_hours.c
        mine = and_(c.device_id == device_id, c.city_id == city_id)
        query = select(reading_hours).where(mine, c.hour >= start, c.hour < end).order_by(c.hour)
        before = select(func.max(c.energy_max)).where(
            mine, c.hour == select(func.max(c.hour)).where(mine, c.hour < start).scalar_subquery()
        )
        with translated("read hourly rollups"), self._engine.connect() as conn:
            previous = conn.execute(before).scalar()
            rows = conn.execute(query).all()
        rollups = []
        for row in rows:
            rollups.append(_rollup(row, previous))
            if row.energy_max is not None:
                previous = row.energy_max
        return rollups

    def dead_letters(
        self, city_id: int | None, limit: int, before_id: int | None = None
    ) -> list[DeadLetter]:
        """Dead letters, newest first: one city's (None: all)."""
        c = dead_letters.c
        query = select(dead_letters).order_by(c.id.desc()).limit(limit)
        if city_id is not None:
            query = query.where(c.city_id == city_id)
        if before_id is not None:
            query = query.where(c.id < before_id)
        with translated("read dead letters"), self._engine.connect() as conn:
            return [
                DeadLetter(
                    id=row.id,
                    received_at=row.received_at,
                    topic=row.topic,
                    reason=RejectReason(row.reason),
                    message=row.message,
                    payload=bytes(row.payload),
                    size=row.size,
                    city_id=row.city_id,
                    device_uid=row.device_uid,
                )
                for row in conn.execute(query)
            ]

    def dead_letter_counts(self, city_id: int | None) -> dict[RejectReason, int]:
        """How many dead letters there are per reason."""
        c = dead_letters.c
        query = select(c.reason, func.count()).group_by(c.reason)
        if city_id is not None:
            query = query.where(c.city_id == city_id)
        with translated("count dead letters"), self._engine.connect() as conn:
            return {RejectReason(reason): count for reason, count in conn.execute(query).all()}

    def heard_since(self, since: float) -> Iterator[tuple[int, float]]:
        """Every device heard at ``since`` or later, with the time of its newest reading."""
        query = select(device_states.c.device_id, device_states.c.observed_at).where(
            device_states.c.observed_at >= since
        )
        with translated("read device states"), self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return ((int(device), float(at)) for device, at in rows)

    def prune(self, before: float) -> int:
        """Delete raw readings and dead letters older than ``before``; returns readings deleted."""
        deleted = 0
        with translated("prune readings"), self._engine.begin() as conn:
            if self._postgres:
                for day in sorted(_partition_days(conn)):
                    if (day + 1) * DAY <= before:
                        name = _partition_name(day)
                        deleted += conn.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar_one()  # noqa: S608
                        conn.exec_driver_sql(f"DROP TABLE {name}")
                        self._partitions.discard(day)
                        log.info("dropped readings partition %s", name)
            deleted += conn.execute(readings.delete().where(readings.c.time < before)).rowcount
            conn.execute(dead_letters.delete().where(dead_letters.c.received_at < before))
        return deleted


def _pg_insert_readings(cursor: psycopg.Cursor[Any]) -> int:
    """Move the staged readings into ``readings`` and the rollups; returns how many were new."""
    cursor.execute("SAVEPOINT new_readings")
    try:
        row = cursor.execute(_PG_WRITE_NEW).fetchone()
    except psycopg.errors.UniqueViolation:  # a redelivery: some are stored already
        cursor.execute("ROLLBACK TO SAVEPOINT new_readings")
        row = cursor.execute(_PG_WRITE_SOME_KNOWN).fetchone()
    else:
        cursor.execute("RELEASE SAVEPOINT new_readings")
    return int(row[0]) if row else 0


def _device_select() -> Any:  # noqa: ANN401 - a SQLAlchemy Select of a row shape
    return select(
        devices.c.id, devices.c.city_id, cities.c.slug, devices.c.uid, devices.c.kind
    ).join(cities, cities.c.id == devices.c.city_id)


def _partition_name(day: int) -> str:
    return "readings_" + datetime.fromtimestamp(day * DAY, UTC).strftime("%Y%m%d")


def _partition_days(conn: Connection) -> set[int]:
    names = conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'readings'"
        )
    ).scalars()
    days = set()
    for name in names:
        stamp = name.removeprefix("readings_")
        if stamp.isdigit():
            days.add(int(datetime.strptime(stamp, "%Y%m%d").replace(tzinfo=UTC).timestamp() // DAY))
    return days


def _letter_row(letter: DeadLetter) -> dict[str, Any]:
    return {
        "city_id": letter.city_id,
        "received_at": letter.received_at,
        "topic": letter.topic,
        "reason": str(letter.reason),
        "message": letter.message,
        "payload": letter.payload,
        "size": letter.size,
        "device_uid": letter.device_uid,
    }


def _state_value(value: Any) -> StateValue:  # noqa: ANN401 - JSON
    if isinstance(value, bool | str):
        return value
    return float(value)


def _mean(total: float, count: int) -> float | None:
    return total / count if count else None


def _rollup(row: Any, previous_energy: float | None) -> HourlyRollup:  # noqa: ANN401 - a result row
    energy = None
    if row.energy_max is not None:
        base = row.energy_min
        if previous_energy is not None and previous_energy <= row.energy_max:
            base = previous_energy  # the rise since the last reading of the hour before
        energy = row.energy_max - base
    return HourlyRollup(
        device_id=row.device_id,
        hour=row.hour,
        samples=row.samples,
        energy_wh=energy,
        on_hours=row.on_true / row.on_reports if row.on_reports else None,  # of one hour
        voltage_min=row.voltage_min,
        voltage_max=row.voltage_max,
        voltage_mean=_mean(row.voltage_sum, row.voltage_count),
        power_min=row.power_min,
        power_max=row.power_max,
        power_mean=_mean(row.power_sum, row.power_count),
    )
