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
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, text, update
from sqlalchemy.sql.elements import ColumnElement

from signalight.adapters.sql.alarm_rows import (
    EVENTS_LOCK,
    MESSAGE_MAX,
    NOTE_MAX,
    SYNCED,
    alarm_of,
    event_of,
    insert_alarm,
    insert_event,
    insert_many,
    stored_state,
    sync,
)
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
)
from signalight.domain.assets import Page
from signalight.domain.errors import ConflictError, InvalidInputError, NotFoundError
from signalight.domain.telemetry import DeadLetter

__all__ = ["SqlAlarmStore"]

_ACTIVE = tuple(str(s) for s in ACTIVE_STATES)


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
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": EVENTS_LOCK})
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
                    events += insert_many(conn, run)
                    run = []
                    event = self._step(conn, alarm, kind, at)
                    if event is not None:
                        events.append(event)
                events += insert_many(conn, run)
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
            return insert_alarm(conn, alarm, held=alarm.held or kind is EventKind.HELD, at=at)
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
                    "message": alarm.message[:MESSAGE_MAX],
                    "detail": alarm.detail,
                }
            case _:  # escalated, reminded: history only
                stored = conn.execute(select(alarms).where(alarms.c.id == alarm.pk)).first()
                if stored is None:
                    return None
                sync(alarm, stored)
                return insert_event(conn, alarm, kind, at)
        row = conn.execute(
            update(alarms).where(alarms.c.id == alarm.pk, guard).values(**values).returning(*SYNCED)
        ).first()
        if row is not None:
            sync(alarm, row)
            return insert_event(conn, alarm, kind, at)
        if kind is EventKind.REOPENED and stored_state(conn, alarm.pk) is AlarmState.CLOSED:
            # An operator closed it meanwhile: the returning condition is a new alarm.
            alarm.occurrences = 1
            alarm.raised_at = at
            alarm.acknowledged_at = alarm.acknowledged_by = None
            alarm.cleared_at = alarm.closed_at = alarm.closed_by = None
            return insert_alarm(conn, alarm, held=alarm.held, at=at)
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
            return [alarm_of(row) for row in rows]

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
        return alarm_of(row)

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
            found = [alarm_of(row) for row in conn.execute(statement)]
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
        note = note[:NOTE_MAX]
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
            insert_event(conn, alarm, kind, at, actor, note)
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
            return [event_of(row) for row in rows]

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
            return [event_of(row) for row in rows]

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
