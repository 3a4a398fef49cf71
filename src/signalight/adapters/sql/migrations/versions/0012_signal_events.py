"""Signal events: a controller's events by intersection, time, code and parameter.

Until now an ``event`` reading was one name of a ``reports`` row, keyed by
device and time, so a second event at the same instant (phases 2 and 6
turning green together) collapsed into the first and was lost. Events get
their own table, keyed by what identifies one, as ATSPM's
``IndianaEvent.Equals`` does: the asset the controller serves (the
intersection its monitor is bound to), the time, the code and the
parameter. The live feed and imported controller logs write the same
table; a second copy of an event adds nothing.

On PostgreSQL the table is partitioned by day as ``reports`` is
(``signal_events_YYYYMMDD``, plus a default partition), so that months of
hundreds of millions of events are dropped a day at a time. On SQLite it is
a ``WITHOUT ROWID`` table: the rows are the primary key's b-tree.

The events stored in ``reports`` so far (one an instant, the others lost)
move here when their device is bound to an asset, and leave ``reports``.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DAY = 86_400.0

_POSTGRES_MOVE = (
    "INSERT INTO signal_events (asset_id, time, code, param, city_id)"
    " SELECT d.asset_id, round(r.time::numeric, 3)::float8,"
    " (r.data -> 'event' ->> 0)::float8::integer, (r.data -> 'event' ->> 2)::integer, r.city_id"
    " FROM reports AS r JOIN devices AS d ON d.id = r.device_id"
    " WHERE d.asset_id IS NOT NULL AND json_typeof(r.data -> 'event') = 'array'"
    " ON CONFLICT DO NOTHING"
)
_POSTGRES_STRIP = (
    "UPDATE reports AS r SET data = (r.data::jsonb - 'event')::json, size = r.size - 1"
    " FROM devices AS d WHERE d.id = r.device_id AND d.asset_id IS NOT NULL"
    " AND json_typeof(r.data -> 'event') = 'array'"
)
_SQLITE_MOVE = (
    "INSERT OR IGNORE INTO signal_events (asset_id, time, code, param, city_id)"
    " SELECT d.asset_id, round(r.time, 3), CAST(json_extract(r.data, '$.event[0]') AS INTEGER),"
    " CAST(json_extract(r.data, '$.event[2]') AS INTEGER), r.city_id"
    " FROM reports AS r JOIN devices AS d ON d.id = r.device_id"
    " WHERE d.asset_id IS NOT NULL AND json_type(r.data, '$.event') = 'array'"
)
_SQLITE_STRIP = (
    "UPDATE reports SET data = json_remove(data, '$.event'), size = size - 1"
    " WHERE json_type(data, '$.event') = 'array'"
    " AND device_id IN (SELECT id FROM devices WHERE asset_id IS NOT NULL)"
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(
            "CREATE TABLE signal_events ("
            " asset_id integer NOT NULL,"
            " time double precision NOT NULL,"
            " code integer NOT NULL,"
            " param integer NOT NULL,"
            " city_id integer NOT NULL,"
            " CONSTRAINT pk_signal_events PRIMARY KEY (asset_id, time, code, param)"
            ") PARTITION BY RANGE (time)"
        )
        op.execute("CREATE TABLE signal_events_default PARTITION OF signal_events DEFAULT")
        for day in _days(bind):
            stamp = datetime.fromtimestamp(day * DAY, UTC).strftime("%Y%m%d")
            op.execute(
                f"CREATE TABLE signal_events_{stamp} PARTITION OF signal_events"
                f" FOR VALUES FROM ({day * DAY!r}) TO ({(day + 1) * DAY!r})"
            )
        op.execute(_POSTGRES_MOVE)
        op.execute(_POSTGRES_STRIP)
    else:
        op.execute(
            "CREATE TABLE signal_events ("
            " asset_id INTEGER NOT NULL,"
            " time FLOAT NOT NULL,"
            " code INTEGER NOT NULL,"
            " param INTEGER NOT NULL,"
            " city_id INTEGER NOT NULL,"
            " CONSTRAINT pk_signal_events PRIMARY KEY (asset_id, time, code, param)"
            ") WITHOUT ROWID"
        )
        op.execute(_SQLITE_MOVE)
        op.execute(_SQLITE_STRIP)
    op.execute("DELETE FROM reports WHERE size = 0")


def downgrade() -> None:
    # The events stay lost to ``reports``'s key: one an instant could go back, the
    # rest would be dropped again. Downgrading drops the table and what it holds.
    op.execute("DROP TABLE signal_events")


def _days(bind: sa.Connection) -> list[int]:
    """The days of the events stored in ``reports``, one partition each."""
    found = bind.execute(
        sa.text(
            "SELECT DISTINCT floor(time / 86400)::integer FROM reports"
            " WHERE json_typeof(data -> 'event') = 'array'"
        )
    ).scalars()
    return sorted(int(day) for day in found)
