"""The relational schema. Alembic migrations create it; this module describes it for queries."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend.

    SQLite keeps no zone, so values are normalised to UTC on the way in and
    marked UTC on the way out; PostgreSQL stores ``timestamptz`` as usual.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive times and store UTC."""
        del dialect
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime."""
        del dialect
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Constraint names are fixed so that migrations on SQLite and PostgreSQL agree.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

cities = Table(
    "cities",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("slug", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("country", String(2), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("tariff_per_kwh", Float),
    Column("co2_kg_per_kwh", Float),
    Column("created_at", UTCDateTime(), nullable=False),
)

assets = Table(
    "assets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("city_id", Integer, ForeignKey("cities.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("code", String(64), nullable=False),
    Column("name", String(200), nullable=False, default=""),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("status", String(16), nullable=False),
    Column("street", String(200), nullable=False, default=""),
    Column("street_class", String(16)),
    Column("cabinet_id", Integer, ForeignKey("assets.id", ondelete="RESTRICT")),
    Column("group_name", String(200), nullable=False, default=""),
    Column("installed_on", Date),
    Column("luminaire", String(16)),
    Column("rated_watts", Float),
    Column("lamp_changed_on", Date),
    Column("controller_id", String(200), nullable=False, default=""),
    Column("controller_vendor", String(200), nullable=False, default=""),
    Column("phases", JSON, nullable=False, default=list),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("city_id", "code", name="uq_assets_city_code"),
    CheckConstraint("kind IN ('streetlight', 'cabinet', 'intersection')", name="kind"),
    # Longitude first: a map viewport is wider than tall, and the range scan on
    # lon followed by a lat filter keeps bbox queries to a thin slice of the city.
    Index("ix_assets_city_lon_lat", "city_id", "lon", "lat"),
    Index("ix_assets_city_kind", "city_id", "kind", "id"),
    Index("ix_assets_cabinet", "cabinet_id"),
)

devices = Table(
    "devices",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("city_id", Integer, ForeignKey("cities.id", ondelete="CASCADE"), nullable=False),
    Column("uid", String(64), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("firmware", String(64), nullable=False, default=""),
    Column("asset_id", Integer, ForeignKey("assets.id", ondelete="SET NULL"), unique=True),
    # Per-device secrets (issued by the telemetry work) are stored as hashes only.
    Column("credential_hash", String(200)),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("city_id", "uid", name="uq_devices_city_uid"),
)

# Moved on by every change of a city's assets or devices (migration 0007): the
# detector reloads a city's device profiles when its number moves.
inventory_versions = Table(
    "inventory_versions",
    metadata,
    Column("city_id", Integer, ForeignKey("cities.id", ondelete="CASCADE"), primary_key=True),
    Column("version", BigInteger, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(200)),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

memberships = Table(
    "memberships",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("city_id", Integer, ForeignKey("cities.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(16), nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    # SHA-256 of a 256-bit random token: a slow hash adds nothing to a secret
    # that cannot be guessed, and would slow every request.
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("label", String(200), nullable=False, default=""),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime()),
    # Set when the token is taken away before its time (migration 0008).
    Column("revoked_at", UTCDateTime()),
)

# Who did what to which account, written with the change (migration 0008).
# The target is kept by name, so an entry outlives the account.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("action", String(32), nullable=False),
    Column("target", String(64), nullable=False),
    Column("detail", String(500), nullable=False),
)

# The cities an entry concerns, whose admins may read it.
audit_cities = Table(
    "audit_cities",
    metadata,
    Column("city_id", Integer, ForeignKey("cities.id", ondelete="CASCADE"), primary_key=True),
    Column("audit_id", Integer, ForeignKey("audit_log.id", ondelete="CASCADE"), primary_key=True),
)

import_runs = Table(
    "import_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("city_id", Integer, ForeignKey("cities.id", ondelete="CASCADE"), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("source", String(200), nullable=False),
    Column("format", String(16), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("rows", Integer, nullable=False),
    Column("error_count", Integer, nullable=False),
    Column("accepted", Boolean, nullable=False),
    # The first errors only: enough to fix the file, bounded in size.
    Column("errors", JSON, nullable=False),
    Index("ix_import_runs_city_at", "city_id", "at"),
)

# Telemetry (migrations 0002, 0005 and 0006). Times are UTC epoch seconds; see the migrations.
# One row per device and time: the readings a device reported at that instant,
# as a JSON object {name: value} (see ``signalight.adapters.sql.report_values``).
# On SQLite the key is a unique index over a rowid table (0006); the schema is
# the migrations', this only describes the columns.
reports = Table(
    "reports",
    metadata,
    Column("device_id", Integer, primary_key=True),
    Column("time", Float, primary_key=True),
    Column("city_id", Integer, nullable=False),
    Column("size", Integer, nullable=False),  # how many readings ``data`` holds
    Column("data", JSON, nullable=False),  # TEXT on SQLite, json on PostgreSQL
)

device_states = Table(
    "device_states",
    metadata,
    Column("device_id", Integer, ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True),
    Column("city_id", Integer, ForeignKey("cities.id", ondelete="CASCADE"), nullable=False),
    Column("last_seen", Float, nullable=False),  # receipt of the newest message
    Column("observed_at", Float, nullable=False),  # the newest reading's own time
    # name -> [time, value]: JSON text on SQLite, jsonb on PostgreSQL.
    Column("state_values", JSON, nullable=False),
)

reading_hours = Table(
    "reading_hours",
    metadata,
    Column("device_id", Integer, primary_key=True),
    Column("hour", Float, primary_key=True),
    Column("city_id", Integer, nullable=False),
    Column("samples", Integer, nullable=False),
    Column("on_reports", Integer, nullable=False),
    Column("on_true", Integer, nullable=False),
    Column("voltage_min", Float),
    Column("voltage_max", Float),
    Column("voltage_sum", Float, nullable=False),
    Column("voltage_count", Integer, nullable=False),
    Column("power_min", Float),
    Column("power_max", Float),
    Column("power_sum", Float, nullable=False),
    Column("power_count", Integer, nullable=False),
    Column("energy_min", Float),
    Column("energy_max", Float),
    # The counter's first and last reading of the hour and what it counted (0016).
    Column("energy_first", Float),
    Column("energy_first_at", Float),
    Column("energy_last", Float),
    Column("energy_last_at", Float),
    Column("energy_rise", Float),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("city_id", Integer, ForeignKey("cities.id", ondelete="CASCADE")),
    Column("received_at", Float, nullable=False),
    Column("topic", String(512), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("message", String(1000), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("size", Integer, nullable=False),
    Column("device_uid", String(64)),
)

# Alarms (migration 0003). Times are UTC epoch seconds of the evidence stream.
alarms = Table(
    "alarms",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("city_id", Integer, ForeignKey("cities.id", ondelete="CASCADE"), nullable=False),
    Column("type", String(32), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("asset_id", Integer, ForeignKey("assets.id", ondelete="SET NULL")),
    Column("asset_code", String(64)),
    Column("device_id", Integer, ForeignKey("devices.id", ondelete="SET NULL")),
    Column("device_uid", String(64)),
    Column("raised_at", Float, nullable=False),
    Column("observed_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("message", String(1000), nullable=False),
    Column("detail", JSON, nullable=False),
    Column("occurrences", Integer, nullable=False),
    Column("held", Boolean, nullable=False),
    Column("parent_id", Integer, ForeignKey("alarms.id", ondelete="SET NULL")),
    Column("acknowledged_at", Float),
    Column("acknowledged_by", String(64)),
    Column("cleared_at", Float),
    Column("closed_at", Float),
    Column("closed_by", String(64)),
)

alarm_events = Table(
    "alarm_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("alarm_id", Integer, ForeignKey("alarms.id", ondelete="CASCADE"), nullable=False),
    Column("city_id", Integer, ForeignKey("cities.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("at", Float, nullable=False),
    Column("state", String(16), nullable=False),
    Column("actor", String(64)),
    Column("note", String(2000), nullable=False),
)

detection_settings = Table(
    "detection_settings",
    metadata,
    Column("city_id", Integer, ForeignKey("cities.id", ondelete="CASCADE"), primary_key=True),
    Column("overrides", JSON, nullable=False),
    Column("updated_at", Float, nullable=False),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("city_id", Integer, ForeignKey("cities.id", ondelete="CASCADE"), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("target", String(500), nullable=False),
    Column("min_severity", String(16), nullable=False),
    Column("level", Integer, nullable=False),
    Column("secret", String(128)),
    Column("enabled", Boolean, nullable=False),
    Column("label", String(200), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("last_sent_at", Float),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("city_id", Integer, ForeignKey("cities.id", ondelete="CASCADE"), nullable=False),
    Column(
        "subscription_id",
        Integer,
        ForeignKey("subscriptions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("channel", String(16), nullable=False),
    Column("alarm_id", Integer, ForeignKey("alarms.id", ondelete="CASCADE"), nullable=False),
    Column("event_id", Integer, nullable=False),
    Column("event_kind", String(16), nullable=False),
    Column("level", Integer, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("response_code", Integer),
    Column("error", String(500), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("next_attempt_at", Float),
    Column("last_attempt_at", Float),
    Column("delivered_at", Float),
    UniqueConstraint("subscription_id", "event_id"),
)

notifier_cursor = Table(
    "notifier_cursor",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("last_event_id", Integer, nullable=False),
    Column("lease_owner", String(100)),
    Column("lease_until", Float),
)

alarm_follow_ups = Table(
    "alarm_follow_ups",
    metadata,
    Column("alarm_id", Integer, ForeignKey("alarms.id", ondelete="CASCADE"), primary_key=True),
    Column("city_id", Integer, ForeignKey("cities.id", ondelete="CASCADE"), nullable=False),
    Column("level", Integer, nullable=False),
    Column("escalate_at", Float),
    Column("remind_at", Float),
    Column("reminders", Integer, nullable=False),
)
