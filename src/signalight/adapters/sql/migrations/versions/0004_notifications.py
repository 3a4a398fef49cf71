"""Notifications: subscriptions, the delivery log, the notifier's cursor, alarms' follow-ups.

The delivery log is also the notifier's queue: pending rows are due at
``next_attempt_at``. One row per subscription and event (unique), so an
event read twice is still delivered once. The cursor row keeps the last
alarm event the notifier has read and its lease, so that of several
processes running it only one sends at a time.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "city_id", sa.Integer, sa.ForeignKey("cities.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("target", sa.String(500), nullable=False),
        sa.Column("min_severity", sa.String(16), nullable=False),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("secret", sa.String(128)),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("last_sent_at", sa.Float),
        sa.CheckConstraint("channel IN ('webhook', 'email')", name="channel"),
        sa.CheckConstraint(
            "min_severity IN ('critical', 'major', 'minor', 'warning')", name="min_severity"
        ),
        sa.CheckConstraint("level BETWEEN 1 AND 5", name="level"),
    )
    op.create_index("ix_subscriptions_city", "subscriptions", ["city_id", "id"])
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "city_id", sa.Integer, sa.ForeignKey("cities.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "subscription_id",
            sa.Integer,
            sa.ForeignKey("subscriptions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column(
            "alarm_id", sa.Integer, sa.ForeignKey("alarms.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("event_id", sa.Integer, nullable=False),
        sa.Column("event_kind", sa.String(16), nullable=False),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("response_code", sa.Integer),
        sa.Column("error", sa.String(500), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("next_attempt_at", sa.Float),
        sa.Column("last_attempt_at", sa.Float),
        sa.Column("delivered_at", sa.Float),
        sa.UniqueConstraint("subscription_id", "event_id"),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status"),
    )
    # The notifier's queue: pending rows by channel and due time; the log: per city, newest first.
    op.create_index(
        "ix_deliveries_due", "deliveries", ["status", "channel", "next_attempt_at", "id"]
    )
    op.create_index("ix_deliveries_city", "deliveries", ["city_id", "id"])
    op.create_index("ix_deliveries_alarm", "deliveries", ["alarm_id"])
    op.create_table(
        "notifier_cursor",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("last_event_id", sa.Integer, nullable=False),
        sa.Column("lease_owner", sa.String(100)),
        sa.Column("lease_until", sa.Float),
    )
    op.create_table(
        "alarm_follow_ups",
        sa.Column(
            "alarm_id",
            sa.Integer,
            sa.ForeignKey("alarms.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "city_id", sa.Integer, sa.ForeignKey("cities.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("escalate_at", sa.Float),
        sa.Column("remind_at", sa.Float),
        sa.Column("reminders", sa.Integer, nullable=False),
    )
    op.create_index("ix_alarm_follow_ups_escalate", "alarm_follow_ups", ["escalate_at"])
    op.create_index("ix_alarm_follow_ups_remind", "alarm_follow_ups", ["remind_at"])


def downgrade() -> None:
    op.drop_table("alarm_follow_ups")
    op.drop_table("notifier_cursor")
    op.drop_table("deliveries")
    op.drop_table("subscriptions")
