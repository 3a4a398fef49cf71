"""Incidents, work orders, their notes and photos, and service levels in SQL.

Implements ``MaintenanceStore``. Every read names the city, so an id of
another city is not found; every state change is an UPDATE guarded by the
states it expects.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from signalight.adapters.sql.errors import translated
from signalight.adapters.sql.maintenance_rows import (
    incident_of,
    note_of,
    order_of,
    order_row,
    parts_json,
    photo_of,
)
from signalight.adapters.sql.maintenance_tables import (
    incident_alarms,
    incidents,
    maintenance_settings,
    work_order_notes,
    work_order_photos,
    work_orders,
)
from signalight.domain.assets import Page
from signalight.domain.errors import ConflictError, NotFoundError
from signalight.domain.maintenance import (
    ACTIVE_ORDER_STATES,
    Confirmation,
    Incident,
    Part,
    Photo,
    WorkOrder,
    WorkOrderNote,
    WorkOrderQuery,
    WorkOrderState,
)

__all__ = ["SqlMaintenanceStore"]

_ACTIVE = sorted(str(s) for s in ACTIVE_ORDER_STATES)
_AT_DOOR = (str(WorkOrderState.ASSIGNED), str(WorkOrderState.IN_PROGRESS))
_PHOTO_META = tuple(c for c in work_order_photos.c if c.name != "data")


class SqlMaintenanceStore:
    """Implements ``MaintenanceStore`` over one engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # Incidents.

    def open_incident(
        self, city_id: int, asset_id: int | None, alarm_ids: Sequence[int], at: datetime
    ) -> Incident:
        """Store a new open incident grouping ``alarm_ids``."""
        ids = tuple(dict.fromkeys(alarm_ids))
        with translated("store incident"), self._engine.begin() as conn:
            incident_id = conn.execute(
                insert(incidents)
                .values(city_id=city_id, asset_id=asset_id, opened_at=at)
                .returning(incidents.c.id)
            ).scalar_one()
            if ids:
                conn.execute(
                    insert(incident_alarms),
                    [{"incident_id": incident_id, "alarm_id": a} for a in ids],
                )
        return Incident(
            id=incident_id, city_id=city_id, asset_id=asset_id, opened_at=at, alarm_ids=ids
        )

    def incident_of_alarm(self, city_id: int, alarm_id: int) -> Incident | None:
        """The open incident that holds the alarm, if any (the newest if several)."""
        statement = (
            select(incidents.c.id)
            .join(incident_alarms, incident_alarms.c.incident_id == incidents.c.id)
            .where(
                incidents.c.city_id == city_id,
                incidents.c.closed_at.is_(None),
                incident_alarms.c.alarm_id == alarm_id,
            )
            .order_by(incidents.c.id.desc())
            .limit(1)
        )
        with translated("read incident"), self._engine.connect() as conn:
            found = conn.execute(statement).scalar()
            return None if found is None else self._incident(conn, city_id, found)

    def get_incident(self, city_id: int, incident_id: int) -> Incident:
        """One incident of the city; NotFoundError if none."""
        with translated("read incident"), self._engine.connect() as conn:
            return self._incident(conn, city_id, incident_id)

    def _incident(self, conn: Connection, city_id: int, incident_id: int) -> Incident:
        row = conn.execute(
            select(incidents).where(incidents.c.id == incident_id, incidents.c.city_id == city_id)
        ).first()
        if row is None:
            raise NotFoundError(f"no incident {incident_id} in this city")
        return incident_of(row, _alarm_ids(conn, [incident_id]).get(incident_id, ()))

    def query_incidents(
        self, city_id: int, *, open_only: bool, before_id: int | None, limit: int
    ) -> Page[Incident]:
        """The city's incidents, newest first."""
        where = [incidents.c.city_id == city_id]
        if open_only:
            where.append(incidents.c.closed_at.is_(None))
        if before_id is not None:
            where.append(incidents.c.id < before_id)
        statement = select(incidents).where(*where).order_by(incidents.c.id.desc()).limit(limit + 1)
        with translated("list incidents"), self._engine.connect() as conn:
            rows = list(conn.execute(statement))
            more = len(rows) > limit
            rows = rows[:limit]
            alarms = _alarm_ids(conn, [r.id for r in rows])
        found = [incident_of(r, alarms.get(r.id, ())) for r in rows]
        return Page(found, found[-1].id if more and found else None)

    def close_incident(self, city_id: int, incident_id: int, at: datetime) -> None:
        """Close the incident if it is open."""
        with translated("close incident"), self._engine.begin() as conn:
            conn.execute(
                update(incidents)
                .where(
                    incidents.c.id == incident_id,
                    incidents.c.city_id == city_id,
                    incidents.c.closed_at.is_(None),
                )
                .values(closed_at=at)
            )

    # Work orders.

    def add_work_order(self, order: WorkOrder) -> WorkOrder:
        """Store a new work order; returns it with its id."""
        with translated("store work order"), self._engine.begin() as conn:
            order_id = conn.execute(
                insert(work_orders).values(order_row(order)).returning(work_orders.c.id)
            ).scalar_one()
            return self._order(conn, order.city_id, order_id)

    def get_work_order(self, city_id: int, order_id: int) -> WorkOrder:
        """One work order of the city, with its incident's alarm ids."""
        with translated("read work order"), self._engine.connect() as conn:
            return self._order(conn, city_id, order_id)

    def _order(self, conn: Connection, city_id: int, order_id: int) -> WorkOrder:
        row = conn.execute(
            select(work_orders).where(
                work_orders.c.id == order_id, work_orders.c.city_id == city_id
            )
        ).first()
        if row is None:
            raise NotFoundError(f"no work order {order_id} in this city")
        incident = row.incident_id
        alarms = () if incident is None else _alarm_ids(conn, [incident]).get(incident, ())
        return order_of(row, alarms)

    def _orders(self, conn: Connection, rows: list[Any]) -> list[WorkOrder]:
        alarms = _alarm_ids(conn, [r.incident_id for r in rows if r.incident_id is not None])
        return [order_of(r, alarms.get(r.incident_id, ())) for r in rows]

    def query_work_orders(self, city_id: int, query: WorkOrderQuery) -> Page[WorkOrder]:
        """The city's work orders that match, newest first."""
        where = [work_orders.c.city_id == city_id]
        if query.states:
            where.append(work_orders.c.state.in_(sorted(str(s) for s in query.states)))
        if query.crew is not None:
            where.append(work_orders.c.crew == query.crew)
        if query.asset_id is not None:
            where.append(work_orders.c.asset_id == query.asset_id)
        if query.incident_id is not None:
            where.append(work_orders.c.incident_id == query.incident_id)
        if query.before_id is not None:
            where.append(work_orders.c.id < query.before_id)
        statement = (
            select(work_orders)
            .where(*where)
            .order_by(work_orders.c.id.desc())
            .limit(query.limit + 1)
        )
        with translated("list work orders"), self._engine.connect() as conn:
            rows = list(conn.execute(statement))
            more = len(rows) > query.limit
            found = self._orders(conn, rows[: query.limit])
        return Page(found, found[-1].id if more and found else None)

    def update_work_order(
        self,
        city_id: int,
        order_id: int,
        expected: Collection[WorkOrderState],
        changes: Mapping[str, Any],
    ) -> WorkOrder:
        """Set fields of an order still in one of the ``expected`` states; returns it after."""
        values = {k: _column_value(v) for k, v in changes.items()}
        with translated("update work order"), self._engine.begin() as conn:
            current = self._order(conn, city_id, order_id)
            done = conn.execute(
                update(work_orders)
                .where(
                    work_orders.c.id == order_id,
                    work_orders.c.city_id == city_id,
                    work_orders.c.state.in_(sorted(str(s) for s in expected)),
                )
                .values(**values)
            ).rowcount
            if not done:
                raise ConflictError(
                    f"work order {order_id} is {current.state}; it changed meanwhile or the"
                    " step does not apply"
                )
            return self._order(conn, city_id, order_id)

    def awaiting_confirmation(self, city_id: int) -> list[WorkOrder]:
        """The city's done orders whose repair is not confirmed yet, oldest first."""
        statement = (
            select(work_orders)
            .where(
                work_orders.c.city_id == city_id,
                work_orders.c.state == str(WorkOrderState.DONE),
                work_orders.c.confirmation == str(Confirmation.NOT_CONFIRMED),
            )
            .order_by(work_orders.c.id)
        )
        with translated("read work orders"), self._engine.connect() as conn:
            return self._orders(conn, list(conn.execute(statement)))

    def door_orders(
        self, city_id: int, asset_ids: Collection[int], at: datetime, grace_s: float
    ) -> list[WorkOrder]:
        """Assigned or in-progress orders on those assets whose window holds ``at``."""
        if not asset_ids:
            return []
        statement = (
            select(work_orders)
            .where(
                work_orders.c.city_id == city_id,
                work_orders.c.asset_id.in_(list(asset_ids)),
                work_orders.c.state.in_(_AT_DOOR),
                work_orders.c.created_at <= at,
                # due_at + grace >= at, said without date arithmetic in SQL.
                work_orders.c.due_at >= at - timedelta(seconds=grace_s),
            )
            .order_by(work_orders.c.id)
        )
        with translated("read work orders"), self._engine.connect() as conn:
            return self._orders(conn, list(conn.execute(statement)))

    def counts(self, city_id: int, now: datetime) -> tuple[int, int]:
        """(open, past_due) of the city's orders not done nor cancelled."""
        statement = select(
            func.count(),
            func.count(work_orders.c.id).filter(work_orders.c.due_at < now),
        ).where(work_orders.c.city_id == city_id, work_orders.c.state.in_(_ACTIVE))
        with translated("count work orders"), self._engine.connect() as conn:
            total, past_due = conn.execute(statement).one()
        return int(total), int(past_due)

    # Notes and photos.

    def add_note(self, city_id: int, note: WorkOrderNote) -> WorkOrderNote:
        """Store a note on one of the city's orders."""
        with translated("store note"), self._engine.begin() as conn:
            self._order(conn, city_id, note.work_order_id)
            row = conn.execute(
                insert(work_order_notes)
                .values(
                    work_order_id=note.work_order_id, at=note.at, author=note.author, text=note.text
                )
                .returning(*work_order_notes.c)
            ).one()
            return note_of(row)

    def notes(self, city_id: int, order_id: int) -> list[WorkOrderNote]:
        """An order's notes, oldest first."""
        with translated("read notes"), self._engine.connect() as conn:
            self._order(conn, city_id, order_id)
            rows = conn.execute(
                select(work_order_notes)
                .where(work_order_notes.c.work_order_id == order_id)
                .order_by(work_order_notes.c.id)
            )
            return [note_of(r) for r in rows]

    def add_photo(self, city_id: int, photo: Photo) -> Photo:
        """Store a photo on one of the city's orders."""
        with translated("store photo"), self._engine.begin() as conn:
            self._order(conn, city_id, photo.work_order_id)
            row = conn.execute(
                insert(work_order_photos)
                .values(
                    work_order_id=photo.work_order_id,
                    at=photo.at,
                    author=photo.author,
                    media_type=photo.media_type,
                    width=photo.width,
                    height=photo.height,
                    data=photo.data,
                )
                .returning(*_PHOTO_META)
            ).one()
            return photo_of(row)

    def photos(self, city_id: int, order_id: int) -> list[Photo]:
        """An order's photos without their bytes, oldest first."""
        with translated("read photos"), self._engine.connect() as conn:
            self._order(conn, city_id, order_id)
            rows = conn.execute(
                select(*_PHOTO_META)
                .where(work_order_photos.c.work_order_id == order_id)
                .order_by(work_order_photos.c.id)
            )
            return [photo_of(r) for r in rows]

    def get_photo(self, city_id: int, order_id: int, photo_id: int) -> Photo:
        """One photo with its bytes; NotFoundError if the order has no such photo."""
        with translated("read photo"), self._engine.connect() as conn:
            self._order(conn, city_id, order_id)
            row = conn.execute(
                select(work_order_photos).where(
                    work_order_photos.c.id == photo_id,
                    work_order_photos.c.work_order_id == order_id,
                )
            ).first()
            if row is None:
                raise NotFoundError(f"work order {order_id} has no photo {photo_id}")
            return photo_of(row)

    # Settings.

    def service_overrides(self, city_id: int) -> dict[str, float]:
        """The city's service-level overrides, by priority word."""
        with translated("read maintenance settings"), self._engine.connect() as conn:
            found = conn.execute(
                select(maintenance_settings.c.service_hours).where(
                    maintenance_settings.c.city_id == city_id
                )
            ).scalar()
        return {str(k): float(v) for k, v in (found or {}).items()}

    def set_service_overrides(
        self, city_id: int, overrides: Mapping[str, float], at: datetime
    ) -> None:
        """Replace the city's service-level overrides."""
        with translated("store maintenance settings"), self._engine.begin() as conn:
            conn.execute(
                delete(maintenance_settings).where(maintenance_settings.c.city_id == city_id)
            )
            conn.execute(
                insert(maintenance_settings).values(
                    city_id=city_id, service_hours=dict(overrides), updated_at=at
                )
            )


def _alarm_ids(conn: Connection, incident_ids: Collection[int]) -> dict[int, tuple[int, ...]]:
    """Each incident's alarm ids, ascending."""
    if not incident_ids:
        return {}
    rows = conn.execute(
        select(incident_alarms.c.incident_id, incident_alarms.c.alarm_id)
        .where(incident_alarms.c.incident_id.in_(sorted(set(incident_ids))))
        .order_by(incident_alarms.c.incident_id, incident_alarms.c.alarm_id)
    )
    found: dict[int, list[int]] = {}
    for incident, alarm in rows:
        found.setdefault(incident, []).append(alarm)
    return {k: tuple(v) for k, v in found.items()}


def _column_value(value: object) -> object:
    """A domain value as its column takes it."""
    if isinstance(value, tuple) and all(isinstance(p, Part) for p in value):
        return parts_json(value)
    if isinstance(value, WorkOrderState | Confirmation):
        return str(value)
    return value
