"""Commands to devices in SQL: batches with their audit entry, the dispatcher's work, answers.

Implements ``CommandStore`` on SQLite and PostgreSQL alike. The dispatcher
and the answer handler may run at once, in one process or in two: every
change to a command is conditional on its being still waiting (``queued``
or ``sent``), so an answer, an expiry and a send never overwrite each
other, and what did not apply is reported back to the caller.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from itertools import islice
from typing import Any, Final

import orjson
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Connection,
    Engine,
    Text,
    and_,
    any_,
    bindparam,
    case,
    cast,
    func,
    insert,
    or_,
    select,
    update,
)

from signalight.adapters.sql.command_tables import command_batches, command_strays, commands
from signalight.adapters.sql.errors import translated
from signalight.adapters.sql.tables import audit_cities, audit_log
from signalight.domain.command_batches import (
    BatchProgress,
    CommandBatch,
    CommandQuery,
    Target,
    TargetKind,
)
from signalight.domain.commands import (
    EXPIRED_UNANSWERED,
    EXPIRED_UNSENT,
    AckStatus,
    Command,
    CommandKind,
    CommandState,
    Due,
    Ending,
    RetryPolicy,
    Standing,
    Stray,
    StrayReason,
)
from signalight.domain.errors import NotFoundError
from signalight.domain.users import AuditAction

__all__ = ["SqlCommandStore"]

_C = commands.c
_B = command_batches.c
_S = command_strays.c
_OPEN: Final = (str(CommandState.QUEUED), str(CommandState.SENT))
_CHUNK: Final = 900  # ids per IN list: under SQLite's and PostgreSQL's parameter limits
_INSERT_CHUNK: Final = 2000
_MAX_STEPS: Final = 32  # backoff steps written out as SQL before the cap applies anyway
# Enum lookups by value, a dict's speed rather than Enum.__call__'s (the dispatcher reads
# thousands of rows a round).
_KINDS: Final = {str(kind): kind for kind in CommandKind}
_STATES: Final = {str(state): state for state in CommandState}


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[list[Any]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


class SqlCommandStore:
    """Implements ``CommandStore`` over one engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # PostgreSQL takes a batch's ids as one array (``id = ANY(...)``): one
        # statement, one parameter, where SQLite takes IN lists of ``_CHUNK``.
        self._array = engine.dialect.name == "postgresql"
        self._chunk = 100_000 if self._array else _CHUNK

    def _id_in(self, ids: list[str]) -> ColumnElement[bool]:
        if self._array:
            return _C.id == any_(bindparam(None, ids, type_=ARRAY(Text)))
        return _C.id.in_(ids)

    def add_batch(self, batch: CommandBatch, items: Sequence[Command]) -> CommandBatch:
        """Store a batch, its commands and its ``command.requested`` audit entry, at once."""
        with translated("store commands"), self._engine.begin() as conn:
            batch_id = conn.execute(
                insert(command_batches)
                .values(
                    city_id=batch.city_id,
                    kind=str(batch.kind),
                    args=dict(batch.args),
                    target_kind=str(batch.target.kind),
                    target_names=list(batch.target.names),
                    requested_by=batch.requested_by,
                    why=batch.why,
                    created_at=batch.created_at,
                    expires_at=batch.expires_at,
                    total=len(items),
                    skipped=list(batch.skipped),
                )
                .returning(_B.id)
            ).scalar_one()
            for chunk in _chunks(items, _INSERT_CHUNK):
                conn.execute(insert(commands), [_row(c, batch_id) for c in chunk])
            stored = self._batch(conn, batch.city_id, batch_id)
            _audit(conn, stored)
        return stored

    def get_batch(self, city_id: int, batch_id: int) -> CommandBatch:
        """One batch of the city; NotFoundError if none."""
        with translated("read command batch"), self._engine.connect() as conn:
            return self._batch(conn, city_id, batch_id)

    def progress(self, batch_id: int) -> BatchProgress:
        """The batch's commands counted by state."""
        statement = select(_C.state, func.count()).where(_C.batch_id == batch_id).group_by(_C.state)
        with translated("read command batch"), self._engine.connect() as conn:
            return BatchProgress({CommandState(s): n for s, n in conn.execute(statement)})

    def get_command(self, city_id: int, command_id: str) -> Command:
        """One command of the city; NotFoundError if none."""
        statement = select(commands).where(_C.id == command_id, _C.city_id == city_id)
        with translated("read command"), self._engine.connect() as conn:
            row = conn.execute(statement).first()
        if row is None:
            raise NotFoundError(f"no command {command_id} in this city")
        return _command(row)

    def query_commands(self, city_id: int, query: CommandQuery) -> list[Command]:
        """The city's commands that match, newest first."""
        where = [_C.city_id == city_id]
        if query.state is not None:
            where.append(_C.state == str(query.state))
        if query.device_uid is not None:
            where.append(_C.device_uid == query.device_uid)
        if query.batch_id is not None:
            where.append(_C.batch_id == query.batch_id)
        if query.kind is not None:
            where.append(_C.kind == str(query.kind))
        if query.before is not None:
            same = _C.created_at == query.before
            after = same & (_C.id > query.after_id) if query.after_id else None
            where.append(
                _C.created_at < query.before
                if after is None
                else or_(_C.created_at < query.before, after)
            )
        statement = (
            select(commands).where(*where).order_by(_C.created_at.desc(), _C.id).limit(query.limit)
        )
        with translated("read commands"), self._engine.connect() as conn:
            return [_command(row) for row in conn.execute(statement)]

    def standing(self, ids: Collection[str]) -> dict[str, Standing]:
        """The commands with those ids, whatever their city, as answers find them."""
        found: dict[str, Standing] = {}
        columns = (_C.id, _C.city_id, _C.device_uid, _C.state, _C.expires_at)
        with translated("read commands"), self._engine.connect() as conn:
            for chunk in _chunks(sorted(set(ids)), self._chunk):
                for command_id, city_id, device_uid, state, expires_at in conn.execute(
                    select(*columns).where(self._id_in(chunk))
                ):
                    found[command_id] = Standing(
                        id=command_id,
                        city_id=city_id,
                        device_uid=device_uid,
                        state=_STATES[state],
                        expires_at=expires_at,
                    )
        return found

    def expire_overdue(self, now: datetime) -> int:
        """End every waiting command whose expiry has come; how many."""
        statement = (
            update(commands)
            .where(_C.state.in_(_OPEN), _C.expires_at <= now)
            .values(
                state=str(CommandState.EXPIRED),
                next_at=None,
                done_at=now,
                reason=case((_C.attempts == 0, EXPIRED_UNSENT), else_=EXPIRED_UNANSWERED),
            )
        )
        with translated("expire commands"), self._engine.begin() as conn:
            return conn.execute(statement).rowcount

    def claim_due(self, now: datetime, limit: int, policy: RetryPolicy) -> list[Due]:
        """Count one more send of the waiting commands due by ``now`` (oldest due first).

        One statement finds them and moves them on (``sent``, one more
        attempt, due again after the backoff), so a command answered or
        expired meanwhile is not taken, and two dispatchers never take one
        command (PostgreSQL skips rows another has locked).
        """
        due = (
            select(_C.id)
            .where(_C.next_at <= now, _C.state.in_(_OPEN))
            .order_by(_C.next_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        # The backoff by the attempts made so far, as SQL: a few steps, then the cap.
        steps, attempts = [], 0
        while policy.delay(attempts + 1) < policy.delay(attempts + 2) and attempts < _MAX_STEPS:
            steps.append((_C.attempts == attempts, now + policy.delay(attempts + 1)))
            attempts += 1
        next_at = (
            case(*steps, else_=now + policy.delay(attempts + 1)) if steps else now + policy.delay(1)
        )
        statement = (
            update(commands)
            .where(_C.id.in_(due))
            .values(
                state=str(CommandState.SENT),
                attempts=_C.attempts + 1,
                sent_at=now,
                next_at=next_at,
            )
            .returning(
                _C.id,
                _C.city_id,
                _C.device_uid,
                _C.kind,
                cast(_C.args, Text),  # parsed below by orjson, many times faster
                _C.expires_at,
                _C.attempts,
            )
        )
        with translated("claim due commands"), self._engine.begin() as conn:
            rows = conn.execute(statement).all()
        return [
            Due(
                id=command_id,
                city_id=city_id,
                device_uid=device_uid,
                kind=_KINDS[kind],
                args=orjson.loads(args),
                expires_at=expires_at,
                attempts=attempts,
            )
            for command_id, city_id, device_uid, kind, args, expires_at, attempts in rows
        ]

    def mark_failed(self, ids: Collection[str], reason: str, now: datetime) -> int:
        """End waiting commands as failed; how many."""
        count = 0
        with translated("mark commands failed"), self._engine.begin() as conn:
            for chunk in _chunks(sorted(ids), self._chunk):
                count += conn.execute(
                    update(commands)
                    .where(self._id_in(chunk), _C.state.in_(_OPEN))
                    .values(
                        state=str(CommandState.FAILED),
                        next_at=None,
                        done_at=now,
                        reason=reason[:500],
                    )
                ).rowcount
        return count

    def end(self, ended: Sequence[Ending]) -> list[str]:
        """Store answered commands, each only if still waiting; the ids stored.

        The answers of a batch mostly end their commands alike (acknowledged,
        ``ok``, at one time): one conditional UPDATE ... RETURNING for each such
        group (and chunk of ids), not one statement a command. The condition is
        the update's own, so an expiry or another handler that ended a command
        first is never overwritten, and what it took is what it returns.
        """
        groups: dict[tuple[str, str, str, datetime], list[str]] = {}
        for c in ended:
            key = (str(c.state), str(c.ack_status), c.reason[:500], c.done_at)
            groups.setdefault(key, []).append(c.id)
        stored: list[str] = []
        with translated("store answers"), self._engine.begin() as conn:
            for (state, ack_status, reason, done_at), ids in groups.items():
                for chunk in _chunks(ids, self._chunk):
                    stored += conn.execute(
                        update(commands)
                        .where(self._id_in(chunk), _C.state.in_(_OPEN))
                        .values(
                            state=state,
                            ack_status=ack_status,
                            reason=reason,
                            done_at=done_at,
                            next_at=None,
                        )
                        .returning(_C.id)
                    ).scalars()
        return stored

    def add_strays(self, strays: Sequence[Stray]) -> None:
        """Keep strays, and count each on the command it names, if there is one."""
        if not strays:
            return
        rows = [
            {
                "city_id": s.city_id,
                "device_uid": s.device_uid[:64],
                "command_id": s.command_id[:64],
                "reason": str(s.reason),
                "detail": s.detail[:500],
                "at": s.at,
            }
            for s in strays
        ]
        bump = (
            update(commands).where(_C.id == bindparam("cid")).values(stray_acks=_C.stray_acks + 1)
        )
        named = [{"cid": s.command_id} for s in strays if s.command_id]
        with translated("store strays"), self._engine.begin() as conn:
            conn.execute(insert(command_strays), rows)
            if named:
                conn.execute(bump, named)

    def query_strays(
        self, city_id: int, *, command_id: str | None = None, limit: int = 100
    ) -> list[Stray]:
        """The city's strays, newest first."""
        where = [_S.city_id == city_id]
        if command_id is not None:
            where.append(_S.command_id == command_id)
        statement = select(command_strays).where(and_(*where)).order_by(_S.id.desc()).limit(limit)
        with translated("read strays"), self._engine.connect() as conn:
            return [
                Stray(
                    reason=StrayReason(row.reason),
                    at=row.at,
                    city_id=row.city_id,
                    device_uid=row.device_uid,
                    command_id=row.command_id,
                    detail=row.detail,
                    id=row.id,
                )
                for row in conn.execute(statement)
            ]

    def _batch(self, conn: Connection, city_id: int, batch_id: int) -> CommandBatch:
        row = conn.execute(
            select(command_batches).where(_B.id == batch_id, _B.city_id == city_id)
        ).first()
        if row is None:
            raise NotFoundError(f"no command batch {batch_id} in this city")
        return CommandBatch(
            id=row.id,
            city_id=row.city_id,
            kind=CommandKind(row.kind),
            args=row.args,
            target=Target(TargetKind(row.target_kind), tuple(row.target_names)),
            requested_by=row.requested_by,
            why=row.why,
            created_at=row.created_at,
            expires_at=row.expires_at,
            total=row.total,
            skipped=tuple(row.skipped),
        )


def _row(command: Command, batch_id: int) -> dict[str, Any]:
    return {
        "id": command.id,
        "city_id": command.city_id,
        "batch_id": batch_id,
        "device_uid": command.device_uid,
        "asset_code": command.asset_code,
        "kind": str(command.kind),
        "args": dict(command.args),
        "state": str(command.state),
        "attempts": command.attempts,
        "requested_by": command.requested_by,
        "created_at": command.created_at,
        "expires_at": command.expires_at,
        "next_at": command.next_at,
        "sent_at": command.sent_at,
        "done_at": command.done_at,
        "ack_status": None if command.ack_status is None else str(command.ack_status),
        "reason": command.reason,
        "stray_acks": command.stray_acks,
    }


def _command(row: Any) -> Command:  # noqa: ANN401 - a row
    return Command(
        id=row.id,
        city_id=row.city_id,
        batch_id=row.batch_id,
        device_uid=row.device_uid,
        asset_code=row.asset_code,
        kind=_KINDS[row.kind],
        args=row.args,
        state=_STATES[row.state],
        attempts=row.attempts,
        requested_by=row.requested_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
        next_at=row.next_at,
        sent_at=row.sent_at,
        done_at=row.done_at,
        ack_status=None if row.ack_status is None else AckStatus(row.ack_status),
        reason=row.reason,
        stray_acks=row.stray_acks,
    )


def _audit(conn: Connection, batch: CommandBatch) -> None:
    """Who asked for what, of which assets: one entry a batch, linked to its city."""
    args = ", ".join(f"{k}={v}" for k, v in batch.args.items() if k != "profile")
    detail = (
        f"batch {batch.id}: {batch.kind}{f' ({args})' if args else ''} to {batch.total}"
        f" devices, expires {batch.expires_at:%Y-%m-%d %H:%MZ}: {batch.why}"
    )
    audit_id = conn.execute(
        insert(audit_log)
        .values(
            at=batch.created_at,
            actor=batch.requested_by[:100],
            action=str(AuditAction.COMMAND_REQUESTED),
            target=batch.target.describe()[:64],
            detail=detail[:500],
        )
        .returning(audit_log.c.id)
    ).scalar_one()
    conn.execute(insert(audit_cities).values(audit_id=audit_id, city_id=batch.city_id))
