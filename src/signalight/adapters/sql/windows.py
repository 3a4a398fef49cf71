"""Maintenance windows in SQL, each change kept in the audit log in the same transaction.

Implements ``WindowStore``. Every read names the city, so an id of another
city is not found. The audit entry's target is the person the window lets
open the door (``who``), and it is linked to the window's city, whose
admins read it with the accounts' audit (``GET /cities/{city}/audit``).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Select, insert, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from signalight.adapters.sql.errors import translated
from signalight.adapters.sql.tables import assets, audit_cities, audit_log
from signalight.adapters.sql.window_tables import maintenance_windows
from signalight.domain.assets import Page
from signalight.domain.errors import ConflictError, NotFoundError
from signalight.domain.users import AuditAction
from signalight.domain.windows import MaintenanceWindow, WindowQuery

__all__ = ["SqlWindowStore"]

_W = maintenance_windows.c
_DETAIL_MAX = 500  # audit_log.detail


class SqlWindowStore:
    """Implements ``WindowStore`` over one engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add_window(self, window: MaintenanceWindow) -> MaintenanceWindow:
        """Store a new window and its ``window.opened`` audit entry; returns it with its id."""
        with translated("store maintenance window"), self._engine.begin() as conn:
            window_id = conn.execute(
                insert(maintenance_windows)
                .values(
                    city_id=window.city_id,
                    asset_id=window.asset_id,
                    starts_at=window.starts_at,
                    ends_at=window.ends_at,
                    who=window.who,
                    why=window.why,
                    work_order_id=window.work_order_id,
                    created_by=window.created_by,
                    created_at=window.created_at,
                )
                .returning(_W.id)
            ).scalar_one()
            stored = self._window(conn, window.city_id, window_id)
            _audit(conn, AuditAction.WINDOW_OPENED, window.created_by, stored, window.created_at)
        return stored

    def get_window(self, city_id: int, window_id: int) -> MaintenanceWindow:
        """One window of the city; NotFoundError if none."""
        with translated("read maintenance window"), self._engine.connect() as conn:
            return self._window(conn, city_id, window_id)

    def query_windows(self, city_id: int, query: WindowQuery) -> Page[MaintenanceWindow]:
        """The city's windows that match, newest first."""
        where: list[ColumnElement[bool]] = [_W.city_id == city_id]
        if query.asset_id is not None:
            where.append(_W.asset_id == query.asset_id)
        if query.who is not None:
            where.append(_W.who == query.who)
        if query.active_at is not None:
            where.extend(_covering(query.active_at))
        if query.before_id is not None:
            where.append(_W.id < query.before_id)
        statement = _selected().where(*where).order_by(_W.id.desc()).limit(query.limit + 1)
        with translated("read maintenance windows"), self._engine.connect() as conn:
            rows = list(conn.execute(statement))
        items = [_window_of(row) for row in rows[: query.limit]]
        more = len(rows) > query.limit
        return Page(items, items[-1].pk if more and items else None)

    def end_window(
        self, city_id: int, window_id: int, *, actor: str, at: datetime
    ) -> MaintenanceWindow:
        """End a window early at ``at`` and audit it; ConflictError if it is over already."""
        with translated("end maintenance window"), self._engine.begin() as conn:
            ended = conn.execute(
                update(maintenance_windows)
                .where(
                    _W.id == window_id,
                    _W.city_id == city_id,
                    _W.ended_at.is_(None),
                    _W.ends_at > at,
                )
                .values(ended_at=at)
            ).rowcount
            window = self._window(conn, city_id, window_id)  # NotFoundError first
            if not ended:
                raise ConflictError(f"maintenance window {window_id} is over already")
            _audit(conn, AuditAction.WINDOW_ENDED, actor, window, at)
        return window

    def covering(
        self, city_id: int, asset_ids: Collection[int], at: datetime
    ) -> list[MaintenanceWindow]:
        """The windows on any of those assets that cover ``at``, earliest first."""
        if not asset_ids:
            return []
        statement = (
            _selected()
            .where(_W.city_id == city_id, _W.asset_id.in_(list(asset_ids)), *_covering(at))
            .order_by(_W.starts_at, _W.id)
        )
        with translated("read maintenance windows"), self._engine.connect() as conn:
            return [_window_of(row) for row in conn.execute(statement)]

    def _window(self, conn: Connection, city_id: int, window_id: int) -> MaintenanceWindow:
        row = conn.execute(_selected().where(_W.id == window_id, _W.city_id == city_id)).first()
        if row is None:
            raise NotFoundError(f"no maintenance window {window_id} in this city")
        return _window_of(row)


def _selected() -> Select[Any]:
    """The windows with their asset's code."""
    return select(maintenance_windows, assets.c.code.label("asset_code")).join(
        assets, assets.c.id == _W.asset_id
    )


def _covering(at: datetime) -> list[ColumnElement[bool]]:
    """The conditions of a window that authorises at ``at``: begun, not run out, not ended."""
    return [_W.starts_at <= at, _W.ends_at > at, or_(_W.ended_at.is_(None), _W.ended_at > at)]


def _window_of(row: Any) -> MaintenanceWindow:  # noqa: ANN401 - a row
    return MaintenanceWindow(
        id=row.id,
        city_id=row.city_id,
        asset_id=row.asset_id,
        asset_code=row.asset_code,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        who=row.who,
        why=row.why,
        work_order_id=row.work_order_id,
        created_by=row.created_by,
        created_at=row.created_at,
        ended_at=row.ended_at,
    )


def _audit(
    conn: Connection, action: AuditAction, actor: str, window: MaintenanceWindow, at: datetime
) -> None:
    """Write the change to the audit log, linked to the window's city, in ``conn``'s transaction."""
    span = f"{window.starts_at:%Y-%m-%d %H:%MZ} to {window.ends_at:%Y-%m-%d %H:%MZ}"
    detail = f"window {window.pk} on {window.asset_code}, {span}: {window.why}"
    audit_id = conn.execute(
        insert(audit_log)
        .values(
            at=at,
            actor=actor[:100],
            action=str(action),
            target=window.who,
            detail=detail[:_DETAIL_MAX],
        )
        .returning(audit_log.c.id)
    ).scalar_one()
    conn.execute(insert(audit_cities).values(audit_id=audit_id, city_id=window.city_id))
