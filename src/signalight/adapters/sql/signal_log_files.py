"""Controller log files in SQL: what came of each (recorded by ``SqlSignalEvents.add_log``)."""

from __future__ import annotations

from sqlalchemy import Engine, and_, func, or_, select

from signalight.adapters.sql.errors import translated
from signalight.adapters.sql.signal_tables import signal_log_files
from signalight.adapters.sql.tables import assets
from signalight.domain.signals import LogFile, LogFormat, LogStatus

__all__ = ["SqlSignalLogFiles"]


class SqlSignalLogFiles:
    """The files ``signal_log_files`` records, and which intersection a log's controller is."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def controllers(self, city_id: int, names: set[str]) -> dict[str, tuple[int, str]]:
        """The intersections these controller names are, as (asset id, code), by name.

        A log names its controller by an id the city gives its intersection as
        ``controller_id`` (an IP address, a number) or by the asset's code; the
        controller id is asked first.
        """
        if not names:
            return {}
        a = assets.c
        query = select(a.id, a.code, a.controller_id).where(
            a.city_id == city_id,
            a.kind == "intersection",
            or_(a.controller_id.in_(names), a.code.in_(names)),
        )
        with translated("find intersections"), self._engine.connect() as conn:
            rows = conn.execute(query).all()
        found: dict[str, tuple[int, str]] = {}
        for asset_id, code, _ in rows:
            if code in names:
                found.setdefault(code, (asset_id, code))
        for asset_id, code, controller in rows:
            if controller in names:
                found[controller] = (asset_id, code)  # a controller id outranks a code
        return found

    def files(
        self, city_id: int, *, status: LogStatus | None = None, limit: int = 100
    ) -> list[LogFile]:
        """The city's files, newest first."""
        f = signal_log_files.c
        query = select(signal_log_files).where(f.city_id == city_id)
        if status is not None:
            query = query.where(f.status == status.value)
        query = query.order_by(f.at.desc(), f.id.desc()).limit(limit)
        with translated("read log files"), self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            LogFile(
                id=row.id,
                name=row.name,
                size=int(row.size),
                format=LogFormat(row.format) if row.format else None,
                events=row.events,
                new=row.new,
                status=LogStatus(row.status),
                reason=row.reason,
                intersections=tuple(row.intersections or ()),
                at=float(row.at),
            )
            for row in rows
        ]

    def counts(self, city_id: int, since: float = 0.0) -> dict[LogStatus, int]:
        """How many files of each status the city has had since ``since``."""
        f = signal_log_files.c
        query = (
            select(f.status, func.count())
            .where(and_(f.city_id == city_id, f.at >= since))
            .group_by(f.status)
        )
        with translated("count log files"), self._engine.connect() as conn:
            return {LogStatus(status): int(n) for status, n in conn.execute(query)}
