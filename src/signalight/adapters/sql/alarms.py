"""Alarms, their events and cities' detection settings in SQL; the inventory as rules see it.

Every change of state is an UPDATE guarded by the state it expects, and
every change writes its event in the same transaction: the events are the
history and the feed the live stream and the notifier follow.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.sql.elements import ColumnElement

from signalight.adapters.sql.errors import translated
from signalight.adapters.sql.tables import (
    alarm_events,
    alarms,
    assets,
    detection_settings,
    devices,
)
from signalight.domain.alarms import (
    ACTIVE_STATES,
    Alarm,
    AlarmEvent,
    AlarmQuery,
    AlarmState,
    AlarmType,
    EventKind,
    Severity,
)
from signalight.domain.assets import AssetKind, AssetStatus, LuminaireType, Page
from signalight.domain.errors import ConflictError, NotFoundError
from signalight.domain.faults import DeviceProfile

__all__ = ["SqlAlarmStore"]

_ACTIVE = tuple(str(s) for s in ACTIVE_STATES)
_NOTE_MAX = 2000
_IN_CHUNK = 500  # ids per IN (...) list


class SqlAlarmStore:
    """Implements ``AlarmStore`` and ``FleetInventory`` over one engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # The detector's steps.

    def record(self, changes: Sequence[tuple[Alarm, EventKind, float]]) -> list[AlarmEvent]:
        """Store the detector's steps in one transaction (see ``AlarmStore.record``)."""
        if not changes:
            return []
        events: list[AlarmEvent] = []
        with translated("store alarms"), self._engine.begin() as conn:
            for alarm, kind, at in changes:
                event = self._step(conn, alarm, kind, at)
                if event is not None:
                    events.append(event)
        return events

    def _step(
        self, conn: Connection, alarm: Alarm, kind: EventKind, at: float
    ) -> AlarmEvent | None:
        if kind in (EventKind.RAISED, EventKind.HELD) or alarm.id is None:
            alarm.id = conn.execute(
                insert(alarms).values(_row(alarm)).returning(alarms.c.id)
            ).scalar_one()
            return _event(conn, alarm, EventKind.HELD if alarm.held else EventKind.RAISED, at)
        guard: ColumnElement[bool]
        values: dict[str, Any] = {"updated_at": at, "state": str(alarm.state)}
        match kind:
            case EventKind.CLEARED:
                guard = alarms.c.state.in_(_ACTIVE)
                values["cleared_at"] = alarm.cleared_at
            case EventKind.CLOSED:
                guard = alarms.c.state == AlarmState.CLEARED
                values |= {"closed_at": alarm.closed_at, "closed_by": alarm.closed_by}
            case EventKind.RELEASED:
                guard = alarms.c.held.is_(True)
                values |= {"held": False, "raised_at": alarm.raised_at}
            case EventKind.REOPENED:
                guard = alarms.c.state == AlarmState.CLEARED
                values |= {
                    "occurrences": alarms.c.occurrences + 1,
                    "cleared_at": None,
                    "observed_at": alarm.observed_at,
                    "message": alarm.message,
                    "detail": alarm.detail,
                }
            case _:
                return _event(conn, alarm, kind, at)
        done = conn.execute(
            update(alarms).where(alarms.c.id == alarm.id, guard).values(**values)
        ).rowcount
        if done:
            return _event(conn, alarm, kind, at)
        if kind is EventKind.REOPENED:  # an operator closed it meanwhile: a new alarm
            alarm.id = None
            alarm.occurrences = 1
            alarm.raised_at = at
            return self._step(conn, alarm, EventKind.RAISED, at)
        return None

    def open_alarms(self) -> list[Alarm]:
        """Every alarm not closed, of every city."""
        with translated("read open alarms"), self._engine.connect() as conn:
            rows = conn.execute(
                select(alarms).where(alarms.c.state != AlarmState.CLOSED).order_by(alarms.c.id)
            )
            return [_alarm(row) for row in rows]

    # Operators.

    def get_alarm(self, city_id: int, alarm_id: int) -> Alarm:
        """One alarm of the city; NotFoundError if none."""
        with translated("read alarm"), self._engine.connect() as conn:
            return self._get(conn, city_id, alarm_id)

    @staticmethod
    def _get(conn: Connection, city_id: int, alarm_id: int) -> Alarm:
        row = conn.execute(
            select(alarms).where(alarms.c.id == alarm_id, alarms.c.city_id == city_id)
        ).first()
        if row is None:
            raise NotFoundError(f"no alarm {alarm_id} in this city")
        return _alarm(row)

    def query_alarms(self, city_id: int, query: AlarmQuery) -> Page[Alarm]:
        """The city's alarms that match, newest first."""
        where = _filters(city_id, query)
        statement = select(alarms)
        if query.bbox is not None:
            west, south, east, north = query.bbox
            statement = statement.join(assets, assets.c.id == alarms.c.asset_id)
            where += [
                assets.c.lon >= west,
                assets.c.lon <= east,
                assets.c.lat >= south,
                assets.c.lat <= north,
            ]
        statement = statement.where(*where).order_by(alarms.c.id.desc()).limit(query.limit + 1)
        with translated("list alarms"), self._engine.connect() as conn:
            found = [_alarm(row) for row in conn.execute(statement)]
        more = len(found) > query.limit
        found = found[: query.limit]
        return Page(found, found[-1].id if more and found else None)

    def alarm_counts(
        self, city_id: int, states: Collection[AlarmState]
    ) -> list[tuple[AlarmType, str, int]]:
        """How many alarms in ``states`` (not held) per type and severity."""
        statement = (
            select(alarms.c.type, alarms.c.severity, func.count())
            .where(
                alarms.c.city_id == city_id,
                alarms.c.state.in_([str(s) for s in states]),
                alarms.c.held.is_(False),
            )
            .group_by(alarms.c.type, alarms.c.severity)
            .order_by(alarms.c.type, alarms.c.severity)
        )
        with translated("count alarms"), self._engine.connect() as conn:
            return [(AlarmType(t), str(s), int(n)) for t, s, n in conn.execute(statement)]

    def act(
        self, city_id: int, alarm_id: int, kind: EventKind, actor: str, at: float, note: str
    ) -> Alarm:
        """An operator's step: acknowledge, note or close."""
        note = note[:_NOTE_MAX]
        with translated("update alarm"), self._engine.begin() as conn:
            alarm = self._get(conn, city_id, alarm_id)
            values: dict[str, Any] = {"updated_at": max(at, alarm.updated_at)}
            match kind:
                case EventKind.ACKNOWLEDGED:
                    if alarm.state is AlarmState.CLOSED or alarm.acknowledged_at is not None:
                        raise ConflictError(
                            f"alarm {alarm_id} is {alarm.state} and cannot be acknowledged"
                        )
                    values |= {"acknowledged_at": at, "acknowledged_by": actor}
                    if alarm.state is AlarmState.RAISED:
                        values["state"] = AlarmState.ACKNOWLEDGED
                    guard = alarms.c.state == alarm.state
                case EventKind.CLOSED:
                    if alarm.state is not AlarmState.CLEARED:
                        raise ConflictError(
                            f"alarm {alarm_id} is {alarm.state}: only a cleared alarm can be closed"
                        )
                    values |= {"state": AlarmState.CLOSED, "closed_at": at, "closed_by": actor}
                    guard = alarms.c.state == AlarmState.CLEARED
                case EventKind.NOTED:
                    if not note.strip():
                        raise ConflictError("a note needs some text")
                    guard = alarms.c.id == alarm_id
                case _:
                    raise ConflictError(f"{kind} is not an operator's step")
            done = conn.execute(
                update(alarms).where(alarms.c.id == alarm_id, guard).values(**values)
            ).rowcount
            if not done:
                raise ConflictError(f"alarm {alarm_id} changed meanwhile; look again")
            alarm = self._get(conn, city_id, alarm_id)
            _event(conn, alarm, kind, at, actor, note)
            return alarm

    def history(self, city_id: int, alarm_id: int) -> list[AlarmEvent]:
        """One alarm's events, oldest first."""
        with translated("read alarm history"), self._engine.connect() as conn:
            self._get(conn, city_id, alarm_id)
            rows = conn.execute(
                select(alarm_events)
                .where(alarm_events.c.alarm_id == alarm_id)
                .order_by(alarm_events.c.id)
            )
            return [_event_of(row) for row in rows]

    def events_after(
        self, after_id: int, limit: int, city_ids: Collection[int] | None = None
    ) -> list[AlarmEvent]:
        """Events with ids above ``after_id``, oldest first."""
        where = [alarm_events.c.id > after_id]
        if city_ids is not None:
            where.append(alarm_events.c.city_id.in_(list(city_ids)))
        with translated("read alarm events"), self._engine.connect() as conn:
            rows = conn.execute(
                select(alarm_events).where(*where).order_by(alarm_events.c.id).limit(limit)
            )
            return [_event_of(row) for row in rows]

    def detection_overrides(self) -> dict[int, dict[str, object]]:
        """Each city's detection setting overrides."""
        with translated("read detection settings"), self._engine.connect() as conn:
            rows = conn.execute(
                select(detection_settings.c.city_id, detection_settings.c.overrides)
            )
            return {int(city): dict(overrides) for city, overrides in rows}

    def set_detection_overrides(
        self, city_id: int, overrides: Mapping[str, object], at: float
    ) -> None:
        """Replace the city's overrides."""
        with translated("store detection settings"), self._engine.begin() as conn:
            conn.execute(delete(detection_settings).where(detection_settings.c.city_id == city_id))
            conn.execute(
                insert(detection_settings).values(
                    city_id=city_id, overrides=dict(overrides), updated_at=at
                )
            )

    # The inventory as the rules see it.

    def profiles(self, device_ids: Collection[int]) -> list[DeviceProfile]:
        """The devices' profiles."""
        ids = sorted(set(device_ids))
        found: list[DeviceProfile] = []
        statement = select(
            devices.c.id,
            devices.c.city_id,
            devices.c.uid,
            devices.c.kind,
            assets.c.id,
            assets.c.code,
            assets.c.status,
            assets.c.cabinet_id,
            assets.c.luminaire,
            assets.c.rated_watts,
            assets.c.lat,
            assets.c.lon,
        ).select_from(devices.outerjoin(assets, assets.c.id == devices.c.asset_id))
        with translated("read device profiles"), self._engine.connect() as conn:
            for start in range(0, len(ids), _IN_CHUNK):
                rows = conn.execute(
                    statement.where(devices.c.id.in_(ids[start : start + _IN_CHUNK]))
                )
                found += [_profile(row) for row in rows]
        return found

    def cabinet_lights(self, cabinet_ids: Collection[int]) -> dict[int, list[int]]:
        """The device ids of the lights each cabinet powers."""
        ids = sorted(set(cabinet_ids))
        out: dict[int, list[int]] = {cabinet: [] for cabinet in ids}
        statement = (
            select(assets.c.cabinet_id, devices.c.id)
            .join(devices, devices.c.asset_id == assets.c.id)
            .where(assets.c.kind == AssetKind.STREETLIGHT)
        )
        with translated("read cabinet lights"), self._engine.connect() as conn:
            for start in range(0, len(ids), _IN_CHUNK):
                chunk = ids[start : start + _IN_CHUNK]
                for cabinet, device in conn.execute(
                    statement.where(assets.c.cabinet_id.in_(chunk))
                ):
                    out[int(cabinet)].append(int(device))
        return out

    def cabinet_device(self, cabinet_id: int) -> int | None:
        """The device bound to a cabinet, if any."""
        with translated("read cabinet device"), self._engine.connect() as conn:
            found = conn.execute(
                select(devices.c.id).where(devices.c.asset_id == cabinet_id)
            ).scalar()
            return None if found is None else int(found)


def _filters(city_id: int, query: AlarmQuery) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [alarms.c.city_id == city_id]
    if query.types:
        where.append(alarms.c.type.in_(sorted(query.types)))
    if query.severities:
        where.append(alarms.c.severity.in_(sorted(query.severities)))
    if query.states:
        where.append(alarms.c.state.in_(sorted(query.states)))
    if query.asset_id is not None:
        where.append(alarms.c.asset_id == query.asset_id)
    if query.parent_id is not None:
        where.append(alarms.c.parent_id == query.parent_id)
    elif not query.include_held:
        where.append(alarms.c.held.is_(False))
    if query.since is not None:
        where.append(alarms.c.raised_at >= query.since)
    if query.until is not None:
        where.append(alarms.c.raised_at < query.until)
    if query.before_id is not None:
        where.append(alarms.c.id < query.before_id)
    return where


def _row(alarm: Alarm) -> dict[str, Any]:
    return {
        "city_id": alarm.city_id,
        "type": str(alarm.type),
        "severity": str(alarm.severity),
        "state": str(alarm.state),
        "asset_id": alarm.asset_id,
        "asset_code": alarm.asset_code,
        "device_id": alarm.device_id,
        "device_uid": alarm.device_uid,
        "raised_at": alarm.raised_at,
        "observed_at": alarm.observed_at,
        "updated_at": alarm.updated_at,
        "message": alarm.message[:1000],
        "detail": alarm.detail,
        "occurrences": alarm.occurrences,
        "held": alarm.held,
        "parent_id": alarm.parent_id,
        "acknowledged_at": alarm.acknowledged_at,
        "acknowledged_by": alarm.acknowledged_by,
        "cleared_at": alarm.cleared_at,
        "closed_at": alarm.closed_at,
        "closed_by": alarm.closed_by,
    }


def _alarm(row: Any) -> Alarm:  # noqa: ANN401 - a result row
    m = row._mapping  # noqa: SLF001 - SQLAlchemy's public mapping view of a row
    return Alarm(
        id=m["id"],
        city_id=m["city_id"],
        type=AlarmType(m["type"]),
        severity=Severity(m["severity"]),
        state=AlarmState(m["state"]),
        asset_id=m["asset_id"],
        asset_code=m["asset_code"],
        device_id=m["device_id"],
        device_uid=m["device_uid"],
        raised_at=m["raised_at"],
        observed_at=m["observed_at"],
        updated_at=m["updated_at"],
        message=m["message"],
        detail=dict(m["detail"] or {}),
        occurrences=m["occurrences"],
        held=bool(m["held"]),
        parent_id=m["parent_id"],
        acknowledged_at=m["acknowledged_at"],
        acknowledged_by=m["acknowledged_by"],
        cleared_at=m["cleared_at"],
        closed_at=m["closed_at"],
        closed_by=m["closed_by"],
    )


def _event(
    conn: Connection,
    alarm: Alarm,
    kind: EventKind,
    at: float,
    actor: str | None = None,
    note: str = "",
) -> AlarmEvent:
    values = {
        "alarm_id": alarm.pk,
        "city_id": alarm.city_id,
        "kind": str(kind),
        "at": at,
        "state": str(alarm.state),
        "actor": actor,
        "note": note[:_NOTE_MAX],
    }
    event_id = conn.execute(
        insert(alarm_events).values(values).returning(alarm_events.c.id)
    ).scalar_one()
    return AlarmEvent(
        id=event_id,
        alarm_id=alarm.pk,
        city_id=alarm.city_id,
        kind=kind,
        at=at,
        state=alarm.state,
        actor=actor,
        note=note[:_NOTE_MAX],
    )


def _event_of(row: Any) -> AlarmEvent:  # noqa: ANN401 - a result row
    m = row._mapping  # noqa: SLF001 - SQLAlchemy's public mapping view of a row
    return AlarmEvent(
        id=m["id"],
        alarm_id=m["alarm_id"],
        city_id=m["city_id"],
        kind=EventKind(m["kind"]),
        at=m["at"],
        state=AlarmState(m["state"]),
        actor=m["actor"],
        note=m["note"],
    )


def _profile(row: Any) -> DeviceProfile:  # noqa: ANN401 - a result row
    (device_id, city_id, uid, kind, asset_id, code, status, cabinet, luminaire, watts, lat, lon) = (
        row
    )
    return DeviceProfile(
        device_id=device_id,
        city_id=city_id,
        uid=uid,
        kind=kind,
        asset_id=asset_id,
        asset_code=code,
        in_service=status is None or status == AssetStatus.IN_SERVICE,
        cabinet_id=cabinet,
        luminaire=LuminaireType(luminaire) if luminaire else None,
        rated_watts=watts,
        lat=lat,
        lon=lon,
    )
