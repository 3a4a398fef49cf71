"""Commands to devices and their acknowledgements.

``command_batches`` holds each request (what, of which assets, by whom, its
expiry); ``commands`` one row per device, keyed by the command's id on the
wire (a UUID), with its state, sends and answer; ``command_strays`` the
answers that changed no command, for the operator. ``next_at`` is when a
waiting command is due to be published (again), NULL once it has ended, so
the dispatcher reads its work from one index. Times are timezone-aware UTC.

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _city() -> sa.Column[int]:
    return sa.Column(
        "city_id", sa.Integer, sa.ForeignKey("cities.id", ondelete="CASCADE"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "command_batches",
        sa.Column("id", sa.Integer, primary_key=True),
        _city(),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("args", sa.JSON, nullable=False),
        sa.Column("target_kind", sa.String(16), nullable=False),
        sa.Column("target_names", sa.JSON, nullable=False),
        sa.Column("requested_by", sa.String(100), nullable=False),
        sa.Column("why", sa.String(500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("skipped", sa.JSON, nullable=False),
    )
    op.create_index("ix_command_batches_city_created", "command_batches", ["city_id", "created_at"])
    op.create_table(
        "commands",
        sa.Column("id", sa.String(36), primary_key=True),
        _city(),
        sa.Column("batch_id", sa.Integer, sa.ForeignKey("command_batches.id", ondelete="CASCADE")),
        sa.Column("device_uid", sa.String(64), nullable=False),
        sa.Column("asset_code", sa.String(64)),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("args", sa.JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("requested_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True)),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("done_at", sa.DateTime(timezone=True)),
        sa.Column("ack_status", sa.String(16)),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("stray_acks", sa.Integer, nullable=False),
        sa.CheckConstraint(
            "state IN ('queued', 'sent', 'acknowledged', 'failed', 'expired')", name="state"
        ),
    )
    # The dispatcher's work: commands due to be published, by time.
    op.create_index("ix_commands_next_at", "commands", ["next_at"])
    op.create_index("ix_commands_city_created", "commands", ["city_id", "created_at"])
    # A batch's progress: its commands counted by state.
    op.create_index("ix_commands_batch_state", "commands", ["batch_id", "state"])
    op.create_table(
        "command_strays",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("city_id", sa.Integer, sa.ForeignKey("cities.id", ondelete="CASCADE")),
        sa.Column("device_uid", sa.String(64), nullable=False),
        sa.Column("command_id", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("detail", sa.String(500), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_command_strays_city_at", "command_strays", ["city_id", "at"])
    op.create_index("ix_command_strays_command", "command_strays", ["command_id"])


def downgrade() -> None:
    op.drop_index("ix_command_strays_command", table_name="command_strays")
    op.drop_index("ix_command_strays_city_at", table_name="command_strays")
    op.drop_table("command_strays")
    op.drop_index("ix_commands_batch_state", table_name="commands")
    op.drop_index("ix_commands_city_created", table_name="commands")
    op.drop_index("ix_commands_next_at", table_name="commands")
    op.drop_table("commands")
    op.drop_index("ix_command_batches_city_created", table_name="command_batches")
    op.drop_table("command_batches")
