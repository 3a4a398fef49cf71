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


def downgrade() -> None:
    with op.batch_alter_table("reading_hours") as batch:
        for name in reversed(_COLUMNS):
            batch.drop_column(name)
