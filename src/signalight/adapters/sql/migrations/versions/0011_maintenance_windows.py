"""Maintenance windows: who may open an intersection's cabinet door, and when.

A window names the intersection (or one of its cabinets), the time it opens
and closes, the person who will open the door (``who``, a username) and why.
A cabinet door opened with no window or work order covering it is a break-in
alarm, so ``ended_at`` records a window closed early: from then on it no
longer authorises. ``work_order_id`` is set when a work order made the
window; deleting the order keeps the window. Times are timezone-aware UTC.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "maintenance_windows",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "city_id", sa.Integer, sa.ForeignKey("cities.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "asset_id", sa.Integer, sa.ForeignKey("assets.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("who", sa.String(64), nullable=False),
        sa.Column("why", sa.String(500), nullable=False),
        sa.Column(
            "work_order_id", sa.Integer, sa.ForeignKey("work_orders.id", ondelete="SET NULL")
        ),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("starts_at < ends_at", name="window_order"),
    )
    # The door check: the windows of one asset around one instant.
    op.create_index(
        "ix_maintenance_windows_city_asset_start",
        "maintenance_windows",
        ["city_id", "asset_id", "starts_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_maintenance_windows_city_asset_start", table_name="maintenance_windows")
    op.drop_table("maintenance_windows")
