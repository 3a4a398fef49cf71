"""Alarms, their history, and each city's detection settings.

One open alarm per asset and type is the detector's rule, kept in its
memory; the database does not enforce it, as a closed alarm and its
successor share the pair. Events are
the alarms' history and the feed that the server-sent-events stream and
the notifier read by id.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alarms",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "city_id", sa.Integer, sa.ForeignKey("cities.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("asset_id", sa.Integer, sa.ForeignKey("assets.id", ondelete="SET NULL")),
        sa.Column("asset_code", sa.String(64)),
        sa.Column("device_id", sa.Integer, sa.ForeignKey("devices.id", ondelete="SET NULL")),
        sa.Column("device_uid", sa.String(64)),
        sa.Column("raised_at", sa.Float, nullable=False),
        sa.Column("observed_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("message", sa.String(1000), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.Column("occurrences", sa.Integer, nullable=False),
        sa.Column("held", sa.Boolean, nullable=False),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("alarms.id", ondelete="SET NULL")),
        sa.Column("acknowledged_at", sa.Float),
        sa.Column("acknowledged_by", sa.String(64)),
        sa.Column("cleared_at", sa.Float),
        sa.Column("closed_at", sa.Float),
        sa.Column("closed_by", sa.String(64)),
        sa.CheckConstraint(
            "state IN ('raised', 'acknowledged', 'cleared', 'closed')", name="state"
        ),
        sa.CheckConstraint(
            "severity IN ('critical', 'major', 'minor', 'warning')", name="severity"
        ),
    )
    # Lists are per city, newest first; the open ones are what operators and the detector read.
    op.create_index("ix_alarms_city_id", "alarms", ["city_id", "id"])
    op.create_index("ix_alarms_city_state", "alarms", ["city_id", "state", "type"])
    op.create_index("ix_alarms_asset", "alarms", ["asset_id", "type", "state"])
    op.create_index("ix_alarms_parent", "alarms", ["parent_id"])
    op.create_table(
        "alarm_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "alarm_id", sa.Integer, sa.ForeignKey("alarms.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "city_id", sa.Integer, sa.ForeignKey("cities.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(64)),
        sa.Column("note", sa.String(2000), nullable=False),
    )
    op.create_index("ix_alarm_events_alarm", "alarm_events", ["alarm_id", "id"])
    op.create_index("ix_alarm_events_city", "alarm_events", ["city_id", "id"])
    op.create_table(
        "detection_settings",
        sa.Column(
            "city_id",
            sa.Integer,
            sa.ForeignKey("cities.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("overrides", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("detection_settings")
    op.drop_table("alarm_events")
    op.drop_table("alarms")
