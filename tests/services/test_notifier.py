"""The notifier on both backends, against a real HTTP receiver and a real SMTP server."""

from __future__ import annotations

import time

import pytest

from signalight.adapters.clock import SystemClock
from signalight.adapters.sql.database import SqlDatabase
from signalight.domain.alarms import AlarmType, EventKind, Severity
from signalight.domain.cities import City
from signalight.domain.notifications import Channel, DeliveryStatus
from tests.conftest import make_city
from tests.services.notify_rig import HOUR, MINUTE, OWNER, T0, make_alarm, notify_rig


def test_a_raised_alarm_reaches_level_one_by_webhook_and_email(
    database: SqlDatabase, city: City
) -> None:
    with notify_rig(database, city) as rig:
        hook = rig.webhook("/ops")
        critical_only = rig.webhook("/critical-only", min_severity=Severity.CRITICAL)
        rig.webhook("/supervisor", level=2)
        rig.email("ops@city.example")
        major = make_alarm(city, severity=Severity.MAJOR)
        [event] = rig.raise_(major)
        report = rig.run(T0 + 5)

    assert report.sent == 2
    [post] = rig.receiver.received
    assert post.valid
    assert post.path == "/ops"
    assert post.event == "alarm.raised"
    body = post.json
    assert body["type"] == "alarm.raised"
    assert body["level"] == 1
    assert body["event"] == {
        "id": event.id,
        "kind": "raised",
        "at": "2027-01-15T08:00:00Z",
        "state": "raised",
        "actor": None,
        "note": "",
    }
    assert body["city"] == {"slug": city.slug, "name": city.name, "timezone": city.timezone}
    assert body["alarm"]["id"] == major.pk
    assert body["alarm"]["severity"] == "major"
    assert body["alarm"]["type"] == "lampFailure"
    assert body["alarm"]["asset_code"] == major.asset_code
    assert not rig.receiver.valid("/critical-only")
    assert not rig.deliveries(subscription_id=critical_only.pk)

    [mail] = rig.mailbox.messages
    assert mail["To"] == "ops@city.example"
    assert mail["Subject"] == (
        f"[Signalight] {city.name}: major lampFailure raised at {major.asset_code}"
    )
    text = mail.get_content()
    assert "draws 2.0 W where 70 W is expected" in text
    assert "2027-01-15 16:00 +08" in text  # the city's own time

    logged = rig.deliveries()
    assert {(d.channel, d.status, d.attempts, d.response_code) for d in logged} == {
        (Channel.WEBHOOK, DeliveryStatus.SENT, 1, 204),
        (Channel.EMAIL, DeliveryStatus.SENT, 1, 250),
    }
    assert post.delivery == next(d.pk for d in logged if d.subscription_id == hook.pk)


def test_clearing_reaches_those_told_of_the_raise(database: SqlDatabase, city: City) -> None:
    with notify_rig(database, city) as rig:
        rig.webhook("/ops")
        alarm = make_alarm(city)
        rig.raise_(alarm)
        rig.run(T0 + 5)
        rig.clear(alarm, T0 + 10 * MINUTE)
        rig.run(T0 + 10 * MINUTE + 5)

    assert [r.event for r in rig.receiver.valid()] == ["alarm.raised", "alarm.cleared"]
    cleared = rig.receiver.received[1].json
    assert cleared["event"]["state"] == "cleared"
    assert cleared["alarm"]["cleared_at"] == "2027-01-15T08:10:00Z"


def test_held_alarms_are_not_notified_until_released(database: SqlDatabase, city: City) -> None:
    with notify_rig(database, city) as rig:
        rig.webhook("/ops")
        incident = make_alarm(city, kind=AlarmType.SUPPLY_LOSS)
        rig.raise_(incident)
        held = [make_alarm(city, held=True, parent_id=incident.pk) for _ in range(3)]
        events = rig.raise_(*held)
        assert {e.kind for e in events} == {EventKind.HELD}
        rig.run(T0 + 5)
        # One held light is cleared while still held; another is released (its
        # condition stayed after the cabinet came back).
        rig.clear(held[0], T0 + 60)
        database.alarms.record([(held[1], EventKind.RELEASED, T0 + 120)])
        rig.run(T0 + 180)

    told = [(r.json["alarm"]["id"], r.event) for r in rig.receiver.valid()]
    assert told == [(incident.pk, "alarm.raised"), (held[1].pk, "alarm.released")]


def test_a_city_never_hears_of_another_citys_alarms(database: SqlDatabase, city: City) -> None:
    other = make_city(database, name="Other")
    with notify_rig(database, city) as rig:
        rig.webhook("/mine")
        rig.webhook("/theirs", city=other)
        rig.email("ops@city.example")
        rig.raise_(make_alarm(other), make_alarm(other))
        rig.raise_(make_alarm(city))
        rig.run(T0 + 5)

    mine = rig.receiver.valid("/mine")
    theirs = rig.receiver.valid("/theirs")
    assert [r.json["city"]["slug"] for r in mine] == [city.slug]
    assert [r.json["city"]["slug"] for r in theirs] == [other.slug, other.slug]
    assert len(rig.mailbox.messages) == 1
    assert len(rig.deliveries()) == 2
    assert len(rig.deliveries(city=other)) == 2
    assert all(d.city_id == other.pk for d in rig.deliveries(city=other))


def test_failures_are_retried_with_backoff_and_survive_a_restart(
    database: SqlDatabase, city: City
) -> None:
    with notify_rig(database, city) as rig:
        rig.webhook("/flaky")
        rig.receiver.fail_next = 2
        rig.raise_(make_alarm(city))

        first = rig.run(T0)
        [delivery] = rig.deliveries()
        assert (first.sent, first.failed) == (0, 1)
        assert (delivery.status, delivery.attempts, delivery.response_code) == (
            DeliveryStatus.PENDING,
            1,
            500,
        )
        assert delivery.error == "HTTP 500 Internal Server Error"
        assert delivery.next_attempt_at == T0 + 30

        assert rig.run(T0 + 29).failed == 0  # not due yet

        restarted = rig.new_notifier()  # a new process: only the database remembers
        second = rig.run(T0 + 30, restarted)
        [delivery] = rig.deliveries()
        assert second.failed == 1
        assert (delivery.attempts, delivery.next_attempt_at) == (2, T0 + 30 + 60)

        third = rig.run(T0 + 90, restarted)
        [delivery] = rig.deliveries()

    assert third.sent == 1
    assert (delivery.status, delivery.attempts, delivery.response_code) == (
        DeliveryStatus.SENT,
        3,
        204,
    )
    assert delivery.delivered_at == T0 + 90
    assert rig.receiver.failed == 2
    assert len(rig.receiver.valid()) == 1


def test_it_gives_up_after_the_last_attempt(database: SqlDatabase, city: City) -> None:
    with notify_rig(database, city) as rig:
        rig.webhook("/down")
        rig.receiver.fail_next = 1000
        rig.raise_(make_alarm(city))
        now = T0
        for _ in range(6):  # within the hour before the first reminder
            rig.run(now)
            now += 10 * MINUTE
        [delivery] = rig.deliveries()

    assert delivery.status is DeliveryStatus.FAILED
    assert delivery.attempts == 5  # the rig's retry policy
    assert delivery.next_attempt_at is None
    assert rig.receiver.failed == 5


def test_a_failing_receiver_holds_back_its_other_deliveries(
    database: SqlDatabase, city: City
) -> None:
    with notify_rig(database, city, webhook_concurrency=1) as rig:
        rig.webhook("/down")
        rig.receiver.fail_next = 1000
        rig.raise_(*[make_alarm(city) for _ in range(5)])
        report = rig.run(T0)
        logged = rig.deliveries()

    assert report.failed == 1
    assert rig.receiver.failed == 1  # one request, not five timeouts in a row
    assert sorted(d.attempts for d in logged) == [0, 0, 0, 0, 1]
    assert all(d.status is DeliveryStatus.PENDING for d in logged)
    assert {d.next_attempt_at for d in logged} == {T0 + 30}


def test_an_unacknowledged_alarm_escalates_level_by_level(
    database: SqlDatabase, city: City
) -> None:
    with notify_rig(database, city) as rig:
        rig.webhook("/ops")
        rig.webhook("/supervisor", level=2)
        rig.webhook("/director", level=3)
        alarm = make_alarm(city, severity=Severity.CRITICAL)  # escalates after 15 min
        rig.raise_(alarm)
        rig.run(T0 + 5)
        assert rig.run(T0 + 14 * MINUTE).escalated == 0
        assert rig.run(T0 + 15 * MINUTE).escalated == 1
        assert rig.run(T0 + 29 * MINUTE).escalated == 0
        assert rig.run(T0 + 30 * MINUTE).escalated == 1
        assert rig.run(T0 + 45 * MINUTE).escalated == 0  # nobody above level 3
        history = database.alarms.history(city.pk, alarm.pk)

    [supervisor] = rig.receiver.valid("/supervisor")
    assert supervisor.event == "alarm.escalated"
    assert supervisor.json["level"] == 2
    assert supervisor.json["event"]["at"] == "2027-01-15T08:15:00Z"
    [director] = rig.receiver.valid("/director")
    assert director.json["level"] == 3
    assert [r.event for r in rig.receiver.valid("/ops")] == ["alarm.raised"]
    escalations = [e for e in history if e.kind is EventKind.ESCALATED]
    assert [e.at for e in escalations] == [T0 + 15 * MINUTE, T0 + 30 * MINUTE]


def test_an_acknowledged_alarm_does_not_escalate(database: SqlDatabase, city: City) -> None:
    with notify_rig(database, city) as rig:
        rig.webhook("/ops")
        rig.webhook("/supervisor", level=2)
        alarm = make_alarm(city, severity=Severity.CRITICAL)
        rig.raise_(alarm)
        rig.run(T0 + 5)
        rig.acknowledge(alarm, T0 + 10 * MINUTE)
        report = rig.run(T0 + 20 * MINUTE)

    assert report.escalated == 0
    assert rig.receiver.valid("/supervisor") == []


def test_reminders_repeat_while_the_alarm_is_active(database: SqlDatabase, city: City) -> None:
    with notify_rig(database, city) as rig:
        rig.webhook("/ops")
        rig.webhook("/supervisor", level=2)
        alarm = make_alarm(city, severity=Severity.MAJOR)  # escalates after 1 h, reminds every 4
        rig.raise_(alarm)
        rig.run(T0 + 5)
        rig.acknowledge(alarm, T0 + 30 * MINUTE)  # taken in time: no escalation
        assert rig.run(T0 + 4 * HOUR - 1).reminded == 0
        assert rig.run(T0 + 4 * HOUR).reminded == 1
        # The notifier was down for 20 hours: one reminder on its return, not five.
        assert rig.run(T0 + 24 * HOUR + 30 * MINUTE).reminded == 1
        rig.clear(alarm, T0 + 25 * HOUR)
        after_clear = rig.run(T0 + 40 * HOUR)
        history = database.alarms.history(city.pk, alarm.pk)

    assert after_clear.reminded == 0
    assert [r.event for r in rig.receiver.valid("/ops")] == [
        "alarm.raised",
        "alarm.reminded",
        "alarm.reminded",
        "alarm.cleared",
    ]
    assert rig.receiver.valid("/supervisor") == []
    assert [e.at for e in history if e.kind is EventKind.REMINDED] == [
        T0 + 4 * HOUR,
        T0 + 24 * HOUR + 30 * MINUTE,
    ]


def test_warnings_neither_escalate_nor_remind(database: SqlDatabase, city: City) -> None:
    with notify_rig(database, city) as rig:
        rig.webhook("/ops", min_severity=Severity.WARNING)
        rig.webhook("/supervisor", level=2, min_severity=Severity.WARNING)
        rig.raise_(make_alarm(city, severity=Severity.WARNING))
        rig.run(T0 + 5)
        report = rig.run(T0 + 100 * HOUR)

    assert (report.escalated, report.reminded) == (0, 0)
    assert [r.event for r in rig.receiver.valid()] == ["alarm.raised"]


def test_email_is_one_digest_per_recipient_per_minute(database: SqlDatabase, city: City) -> None:
    with notify_rig(database, city) as rig:
        rig.email("ops@city.example")
        rig.raise_(make_alarm(city), at=T0)
        rig.run(T0)
        rig.raise_(*[make_alarm(city, severity=Severity.MINOR) for _ in range(3)], at=T0 + 10)
        held_back = rig.run(T0 + 10)
        rig.raise_(make_alarm(city, severity=Severity.CRITICAL), at=T0 + 20)
        rig.run(T0 + 59)
        digested = rig.run(T0 + 60)

    assert held_back.mails == 0
    assert digested.mails == 1
    first, second = rig.mailbox.messages
    assert "1 raised" not in first["Subject"]  # one alarm: its own headline
    assert second["Subject"] == f"[Signalight] {city.name}: 4 alarm notifications (4 raised)"
    text = second.get_content()
    assert text.index("CRITICAL:") < text.index("MINOR:")  # most urgent first


@pytest.mark.slow
def test_a_city_wide_outage_of_5000_alarms_is_delivered_in_bounds(
    database: SqlDatabase, city: City
) -> None:
    with notify_rig(database, city, webhook_concurrency=8) as rig:
        rig.webhook("/ops")
        rig.email("ops@city.example")
        rig.email("duty@city.example")
        alarms = [make_alarm(city) for _ in range(5000)]
        rig.raise_(*alarms)
        report = rig.run(T0 + 5)
        statuses = {d.status for d in rig.deliveries()}

    posts = rig.receiver.valid("/ops")
    assert len(posts) == 5000
    assert len({p.delivery for p in posts}) == 5000
    assert {p.json["alarm"]["id"] for p in posts} == {a.pk for a in alarms}
    # Two recipients, two e-mails: each a digest of all 5,000.
    assert sorted(m["To"] for m in rig.mailbox.messages) == [
        "duty@city.example",
        "ops@city.example",
    ]
    mail = rig.mailbox.to("ops@city.example")[0]
    assert mail["Subject"] == f"[Signalight] {city.name}: 5,000 alarm notifications (5,000 raised)"
    text = mail.get_content()
    assert text.count("CRITICAL:") == 100
    assert "... and 4,900 more" in text
    assert report.sent == 15_000
    assert statuses == {DeliveryStatus.SENT}


def test_one_notifier_sends_at_a_time(database: SqlDatabase, city: City) -> None:
    with notify_rig(database, city) as rig:
        first = rig.new_notifier()
        first.owner = "first"
        second = rig.new_notifier()
        second.owner = "second"
        database.notifications.release(OWNER)  # held by the other tests' notifiers
        try:
            assert first.run_once(T0).leased
            assert not second.run_once(T0 + 30).leased
            assert second.run_once(T0 + 61).leased  # the first stopped renewing
            assert not first.run_once(T0 + 62).leased
        finally:
            database.notifications.release("second")


def test_the_thread_delivers_on_the_wall_clock(database: SqlDatabase, city: City) -> None:
    with notify_rig(database, city, interval_s=0.05) as rig:
        notifier = rig.new_notifier(interval_s=0.05)
        notifier._clock = SystemClock()
        rig.webhook("/ops")
        now = time.time()
        rig.raise_(make_alarm(city, at=now), at=now)
        notifier.start()
        try:
            deadline = time.monotonic() + 10
            while not rig.receiver.valid() and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            notifier.stop()

    assert [r.event for r in rig.receiver.valid()] == ["alarm.raised"]
