"""The log of inventory import attempts in SQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select

from signalight.adapters.sql.errors import translated
from signalight.adapters.sql.tables import import_runs
from signalight.domain.inventory import ERRORS_KEPT, ImportRun


class SqlImportLog:
    """Import runs in ``import_runs``, with their first errors."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record_import(self, city_id: int, run: ImportRun) -> ImportRun:
        """Keep a run; returns it with its id and time."""
        at = run.at or datetime.now(UTC)
        with translated("record import"), self._engine.begin() as conn:
            new_id = conn.execute(
                insert(import_runs)
                .values(
                    city_id=city_id,
                    at=at,
                    source=run.source[:200],
                    format=run.format,
                    actor=run.actor,
                    rows=run.rows,
                    error_count=run.error_count,
                    accepted=run.accepted,
                    errors=run.errors[:ERRORS_KEPT],
                )
                .returning(import_runs.c.id)
            ).scalar_one()
        return replace(run, id=new_id, at=at, errors=run.errors[:ERRORS_KEPT])

    def list_imports(self, city_id: int, limit: int) -> list[ImportRun]:
        """The city's latest runs, newest first."""
        query = (
            select(import_runs)
            .where(import_runs.c.city_id == city_id)
            .order_by(import_runs.c.id.desc())
            .limit(limit)
        )
        with translated("list imports"), self._engine.connect() as conn:
            return [
                ImportRun(
                    source=r.source,
                    format=r.format,
                    actor=r.actor,
                    rows=r.rows,
                    error_count=r.error_count,
                    accepted=r.accepted,
                    errors=list(r.errors),
                    at=r.at,
                    id=r.id,
                )
                for r in conn.execute(query)
            ]
