"""The notification store on SQLite and PostgreSQL: subscriptions, the queue, cursor, follow-ups."""

from __future__ import annotations

from dataclasses import replace

import pytest

from signalight.adapters.sql.database import SqlDatabase
from signalight.domain.alarms import Alarm, EventKind, Severity
from signalight.domain.cities import City
from signalight.domain.errors import ConflictError, NotFoundError
from signalight.domain.notifications import (
    Channel,
    Delivery,
    DeliveryQuery,
    DeliveryStatus,
    FollowUp,
    Subscription,
)
from tests.conftest import make_city
from tests.services.notify_rig import T0, make_alarm


def subscribe(db: SqlDatabase, city: City, **overrides: object) -> Subscription:
    values: dict[str, object] = {
        "city_id": city.pk,
        "channel": Channel.WEBHOOK,
        "target": "https://hooks.example.org/x",
        "secret": "whsec_x",
        "created_at": T0,
    }
    values.update(overrides)
    return db.notifications.add_subscription(Subscription(**values))  # type: ignore[arg-type]


def stored_alarm(db: SqlDatabase, city: City) -> tuple[Alarm, int]:
    alarm = make_alarm(city)
    [event] = db.alarms.record([(alarm, EventKind.RAISED, T0)])
    assert event.id is not None
    return alarm, event.id


def delivery(sub: Subscription, alarm: Alarm, event_id: int, **overrides: object) -> Delivery:
    values: dict[str, object] = {
        "city_id": sub.city_id,
        "subscription_id": sub.pk,
        "channel": sub.channel,
        "alarm_id": alarm.pk,
        "event_id": event_id,
        "event_kind": EventKind.RAISED,
        "level": sub.level,
        "payload": {"alarm": {"id": alarm.pk}},
        "created_at": T0,
        "next_attempt_at": T0,
    }
    values.update(overrides)
    return Delivery(**values)  # type: ignore[arg-type]


def test_subscriptions_round_trip_per_city(database: SqlDatabase, city: City) -> None:
    store = database.notifications
    sub = subscribe(database, city, min_severity=Severity.MAJOR, level=2, label="night")
    mail = subscribe(database, city, channel=Channel.EMAIL, target="ops@city.example", secret=None)
    other = make_city(database)
    subscribe(database, other)
    assert store.get_subscription(city.pk, sub.pk) == sub
    assert [s.pk for s in store.list_subscriptions(city.pk)] == [sub.pk, mail.pk]
    assert {s.city_id for s in store.list_subscriptions()} >= {city.pk, other.pk}
    with pytest.raises(NotFoundError):
        store.get_subscription(other.pk, sub.pk)
    changed = store.update_subscription(replace(sub, target="https://b.example/y", level=3))
    assert (changed.target, changed.level, changed.secret) == ("https://b.example/y", 3, "whsec_x")
    with pytest.raises(NotFoundError):
        store.update_subscription(replace(sub, city_id=other.pk))
    with pytest.raises(NotFoundError):
        store.delete_subscription(other.pk, sub.pk)


def test_an_event_is_queued_once_per_subscription(database: SqlDatabase, city: City) -> None:
    store = database.notifications
    sub = subscribe(database, city)
    alarm, event_id = stored_alarm(database, city)
    store.commit([delivery(sub, alarm, event_id)])
    store.commit([delivery(sub, alarm, event_id), delivery(sub, alarm, event_id)])
    logged = store.deliveries(city.pk, DeliveryQuery()).items
    assert len(logged) == 1
    assert logged[0].payload == {"alarm": {"id": alarm.pk}}
    assert logged[0].status is DeliveryStatus.PENDING


def test_the_cursor_moves_only_for_the_lease_holder_from_where_it_was(
    database: SqlDatabase, city: City
) -> None:
    store = database.notifications
    store.release("tests")
    read = store.claim("store-test", T0, 60)
    assert read is not None
    try:
        assert store.claim("someone-else", T0 + 1, 60) is None
        sub = subscribe(database, city)
        alarm, event_id = stored_alarm(database, city)
        with pytest.raises(ConflictError):
            store.commit(
                [delivery(sub, alarm, event_id)], cursor=("store-test", read + 1, read + 2)
            )
        with pytest.raises(ConflictError):
            store.commit([], cursor=("someone-else", read, read + 1))
        assert store.deliveries(city.pk, DeliveryQuery()).items == []  # all or nothing
        store.commit([delivery(sub, alarm, event_id)], cursor=("store-test", read, event_id))
        assert store.claim("store-test", T0 + 2, 60) == event_id
        assert len(store.deliveries(city.pk, DeliveryQuery()).items) == 1
    finally:
        store.commit([], cursor=("store-test", event_id, read))  # as other tests left it
        store.release("store-test")


def test_due_deliveries_skip_disabled_and_recently_mailed_subscriptions(
    database: SqlDatabase, city: City
) -> None:
    store = database.notifications
    hook = subscribe(database, city)
    mail = subscribe(database, city, channel=Channel.EMAIL, target="a@city.example", secret=None)
    alarm, event_id = stored_alarm(database, city)
    store.commit([delivery(hook, alarm, event_id), delivery(mail, alarm, event_id)])
    mine = {hook.pk, mail.pk}

    def due(channel: Channel, now: float, quiet_since: float | None = None) -> list[int]:
        found = store.due_deliveries(channel, now, 100_000, quiet_since)
        return [d.subscription_id for d in found if d.subscription_id in mine]

    assert due(Channel.WEBHOOK, T0 - 1) == []
    assert due(Channel.WEBHOOK, T0) == [hook.pk]
    assert due(Channel.EMAIL, T0, quiet_since=T0 - 60) == [mail.pk]
    [queued] = [
        d
        for d in store.due_deliveries(Channel.EMAIL, T0, 100_000, None)
        if d.subscription_id == mail.pk
    ]
    queued.next_attempt_at = T0  # a failed attempt, due again at once
    queued.last_attempt_at = T0
    queued.attempts = 1
    store.finish([queued], sent_to=[mail.pk])
    assert store.get_subscription(city.pk, mail.pk).last_sent_at == T0
    assert due(Channel.EMAIL, T0 + 30, quiet_since=T0 + 30 - 60) == []
    assert due(Channel.EMAIL, T0 + 60, quiet_since=T0) == [mail.pk]

    store.update_subscription(replace(hook, enabled=False))
    assert due(Channel.WEBHOOK, T0) == []
    [failed] = store.deliveries(city.pk, DeliveryQuery(subscription_id=hook.pk)).items
    assert failed.status is DeliveryStatus.FAILED
    assert failed.error == "the subscription was disabled"


def test_deleting_a_subscription_deletes_its_log(database: SqlDatabase, city: City) -> None:
    store = database.notifications
    sub = subscribe(database, city)
    keep = subscribe(database, city)
    alarm, event_id = stored_alarm(database, city)
    store.commit([delivery(sub, alarm, event_id), delivery(keep, alarm, event_id)])
    store.delete_subscription(city.pk, sub.pk)
    assert [d.subscription_id for d in store.deliveries(city.pk, DeliveryQuery()).items] == [
        keep.pk
    ]


def test_the_log_pages_newest_first(database: SqlDatabase, city: City) -> None:
    store = database.notifications
    sub = subscribe(database, city)
    events = [stored_alarm(database, city) for _ in range(5)]
    store.commit([delivery(sub, alarm, event_id) for alarm, event_id in events])
    first = store.deliveries(city.pk, DeliveryQuery(limit=3))
    assert first.next_after is not None
    rest = store.deliveries(city.pk, DeliveryQuery(limit=3, before_id=first.next_after))
    assert rest.next_after is None
    alarm_ids = [d.alarm_id for d in first.items + rest.items]
    assert alarm_ids == [alarm.pk for alarm, _ in reversed(events)]
    assert store.deliveries(make_city(database).pk, DeliveryQuery()).items == []


def test_follow_ups_are_kept_replaced_and_dropped(database: SqlDatabase, city: City) -> None:
    store = database.notifications
    (a, _), (b, _) = stored_alarm(database, city), stored_alarm(database, city)
    store.commit(
        [],
        [
            FollowUp(alarm_id=a.pk, city_id=city.pk, escalate_at=T0 + 900, remind_at=T0 + 3600),
            FollowUp(alarm_id=b.pk, city_id=city.pk, remind_at=T0 + 60),
        ],
    )
    due = [f.alarm_id for f in store.due_follow_ups(T0 + 60, 10_000)]
    assert b.pk in due
    assert a.pk not in due
    store.commit([], [FollowUp(alarm_id=a.pk, city_id=city.pk, level=2, reminders=1)], [b.pk])
    kept = store.follow_ups([a.pk, b.pk])
    assert list(kept) == [a.pk]
    assert (kept[a.pk].level, kept[a.pk].escalate_at, kept[a.pk].reminders) == (2, None, 1)
