"""The maintenance schema (migration 0009): incidents, work orders, their notes and photos.

Kept beside ``tables.py`` on the same ``metadata``, so that module stays small.
Times are timezone-aware UTC (wall time), unlike the alarms' stream seconds.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
)

from signalight.adapters.sql.tables import UTCDateTime, metadata

__all__ = [
    "incident_alarms",
    "incidents",
    "maintenance_settings",
    "work_order_notes",
    "work_order_photos",
    "work_orders",
]

incidents = Table(
    "incidents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("city_id", Integer, ForeignKey("cities.id", ondelete="CASCADE"), nullable=False),
    Column("asset_id", Integer, ForeignKey("assets.id", ondelete="SET NULL")),
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("closed_at", UTCDateTime()),
    Index("ix_incidents_city_id", "city_id", "id"),
)

incident_alarms = Table(
    "incident_alarms",
    metadata,
    Column(
        "incident_id", Integer, ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("alarm_id", Integer, ForeignKey("alarms.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_incident_alarms_alarm", "alarm_id"),
)

work_orders = Table(
    "work_orders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("city_id", Integer, ForeignKey("cities.id", ondelete="CASCADE"), nullable=False),
    Column("incident_id", Integer, ForeignKey("incidents.id", ondelete="SET NULL")),
    Column("asset_id", Integer, ForeignKey("assets.id", ondelete="SET NULL")),
    Column("asset_code", String(64), nullable=False),
    Column("title", String(200), nullable=False),
    Column("priority", String(16), nullable=False),
    Column("crew", String(64)),
    Column("state", String(16), nullable=False),
    Column("due_at", UTCDateTime(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("started_at", UTCDateTime()),
    Column("finished_at", UTCDateTime()),
    Column("confirmation", String(16)),
    Column("confirmed_at", UTCDateTime()),
    Column("parts", JSON, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_work_orders_city_state", "city_id", "state"),
    Index("ix_work_orders_city_crew", "city_id", "crew"),
    Index("ix_work_orders_asset", "asset_id"),
)

work_order_notes = Table(
    "work_order_notes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "work_order_id",
        Integer,
        ForeignKey("work_orders.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("at", UTCDateTime(), nullable=False),
    Column("author", String(64), nullable=False),
    Column("text", String(2000), nullable=False),
)

work_order_photos = Table(
    "work_order_photos",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "work_order_id",
        Integer,
        ForeignKey("work_orders.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("at", UTCDateTime(), nullable=False),
    Column("author", String(64), nullable=False),
    Column("media_type", String(32), nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
)

maintenance_settings = Table(
    "maintenance_settings",
    metadata,
    Column("city_id", Integer, ForeignKey("cities.id", ondelete="CASCADE"), primary_key=True),
    Column("service_hours", JSON, nullable=False),  # priority word -> hours (overrides only)
    Column("updated_at", UTCDateTime(), nullable=False),
)
