"""Reads of a city's intersections with their monitor's live state and open alarms, in SQL.

One query for the intersections, their monitor and its state (``assets``
left-joined to ``devices`` and ``device_states``), one for their open
alarms: a city's few hundred intersections in two round trips, whatever
their number.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Engine, select

from signalight.adapters.sql.errors import translated
from signalight.adapters.sql.tables import alarms, assets, device_states, devices
from signalight.domain.alarms import AlarmState
from signalight.domain.intersections import IntersectionRow, OpenAlarmRow

__all__ = ["SqlIntersectionReads"]

_OPEN = (AlarmState.RAISED.value, AlarmState.ACKNOWLEDGED.value)


class SqlIntersectionReads:
    """A city's intersections as the signals pages and API read them."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def intersections(self, city_id: int, code: str | None = None) -> list[IntersectionRow]:
        """The city's intersections by code (or the one of ``code``), with state and alarms."""
        a, d, s = assets.c, devices.c, device_states.c
        cabinet = assets.alias("cabinet")
        query = (
            select(
                a.id,
                a.code,
                a.name,
                a.lat,
                a.lon,
                a.status,
                a.street,
                a.controller_id,
                a.controller_vendor,
                a.phases,
                a.cabinet_id,
                cabinet.c.code.label("cabinet_code"),
                d.uid,
                s.last_seen,
                s.state_values,
            )
            .select_from(
                assets.outerjoin(cabinet, cabinet.c.id == a.cabinet_id)
                .outerjoin(devices, d.asset_id == a.id)
                .outerjoin(device_states, s.device_id == d.id)
            )
            .where(a.city_id == city_id, a.kind == "intersection")
            .order_by(a.code)
        )
        if code is not None:
            query = query.where(a.code == code)
        al = alarms.c
        open_alarms = (
            select(al.asset_id, al.id, al.type, al.severity, al.state, al.raised_at, al.message)
            .where(al.city_id == city_id, al.state.in_(_OPEN), al.asset_id.is_not(None))
            .order_by(al.raised_at.desc())
        )
        with translated("read intersections"), self._engine.connect() as conn:
            rows = conn.execute(query).all()
            ids = [row.id for row in rows]
            found: dict[int, list[OpenAlarmRow]] = {}
            if ids:
                for row in conn.execute(open_alarms.where(al.asset_id.in_(ids))):
                    found.setdefault(row.asset_id, []).append(
                        OpenAlarmRow(
                            row.id, row.type, row.severity, row.state, row.raised_at, row.message
                        )
                    )
        return [
            IntersectionRow(
                id=row.id,
                code=row.code,
                name=row.name,
                lat=row.lat,
                lon=row.lon,
                status=row.status,
                street=row.street,
                controller_id=row.controller_id,
                controller_vendor=row.controller_vendor,
                phases=tuple(row.phases or ()),
                cabinet_id=row.cabinet_id,
                cabinet=row.cabinet_code,
                device=row.uid,
                last_seen=row.last_seen,
                values=_values(row.state_values),
                alarms=tuple(found.get(row.id, ())),
            )
            for row in rows
        ]


def _values(raw: Any) -> dict[str, tuple[float, Any]]:  # noqa: ANN401 - JSON
    if raw is None:
        return {}
    data = orjson.loads(raw) if isinstance(raw, str | bytes) else raw
    return {name: (float(pair[0]), pair[1]) for name, pair in data.items()}
