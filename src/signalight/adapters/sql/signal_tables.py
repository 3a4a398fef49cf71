"""The traffic-signal schema (migrations 0012, 0013), beside ``tables.py`` on its ``metadata``."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from signalight.adapters.sql.tables import metadata

__all__ = ["signal_events", "signal_log_files"]

# A controller's events (migration 0012), live and imported: one row an event,
# keyed by the asset it serves (the intersection), time, code and parameter,
# so a second copy adds nothing. Partitioned by day on PostgreSQL as ``reports``.
signal_events = Table(
    "signal_events",
    metadata,
    Column("asset_id", Integer, primary_key=True),
    Column("time", Float, primary_key=True),
    Column("code", Integer, primary_key=True),
    Column("param", Integer, primary_key=True),
    Column("city_id", Integer, nullable=False),
)

# Every controller log file imported or refused (migration 0013).
signal_log_files = Table(
    "signal_log_files",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("city_id", Integer, ForeignKey("cities.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("format", String(32), nullable=False),
    Column("events", Integer, nullable=False),
    Column("new", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("intersections", JSON, nullable=False),
    Column("at", Float, nullable=False),
    CheckConstraint("status IN ('stored', 'partial', 'refused')", name="status"),
    Index("ix_signal_log_files_city_at", "city_id", "at"),
)
