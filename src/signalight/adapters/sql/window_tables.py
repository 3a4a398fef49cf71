"""The maintenance windows schema (migration 0011), on the same ``metadata`` as ``tables.py``."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, String, Table

from signalight.adapters.sql.tables import UTCDateTime, metadata

__all__ = ["maintenance_windows"]

maintenance_windows = Table(
    "maintenance_windows",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("city_id", Integer, ForeignKey("cities.id", ondelete="CASCADE"), nullable=False),
    # The intersection, or one of its cabinets.
    Column("asset_id", Integer, ForeignKey("assets.id", ondelete="CASCADE"), nullable=False),
    Column("starts_at", UTCDateTime(), nullable=False),
    Column("ends_at", UTCDateTime(), nullable=False),
    Column("who", String(64), nullable=False),  # the username who will open the door
    Column("why", String(500), nullable=False),
    Column("work_order_id", Integer, ForeignKey("work_orders.id", ondelete="SET NULL")),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("ended_at", UTCDateTime()),  # set when the window is ended early
    CheckConstraint("starts_at < ends_at", name="window_order"),
    Index("ix_maintenance_windows_city_asset_start", "city_id", "asset_id", "starts_at"),
)
