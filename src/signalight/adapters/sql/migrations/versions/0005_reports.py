"""Reports: one row per device and instant, its readings as a JSON object, in place of readings.

A device's readings of one instant become one row of ``reports``, ``data``
holding ``{name: value}`` in the encoding of
``signalight.adapters.sql.report_values`` (keep the two together): one row
and one index entry a message costs a fifth of one row a reading to insert
(``bench/ingest.py``). ``size`` is how many readings ``data`` holds, so that
counting readings needs no JSON. On PostgreSQL ``data`` is ``json``, not
``jsonb``: json is kept as the text it was given, so inserting it costs no
conversion, and the store reads it whole. The table is partitioned by day as
``readings`` was: each ``readings_YYYYMMDD`` partition gets a
``reports_YYYYMMDD`` with the same bounds, and a default partition catches the
rest.

The rows are copied in SQL, one aggregate per device and time. On SQLite
(3.40 at least) the JSON functions write a REAL with 15 significant digits,
so 0.1 + 0.2 would come out as 0.3; numbers are written instead by a Python
function registered on the connection for this migration, with orjson as the
ingest writer does, which gives the shortest text that reads back as the same
double. SQLite's JSON parser reads those texts back exactly (checked on
250,000 random doubles), so the downgrade stays in SQL.

Revision ID: 0005
Revises: 0004
"""

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime

import orjson
import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DAY = 86_400.0
_JSON_NUMBER = "signalight_json_number"

# A reading's value in ``data``: its one value, [v, vb, vs] when it has more
# than one, null when it has none. The CASE builds JSON text and json() marks
# it as JSON for json_group_object: a JSON subtype passed through a CASE is not
# something every SQLite version keeps.
_SQLITE_VALUE = (
    "json(CASE"
    " WHEN (value IS NOT NULL) + (bool_value IS NOT NULL) + (string_value IS NOT NULL) > 1"
    f" THEN '[' || coalesce({_JSON_NUMBER}(value), 'null') || ','"
    " || CASE WHEN bool_value IS NULL THEN 'null' WHEN bool_value THEN 'true' ELSE 'false' END"
    " || ',' || json_quote(string_value) || ']'"
    f" WHEN value IS NOT NULL THEN {_JSON_NUMBER}(value)"
    " WHEN bool_value IS NOT NULL THEN CASE WHEN bool_value THEN 'true' ELSE 'false' END"
    " ELSE json_quote(string_value)"  # 'null' when there is no string either
    " END)"
)
_POSTGRES_VALUE = (
    "CASE"
    " WHEN num_nonnulls(value, bool_value, string_value) > 1"
    " THEN json_build_array(value, bool_value, string_value)"
    " WHEN value IS NOT NULL THEN to_json(value)"
    " WHEN bool_value IS NOT NULL THEN to_json(bool_value)"
    " ELSE to_json(string_value)"  # SQL NULL, a JSON null in the object, when none
    " END"
)
_COPY_REPORTS = (
    "INSERT INTO reports (device_id, time, city_id, size, data)"
    " SELECT device_id, time, min(city_id), count(*), {aggregate}(name, {value})"
    " FROM readings GROUP BY device_id, time"
)
_SQLITE_COPY_READINGS = (
    "INSERT INTO readings (device_id, time, name, city_id, value, bool_value, string_value)"
    " SELECT r.device_id, r.time, j.key, r.city_id,"
    " CASE j.type WHEN 'real' THEN j.value WHEN 'integer' THEN j.value"
    " WHEN 'array' THEN json_extract(j.value, '$[0]') END,"
    " CASE j.type WHEN 'true' THEN 1 WHEN 'false' THEN 0"
    " WHEN 'array' THEN json_extract(j.value, '$[1]') END,"
    " CASE j.type WHEN 'text' THEN j.value WHEN 'array' THEN json_extract(j.value, '$[2]') END"
    " FROM reports AS r, json_each(r.data) AS j"
)
_POSTGRES_COPY_READINGS = (
    "INSERT INTO readings (device_id, time, name, city_id, value, bool_value, string_value)"
    " SELECT r.device_id, r.time, j.key, r.city_id,"
    " CASE json_typeof(j.value) WHEN 'number' THEN (j.value #>> '{}')::double precision"
    " WHEN 'array' THEN (j.value ->> 0)::double precision END,"
    " CASE json_typeof(j.value) WHEN 'boolean' THEN (j.value #>> '{}')::boolean"
    " WHEN 'array' THEN (j.value ->> 1)::boolean END,"
    " CASE json_typeof(j.value) WHEN 'string' THEN j.value #>> '{}'"
    " WHEN 'array' THEN j.value ->> 2 END"
    " FROM reports AS r CROSS JOIN LATERAL json_each(r.data) AS j"
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        days = _partition_days(bind, "readings")
        op.execute(
            "CREATE TABLE reports ("
            " device_id integer NOT NULL,"
            " time double precision NOT NULL,"
            " city_id integer NOT NULL,"
            " size integer NOT NULL,"
            " data json NOT NULL,"
            " CONSTRAINT pk_reports PRIMARY KEY (device_id, time)"
            ") PARTITION BY RANGE (time)"
        )
        _create_partitions("reports", days)
        # to_json writes a double as float8out does; 1 (the default since
        # PostgreSQL 12) is the shortest text that reads back as the same double.
        op.execute("SET LOCAL extra_float_digits = 1")
        op.execute(_COPY_REPORTS.format(aggregate="json_object_agg", value=_POSTGRES_VALUE))
    else:
        op.execute(
            "CREATE TABLE reports ("
            " device_id INTEGER NOT NULL,"
            " time FLOAT NOT NULL,"
            " city_id INTEGER NOT NULL,"
            " size INTEGER NOT NULL,"
            " data TEXT NOT NULL,"
            " CONSTRAINT pk_reports PRIMARY KEY (device_id, time)"
            ") WITHOUT ROWID"
        )
        driver = bind.connection.driver_connection
        if not isinstance(driver, sqlite3.Connection):
            raise TypeError(f"migration 0005 needs the sqlite3 driver, not {type(driver)}")
        driver.create_function(_JSON_NUMBER, 1, _json_number, deterministic=True)
        try:
            op.execute(_COPY_REPORTS.format(aggregate="json_group_object", value=_SQLITE_VALUE))
        finally:
            driver.create_function(_JSON_NUMBER, 1, None)
    # On PostgreSQL this drops the day partitions too.
    op.execute("DROP TABLE readings")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        days = _partition_days(bind, "reports")
        op.execute(
            "CREATE TABLE readings ("
            " device_id integer NOT NULL,"
            " time double precision NOT NULL,"
            " name varchar(64) NOT NULL,"
            " city_id integer NOT NULL,"
            " value double precision,"
            " bool_value boolean,"
            " string_value text,"
            " CONSTRAINT pk_readings PRIMARY KEY (device_id, time, name)"
            ") PARTITION BY RANGE (time)"
        )
        _create_partitions("readings", days)
        op.execute(_POSTGRES_COPY_READINGS)
    else:
        op.execute(
            "CREATE TABLE readings ("
            " device_id INTEGER NOT NULL,"
            " time FLOAT NOT NULL,"
            " name VARCHAR(64) NOT NULL,"
            " city_id INTEGER NOT NULL,"
            " value FLOAT,"
            " bool_value BOOLEAN,"
            " string_value TEXT,"
            " CONSTRAINT pk_readings PRIMARY KEY (device_id, time, name)"
            ") WITHOUT ROWID"
        )
        op.execute(_SQLITE_COPY_READINGS)
    op.execute("DROP TABLE reports")


def _json_number(value: float | None) -> str | None:
    # orjson writes a non-finite double as null, as the ingest writer would.
    return None if value is None else orjson.dumps(float(value)).decode()


def _partition_days(bind: sa.Connection, table: str) -> list[int]:
    """The UTC days (epoch seconds // 86400) of ``table``'s ``<table>_YYYYMMDD`` partitions."""
    names = bind.execute(
        sa.text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = CAST(:table AS regclass)"
        ),
        {"table": table},
    ).scalars()
    days = []
    for name in names:
        stamp = name.removeprefix(f"{table}_")
        if len(stamp) == 8 and stamp.isdigit():  # noqa: PLR2004 - YYYYMMDD
            day = datetime.strptime(stamp, "%Y%m%d").replace(tzinfo=UTC).timestamp() // DAY
            days.append(int(day))
    return sorted(days)


def _create_partitions(table: str, days: Sequence[int]) -> None:
    """The default partition of ``table`` and one a day, named as the telemetry store names them."""
    op.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
    for day in days:
        stamp = datetime.fromtimestamp(day * DAY, UTC).strftime("%Y%m%d")
        op.execute(
            f"CREATE TABLE {table}_{stamp} PARTITION OF {table}"
            f" FOR VALUES FROM ({day * DAY!r}) TO ({(day + 1) * DAY!r})"
        )
