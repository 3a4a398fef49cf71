"""Day partitions of PostgreSQL's partitioned tables: made before a batch needs them, dropped whole.

``reports`` and ``signal_events`` are partitioned by range of ``time`` (UTC
epoch seconds), a partition a UTC day named ``<table>_YYYYMMDD``, and a
default partition catching the rest (the migrations make it). A day's
partition is made before the first row of that day is written, so that
rows never pile up in the default; pruning drops whole days.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import Connection, Engine, text

__all__ = ["DAY", "DayPartitions"]

log = logging.getLogger(__name__)

DAY: Final = 86_400.0  # seconds: one partition a UTC day
_PARTITION_LOCK: Final = 0x5349474E  # the advisory lock that serialises creating partitions


class DayPartitions:
    """The day partitions of one table, known to exist once made or seen."""

    def __init__(self, engine: Engine, table: str) -> None:
        self._engine = engine
        self._table = table
        self._days: set[int] = set()  # days (epoch // DAY) whose partition exists

    def ensure(self, times: Iterable[float]) -> None:
        """Make the partitions of the days of ``times`` that are not there yet."""
        found = list(times)
        if not found:
            return
        first, last = int(min(found) // DAY), int(max(found) // DAY)
        missing = [day for day in range(first, last + 1) if day not in self._days]
        if not missing:
            return
        with self._engine.begin() as conn:
            # Workers starting together would all create the day's partition; two
            # CREATE TABLE IF NOT EXISTS at once can still both try, and one fails.
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (_PARTITION_LOCK,))
            existing = self.days(conn)
            for day in missing:
                if day not in existing:
                    name = self._name(day)
                    conn.exec_driver_sql(
                        f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {self._table}"
                        f" FOR VALUES FROM ({day * DAY!r}) TO ({(day + 1) * DAY!r})"
                    )
                    log.info("created partition %s", name)
        self._days.update(missing)

    def drop_before(self, conn: Connection, before: float, count: str) -> int:
        """Drop the partitions of whole days before ``before``; returns ``count`` summed over them.

        ``count`` is the SQL expression counting a partition's rows as the
        caller counts them (``sum(size)`` for readings, ``count(*)`` for events).
        """
        deleted = 0
        for day in sorted(self.days(conn)):
            if (day + 1) * DAY <= before:
                name = self._name(day)
                deleted += conn.exec_driver_sql(
                    f"SELECT coalesce({count}, 0) FROM {name}"  # noqa: S608 - ours
                ).scalar_one()
                conn.exec_driver_sql(f"DROP TABLE {name}")
                self._days.discard(day)
                log.info("dropped partition %s", name)
        return int(deleted)

    def days(self, conn: Connection) -> set[int]:
        """The days whose partition exists in the database."""
        names = conn.execute(
            text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                " JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = :table"
            ),
            {"table": self._table},
        ).scalars()
        days = set()
        prefix = self._table + "_"
        for name in names:
            stamp = name.removeprefix(prefix)
            if stamp.isdigit():
                day = datetime.strptime(stamp, "%Y%m%d").replace(tzinfo=UTC).timestamp() // DAY
                days.add(int(day))
        return days

    def _name(self, day: int) -> str:
        return f"{self._table}_" + datetime.fromtimestamp(day * DAY, UTC).strftime("%Y%m%d")
