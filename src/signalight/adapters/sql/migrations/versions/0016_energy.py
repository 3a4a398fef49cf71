"""Energy metering: counter readings first and last in each hour, and what the counter counted.

An hour's lowest and highest counter reading (``energy_min``,
``energy_max``) cannot tell what a counter that reset within the hour
counted: 1,000 then 1,010, a restart, then 5 and 15 is 25 Wh, not 1,010.
Each hour now keeps its first and its last counter reading with their
times (so that two tallies of one hour, from batches arriving in any order,
merge into the earliest and the latest) and ``energy_rise``, what the
counter counted between its readings of the hour, resets and wraps
included (``domain/energy.py``). The step from one hour's last reading to
the next's first is counted by the reports. Rows stored before this
migration keep NULL here, and are read by their minimum and maximum.

``energy_days`` keeps what each light used on each local day once the day
is settled: no reading of it can come any more (ingest refuses readings
older than its limit, a week by default, and a gap is looked at two days
either side). A month's report then adds up 20,000 x 31 rows instead of
counting 14.4 million hourly ones again. ``energy_settled`` says which of
a city's days are settled (a day with no reading has no row in
``energy_days``). Days are the UTC epoch of their local midnight.

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("energy_first", "energy_first_at", "energy_last", "energy_last_at", "energy_rise")


def upgrade() -> None:
    # Nullable columns with no default: PostgreSQL and SQLite add them without
    # rewriting the table, however many rollups it holds.
    for name in _COLUMNS:
        op.add_column("reading_hours", sa.Column(name, sa.Float(), nullable=True))
    # No foreign keys, as for the readings: a light's devices and rows go together.
    op.create_table(
        "energy_days",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Float(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("wh", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("device_id", "day", name=op.f("pk_energy_days")),
    )
    op.create_index("ix_energy_days_city_day", "energy_days", ["city_id", "day"])
    op.create_table(
        "energy_settled",
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Float(), nullable=False),
        sa.Column("settled_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("city_id", "day", name=op.f("pk_energy_settled")),
    )


def downgrade() -> None:
    op.drop_table("energy_settled")
    op.drop_index("ix_energy_days_city_day", table_name="energy_days")
    op.drop_table("energy_days")
    with op.batch_alter_table("reading_hours") as batch:
        for name in reversed(_COLUMNS):
            batch.drop_column(name)
