"""Lighting schedules in SQL: profiles, assignments, calendar and overrides of each city.

Implements ``ScheduleStore`` on SQLite and PostgreSQL alike (nothing here
differs by dialect). Every read names the city, so an id of another city is
not found. Every change moves the city's row of ``schedule_revisions`` and
writes its audit entry (linked to the city, read by its admins with the
accounts' audit) in the change's own transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from signalight.adapters.sql.errors import translated
from signalight.adapters.sql.schedule_tables import (
    schedule_assignments,
    schedule_calendar,
    schedule_overrides,
    schedule_profiles,
    schedule_revisions,
)
from signalight.adapters.sql.tables import audit_cities, audit_log
from signalight.codecs.profiles import profile_from_json, profile_to_json
from signalight.domain.assignments import (
    Assignment,
    CalendarEntry,
    CitySchedules,
    Override,
    Scope,
)
from signalight.domain.errors import ConflictError, NotFoundError
from signalight.domain.schedules import Profile
from signalight.domain.users import AuditAction

__all__ = ["SqlScheduleStore"]

_P = schedule_profiles.c
_A = schedule_assignments.c
_C = schedule_calendar.c
_O = schedule_overrides.c
_R = schedule_revisions.c
_DETAIL_MAX: Final = 500  # audit_log.detail
_TARGET_MAX: Final = 64  # audit_log.target


class SqlScheduleStore:
    """Implements ``ScheduleStore`` over one engine.

    Args:
        engine: The database.
        now: The time of audit entries (the container's clock).
    """

    def __init__(self, engine: Engine, now: Callable[[], datetime] | None = None) -> None:
        self._engine = engine
        self._now = now or (lambda: datetime.now(UTC))

    # Profiles.

    def profiles(self, city_id: int) -> dict[int, Profile]:
        """The city's profiles by id."""
        with translated("read schedule profiles"), self._engine.connect() as conn:
            return _profiles(conn, city_id)

    def add_profile(self, city_id: int, profile: Profile, *, actor: str) -> int:
        """Store a new profile; returns its id. ConflictError if its name is taken."""
        doc = profile_to_json(profile)
        with translated("store schedule profile"), self._engine.begin() as conn:
            _name_free(conn, city_id, profile.name, None)
            profile_id: int = conn.execute(
                insert(schedule_profiles)
                .values(
                    city_id=city_id,
                    name=profile.name,
                    steps=doc["steps"],
                    off_windows=doc["off_windows"],
                    updated_by=actor[:100],
                    updated_at=self._now().timestamp(),
                )
                .returning(_P.id)
            ).scalar_one()
            self._changed(
                conn,
                city_id,
                AuditAction.PROFILE_ADDED,
                actor,
                profile.name,
                f"profile {profile_id}: {profile.describe()}",
            )
        return profile_id

    def replace_profile(
        self, city_id: int, profile_id: int, profile: Profile, *, actor: str
    ) -> None:
        """Change a profile in place. NotFoundError if none; ConflictError on a taken name."""
        doc = profile_to_json(profile)
        with translated("change schedule profile"), self._engine.begin() as conn:
            _name_free(conn, city_id, profile.name, profile_id)
            changed = conn.execute(
                update(schedule_profiles)
                .where(_P.id == profile_id, _P.city_id == city_id)
                .values(
                    name=profile.name,
                    steps=doc["steps"],
                    off_windows=doc["off_windows"],
                    updated_by=actor[:100],
                    updated_at=self._now().timestamp(),
                )
            ).rowcount
            if not changed:
                raise NotFoundError(f"no schedule profile {profile_id} in this city")
            self._changed(
                conn,
                city_id,
                AuditAction.PROFILE_CHANGED,
                actor,
                profile.name,
                f"profile {profile_id}: {profile.describe()}",
            )

    def delete_profile(self, city_id: int, profile_id: int, *, actor: str) -> None:
        """Remove a profile. NotFoundError if none; ConflictError while anything uses it."""
        with translated("delete schedule profile"), self._engine.begin() as conn:
            name = conn.execute(
                select(_P.name).where(_P.id == profile_id, _P.city_id == city_id)
            ).scalar_one_or_none()
            if name is None:
                raise NotFoundError(f"no schedule profile {profile_id} in this city")
            uses = [
                conn.execute(select(func.count()).where(column == profile_id)).scalar_one()
                for column in (_A.profile_id, _C.profile_id)
            ]
            if any(uses):
                raise ConflictError(
                    f"profile {name!r} is in use by {uses[0]} assignment(s) and {uses[1]}"
                    " calendar entry(ies): remove them first"
                )
            conn.execute(delete(schedule_profiles).where(_P.id == profile_id))
            self._changed(
                conn,
                city_id,
                AuditAction.PROFILE_REMOVED,
                actor,
                name,
                f"profile {profile_id} removed",
            )

    # Assignments and the calendar.

    def assignments(self, city_id: int) -> list[Assignment]:
        """The city's assignments."""
        with translated("read schedule assignments"), self._engine.connect() as conn:
            return _assignments(conn, city_id)

    def add_assignment(self, city_id: int, assignment: Assignment, *, actor: str) -> int:
        """Store an assignment (its id is ignored); returns its id."""
        with translated("store schedule assignment"), self._engine.begin() as conn:
            name = _profile_name(conn, city_id, assignment.profile_id)
            assignment_id: int = conn.execute(
                insert(schedule_assignments)
                .values(
                    city_id=city_id,
                    scope=str(assignment.scope),
                    key=assignment.key,
                    profile_id=assignment.profile_id,
                    weekdays=sorted(assignment.weekdays),
                    created_by=actor[:100],
                    created_at=self._now().timestamp(),
                )
                .returning(_A.id)
            ).scalar_one()
            days = ",".join(str(d) for d in sorted(assignment.weekdays))
            self._changed(
                conn,
                city_id,
                AuditAction.ASSIGNMENT_ADDED,
                actor,
                _where(assignment.scope, assignment.key),
                f"assignment {assignment_id}: profile {name!r}, weekdays {days}",
            )
        return assignment_id

    def delete_assignment(self, city_id: int, assignment_id: int, *, actor: str) -> None:
        """Remove an assignment. NotFoundError if none."""
        with translated("delete schedule assignment"), self._engine.begin() as conn:
            row = conn.execute(
                select(_A.scope, _A.key).where(_A.id == assignment_id, _A.city_id == city_id)
            ).first()
            if row is None:
                raise NotFoundError(f"no schedule assignment {assignment_id} in this city")
            conn.execute(delete(schedule_assignments).where(_A.id == assignment_id))
            self._changed(
                conn,
                city_id,
                AuditAction.ASSIGNMENT_REMOVED,
                actor,
                _where(Scope(row.scope), row.key),
                f"assignment {assignment_id} removed",
            )

    def calendar(self, city_id: int) -> list[CalendarEntry]:
        """The city's calendar entries."""
        with translated("read schedule calendar"), self._engine.connect() as conn:
            return _calendar(conn, city_id)

    def add_calendar_entry(self, city_id: int, entry: CalendarEntry, *, actor: str) -> int:
        """Store a calendar entry (its id is ignored); returns its id."""
        with translated("store calendar entry"), self._engine.begin() as conn:
            name = _profile_name(conn, city_id, entry.profile_id)
            entry_id: int = conn.execute(
                insert(schedule_calendar)
                .values(
                    city_id=city_id,
                    name=entry.name,
                    first=entry.first,
                    last=entry.last,
                    scope=str(entry.scope),
                    key=entry.key,
                    profile_id=entry.profile_id,
                    created_by=actor[:100],
                    created_at=self._now().timestamp(),
                )
                .returning(_C.id)
            ).scalar_one()
            self._changed(
                conn,
                city_id,
                AuditAction.CALENDAR_ADDED,
                actor,
                _where(entry.scope, entry.key),
                f"calendar {entry_id} {entry.name!r}: {entry.first} to {entry.last},"
                f" profile {name!r}",
            )
        return entry_id

    def delete_calendar_entry(self, city_id: int, entry_id: int, *, actor: str) -> None:
        """Remove a calendar entry. NotFoundError if none."""
        with translated("delete calendar entry"), self._engine.begin() as conn:
            row = conn.execute(
                select(_C.scope, _C.key, _C.name).where(_C.id == entry_id, _C.city_id == city_id)
            ).first()
            if row is None:
                raise NotFoundError(f"no calendar entry {entry_id} in this city")
            conn.execute(delete(schedule_calendar).where(_C.id == entry_id))
            self._changed(
                conn,
                city_id,
                AuditAction.CALENDAR_REMOVED,
                actor,
                _where(Scope(row.scope), row.key),
                f"calendar {entry_id} {row.name!r} removed",
            )

    # Overrides.

    def overrides(self, city_id: int, *, since: float) -> list[Override]:
        """The city's overrides that expire after ``since``."""
        with translated("read schedule overrides"), self._engine.connect() as conn:
            return _overrides(conn, city_id, since)

    def add_override(self, city_id: int, override: Override) -> int:
        """Store an override (its id is ignored; its ``by`` is the actor); returns its id."""
        with translated("store schedule override"), self._engine.begin() as conn:
            override_id: int = conn.execute(
                insert(schedule_overrides)
                .values(
                    city_id=city_id,
                    scope=str(override.scope),
                    key=override.key,
                    level=override.level,
                    starts=override.starts,
                    expires=override.expires,
                    reason=override.reason,
                    by=override.by[:100],
                )
                .returning(_O.id)
            ).scalar_one()
            span = f"{_utc(override.starts)} to {_utc(override.expires)}"
            self._changed(
                conn,
                city_id,
                AuditAction.OVERRIDE_ADDED,
                override.by,
                _where(override.scope, override.key),
                f"override {override_id} at {override.level:g}%, {span}: {override.reason}",
            )
        return override_id

    def end_override(self, city_id: int, override_id: int, *, at: float, actor: str) -> Override:
        """Make an override expire at ``at`` (if later than that); returns it after.

        An override that expired already is returned as it was, and nothing
        is written. One ended before it starts is in force at no time (its
        expiry before its start). NotFoundError if none.
        """
        with translated("end schedule override"), self._engine.begin() as conn:
            changed = conn.execute(
                update(schedule_overrides)
                .where(_O.id == override_id, _O.city_id == city_id, _O.expires > at)
                .values(expires=at, ended_at=at, ended_by=actor[:100])
            ).rowcount
            row = conn.execute(
                select(schedule_overrides).where(_O.id == override_id, _O.city_id == city_id)
            ).first()
            if row is None:
                raise NotFoundError(f"no schedule override {override_id} in this city")
            found = _override_of(row)
            if changed:
                self._changed(
                    conn,
                    city_id,
                    AuditAction.OVERRIDE_ENDED,
                    actor,
                    _where(found.scope, found.key),
                    f"override {override_id} ended at {_utc(at)}",
                )
        return found

    # The whole.

    def revision(self, city_id: int) -> int:
        """A number that grows with every change to the city's schedules."""
        with translated("read schedule revision"), self._engine.connect() as conn:
            return _revision(conn, city_id)

    def city_schedules(self, city_id: int, default: Profile, *, since: float) -> CitySchedules:
        """All of the city's schedules at once, with the overrides that expire after ``since``."""
        with translated("read schedules"), self._engine.connect() as conn:
            return CitySchedules(
                _profiles(conn, city_id),
                _assignments(conn, city_id),
                _calendar(conn, city_id),
                _overrides(conn, city_id, since),
                default,
            )

    def _changed(
        self,
        conn: Connection,
        city_id: int,
        action: AuditAction,
        actor: str,
        target: str,
        detail: str,
    ) -> None:
        """Move the city's revision and write the audit entry, in ``conn``'s transaction."""
        moved = conn.execute(
            update(schedule_revisions).where(_R.city_id == city_id).values(revision=_R.revision + 1)
        ).rowcount
        if not moved:
            conn.execute(insert(schedule_revisions).values(city_id=city_id, revision=1))
        audit_id = conn.execute(
            insert(audit_log)
            .values(
                at=self._now(),
                actor=actor[:100],
                action=str(action),
                target=target[:_TARGET_MAX],
                detail=detail[:_DETAIL_MAX],
            )
            .returning(audit_log.c.id)
        ).scalar_one()
        conn.execute(insert(audit_cities).values(audit_id=audit_id, city_id=city_id))


def _profiles(conn: Connection, city_id: int) -> dict[int, Profile]:
    rows = conn.execute(select(schedule_profiles).where(_P.city_id == city_id).order_by(_P.id))
    return {
        row.id: profile_from_json(
            {"name": row.name, "steps": row.steps, "off_windows": row.off_windows}
        )
        for row in rows
    }


def _assignments(conn: Connection, city_id: int) -> list[Assignment]:
    rows = conn.execute(select(schedule_assignments).where(_A.city_id == city_id).order_by(_A.id))
    return [
        Assignment(row.id, Scope(row.scope), row.key, row.profile_id, frozenset(row.weekdays))
        for row in rows
    ]


def _calendar(conn: Connection, city_id: int) -> list[CalendarEntry]:
    rows = conn.execute(
        select(schedule_calendar).where(_C.city_id == city_id).order_by(_C.first, _C.id)
    )
    return [
        CalendarEntry(
            row.id, row.name, row.first, row.last, Scope(row.scope), row.key, row.profile_id
        )
        for row in rows
    ]


def _overrides(conn: Connection, city_id: int, since: float) -> list[Override]:
    rows = conn.execute(
        select(schedule_overrides)
        .where(_O.city_id == city_id, _O.expires > since)
        .order_by(_O.starts, _O.id)
    )
    return [_override_of(row) for row in rows]


def _override_of(row: Any) -> Override:  # noqa: ANN401 - a row
    return Override(
        row.id, Scope(row.scope), row.key, row.level, row.starts, row.expires, row.reason, row.by
    )


def _revision(conn: Connection, city_id: int) -> int:
    found = conn.execute(select(_R.revision).where(_R.city_id == city_id)).scalar_one_or_none()
    return int(found or 0)


def _name_free(conn: Connection, city_id: int, name: str, profile_id: int | None) -> None:
    taken = conn.execute(
        select(_P.id).where(_P.city_id == city_id, _P.name == name)
    ).scalar_one_or_none()
    if taken is not None and taken != profile_id:
        raise ConflictError(f"a profile named {name!r} exists already (id {taken})")


def _profile_name(conn: Connection, city_id: int, profile_id: int) -> str:
    name = conn.execute(
        select(_P.name).where(_P.id == profile_id, _P.city_id == city_id)
    ).scalar_one_or_none()
    if name is None:
        raise NotFoundError(f"no schedule profile {profile_id} in this city")
    return str(name)


def _where(scope: Scope, key: str) -> str:
    return f"{scope} {key}" if key else str(scope)


def _utc(t: float) -> str:
    return f"{datetime.fromtimestamp(t, UTC):%Y-%m-%d %H:%MZ}"
