"""Readings, live state, hourly rollups and dead letters in SQL: the TelemetryStore port.

One facade, :class:`SqlTelemetryStore`, over a writer chosen once by the
database's dialect (:mod:`telemetry_sqlite`, :mod:`telemetry_postgres`),
the reads (:mod:`telemetry_reads`) and pruning (:mod:`telemetry_pruning`).

A device's readings of one instant are one row of ``reports`` (``{name:
value}`` as JSON, see :mod:`report_values`): one row and one index entry a
message, where a row a reading cost five. One batch is one transaction. The
batch is first gathered in one pass (:mod:`telemetry_batch`): its report
rows, each device's newest values and its hourly rollups. Then:

1. The rows go straight in (PostgreSQL COPY; SQLite multi-row VALUES), and
   the rollups are added. Nearly always every row is new; if one is stored
   already (a redelivery after a crash), the insert breaks the key and is
   undone. The stored rows of the batch's keys are read, the batch is
   gathered again without the names they hold, new rows are inserted and
   stored ones get the new names: a redelivered reading is stored and
   rolled up once, and a second pack of the same instant with other names
   adds them.
2. Each device's state is merged per name: an older value never replaces a
   newer one, whatever order the messages came in. On SQLite the stored
   times are read first; a device whose batch values are all newer is
   merged by json_patch in SQL, the others name by name in Python.
3. Dead letters are filed.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from typing import Protocol

from sqlalchemy import Connection, Engine

from signalight.adapters.sql.errors import translated
from signalight.adapters.sql.telemetry_postgres import PostgresTelemetryWriter
from signalight.adapters.sql.telemetry_pruning import delete_before
from signalight.adapters.sql.telemetry_reads import SqlTelemetryReader
from signalight.adapters.sql.telemetry_sqlite import SqliteTelemetryWriter
from signalight.domain.readings import Reading, RejectReason
from signalight.domain.telemetry import (
    Accepted,
    DeadLetter,
    DeviceRef,
    DeviceState,
    HourlyRollup,
)

__all__ = ["SqlTelemetryStore", "TelemetryWriter"]


class TelemetryWriter(Protocol):
    """How one database dialect stores a batch, and drops what it keeps by the day."""

    def write(self, accepted: Sequence[Accepted], dead: Sequence[DeadLetter]) -> int:
        """Store one batch in one transaction; returns how many readings were new."""
        ...

    def drop_days(self, conn: Connection, before: float) -> int:
        """Drop whole days of readings before ``before``, in ``conn``'s transaction; how many."""
        ...


class SqlTelemetryStore:
    """The TelemetryStore port over SQLite or PostgreSQL."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer: TelemetryWriter = (
            PostgresTelemetryWriter(engine)
            if engine.dialect.name == "postgresql"
            else SqliteTelemetryWriter(engine)
        )
        self._reader = SqlTelemetryReader(engine)

    def devices(self) -> Iterator[DeviceRef]:
        """Every registered device of every city."""
        return self._reader.devices()

    def find_device(self, city_slug: str, uid: str) -> DeviceRef | None:
        """One device by its city and id, or None."""
        return self._reader.find_device(city_slug, uid)

    def write(self, accepted: Sequence[Accepted], dead: Sequence[DeadLetter]) -> int:
        """Store one batch in one transaction; returns how many readings were new."""
        with translated("store readings"):
            return self._writer.write(accepted, dead)

    def device_state(self, city_id: int, device_id: int) -> DeviceState | None:
        """The device's live state, or None if it has never reported."""
        return self._reader.device_state(city_id, device_id)

    def readings(
        self,
        city_id: int,
        device_id: int,
        start: float,
        end: float,
        names: Collection[str] | None,
        limit: int,
    ) -> list[Reading]:
        """A device's readings with ``start <= time < end``, oldest first, at most ``limit``."""
        return self._reader.readings(city_id, device_id, start, end, names, limit)

    def hourly(self, city_id: int, device_id: int, start: float, end: float) -> list[HourlyRollup]:
        """A device's hourly rollups whose hour starts in ``[start, end)``, oldest first."""
        return self._reader.hourly(city_id, device_id, start, end)

    def dead_letters(
        self, city_id: int | None, limit: int, before_id: int | None = None
    ) -> list[DeadLetter]:
        """Dead letters, newest first: one city's (None: all)."""
        return self._reader.dead_letters(city_id, limit, before_id)

    def dead_letter_counts(self, city_id: int | None) -> dict[RejectReason, int]:
        """How many dead letters there are per reason."""
        return self._reader.dead_letter_counts(city_id)

    def heard_since(self, since: float) -> Iterator[tuple[int, float]]:
        """Every device heard at ``since`` or later, with the time of its newest reading."""
        return self._reader.heard_since(since)

    def prune(self, before: float) -> int:
        """Delete raw readings and dead letters older than ``before``; returns readings deleted."""
        with translated("prune readings"), self._engine.begin() as conn:
            dropped = self._writer.drop_days(conn, before)  # whole days first, then the rest
            return dropped + delete_before(conn, before)
