"""Signal log files: every controller event log imported or refused, with its reason.

``signal_log_files`` keeps one row a file that ``signalight signals
import`` or the watched drop directory took: its name, size and format,
how many event records it held and how many were new to ``signal_events``,
its status (``stored``, ``partial`` when some of its controllers matched no
intersection, ``refused``) and the reason. A refused file is kept by the
watcher beside its reason, like a dead letter.

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signal_log_files",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "city_id", sa.Integer, sa.ForeignKey("cities.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("format", sa.String(32), nullable=False),  # "" when it could not be told
        sa.Column("events", sa.Integer, nullable=False),  # records in the file, copies included
        sa.Column("new", sa.Integer, nullable=False),  # events new to signal_events
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("intersections", sa.JSON, nullable=False),  # codes the events went to
        sa.Column("at", sa.Float, nullable=False),  # UTC epoch seconds
        sa.CheckConstraint("status IN ('stored', 'partial', 'refused')", name="status"),
    )
    op.create_index("ix_signal_log_files_city_at", "signal_log_files", ["city_id", "at"])


def downgrade() -> None:
    op.drop_table("signal_log_files")
