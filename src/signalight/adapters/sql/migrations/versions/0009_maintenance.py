"""Maintenance: incidents, work orders, their notes and photos, and cities' service levels.

An incident groups alarms (``incident_alarms``); a work order is made from
an incident or by hand on an asset, and keeps the asset's code so that it
outlives the asset. Photos are stored in the database, already re-encoded
without their metadata; they are few and small (8 MB at most). Times are
timezone-aware UTC.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _city() -> sa.Column[int]:
    return sa.Column(
        "city_id", sa.Integer, sa.ForeignKey("cities.id", ondelete="CASCADE"), nullable=False
    )


def _order() -> sa.Column[int]:
    return sa.Column(
        "work_order_id",
        sa.Integer,
        sa.ForeignKey("work_orders.id", ondelete="CASCADE"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer, primary_key=True),
        _city(),
        sa.Column("asset_id", sa.Integer, sa.ForeignKey("assets.id", ondelete="SET NULL")),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_incidents_city_id", "incidents", ["city_id", "id"])
    op.create_table(
        "incident_alarms",
        sa.Column(
            "incident_id",
            sa.Integer,
            sa.ForeignKey("incidents.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "alarm_id", sa.Integer, sa.ForeignKey("alarms.id", ondelete="CASCADE"), nullable=False
        ),
        sa.PrimaryKeyConstraint("incident_id", "alarm_id"),
    )
    op.create_index("ix_incident_alarms_alarm", "incident_alarms", ["alarm_id"])
    op.create_table(
        "work_orders",
        sa.Column("id", sa.Integer, primary_key=True),
        _city(),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id", ondelete="SET NULL")),
        sa.Column("asset_id", sa.Integer, sa.ForeignKey("assets.id", ondelete="SET NULL")),
        sa.Column("asset_code", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("crew", sa.String(64)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("confirmation", sa.String(16)),
        sa.Column("confirmed_at", sa.DateTime(timezone=True)),
        sa.Column("parts", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('open', 'assigned', 'in_progress', 'done', 'cancelled')", name="state"
        ),
        sa.CheckConstraint(
            "priority IN ('critical', 'major', 'minor', 'warning')", name="priority"
        ),
        sa.CheckConstraint(
            "confirmation IS NULL OR confirmation IN ('confirmed', 'not_confirmed')",
            name="confirmation",
        ),
    )
    # Lists by state and by crew; the KPI counts and the repairs to confirm read by state.
    op.create_index("ix_work_orders_city_state", "work_orders", ["city_id", "state"])
    op.create_index("ix_work_orders_city_crew", "work_orders", ["city_id", "crew"])
    op.create_index("ix_work_orders_asset", "work_orders", ["asset_id"])
    op.create_table(
        "work_order_notes",
        sa.Column("id", sa.Integer, primary_key=True),
        _order(),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("text", sa.String(2000), nullable=False),
    )
    op.create_index("ix_work_order_notes_work_order_id", "work_order_notes", ["work_order_id"])
    op.create_table(
        "work_order_photos",
        sa.Column("id", sa.Integer, primary_key=True),
        _order(),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("media_type", sa.String(32), nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_work_order_photos_work_order_id", "work_order_photos", ["work_order_id"])
    op.create_table(
        "maintenance_settings",
        sa.Column(
            "city_id", sa.Integer, sa.ForeignKey("cities.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("service_hours", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("maintenance_settings")
    op.drop_table("work_order_photos")
    op.drop_table("work_order_notes")
    op.drop_table("work_orders")
    op.drop_table("incident_alarms")
    op.drop_table("incidents")
