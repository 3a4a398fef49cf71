"""Alarms, their events and cities' detection settings in SQL.

Every change of state is an UPDATE guarded by the state it expects, and
every change writes its event in the same transaction: the events are the
history and the feed the live stream and the notifier follow.

The feed is read by event id (``events_after``), so events must become
visible in id order: a reader that has seen event 11 never looks below it
again, and would miss an event 10 committed a moment later. Transactions
that write events therefore take one lock first (PostgreSQL: a
transaction-level advisory lock; SQLite: its write lock, with ``BEGIN
IMMEDIATE``), so that ids are handed out and committed one transaction at a
time. Alarm writes are few (state changes, not readings), so the wait is
short.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Final

from sqlalchemy import Connection, Engine, Table, delete, func, insert, select, text, update
from sqlalchemy.sql.elements import ColumnElement

from signalight.adapters.sql.dead_letters import insert_letters
from signalight.adapters.sql.errors import translated
from signalight.adapters.sql.tables import (
    alarm_events,
    alarms,
    assets,
    detection_settings,
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
from signalight.domain.assets import Page
from signalight.domain.errors import ConflictError, InvalidInputError, NotFoundError
from signalight.domain.telemetry import DeadLetter

__all__ = ["SqlAlarmStore"]

_ACTIVE = tuple(str(s) for s in ACTIVE_STATES)
_NOTE_MAX = 2000
_MESSAGE_MAX = 1000
# The advisory lock that orders event writers on PostgreSQL ("SLALARMS" as a number).
_EVENTS_LOCK: Final = 0x534C414C41524D53


class SqlAlarmStore:
    """Implements ``AlarmStore`` over one engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """A transaction that may write events, holding the lock that orders them."""
        with self._engine.connect() as conn:
            if self._postgres:
                conn.begin()
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _EVENTS_LOCK})
            else:
                # The write lock up front: a transaction that reads and then
                # writes cannot wait for another writer in WAL mode.
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    # The detector's steps.

    def record(self, changes: Sequence[tuple[Alarm, EventKind, float]]) -> list[AlarmEvent]:
        """Store the detector's steps in one transaction (see ``AlarmStore.record``).

        Each alarm given is brought up to date with what was stored: its id
        once inserted, and its state and acknowledgement as they are in the
        database after the step (an operator may have acknowledged it).
        """
        if not changes:
            return []
        # If the transaction fails, the alarms are put back as they were
        # given, so that the caller can retry the same steps.
        before = {id(alarm): (alarm, copy.copy(alarm)) for alarm, _, _ in changes}
        events: list[AlarmEvent] = []
        try:
            with translated("store alarms"), self._writing() as conn:
                run: list[tuple[Alarm, bool, float]] = []  # new alarms, inserted together
                for alarm, kind, at in changes:
                    if kind in (EventKind.RAISED, EventKind.HELD):
                        run.append((alarm, alarm.held or kind is EventKind.HELD, at))
                        continue
                    events += _insert_many(conn, run)
                    run = []
                    event = self._step(conn, alarm, kind, at)
                    if event is not None:
                        events.append(event)
                events += _insert_many(conn, run)
        except BaseException:
            for alarm, saved in before.values():
                for f in dataclasses.fields(saved):
                    setattr(alarm, f.name, getattr(saved, f.name))
            raise
        return events

    def _step(
        self, conn: Connection, alarm: Alarm, kind: EventKind, at: float
    ) -> AlarmEvent | None:
        if kind in (EventKind.RAISED, EventKind.HELD) or (
            kind is EventKind.REOPENED and alarm.id is None
        ):
            return _insert(conn, alarm, held=alarm.held or kind is EventKind.HELD, at=at)
        guard: ColumnElement[bool]
        values: dict[str, Any] = {"updated_at": at}
        match kind:
            case EventKind.CLEARED:
                guard = alarms.c.state.in_(_ACTIVE)
                values |= {"state": AlarmState.CLEARED, "cleared_at": alarm.cleared_at or at}
            case EventKind.CLOSED:
                guard = alarms.c.state == AlarmState.CLEARED
                values |= {
                    "state": AlarmState.CLOSED,
                    "closed_at": alarm.closed_at or at,
                    "closed_by": alarm.closed_by,
                }
            case EventKind.RELEASED:
                # The state stays as it is: an operator may have acknowledged
                # the alarm while it was held.
                guard = alarms.c.held.is_(True) & (alarms.c.state != AlarmState.CLOSED)
                values |= {"held": False, "raised_at": alarm.raised_at}
            case EventKind.REOPENED:
                # A new occurrence: raised again, and to be acknowledged again.
                guard = alarms.c.state == AlarmState.CLEARED
                values |= {
                    "state": AlarmState.RAISED,
                    "occurrences": alarms.c.occurrences + 1,
                    "cleared_at": None,
                    "acknowledged_at": None,
                    "acknowledged_by": None,
                    "observed_at": alarm.observed_at,
                    "message": alarm.message[:_MESSAGE_MAX],
                    "detail": alarm.detail,
                }
            case _:  # escalated, reminded: history only
                stored = conn.execute(select(alarms).where(alarms.c.id == alarm.pk)).first()
                if stored is None:
                    return None
                _sync(alarm, stored)
                return _event(conn, alarm, kind, at)
        row = conn.execute(
            update(alarms)
            .where(alarms.c.id == alarm.pk, guard)
            .values(**values)
            .returning(*_SYNCED)
        ).first()
        if row is not None:
            _sync(alarm, row)
            return _event(conn, alarm, kind, at)
        if kind is EventKind.REOPENED and _stored_state(conn, alarm.pk) is AlarmState.CLOSED:
            # An operator closed it meanwhile: the returning condition is a new alarm.
            alarm.occurrences = 1
            alarm.raised_at = at
            alarm.acknowledged_at = alarm.acknowledged_by = None
            alarm.cleared_at = alarm.closed_at = alarm.closed_by = None
            return _insert(conn, alarm, held=alarm.held, at=at)
        return None

    def reject(self, letters: Sequence[DeadLetter]) -> None:
        """Keep steps that could not be stored as dead letters (a deleted city's: no city)."""
        with translated("store dead letters"), self._engine.begin() as conn:
            insert_letters(conn, letters)

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
        with translated("update alarm"), self._writing() as conn:
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
                        raise InvalidInputError("a note needs some text")
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

    def last_event_id(self) -> int:
        """The newest event's id, 0 if there is none: where a live feed starts."""
        with translated("read alarm events"), self._engine.connect() as conn:
            return int(conn.execute(select(func.max(alarm_events.c.id))).scalar() or 0)

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
        with translated("store detection settings"), self._writing() as conn:
            conn.execute(delete(detection_settings).where(detection_settings.c.city_id == city_id))
            conn.execute(
                insert(detection_settings).values(
                    city_id=city_id, overrides=dict(overrides), updated_at=at
                )
            )


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


# What a step reads back into the detector's copy of the alarm.
_SYNCED: Final = (
    alarms.c.state,
    alarms.c.updated_at,
    alarms.c.held,
    alarms.c.occurrences,
    alarms.c.acknowledged_at,
    alarms.c.acknowledged_by,
    alarms.c.cleared_at,
    alarms.c.closed_at,
    alarms.c.closed_by,
)


def _insert(conn: Connection, alarm: Alarm, *, held: bool, at: float) -> AlarmEvent:
    """Store ``alarm`` as a new alarm and its first event; sets its id."""
    return _insert_many(conn, [(alarm, held, at)])[0]


def _insert_many(conn: Connection, run: Sequence[tuple[Alarm, bool, float]]) -> list[AlarmEvent]:
    """Store new alarms and their first events, many rows to a statement (an outage's burst)."""
    if not run:
        return []
    for alarm, held, at in run:
        alarm.state = AlarmState.RAISED
        alarm.held = held
        alarm.updated_at = max(alarm.updated_at, at)
    ids = _insert_rows(conn, alarms, [_row(alarm) for alarm, _, _ in run])
    for (alarm, _, _), alarm_id in zip(run, ids, strict=True):
        alarm.id = alarm_id
    kinds = [EventKind.HELD if held else EventKind.RAISED for _, held, _ in run]
    event_ids = _insert_rows(
        conn,
        alarm_events,
        [
            {
                "alarm_id": alarm.pk,
                "city_id": alarm.city_id,
                "kind": str(kind),
                "at": at,
                "state": str(alarm.state),
                "actor": None,
                "note": "",
            }
            for (alarm, _, at), kind in zip(run, kinds, strict=True)
        ],
    )
    return [
        AlarmEvent(
            id=event_id,
            alarm_id=alarm.pk,
            city_id=alarm.city_id,
            kind=kind,
            at=at,
            state=alarm.state,
        )
        for (alarm, _, at), kind, event_id in zip(run, kinds, event_ids, strict=True)
    ]


def _insert_rows(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows``; their new ids, in order.

    PostgreSQL takes the ids from the table's sequence first and inserts
    without RETURNING: four times faster for 20,000 rows (0.7 s against 2.8,
    measured), which is what a city-wide outage writes.
    """
    if conn.dialect.name == "postgresql":
        ids = [
            int(i)
            for i in conn.execute(
                text(
                    "SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"
                ),
                {"t": table.name, "n": len(rows)},
            ).scalars()
        ]
        conn.execute(insert(table), [{**row, "id": i} for row, i in zip(rows, ids, strict=True)])
        return ids
    found = conn.execute(
        insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
    ).scalars()
    return [int(i) for i in found]


def _stored_state(conn: Connection, alarm_id: int) -> AlarmState | None:
    found = conn.execute(select(alarms.c.state).where(alarms.c.id == alarm_id)).scalar()
    return None if found is None else AlarmState(found)


def _sync(alarm: Alarm, row: Any) -> None:  # noqa: ANN401 - a result row
    """Bring the detector's copy of an alarm up to date with the stored row."""
    m = row._mapping  # noqa: SLF001 - SQLAlchemy's public mapping view of a row
    alarm.state = AlarmState(m["state"])
    alarm.updated_at = m["updated_at"]
    alarm.held = bool(m["held"])
    alarm.occurrences = m["occurrences"]
    alarm.acknowledged_at = m["acknowledged_at"]
    alarm.acknowledged_by = m["acknowledged_by"]
    alarm.cleared_at = m["cleared_at"]
    alarm.closed_at = m["closed_at"]
    alarm.closed_by = m["closed_by"]


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
        "message": alarm.message[:_MESSAGE_MAX],
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
