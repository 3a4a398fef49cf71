"""Pruning of telemetry: raw readings and dead letters older than a time, deleted row by row."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from signalight.adapters.sql.signal_tables import signal_events
from signalight.adapters.sql.tables import dead_letters, reports

__all__ = ["delete_before"]


def delete_before(conn: Connection, before: float) -> int:
    """Delete readings, controller events and dead letters before ``before``; readings and events.

    In the caller's transaction, after the writer dropped what it keeps by
    the day (PostgreSQL's partitions): this takes the rest, row by row.
    Hourly rollups and live state are kept.
    """
    old = reports.c.time < before
    deleted = int(
        conn.execute(select(func.coalesce(func.sum(reports.c.size), 0)).where(old)).scalar_one()
    )
    conn.execute(reports.delete().where(old))
    deleted += conn.execute(signal_events.delete().where(signal_events.c.time < before)).rowcount
    conn.execute(dead_letters.delete().where(dead_letters.c.received_at < before))
    return deleted
