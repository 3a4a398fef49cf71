"""Readings, live state, hourly rollups and dead letters in SQL, written a batch at a time.

A device's readings of one instant are one row of ``reports`` (``{name:
value}`` as JSON, see :mod:`report_values`): one row and one index entry a
message, where a row a reading cost five. One batch is one transaction. The
batch is first gathered in one pass (:func:`gather`): its report rows, each
device's newest values and its hourly rollups. Then:

1. The rows go straight in (PostgreSQL COPY; SQLite multi-row VALUES), and
   the rollups are added. Nearly always every row is new; if one is stored
   already (a redelivery after a crash), the insert breaks the key and is
   undone. The stored rows of the batch's keys are read, the batch is
   gathered again without the names they hold, new rows are inserted and
   stored ones get the new names: a redelivered reading is stored and
   rolled up once, and a second pack of the same instant with other names
   adds them.
2. Each device's state is merged per name: an older value never replaces a
   newer one, whatever order the messages came in. On SQLite the stored
   times are read first; a device whose batch values are all newer is
   merged by json_patch in SQL, the others name by name in Python.
3. Dead letters are filed.
"""

from __future__ import annotations

import logging
import math
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple

import orjson
import psycopg
from sqlalchemy import Connection, Engine, and_, func, select, text

from signalight.adapters.sql.bulk import sqlite_values
from signalight.adapters.sql.dead_letters import insert_letters
from signalight.adapters.sql.errors import translated
from signalight.adapters.sql.report_values import decoded
from signalight.adapters.sql.tables import (
    cities,
    dead_letters,
    device_states,
    devices,
    reading_hours,
    reports,
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
_PARTITION_LOCK: Final = 0x5349474E  # the advisory lock that serialises creating partitions
_REPORT_COLUMNS: Final = "device_id, time, city_id, size, data"

_PG_STAGING: Final = (
    "CREATE TEMP TABLE IF NOT EXISTS staged_hours (LIKE reading_hours) ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS staged_states ("
    " device_id integer NOT NULL, city_id integer NOT NULL, last_seen double precision NOT NULL,"
    " observed_at double precision NOT NULL, state_values jsonb NOT NULL) ON COMMIT DELETE ROWS"
)
_STAGED: Final = "signalight_staging"  # in a connection's info once its staging tables exist
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
_PG_ADD_HOURS: Final = f"""
    INSERT INTO reading_hours ({_HOUR_COLUMNS}) SELECT {_HOUR_COLUMNS} FROM staged_hours
    ON CONFLICT (device_id, hour) DO UPDATE SET {_PG_HOUR_UPDATES}
"""  # noqa: S608 - column names are ours
# The stored values of a batch's devices as one JSON object, {"device id": values}:
# one row, so one step, and the values' JSON text is pasted, not parsed.
_SQLITE_STORED_STATES: Final = (
    "SELECT '{' || group_concat('\"' || device_id || '\":' || state_values) || '}'"
    " FROM device_states WHERE device_id IN (SELECT value FROM json_each(?))"
)
# When each of a batch's devices last reported, as one JSON object {"device id": time}.
# printf keeps the microseconds (the text of a REAL has 15 digits; see _SLACK).
_SQLITE_STORED_TIMES: Final = (
    "SELECT '{' || group_concat('\"' || device_id || '\":' || printf('%.6f', observed_at))"
    " || '}' FROM device_states WHERE device_id IN (SELECT value FROM json_each(?))"
)
_SLACK: Final = 1e-3  # seconds: a stored time this close to the batch's is merged name by name
# The stored rows of a batch's keys, given as one JSON array of [device id, time].
_SQLITE_STORED_REPORTS: Final = (
    "SELECT r.device_id, r.time, r.data FROM json_each(?) AS k JOIN reports AS r"
    " ON r.device_id = json_extract(k.value, '$[0]') AND r.time = json_extract(k.value, '$[1]')"
)
_PG_STORED_REPORTS: Final = (
    "SELECT r.device_id, r.time, r.data FROM unnest(%s::integer[], %s::float8[]) AS k (d, t)"
    " JOIN reports AS r ON r.device_id = k.d AND r.time = k.t"
)
_ADD_NAMES: Final = "UPDATE reports SET size = {p}, data = {p} WHERE device_id = {p} AND time = {p}"
# The SQLite statements that take a batch's rows are written up to VALUES;
# ``sqlite_values`` adds as many rows a statement as fit.
_SQLITE_INSERT_NEW: Final = f"INSERT INTO reports ({_REPORT_COLUMNS}) VALUES"
_SQLITE_ADD_HOURS: Final = f"INSERT INTO reading_hours ({_HOUR_COLUMNS}) VALUES"
_SQLITE_ADD_HOURS_TAIL: Final = (
    f"ON CONFLICT (device_id, hour) DO UPDATE SET {_SQLITE_HOUR_UPDATES}"
)
_PG_COPY_STATES: Final = (
    "COPY staged_states (device_id, city_id, last_seen, observed_at, state_values) FROM STDIN"
)
# The batch's states are merged with the stored ones already (``merge_stored``,
# under SQLite's write lock), so they replace them whole.
_SQLITE_STATES: Final = (
    "INSERT INTO device_states (device_id, city_id, last_seen, observed_at, state_values) VALUES"
)
# Every value of the batch is newer than the stored ones: each name replaces the
# stored one. json_patch does that in SQLite's C, without the interpreter lock,
# and Python neither reads nor parses the stored values.
_SQLITE_STATES_PATCH_TAIL: Final = """
    ON CONFLICT (device_id) DO UPDATE SET
        state_values = json_patch(device_states.state_values, excluded.state_values),
        observed_at = max(device_states.observed_at, excluded.observed_at),
        last_seen = max(device_states.last_seen, excluded.last_seen)
"""
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
# ``{oldest}`` is the oldest time among the batch's values of the device.
_PG_STATES_TEMPLATE: Final = """
    INSERT INTO device_states (device_id, city_id, last_seen, observed_at, state_values)
    SELECT device_id, city_id, last_seen, observed_at, state_values FROM staged_states
    ON CONFLICT (device_id) DO UPDATE SET
        state_values = CASE
            WHEN device_states.observed_at <= {oldest}
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
"""
_PG_STATES: Final = _PG_STATES_TEMPLATE.format(
    oldest="(SELECT min((pair ->> 0)::float8)"
    " FROM jsonb_each(excluded.state_values) AS new (name, pair))"
)
# When each device's values in the batch share one time (one report a device,
# the rule), that time is observed_at: no need to look into the JSON, which
# took about 3 µs a device of the server's time (measured, 20,000 devices).
_PG_STATES_ONE_TIME: Final = _PG_STATES_TEMPLATE.format(oldest="excluded.observed_at")

ReportRow = tuple[int, float, int, int, str]  # in ``reports`` column order, data as JSON text
StateRow = tuple[int, int, float, float, str]
# [city id, last seen, observed at, {name: (time, value)}, the oldest time of its readings]
StateEntry = list[Any]
HourRow = tuple[Any, ...]
Key = tuple[int, float]  # a report's device id and time
# samples, on reports, on true; voltage min, max, sum, count; power the same; energy min, max
_EMPTY_HOUR: Final = (0, 0, 0, None, None, 0.0, 0, None, None, 0.0, 0, None, None)
_NOTHING_KNOWN: Final[Mapping[Key, Collection[str]]] = {}


class Gathered(NamedTuple):
    """A batch as the tables take it."""

    reports: dict[Key, list[Any]]  # per device and time: [city id, {name: encoded value}]
    states: dict[int, StateEntry]  # per device: newest receipt, reading time and values
    hours: list[HourRow]  # ``reading_hours`` rows
    readings: int  # readings in ``reports``

    def rows(self) -> list[ReportRow]:
        """The reports as ``reports`` rows."""
        dumps = orjson.dumps
        return [
            (device_id, time, city_id, len(data), dumps(data).decode())
            for (device_id, time), (city_id, data) in self.reports.items()
        ]


def gather(  # noqa: C901, PLR0912, PLR0915 - one hot loop, see below
    accepted: Sequence[Accepted], known: Mapping[Key, Collection[str]] = _NOTHING_KNOWN
) -> Gathered:
    """The batch's report rows, each device's newest state, and its hourly rollups.

    One pass over every reading ingest stores, in one frame (three passes,
    or a call a reading, cost a fifth more, measured). A reading whose
    device, time and name came earlier in the batch, or are in ``known``
    (stored already), is left out of the rows and the rollups. In a
    device's state an older value never replaces a newer one of the same
    name. The rollups are in ``reading_hours`` column order: device, hour,
    city, then ``_EMPTY_HOUR``'s fields.
    """
    reports: dict[Key, list[Any]] = {}
    merged: dict[int, StateEntry] = {}
    rollups: dict[Key, list[Any]] = {}
    count = 0
    for device, batch, received_at in accepted:
        device_id, city_id = device.id, device.city_id
        entry = merged.get(device_id)
        if entry is None:
            values: dict[str, tuple[float, StateValue]] = {}
            entry = merged[device_id] = [city_id, received_at, -math.inf, values, math.inf]
        else:
            values = entry[3]
            entry[1] = max(entry[1], received_at)
        observed, oldest = entry[2], entry[4]
        acc: list[Any] = []
        data: dict[str, Any] = {}
        stored: Collection[str] = ()
        at = math.nan  # the time ``data`` and ``acc`` are for: a pack's readings share one, mostly
        for reading in batch:
            time, name, value, bool_value, string_value = reading
            if time != at:
                at = time
                oldest = min(oldest, time)
                key = (device_id, time)
                report = reports.get(key)
                if report is None:
                    data = {}
                    reports[key] = [city_id, data]
                else:
                    data = report[1]
                stored = known.get(key, ()) if known else ()
                hour = hour_of(time)
                acc = rollups.get((device_id, hour)) or rollups.setdefault(
                    (device_id, hour), [device_id, hour, city_id, *_EMPTY_HOUR]
                )
            if name in data or name in stored:
                continue  # stored already, or twice in the batch: the first stands
            # report_values.encoded, written out: a call a reading costs a tenth more
            if bool_value is None:
                data[name] = (
                    value
                    if string_value is None
                    else string_value
                    if value is None
                    else [value, None, string_value]
                )
            else:
                data[name] = (
                    bool_value
                    if value is None and string_value is None
                    else [value, bool_value, string_value]
                )
            count += 1
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
        entry[2], entry[4] = observed, oldest
    if known:  # keys whose every name is stored add nothing
        reports = {key: report for key, report in reports.items() if report[1]}
    hours = [tuple(acc) for acc in rollups.values() if acc[3]]
    return Gathered(reports, merged, hours, count)


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
        for device_id, (city_id, last_seen, observed, values, _) in merged.items()
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
        batch = gather(accepted)
        rows, merged = batch.rows(), batch.states
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
                if self._postgres:  # PostgreSQL merges per name in the upsert
                    one_time = all(entry[4] >= entry[2] for entry in merged.values())
                    states = state_rows(merged)
                    try:
                        new = self._write_pg(conn, accepted, batch, rows, states, one_time=one_time)
                    except Exception:
                        conn.info.pop(_STAGED, None)  # the retry makes them if they are gone
                        raise
                else:
                    new = self._write_sqlite(conn, accepted, batch, rows)
                    self._write_sqlite_states(conn, merged)
                insert_letters(conn, dead)
                conn.commit()
                if self._postgres:
                    conn.info[_STAGED] = True
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

    def _write_sqlite_states(self, conn: Connection, merged: dict[int, StateEntry]) -> None:
        """Merge the batch's states into the stored ones (SQLite; its write lock is held).

        Nearly always every value of a device in the batch is newer than its
        stored state: json_patch replaces those names in SQL. A device with
        older values in the batch (a node emptying its buffer) is merged name
        by name in Python, with its stored values read.
        """
        driver = conn.connection.driver_connection
        assert isinstance(driver, sqlite3.Connection)  # noqa: S101 - the dialect says so
        found = driver.execute(_SQLITE_STORED_TIMES, (orjson.dumps(list(merged)).decode(),))
        text = found.fetchone()[0]
        stored: dict[str, float] = orjson.loads(text) if text else {}
        behind = {
            device_id: merged[device_id]
            for device_id in map(int, stored)
            if stored[str(device_id)] > merged[device_id][4] - _SLACK
        }
        if behind:
            merge_stored(behind, self._stored_states(conn, list(behind)))
            sqlite_values(driver, _SQLITE_STATES, state_rows(behind), _SQLITE_STATES_TAIL)
            merged = {key: entry for key, entry in merged.items() if key not in behind}
        sqlite_values(driver, _SQLITE_STATES, state_rows(merged), _SQLITE_STATES_PATCH_TAIL)

    def _write_sqlite(
        self,
        conn: Connection,
        accepted: Sequence[Accepted],
        batch: Gathered,
        rows: list[ReportRow],
    ) -> int:
        driver = conn.connection.driver_connection
        assert isinstance(driver, sqlite3.Connection)  # noqa: S101 - the dialect says so
        new = 0
        if rows:
            # Nearly always every row is new: straight in. A redelivery breaks
            # the key: undo, and add only what is not stored.
            driver.execute("SAVEPOINT new_reports")
            try:
                sqlite_values(driver, _SQLITE_INSERT_NEW, rows)
            except sqlite3.IntegrityError:
                driver.execute("ROLLBACK TO SAVEPOINT new_reports")
                driver.execute("RELEASE SAVEPOINT new_reports")
                stored = _parsed(driver.execute(_SQLITE_STORED_REPORTS, (_keys_json(batch),)))
                batch = gather(accepted, {key: data.keys() for key, data in stored.items()})
                fresh, grown = _split(batch, stored)
                sqlite_values(driver, _SQLITE_INSERT_NEW, fresh)
                driver.executemany(_ADD_NAMES.format(p="?"), grown)
            else:
                driver.execute("RELEASE SAVEPOINT new_reports")
            sqlite_values(driver, _SQLITE_ADD_HOURS, batch.hours, _SQLITE_ADD_HOURS_TAIL)
            new = batch.readings
        return new

    def _write_pg(
        self,
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
            cursor.execute(_PG_STAGING)
        new = 0
        if rows:
            # Straight into the table: COPY stops at a broken key, and the
            # savepoint undoes it (a redelivery; then only what is not stored).
            cursor.execute("SAVEPOINT new_reports")
            try:
                _copy(cursor, f"COPY reports ({_REPORT_COLUMNS}) FROM STDIN", rows)
            except psycopg.errors.UniqueViolation:
                cursor.execute("ROLLBACK TO SAVEPOINT new_reports")
                keys = list(batch.reports)
                found = cursor.execute(
                    _PG_STORED_REPORTS, ([key[0] for key in keys], [key[1] for key in keys])
                )
                stored = _parsed(found)
                batch = gather(accepted, {key: data.keys() for key, data in stored.items()})
                fresh, grown = _split(batch, stored)
                _copy(cursor, f"COPY reports ({_REPORT_COLUMNS}) FROM STDIN", fresh)
                if grown:
                    cursor.executemany(_ADD_NAMES.format(p="%s"), grown)
            else:
                cursor.execute("RELEASE SAVEPOINT new_reports")
            # Rows in key order, so that two workers updating the same rows
            # lock them in the same order and never deadlock.
            _copy(cursor, f"COPY staged_hours ({_HOUR_COLUMNS}) FROM STDIN", sorted(batch.hours))
            cursor.execute(_PG_ADD_HOURS)
            new = batch.readings
        if states:
            _copy(cursor, _PG_COPY_STATES, sorted(states))
            cursor.execute(_PG_STATES_ONE_TIME if one_time else _PG_STATES)
        cursor.close()
        return new

    def _ensure_partitions(self, rows: list[ReportRow]) -> None:
        times = [row[1] for row in rows]
        first, last = int(min(times) // DAY), int(max(times) // DAY)
        missing = [day for day in range(first, last + 1) if day not in self._partitions]
        if not missing:
            return
        with self._engine.begin() as conn:
            # Workers starting together would all create the day's partition; two
            # CREATE TABLE IF NOT EXISTS at once can still both try, and one fails.
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (_PARTITION_LOCK,))
            existing = _partition_days(conn)
            for day in missing:
                if day not in existing:
                    name = _partition_name(day)
                    conn.exec_driver_sql(
                        f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF reports"
                        f" FOR VALUES FROM ({day * DAY!r}) TO ({(day + 1) * DAY!r})"
                    )
                    log.info("created reports partition %s", name)
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
        c = reports.c
        query = (
            select(c.time, c.data)
            .where(c.device_id == device_id, c.city_id == city_id, c.time >= start, c.time < end)
            .order_by(c.time)
        )
        wanted = None if names is None else frozenset(names)
        found: list[Reading] = []
        with translated("read readings"), self._engine.connect() as conn:
            # Rows until ``limit`` readings: a row holds one reading or many.
            result = conn.execution_options(yield_per=min(max(limit, 16), 1_000)).execute(query)
            for time, data in result:
                found.extend(decoded(time, _json(data), wanted))
                if len(found) >= limit:
                    break
            result.close()
        return found[:limit]

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
                        deleted += conn.exec_driver_sql(
                            f"SELECT coalesce(sum(size), 0) FROM {name}"  # noqa: S608 - ours
                        ).scalar_one()
                        conn.exec_driver_sql(f"DROP TABLE {name}")
                        self._partitions.discard(day)
                        log.info("dropped reports partition %s", name)
            old = reports.c.time < before
            deleted += int(
                conn.execute(
                    select(func.coalesce(func.sum(reports.c.size), 0)).where(old)
                ).scalar_one()
            )
            conn.execute(reports.delete().where(old))
            conn.execute(dead_letters.delete().where(dead_letters.c.received_at < before))
        return deleted


def _copy(cursor: psycopg.Cursor[Any], statement: str, rows: Iterable[Sequence[Any]]) -> None:
    with cursor.copy(statement) as copy:
        write = copy.write_row
        for row in rows:
            write(row)


def _keys_json(batch: Gathered) -> str:
    return orjson.dumps(list(batch.reports)).decode()


def _parsed(rows: Iterable[Any]) -> dict[Key, dict[str, Any]]:
    """Stored report rows (device id, time, data) by key, data parsed."""
    return {(int(device_id), float(time)): _json(data) for device_id, time, data in rows}


def _json(data: Any) -> dict[str, Any]:  # noqa: ANN401 - JSON text, or parsed by the driver
    parsed: dict[str, Any] = orjson.loads(data) if isinstance(data, str | bytes) else data
    return parsed


def _split(
    batch: Gathered, stored: Mapping[Key, dict[str, Any]]
) -> tuple[list[ReportRow], list[tuple[int, str, int, float]]]:
    """A batch gathered without what is stored: new rows, and stored rows with names added."""
    fresh = [row for row in batch.rows() if (row[0], row[1]) not in stored]
    grown: list[tuple[int, str, int, float]] = []
    for (device_id, time), (_, data) in batch.reports.items():
        held = stored.get((device_id, time))
        if held is not None:
            union = held | data
            grown.append((len(union), orjson.dumps(union).decode(), device_id, time))
    return fresh, grown


def _device_select() -> Any:  # noqa: ANN401 - a SQLAlchemy Select of a row shape
    return select(
        devices.c.id, devices.c.city_id, cities.c.slug, devices.c.uid, devices.c.kind
    ).join(cities, cities.c.id == devices.c.city_id)


def _partition_name(day: int) -> str:
    return "reports_" + datetime.fromtimestamp(day * DAY, UTC).strftime("%Y%m%d")


def _partition_days(conn: Connection) -> set[int]:
    names = conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'reports'"
        )
    ).scalars()
    days = set()
    for name in names:
        stamp = name.removeprefix("reports_")
        if stamp.isdigit():
            days.add(int(datetime.strptime(stamp, "%Y%m%d").replace(tzinfo=UTC).timestamp() // DAY))
    return days


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
