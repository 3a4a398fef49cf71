"""The commands store on SQLite and PostgreSQL: batches, the dispatcher's work, answers, strays."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from signalight.adapters.sql.commands import SqlCommandStore
from signalight.adapters.sql.database import SqlDatabase
from signalight.adapters.sql.tables import audit_cities, audit_log
from signalight.domain.cities import City
from signalight.domain.command_batches import CommandBatch, CommandQuery, Target, TargetKind
from signalight.domain.commands import (
    AckStatus,
    Command,
    CommandKind,
    CommandState,
    Ending,
    RetryPolicy,
    Stray,
    StrayReason,
    WireAck,
    judge_ack,
    new_command_id,
)
from signalight.domain.errors import NotFoundError
from tests.conftest import make_city

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
POLICY = RetryPolicy(first_s=30, factor=2, max_s=600)


def _batch(db: SqlDatabase, city: City, devices: int, **overrides: object) -> CommandBatch:
    store = SqlCommandStore(db.engine)
    expires = NOW + timedelta(hours=1)
    batch = CommandBatch(
        city_id=city.pk,
        kind=CommandKind.DIM,
        args={"level": 40},
        target=Target(TargetKind.CABINET, ("C-1",)),
        requested_by="ana",
        why="test",
        created_at=NOW,
        expires_at=expires,
        skipped=("SL-X",),
    )
    batch = replace(batch, **overrides)  # type: ignore[arg-type]
    items = [
        Command(
            id=new_command_id(),
            city_id=city.pk,
            device_uid=f"N-{n}",
            asset_code=f"SL-{n}",
            kind=batch.kind,
            args=batch.args,
            requested_by=batch.requested_by,
            created_at=batch.created_at,
            expires_at=batch.expires_at,
            next_at=NOW,
        )
        for n in range(devices)
    ]
    return store.add_batch(batch, items)


@pytest.fixture
def store(database: SqlDatabase) -> SqlCommandStore:
    return SqlCommandStore(database.engine)


def _mine(store: SqlCommandStore, city: City) -> list[Command]:
    return store.query_commands(city.pk, CommandQuery(limit=1000))


def test_a_batch_is_stored_with_its_commands_and_audit_entry(
    database: SqlDatabase, store: SqlCommandStore
) -> None:
    city = make_city(database)
    batch = _batch(database, city, 3)
    assert batch.id > 0
    assert (batch.total, batch.skipped, batch.target.describe()) == (3, ("SL-X",), "cabinet C-1")
    assert store.get_batch(city.pk, batch.id) == batch
    assert store.progress(batch.id).as_dict()["queued"] == 3
    other = make_city(database)
    with pytest.raises(NotFoundError):
        store.get_batch(other.pk, batch.id)  # another city's id is not found
    with database.engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.actor, audit_log.c.action, audit_log.c.target, audit_log.c.detail)
            .join(audit_cities, audit_cities.c.audit_id == audit_log.c.id)
            .where(audit_cities.c.city_id == city.pk)
        ).all()
    assert [tuple(r[:3]) for r in rows] == [("ana", "command.requested", "cabinet C-1")]
    assert "dim (level=40) to 3 devices" in rows[0].detail


def test_due_commands_are_claimed_with_backoff_and_expire(
    database: SqlDatabase, store: SqlCommandStore
) -> None:
    city = make_city(database)
    _batch(database, city, 2)
    claimed = [c for c in store.claim_due(NOW, 100_000, POLICY) if c.city_id == city.pk]
    assert len(claimed) == 2
    assert [(c.attempts, c.kind, c.args) for c in claimed] == [
        (1, CommandKind.DIM, {"level": 40})
    ] * 2
    stored = _mine(store, city)
    assert {(c.state, c.attempts, c.next_at) for c in stored} == {
        (CommandState.SENT, 1, NOW + timedelta(seconds=30))
    }
    # Claimed already: not due again before the pause.
    assert not [c for c in store.claim_due(NOW, 100_000, POLICY) if c.city_id == city.pk]
    later = NOW + timedelta(seconds=30)
    store.claim_due(later, 100_000, POLICY)
    assert {(c.attempts, c.next_at) for c in _mine(store, city)} == {
        (2, later + timedelta(seconds=60))
    }
    for _ in range(8):  # the backoff's cap
        later += timedelta(seconds=600)
        store.claim_due(later, 100_000, POLICY)
    assert {c.next_at for c in _mine(store, city)} == {later + timedelta(seconds=600)}
    assert store.expire_overdue(NOW + timedelta(hours=2)) >= 2
    ended = _mine(store, city)
    assert {(c.state, c.reason, c.next_at) for c in ended} == {
        (CommandState.EXPIRED, "no acknowledgement before the expiry", None)
    }
    far = NOW + timedelta(days=1)
    assert not [c for c in store.claim_due(far, 100_000, POLICY) if c.city_id == city.pk]


def test_an_answer_is_stored_once_and_never_over_an_ended_command(
    database: SqlDatabase, store: SqlCommandStore
) -> None:
    city = make_city(database)
    batch = _batch(database, city, 3)
    one, two, three = sorted(_mine(store, city), key=lambda c: c.device_uid)
    store.claim_due(NOW, 100_000, POLICY)
    at = NOW + timedelta(seconds=3)
    found = store.standing([one.id, two.id, "nope"])
    assert set(found) == {one.id, two.id}
    acked = judge_ack(found[one.id], city.pk, "N-0", WireAck(one.id, AckStatus.OK), at)
    failed = judge_ack(found[two.id], city.pk, "N-1", WireAck(two.id, AckStatus.ERROR, "x"), at)
    assert isinstance(acked, Ending)
    assert isinstance(failed, Ending)
    assert sorted(store.end([acked, failed])) == sorted([one.id, two.id])
    assert store.end([acked]) == []  # already ended: the second does not take
    assert store.mark_failed([one.id, three.id], "no route", at) == 1
    progress = store.progress(batch.id)
    assert progress.as_dict() == {
        "queued": 0, "sent": 0, "acknowledged": 1, "failed": 2, "expired": 0,
    }  # fmt: skip
    assert progress.done
    got = store.get_command(city.pk, one.id)
    assert (got.state, got.ack_status, got.done_at) == (CommandState.ACKNOWLEDGED, AckStatus.OK, at)


def test_strays_are_kept_and_counted_on_their_command(
    database: SqlDatabase, store: SqlCommandStore
) -> None:
    city = make_city(database)
    _batch(database, city, 1)
    (command,) = _mine(store, city)
    strays = [
        Stray(
            reason=StrayReason.WRONG_DEVICE,
            at=NOW,
            city_id=city.pk,
            device_uid="N-9",
            command_id=command.id,
            detail="from N-9",
        ),
        Stray(
            reason=StrayReason.UNKNOWN_ID,
            at=NOW,
            city_id=city.pk,
            device_uid="N-9",
            command_id="not-a-command",
            detail="",
        ),
    ]
    store.add_strays(strays)
    assert store.get_command(city.pk, command.id).stray_acks == 1
    kept = store.query_strays(city.pk)
    assert [s.reason for s in kept] == [StrayReason.UNKNOWN_ID, StrayReason.WRONG_DEVICE]
    assert [s.device_uid for s in store.query_strays(city.pk, command_id=command.id)] == ["N-9"]
    assert store.query_strays(make_city(database).pk) == []


def test_listing_filters_and_pages(database: SqlDatabase, store: SqlCommandStore) -> None:
    city = make_city(database)
    batch = _batch(database, city, 5)
    _batch(database, city, 2, kind=CommandKind.READ, args={}, created_at=NOW + timedelta(1))
    assert len(store.query_commands(city.pk, CommandQuery(batch_id=batch.id))) == 5
    reads = store.query_commands(city.pk, CommandQuery(kind=CommandKind.READ))
    assert len(reads) == 2
    assert len(store.query_commands(city.pk, CommandQuery(device_uid="N-1"))) == 2
    assert len(store.query_commands(city.pk, CommandQuery(limit=3))) == 3
    assert len(store.query_commands(city.pk, CommandQuery(before=NOW + timedelta(1)))) == 5
