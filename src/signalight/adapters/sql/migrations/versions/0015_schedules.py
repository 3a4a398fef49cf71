"""Lighting schedules: dimming profiles, assignments, calendars and overrides.

``schedule_profiles`` keeps each city's profiles by unique name, their
steps and switch-off windows as the JSON of ``codecs/profiles.py``;
``schedule_assignments`` (scope, key, profile, weekdays) and
``schedule_calendar`` (nights ``first`` to ``last``) say which lights follow
which profile; ``schedule_overrides`` hold manual on, off and level
overrides with their expiry, reason, who asked and who ended them. A
profile in use cannot be deleted (RESTRICT). ``schedule_revisions`` counts
each city's changes, moved in the same transaction as every change, so the
fault rules know when to read the schedules again.

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _city() -> sa.Column[int]:
    return sa.Column(
        "city_id", sa.Integer, sa.ForeignKey("cities.id", ondelete="CASCADE"), nullable=False
    )


def _profile() -> sa.Column[int]:
    return sa.Column(
        "profile_id",
        sa.Integer,
        sa.ForeignKey("schedule_profiles.id", ondelete="RESTRICT"),
        nullable=False,
    )


_SCOPES = "scope IN ('asset', 'group', 'cabinet', 'street_class', 'city')"


def upgrade() -> None:
    op.create_table(
        "schedule_profiles",
        sa.Column("id", sa.Integer, primary_key=True),
        _city(),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("steps", sa.JSON, nullable=False),
        sa.Column("off_windows", sa.JSON, nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),  # UTC epoch seconds
        sa.UniqueConstraint("city_id", "name", name="uq_schedule_profiles_city_name"),
    )
    op.create_table(
        "schedule_assignments",
        sa.Column("id", sa.Integer, primary_key=True),
        _city(),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("key", sa.String(100), nullable=False),
        _profile(),
        sa.Column("weekdays", sa.JSON, nullable=False),  # [0..6], Monday 0
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.CheckConstraint(_SCOPES, name="scope"),
    )
    op.create_index("ix_schedule_assignments_city", "schedule_assignments", ["city_id"])
    op.create_index("ix_schedule_assignments_profile", "schedule_assignments", ["profile_id"])
    op.create_table(
        "schedule_calendar",
        sa.Column("id", sa.Integer, primary_key=True),
        _city(),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("first", sa.Date, nullable=False),  # the first night (local date)
        sa.Column("last", sa.Date, nullable=False),  # the last night, included
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("key", sa.String(100), nullable=False),
        _profile(),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.CheckConstraint(_SCOPES, name="scope"),
        sa.CheckConstraint('"first" <= "last"', name="night_order"),
    )
    op.create_index("ix_schedule_calendar_city", "schedule_calendar", ["city_id"])
    op.create_index("ix_schedule_calendar_profile", "schedule_calendar", ["profile_id"])
    op.create_table(
        "schedule_overrides",
        sa.Column("id", sa.Integer, primary_key=True),
        _city(),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("level", sa.Float, nullable=False),  # percent; 0 is off
        sa.Column("starts", sa.Float, nullable=False),  # UTC epoch seconds
        sa.Column("expires", sa.Float, nullable=False),  # moved to the end when ended early
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("by", sa.String(100), nullable=False),  # who asked
        sa.Column("ended_at", sa.Float),  # set when ended early
        sa.Column("ended_by", sa.String(100)),
        sa.CheckConstraint(_SCOPES, name="scope"),
    )
    op.create_index(
        "ix_schedule_overrides_city_expires", "schedule_overrides", ["city_id", "expires"]
    )
    op.create_table(
        "schedule_revisions",
        sa.Column(
            "city_id", sa.Integer, sa.ForeignKey("cities.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("revision", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("schedule_revisions")
    op.drop_table("schedule_overrides")
    op.drop_table("schedule_calendar")
    op.drop_table("schedule_assignments")
    op.drop_table("schedule_profiles")
