"""The networks schema (migration 0010), kept beside ``tables.py`` on the same ``metadata``."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, String, Table

from signalight.adapters.sql.tables import metadata

__all__ = ["network_cities", "network_roles", "networks"]

networks = Table(
    "networks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("slug", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
)

network_cities = Table(
    "network_cities",
    metadata,
    Column("network_id", Integer, ForeignKey("networks.id", ondelete="CASCADE"), primary_key=True),
    Column("city_id", Integer, ForeignKey("cities.id", ondelete="CASCADE"), primary_key=True),
)

network_roles = Table(
    "network_roles",
    metadata,
    Column("network_id", Integer, ForeignKey("networks.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(16), nullable=False),
)
