"""The commands schema (migration 0014), beside ``tables.py`` on its ``metadata``."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
)

from signalight.adapters.sql.tables import UTCDateTime, metadata

__all__ = ["command_batches", "command_strays", "commands"]

# One request, fanned out: what was asked, of which assets, by whom.
command_batches = Table(
    "command_batches",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("city_id", Integer, ForeignKey("cities.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("args", JSON, nullable=False),
    Column("target_kind", String(16), nullable=False),
    Column("target_names", JSON, nullable=False),
    Column("requested_by", String(100), nullable=False),
    Column("why", String(500), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("total", Integer, nullable=False),
    Column("skipped", JSON, nullable=False),  # asset codes named that have no device
    Index("ix_command_batches_city_created", "city_id", "created_at"),
)

# One command to one device; its id (a UUID) is the id on the wire.
commands = Table(
    "commands",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("city_id", Integer, ForeignKey("cities.id", ondelete="CASCADE"), nullable=False),
    Column("batch_id", Integer, ForeignKey("command_batches.id", ondelete="CASCADE")),
    Column("device_uid", String(64), nullable=False),
    Column("asset_code", String(64)),
    Column("kind", String(16), nullable=False),
    Column("args", JSON, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("requested_by", String(100), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("next_at", UTCDateTime()),  # due to be published (again); NULL once ended
    Column("sent_at", UTCDateTime()),
    Column("done_at", UTCDateTime()),
    Column("ack_status", String(16)),
    Column("reason", String(500), nullable=False),
    Column("stray_acks", Integer, nullable=False),
    CheckConstraint(
        "state IN ('queued', 'sent', 'acknowledged', 'failed', 'expired')", name="state"
    ),
    Index("ix_commands_next_at", "next_at"),
    Index("ix_commands_city_created", "city_id", "created_at"),
    Index("ix_commands_batch_state", "batch_id", "state"),
)

# Answers that changed no command (unknown id, another device's, repeated, late, unreadable).
command_strays = Table(
    "command_strays",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("city_id", Integer, ForeignKey("cities.id", ondelete="CASCADE")),
    Column("device_uid", String(64), nullable=False),
    Column("command_id", String(64), nullable=False),
    Column("reason", String(16), nullable=False),
    Column("detail", String(500), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Index("ix_command_strays_city_at", "city_id", "at"),
    Index("ix_command_strays_command", "command_id"),
)
