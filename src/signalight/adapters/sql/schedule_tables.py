"""The lighting schedules' schema (migration 0015), beside ``tables.py`` on its ``metadata``."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from signalight.adapters.sql.tables import metadata

__all__ = [
    "schedule_assignments",
    "schedule_calendar",
    "schedule_overrides",
    "schedule_profiles",
    "schedule_revisions",
]

_SCOPES = "scope IN ('asset', 'group', 'cabinet', 'street_class', 'city')"


def _city() -> Column[int]:
    return Column("city_id", Integer, ForeignKey("cities.id", ondelete="CASCADE"), nullable=False)


def _profile() -> Column[int]:
    return Column(
        "profile_id",
        Integer,
        ForeignKey("schedule_profiles.id", ondelete="RESTRICT"),
        nullable=False,
    )


# A city's dimming profiles: steps and windows as the JSON of codecs/profiles.py.
schedule_profiles = Table(
    "schedule_profiles",
    metadata,
    Column("id", Integer, primary_key=True),
    _city(),
    Column("name", String(100), nullable=False),
    Column("steps", JSON, nullable=False),
    Column("off_windows", JSON, nullable=False),
    Column("updated_by", String(100), nullable=False),
    Column("updated_at", Float, nullable=False),  # UTC epoch seconds
    UniqueConstraint("city_id", "name", name="uq_schedule_profiles_city_name"),
)

# Lights of a scope follow a profile on some weekdays.
schedule_assignments = Table(
    "schedule_assignments",
    metadata,
    Column("id", Integer, primary_key=True),
    _city(),
    Column("scope", String(16), nullable=False),
    Column("key", String(100), nullable=False),
    _profile(),
    Column("weekdays", JSON, nullable=False),  # [0..6], Monday 0
    Column("created_by", String(100), nullable=False),
    Column("created_at", Float, nullable=False),
    CheckConstraint(_SCOPES, name="scope"),
    Index("ix_schedule_assignments_city", "city_id"),
    Index("ix_schedule_assignments_profile", "profile_id"),
)

# Holidays and events: nights first to last (local dates, included).
schedule_calendar = Table(
    "schedule_calendar",
    metadata,
    Column("id", Integer, primary_key=True),
    _city(),
    Column("name", String(100), nullable=False),
    Column("first", Date, nullable=False),
    Column("last", Date, nullable=False),
    Column("scope", String(16), nullable=False),
    Column("key", String(100), nullable=False),
    _profile(),
    Column("created_by", String(100), nullable=False),
    Column("created_at", Float, nullable=False),
    CheckConstraint(_SCOPES, name="scope"),
    CheckConstraint('"first" <= "last"', name="night_order"),
    Index("ix_schedule_calendar_city", "city_id"),
    Index("ix_schedule_calendar_profile", "profile_id"),
)

# Manual overrides: a level from starts until expires (brought forward when ended early;
# before starts when ended before it began, so in force at no time).
schedule_overrides = Table(
    "schedule_overrides",
    metadata,
    Column("id", Integer, primary_key=True),
    _city(),
    Column("scope", String(16), nullable=False),
    Column("key", String(100), nullable=False),
    Column("level", Float, nullable=False),
    Column("starts", Float, nullable=False),
    Column("expires", Float, nullable=False),
    Column("reason", String(500), nullable=False),
    Column("by", String(100), nullable=False),
    Column("ended_at", Float),
    Column("ended_by", String(100)),
    CheckConstraint(_SCOPES, name="scope"),
    Index("ix_schedule_overrides_city_expires", "city_id", "expires"),
)

# Each city's count of schedule changes, moved with every change.
schedule_revisions = Table(
    "schedule_revisions",
    metadata,
    Column("city_id", Integer, ForeignKey("cities.id", ondelete="CASCADE"), primary_key=True),
    Column("revision", BigInteger, nullable=False),
)
