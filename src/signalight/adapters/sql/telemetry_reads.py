"""Reads of telemetry in SQL: devices, live state, readings, hourly rollups and dead letters."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

import orjson
from sqlalchemy import Engine, and_, func, select

from signalight.adapters.sql.errors import translated
from signalight.adapters.sql.report_values import data_of, decoded
from signalight.adapters.sql.signal_tables import signal_events
from signalight.adapters.sql.tables import (
    cities,
    dead_letters,
    device_states,
    devices,
    reading_hours,
    reports,
)
from signalight.domain.assets import DeviceKind
from signalight.domain.energy import counter_rise
from signalight.domain.readings import Reading, RejectReason
from signalight.domain.telemetry import (
    HOUR,
    DeadLetter,
    DeviceRef,
    DeviceState,
    HourlyRollup,
    StateValue,
)

__all__ = ["SqlTelemetryReader"]


class SqlTelemetryReader:
    """The read side of the TelemetryStore port, the same SQL on SQLite and PostgreSQL."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def devices(self) -> Iterator[DeviceRef]:
        """Every registered device of every city."""
        kinds = {kind.value: kind for kind in DeviceKind}
        slugs: dict[str, str] = {}  # one string per city, not one per device
        with translated("list devices"), self._engine.connect() as conn:
            # Streamed: a million rows held at once would stay in the heap.
            rows = conn.execution_options(yield_per=10_000).execute(_device_select())
            for row in rows:
                slug = slugs.setdefault(row.slug, row.slug)
                yield DeviceRef(row.id, row.city_id, slug, row.uid, kinds[row.kind], row.asset_id)

    def find_device(self, city_slug: str, uid: str) -> DeviceRef | None:
        """One device by its city and id, or None."""
        query = _device_select().where(cities.c.slug == city_slug, devices.c.uid == uid)
        with translated("find device"), self._engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return DeviceRef(row.id, row.city_id, row.slug, row.uid, DeviceKind(row.kind), row.asset_id)

    def device_state(self, city_id: int, device_id: int) -> DeviceState | None:
        """The device's live state, or None if it has never reported."""
        query = select(device_states).where(
            device_states.c.city_id == city_id, device_states.c.device_id == device_id
        )
        with translated("read device state"), self._engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        raw = row.state_values
        values: dict[str, Any] = orjson.loads(raw) if isinstance(raw, str | bytes) else raw
        return DeviceState(
            device_id=row.device_id,
            city_id=row.city_id,
            last_seen=row.last_seen,
            observed_at=row.observed_at,
            values={name: (float(pair[0]), _state_value(pair[1])) for name, pair in values.items()},
        )

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
        c = reports.c
        query = (
            select(c.time, c.data)
            .where(c.device_id == device_id, c.city_id == city_id, c.time >= start, c.time < end)
            .order_by(c.time)
        )
        wanted = None if names is None else frozenset(names)
        found: list[Reading] = []
        with translated("read readings"), self._engine.connect() as conn:
            # Rows until ``limit`` readings: a row holds one reading or many.
            result = conn.execution_options(yield_per=min(max(limit, 16), 1_000)).execute(query)
            for time, data in result:
                found.extend(decoded(time, data_of(data), wanted))
                if len(found) >= limit:
                    break
            result.close()
            if wanted is None or "event" in wanted:
                # Events are kept by the intersection the device serves (signal_events).
                e = signal_events.c
                events = conn.execute(
                    select(e.time, e.code, e.param)
                    .join(devices, devices.c.asset_id == e.asset_id)
                    .where(devices.c.id == device_id, e.city_id == city_id)
                    .where(e.time >= start, e.time < end)
                    .order_by(e.time, e.code, e.param)
                    .limit(limit)
                ).all()
                if events:
                    found.extend(
                        Reading(float(t), "event", float(code), string_value=str(param))
                        for t, code, param in events
                    )
                    found.sort(key=_by_time)  # stable: a report's own order stays
        return found[:limit]

    def hourly(self, city_id: int, device_id: int, start: float, end: float) -> list[HourlyRollup]:
        """A device's hourly rollups whose hour starts in ``[start, end)``, oldest first."""
        c = reading_hours.c
        mine = and_(c.device_id == device_id, c.city_id == city_id)
        query = select(reading_hours).where(mine, c.hour >= start, c.hour < end).order_by(c.hour)
        before = select(c.energy_last, c.energy_last_at, c.energy_max, c.hour).where(
            mine, c.hour == select(func.max(c.hour)).where(mine, c.hour < start).scalar_subquery()
        )
        with translated("read hourly rollups"), self._engine.connect() as conn:
            previous = _last_counter(conn.execute(before).first())
            rows = conn.execute(query).all()
        rollups = []
        for row in rows:
            rollups.append(_rollup(row, previous))
            previous = _last_counter(row) or previous
        return rollups

    def dead_letters(
        self, city_id: int | None, limit: int, before_id: int | None = None
    ) -> list[DeadLetter]:
        """Dead letters, newest first: one city's (None: all)."""
        c = dead_letters.c
        query = select(dead_letters).order_by(c.id.desc()).limit(limit)
        if city_id is not None:
            query = query.where(c.city_id == city_id)
        if before_id is not None:
            query = query.where(c.id < before_id)
        with translated("read dead letters"), self._engine.connect() as conn:
            return [
                DeadLetter(
                    id=row.id,
                    received_at=row.received_at,
                    topic=row.topic,
                    reason=RejectReason(row.reason),
                    message=row.message,
                    payload=bytes(row.payload),
                    size=row.size,
                    city_id=row.city_id,
                    device_uid=row.device_uid,
                )
                for row in conn.execute(query)
            ]

    def dead_letter_counts(self, city_id: int | None) -> dict[RejectReason, int]:
        """How many dead letters there are per reason."""
        c = dead_letters.c
        query = select(c.reason, func.count()).group_by(c.reason)
        if city_id is not None:
            query = query.where(c.city_id == city_id)
        with translated("count dead letters"), self._engine.connect() as conn:
            return {RejectReason(reason): count for reason, count in conn.execute(query).all()}

    def heard_since(self, since: float) -> Iterator[tuple[int, float]]:
        """Every device heard at ``since`` or later, with the time of its newest reading."""
        query = select(device_states.c.device_id, device_states.c.observed_at).where(
            device_states.c.observed_at >= since
        )
        with translated("read device states"), self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return ((int(device), float(at)) for device, at in rows)


def _device_select() -> Any:  # noqa: ANN401 - a SQLAlchemy Select of a row shape
    return select(
        devices.c.id,
        devices.c.city_id,
        cities.c.slug,
        devices.c.uid,
        devices.c.kind,
        devices.c.asset_id,
    ).join(cities, cities.c.id == devices.c.city_id)


def _by_time(reading: Reading) -> float:
    return reading.time


def _state_value(value: Any) -> StateValue:  # noqa: ANN401 - JSON
    if isinstance(value, bool | str):
        return value
    return float(value)


def _mean(total: float, count: int) -> float | None:
    return total / count if count else None


def _last_counter(row: Any) -> tuple[float, float] | None:  # noqa: ANN401 - a result row
    """An hour's last counter reading and its time, if it has one."""
    if row is None:
        return None
    if row.energy_last is not None:
        return (row.energy_last, row.energy_last_at)
    if row.energy_max is not None:  # an hour stored before migration 0016: its end, roughly
        return (row.energy_max, row.hour + HOUR)
    return None


def _rollup(row: Any, previous: tuple[float, float] | None) -> HourlyRollup:  # noqa: ANN401 - a result row
    energy = None
    if row.energy_rise is not None:
        # What the counter counted within the hour, and since the hour before's last reading.
        energy = row.energy_rise
        if previous is not None:
            value, at = previous
            energy += counter_rise(value, row.energy_first, row.energy_first_at - at)
    elif row.energy_max is not None:  # stored before migration 0016
        base = row.energy_min
        if previous is not None and previous[0] <= row.energy_max:
            base = previous[0]  # the rise since the last reading of the hour before
        energy = row.energy_max - base
    return HourlyRollup(
        device_id=row.device_id,
        hour=row.hour,
        samples=row.samples,
        energy_wh=energy,
        on_hours=row.on_true / row.on_reports if row.on_reports else None,  # of one hour
        voltage_min=row.voltage_min,
        voltage_max=row.voltage_max,
        voltage_mean=_mean(row.voltage_sum, row.voltage_count),
        power_min=row.power_min,
        power_max=row.power_max,
        power_mean=_mean(row.power_sum, row.power_count),
    )
