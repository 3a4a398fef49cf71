"""Notification rules with plain values: signatures, targets, backoff, reminders, payloads."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from signalight.domain.alarms import Alarm, AlarmEvent, AlarmState, AlarmType, EventKind, Severity
from signalight.domain.cities import City
from signalight.domain.errors import InvalidInputError
from signalight.domain.notifications import (
    DEFAULT_POLICIES,
    Channel,
    Delivery,
    DeliveryStatus,
    EscalationPolicy,
    Outcome,
    RetryPolicy,
    Subscription,
    alarm_payload,
    next_reminder,
    sign,
    start_follow_up,
    validate_target,
    verify,
)

T = 1_800_000_000.0


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    body = b'{"type":"alarm.raised"}'
    expected = hmac.new(b"s3cret", b"1800000000." + body, hashlib.sha256).hexdigest()
    assert sign("s3cret", 1_800_000_000, body) == f"sha256={expected}"


def test_verify_wants_the_same_secret_body_and_a_fresh_timestamp() -> None:
    body = b"{}"
    signature = sign("s3cret", 1000, body)
    assert verify("s3cret", "1000", body, signature, now=1100)
    assert not verify("other", "1000", body, signature, now=1100)
    assert not verify("s3cret", "1000", b"{ }", signature, now=1100)
    assert not verify("s3cret", "1001", body, signature, now=1100)  # the timestamp is signed
    assert not verify("s3cret", "1000", body, signature, now=1000 + 301)
    assert not verify("s3cret", "soon", body, signature, now=1000)


@pytest.mark.parametrize(
    ("channel", "target"),
    [
        (Channel.WEBHOOK, "https://hooks.example.org/a?b=c"),
        (Channel.WEBHOOK, "http://10.0.0.5:8080/hook"),
        (Channel.EMAIL, "ops.team+alarms@city.example"),
    ],
)
def test_good_targets(channel: Channel, target: str) -> None:
    assert validate_target(channel, f" {target} ") == target


@pytest.mark.parametrize(
    ("channel", "target"),
    [
        (Channel.WEBHOOK, "ftp://hooks.example.org"),
        (Channel.WEBHOOK, "https://"),
        (Channel.WEBHOOK, "https://me:pw@hooks.example.org"),
        (Channel.WEBHOOK, "https://hooks.example.org/a b"),
        (Channel.WEBHOOK, "https://x.example/" + "a" * 500),
        (Channel.EMAIL, "ops"),
        (Channel.EMAIL, "ops@localhost"),
        (Channel.EMAIL, "a@b.example\nBcc: c@d.example"),
        (Channel.EMAIL, "Ops <ops@city.example>"),
        (Channel.EMAIL, "a@b.example, c@d.example"),
    ],
)
def test_bad_targets(channel: Channel, target: str) -> None:
    with pytest.raises(InvalidInputError, match="target"):
        validate_target(channel, target)


def test_a_subscription_wants_its_severity_and_anything_more_urgent() -> None:
    sub = Subscription(
        city_id=1,
        channel=Channel.EMAIL,
        target="a@b.example",
        min_severity=Severity.MAJOR,
        created_at=T,
    )
    assert [s for s in Severity if sub.wants(s)] == [Severity.CRITICAL, Severity.MAJOR]
    with pytest.raises(InvalidInputError, match="secret"):
        Subscription(city_id=1, channel=Channel.WEBHOOK, target="https://a.example", created_at=T)
    with pytest.raises(InvalidInputError, match="level"):
        Subscription(city_id=1, channel=Channel.EMAIL, target="a@b.example", level=0, created_at=T)


def test_backoff_doubles_up_to_the_cap_and_gives_up() -> None:
    retry = RetryPolicy(max_attempts=4, base_s=30, cap_s=100)
    assert [retry.delay(n) for n in (1, 2, 3, 4)] == [30, 60, 100, 100]
    delivery = Delivery(
        city_id=1,
        subscription_id=1,
        channel=Channel.WEBHOOK,
        alarm_id=1,
        event_id=1,
        event_kind=EventKind.RAISED,
        level=1,
        payload={},
        created_at=T,
        next_attempt_at=T,
    )
    failed = Outcome(ok=False, code=503, error="HTTP 503 Service Unavailable")
    delivery.attempted(failed, T, retry)
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (
        DeliveryStatus.PENDING,
        1,
        T + 30,
    )
    for _ in range(3):
        delivery.attempted(failed, T + 1, retry)
    assert (delivery.status, delivery.next_attempt_at) == (DeliveryStatus.FAILED, None)
    assert delivery.response_code == 503


def test_a_reminder_after_a_pause_is_the_next_one_due_not_all_missed() -> None:
    assert next_reminder(T, 3600, T - 5) == T + 3600
    assert next_reminder(T, 3600, T) == T + 3600
    assert next_reminder(T, 3600, T + 5 * 3600 + 1) == T + 6 * 3600


def test_default_policies_escalate_the_urgent_first() -> None:
    assert DEFAULT_POLICIES[Severity.CRITICAL] == EscalationPolicy(900, 3600)
    assert DEFAULT_POLICIES[Severity.MAJOR] == EscalationPolicy(3600, 4 * 3600)
    assert DEFAULT_POLICIES[Severity.MINOR] == EscalationPolicy(8 * 3600, 24 * 3600)
    assert DEFAULT_POLICIES[Severity.WARNING] == EscalationPolicy(None, None)


def _alarm() -> Alarm:
    return Alarm(
        id=7,
        city_id=1,
        type=AlarmType.LAMP_FAILURE,
        severity=Severity.CRITICAL,
        asset_code="SL-1",
        raised_at=T,
        observed_at=T - 60,
        updated_at=T,
        message="dark",
    )


def test_a_follow_up_starts_at_the_notified_time() -> None:
    follow_up = start_follow_up(_alarm(), T, DEFAULT_POLICIES[Severity.CRITICAL])
    assert (follow_up.escalate_at, follow_up.remind_at, follow_up.level) == (T + 900, T + 3600, 1)
    quiet = start_follow_up(_alarm(), T, DEFAULT_POLICIES[Severity.WARNING])
    assert (quiet.escalate_at, quiet.remind_at) == (None, None)


def test_the_payload_names_the_event_the_alarm_and_the_city() -> None:
    city = City(
        slug="sp",
        name="Seberang Perai",
        country="MY",
        timezone="Asia/Kuala_Lumpur",
        lat=5.38,
        lon=100.4,
        currency="MYR",
        id=1,
    )
    event = AlarmEvent(
        id=99, alarm_id=7, city_id=1, kind=EventKind.ESCALATED, at=T, state=AlarmState.RAISED
    )
    payload = alarm_payload(event, _alarm(), city, 2)
    assert payload["type"] == "alarm.escalated"
    assert payload["level"] == 2
    assert payload["event"]["id"] == 99
    assert payload["event"]["at"] == "2027-01-15T08:00:00Z"
    assert payload["city"]["slug"] == "sp"
    assert payload["alarm"]["observed_at"] == "2027-01-15T07:59:00Z"
    assert payload["alarm"]["acknowledged_at"] is None
