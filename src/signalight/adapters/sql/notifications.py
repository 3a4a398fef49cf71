"""Subscriptions, the delivery log and queue, the notifier's cursor and lease, follow-ups, in SQL.

Queueing is idempotent: one delivery per subscription and event (a unique
key, inserted with ON CONFLICT DO NOTHING on both backends), so that an
event the notifier reads twice is still sent once.

About 420 lines: the queue, the lease and the follow-ups are one
transaction's worth of rules and share their statements.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, Final

from sqlalchemy import Connection, Engine, bindparam, delete, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from signalight.adapters.sql.errors import translated
from signalight.adapters.sql.tables import (
    alarm_follow_ups,
    deliveries,
    notifier_cursor,
    subscriptions,
)
from signalight.domain.alarms import EventKind, Severity
from signalight.domain.assets import Page
from signalight.domain.errors import ConflictError, NotFoundError
from signalight.domain.notifications import (
    Channel,
    Delivery,
    DeliveryQuery,
    DeliveryStatus,
    FollowUp,
    Subscription,
)

__all__ = ["SqlNotificationStore"]

CURSOR: Final = "notifier"
_IN_CHUNK: Final = 500  # ids per IN (...) list


class SqlNotificationStore:
    """Implements ``NotificationStore`` over one engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._dialect = postgresql if engine.dialect.name == "postgresql" else sqlite

    # Subscriptions.

    def add_subscription(self, subscription: Subscription) -> Subscription:
        """Store a new subscription; returns it with its id."""
        with translated("store subscription"), self._engine.begin() as conn:
            new_id = conn.execute(
                insert(subscriptions)
                .values(_subscription_row(subscription))
                .returning(subscriptions.c.id)
            ).scalar_one()
            return _subscription(conn.execute(_by_id(new_id)).one())

    def get_subscription(self, city_id: int, subscription_id: int) -> Subscription:
        """One subscription of the city; NotFoundError if none."""
        with translated("read subscription"), self._engine.connect() as conn:
            return self._get(conn, city_id, subscription_id)

    @staticmethod
    def _get(conn: Connection, city_id: int, subscription_id: int) -> Subscription:
        row = conn.execute(
            _by_id(subscription_id).where(subscriptions.c.city_id == city_id)
        ).first()
        if row is None:
            raise NotFoundError(f"no subscription {subscription_id} in this city")
        return _subscription(row)

    def list_subscriptions(self, city_id: int | None = None) -> list[Subscription]:
        """One city's subscriptions (None: every city's), by id."""
        statement = select(subscriptions).order_by(subscriptions.c.id)
        if city_id is not None:
            statement = statement.where(subscriptions.c.city_id == city_id)
        with translated("list subscriptions"), self._engine.connect() as conn:
            return [_subscription(row) for row in conn.execute(statement)]

    def update_subscription(self, subscription: Subscription) -> Subscription:
        """Store changed fields; disabling fails the subscription's pending deliveries."""
        values = _subscription_row(subscription)
        for fixed in ("city_id", "channel", "created_at", "last_sent_at"):
            del values[fixed]
        with translated("update subscription"), self._engine.begin() as conn:
            done = conn.execute(
                update(subscriptions)
                .where(
                    subscriptions.c.id == subscription.pk,
                    subscriptions.c.city_id == subscription.city_id,
                )
                .values(**values)
            ).rowcount
            if not done:
                raise NotFoundError(f"no subscription {subscription.pk} in this city")
            if not subscription.enabled:
                conn.execute(
                    update(deliveries)
                    .where(
                        deliveries.c.subscription_id == subscription.pk,
                        deliveries.c.status == DeliveryStatus.PENDING,
                    )
                    .values(
                        status=DeliveryStatus.FAILED,
                        next_attempt_at=None,
                        error="the subscription was disabled",
                    )
                )
            return self._get(conn, subscription.city_id, subscription.pk)

    def delete_subscription(self, city_id: int, subscription_id: int) -> None:
        """Remove a subscription and its deliveries; NotFoundError if none."""
        with translated("delete subscription"), self._engine.begin() as conn:
            self._get(conn, city_id, subscription_id)
            # Its deliveries go with it (ON DELETE CASCADE, on SQLite too: foreign keys are on).
            conn.execute(delete(subscriptions).where(subscriptions.c.id == subscription_id))

    # The log.

    def deliveries(self, city_id: int, query: DeliveryQuery) -> Page[Delivery]:
        """The city's delivery log, newest first."""
        where: list[ColumnElement[bool]] = [deliveries.c.city_id == city_id]
        if query.status is not None:
            where.append(deliveries.c.status == query.status)
        if query.subscription_id is not None:
            where.append(deliveries.c.subscription_id == query.subscription_id)
        if query.alarm_id is not None:
            where.append(deliveries.c.alarm_id == query.alarm_id)
        if query.before_id is not None:
            where.append(deliveries.c.id < query.before_id)
        statement = (
            select(deliveries).where(*where).order_by(deliveries.c.id.desc()).limit(query.limit + 1)
        )
        with translated("list deliveries"), self._engine.connect() as conn:
            found = [_delivery(row) for row in conn.execute(statement)]
        more = len(found) > query.limit
        found = found[: query.limit]
        return Page(found, found[-1].id if more and found else None)

    # The notifier's cursor, lease and queue.

    def claim(self, owner: str, now: float, ttl_s: float) -> int | None:
        """Take or renew the lease; the last event id read, or None if another owner holds it."""
        with translated("claim the notifier's lease"), self._engine.begin() as conn:
            row = conn.execute(
                select(notifier_cursor.c.last_event_id).where(notifier_cursor.c.name == CURSOR)
            ).first()
            if row is None:
                inserted = conn.execute(
                    self._dialect.insert(notifier_cursor)
                    .values(
                        name=CURSOR, last_event_id=0, lease_owner=owner, lease_until=now + ttl_s
                    )
                    .on_conflict_do_nothing()
                ).rowcount
                return 0 if inserted else None
            taken = conn.execute(
                update(notifier_cursor)
                .where(
                    notifier_cursor.c.name == CURSOR,
                    or_(
                        notifier_cursor.c.lease_owner == owner,
                        notifier_cursor.c.lease_owner.is_(None),
                        notifier_cursor.c.lease_until < now,
                    ),
                )
                .values(lease_owner=owner, lease_until=now + ttl_s)
            ).rowcount
            return int(row.last_event_id) if taken else None

    def release(self, owner: str) -> None:
        """Give the lease up, if ``owner`` holds it."""
        with translated("release the notifier's lease"), self._engine.begin() as conn:
            conn.execute(
                update(notifier_cursor)
                .where(notifier_cursor.c.name == CURSOR, notifier_cursor.c.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )

    def commit(
        self,
        queued: Sequence[Delivery],
        follow_ups: Sequence[FollowUp] = (),
        done: Collection[int] = (),
        cursor: tuple[str, int, int] | None = None,
    ) -> None:
        """Queue deliveries, keep and drop follow-ups, move the cursor: all or nothing."""
        with translated("queue notifications"), self._engine.begin() as conn:
            if cursor is not None:
                owner, read, to = cursor
                moved = conn.execute(
                    update(notifier_cursor)
                    .where(
                        notifier_cursor.c.name == CURSOR,
                        notifier_cursor.c.last_event_id == read,
                        notifier_cursor.c.lease_owner == owner,
                    )
                    .values(last_event_id=to)
                ).rowcount
                if not moved:
                    raise ConflictError("the notifier's cursor moved or its lease was lost")
            if queued:
                conn.execute(
                    self._dialect.insert(deliveries).on_conflict_do_nothing(),
                    [_delivery_row(d) for d in queued],
                )
            ids = sorted(set(done))
            for start in range(0, len(ids), _IN_CHUNK):
                chunk = ids[start : start + _IN_CHUNK]
                conn.execute(delete(alarm_follow_ups).where(alarm_follow_ups.c.alarm_id.in_(chunk)))
            if follow_ups:
                statement = self._dialect.insert(alarm_follow_ups)
                conn.execute(
                    statement.on_conflict_do_update(
                        index_elements=[alarm_follow_ups.c.alarm_id],
                        set_={
                            "level": statement.excluded.level,
                            "escalate_at": statement.excluded.escalate_at,
                            "remind_at": statement.excluded.remind_at,
                            "reminders": statement.excluded.reminders,
                        },
                    ),
                    [_follow_up_row(f) for f in follow_ups],
                )

    def follow_ups(self, alarm_ids: Collection[int]) -> dict[int, FollowUp]:
        """The follow-ups kept for those alarms, by alarm id."""
        ids = sorted(set(alarm_ids))
        found: dict[int, FollowUp] = {}
        with translated("read follow-ups"), self._engine.connect() as conn:
            for start in range(0, len(ids), _IN_CHUNK):
                rows = conn.execute(
                    select(alarm_follow_ups).where(
                        alarm_follow_ups.c.alarm_id.in_(ids[start : start + _IN_CHUNK])
                    )
                )
                for row in rows:
                    follow_up = _follow_up(row)
                    found[follow_up.alarm_id] = follow_up
        return found

    def due_follow_ups(self, now: float, limit: int) -> list[FollowUp]:
        """Follow-ups whose escalation or reminder is due by ``now``."""
        statement = (
            select(alarm_follow_ups)
            .where(or_(alarm_follow_ups.c.escalate_at <= now, alarm_follow_ups.c.remind_at <= now))
            .order_by(alarm_follow_ups.c.alarm_id)
            .limit(limit)
        )
        with translated("read due follow-ups"), self._engine.connect() as conn:
            return [_follow_up(row) for row in conn.execute(statement)]

    def due_deliveries(
        self, channel: Channel, now: float, limit: int, quiet_since: float | None = None
    ) -> list[Delivery]:
        """Pending deliveries of enabled subscriptions due by ``now``, oldest first."""
        where: list[ColumnElement[bool]] = [
            deliveries.c.status == DeliveryStatus.PENDING,
            deliveries.c.channel == channel,
            deliveries.c.next_attempt_at <= now,
            subscriptions.c.enabled.is_(True),
        ]
        if quiet_since is not None:
            where.append(
                or_(
                    subscriptions.c.last_sent_at.is_(None),
                    subscriptions.c.last_sent_at <= quiet_since,
                )
            )
        statement = (
            select(deliveries)
            .join(subscriptions, subscriptions.c.id == deliveries.c.subscription_id)
            .where(*where)
            .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
            .limit(limit)
        )
        with translated("read due deliveries"), self._engine.connect() as conn:
            return [_delivery(row) for row in conn.execute(statement)]

    def finish(self, attempted: Sequence[Delivery], sent_to: Collection[int] = ()) -> None:
        """Store the attempts made, and when each of ``sent_to`` was last sent."""
        if not attempted:
            return
        rows = [
            {
                "b_id": d.pk,
                "b_status": str(d.status),
                "b_attempts": d.attempts,
                "b_code": d.response_code,
                "b_error": d.error,
                "b_next": d.next_attempt_at,
                "b_last": d.last_attempt_at,
                "b_delivered": d.delivered_at,
            }
            for d in attempted
        ]
        statement = (
            update(deliveries)
            .where(deliveries.c.id == bindparam("b_id"))
            .values(
                status=bindparam("b_status"),
                attempts=bindparam("b_attempts"),
                response_code=bindparam("b_code"),
                error=bindparam("b_error"),
                next_attempt_at=bindparam("b_next"),
                last_attempt_at=bindparam("b_last"),
                delivered_at=bindparam("b_delivered"),
            )
        )
        last = max((d.last_attempt_at or 0.0) for d in attempted)
        with translated("store delivery attempts"), self._engine.begin() as conn:
            conn.execute(statement, rows)
            ids = sorted(set(sent_to))
            if ids:
                conn.execute(
                    update(subscriptions)
                    .where(subscriptions.c.id.in_(ids))
                    .values(last_sent_at=last)
                )


def _by_id(subscription_id: int) -> Any:  # noqa: ANN401 - a SQLAlchemy Select
    return select(subscriptions).where(subscriptions.c.id == subscription_id)


def _subscription_row(s: Subscription) -> dict[str, Any]:
    return {
        "city_id": s.city_id,
        "channel": str(s.channel),
        "target": s.target,
        "min_severity": str(s.min_severity),
        "level": s.level,
        "secret": s.secret,
        "enabled": s.enabled,
        "label": s.label,
        "created_at": s.created_at,
        "last_sent_at": s.last_sent_at,
    }


def _subscription(row: Any) -> Subscription:  # noqa: ANN401 - a result row
    m = row._mapping  # noqa: SLF001 - SQLAlchemy's public mapping view of a row
    return Subscription(
        id=m["id"],
        city_id=m["city_id"],
        channel=Channel(m["channel"]),
        target=m["target"],
        min_severity=Severity(m["min_severity"]),
        level=m["level"],
        secret=m["secret"],
        enabled=bool(m["enabled"]),
        label=m["label"],
        created_at=m["created_at"],
        last_sent_at=m["last_sent_at"],
    )


def _delivery_row(d: Delivery) -> dict[str, Any]:
    return {
        "city_id": d.city_id,
        "subscription_id": d.subscription_id,
        "channel": str(d.channel),
        "alarm_id": d.alarm_id,
        "event_id": d.event_id,
        "event_kind": str(d.event_kind),
        "level": d.level,
        "payload": d.payload,
        "status": str(d.status),
        "attempts": d.attempts,
        "response_code": d.response_code,
        "error": d.error,
        "created_at": d.created_at,
        "next_attempt_at": d.next_attempt_at,
        "last_attempt_at": d.last_attempt_at,
        "delivered_at": d.delivered_at,
    }


def _delivery(row: Any) -> Delivery:  # noqa: ANN401 - a result row
    m = row._mapping  # noqa: SLF001 - SQLAlchemy's public mapping view of a row
    return Delivery(
        id=m["id"],
        city_id=m["city_id"],
        subscription_id=m["subscription_id"],
        channel=Channel(m["channel"]),
        alarm_id=m["alarm_id"],
        event_id=m["event_id"],
        event_kind=EventKind(m["event_kind"]),
        level=m["level"],
        payload=dict(m["payload"]),
        status=DeliveryStatus(m["status"]),
        attempts=m["attempts"],
        response_code=m["response_code"],
        error=m["error"],
        created_at=m["created_at"],
        next_attempt_at=m["next_attempt_at"],
        last_attempt_at=m["last_attempt_at"],
        delivered_at=m["delivered_at"],
    )


def _follow_up_row(f: FollowUp) -> dict[str, Any]:
    return {
        "alarm_id": f.alarm_id,
        "city_id": f.city_id,
        "level": f.level,
        "escalate_at": f.escalate_at,
        "remind_at": f.remind_at,
        "reminders": f.reminders,
    }


def _follow_up(row: Any) -> FollowUp:  # noqa: ANN401 - a result row
    m = row._mapping  # noqa: SLF001 - SQLAlchemy's public mapping view of a row
    return FollowUp(
        alarm_id=m["alarm_id"],
        city_id=m["city_id"],
        level=m["level"],
        escalate_at=m["escalate_at"],
        remind_at=m["remind_at"],
        reminders=m["reminders"],
    )
