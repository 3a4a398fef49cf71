"""Notifications: who hears of an alarm, each delivery and its retries, escalation and reminders.

A city's subscriptions each name a channel (a webhook URL or an e-mail
address), the least severe alarm they want and a level. Level 1 hears of
alarms as they are raised, reopened, released and cleared. An alarm still
unacknowledged when its severity's escalation time has passed is sent to
level 2, and after as long again to level 3, and so on while there are
subscriptions at the next level. While an alarm stays active, reminders go
to every level it has reached at its severity's reminder interval.

Each notification to one subscription is a :class:`Delivery`, kept with its
attempts: the log operators read, and the queue the notifier retries from
with exponential backoff until it gives up.

Webhook bodies are signed (:func:`sign`): the signed material is the
timestamp header, a full stop and the raw body, so that a captured request
cannot be replayed later under a fresh timestamp.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import urlsplit

from signalight.domain.alarms import Alarm, AlarmEvent, EventKind, Severity
from signalight.domain.cities import City
from signalight.domain.errors import InvalidInputError

__all__ = [
    "DEFAULT_POLICIES",
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "MAX_LEVEL",
    "NOTIFIED_KINDS",
    "SIGNATURE_HEADER",
    "STARTING_KINDS",
    "TARGET_MAX",
    "TIMESTAMP_HEADER",
    "Channel",
    "Delivery",
    "DeliveryQuery",
    "DeliveryStatus",
    "EscalationPolicy",
    "FollowUp",
    "Mail",
    "Outcome",
    "RetryPolicy",
    "Subscription",
    "alarm_payload",
    "next_reminder",
    "sign",
    "start_follow_up",
    "validate_target",
    "verify",
]

MAX_LEVEL: Final = 5
TARGET_MAX: Final = 500
ERROR_MAX: Final = 500

SIGNATURE_HEADER: Final = "X-Signalight-Signature"
TIMESTAMP_HEADER: Final = "X-Signalight-Timestamp"
EVENT_HEADER: Final = "X-Signalight-Event"
DELIVERY_HEADER: Final = "X-Signalight-Delivery"

# What level 1 hears of. HELD is left out on purpose: an alarm held under an
# outage incident is told through the incident, not one by one.
NOTIFIED_KINDS: Final = frozenset(
    {EventKind.RAISED, EventKind.REOPENED, EventKind.RELEASED, EventKind.CLEARED}
)
# Steps that start (or restart) the follow-up of an alarm: escalation and reminders.
STARTING_KINDS: Final = frozenset({EventKind.RAISED, EventKind.REOPENED, EventKind.RELEASED})

# One address, no spaces or line breaks (they would let a target inject mail headers).
_ADDRESS_RE: Final = re.compile(r"^[^@\s<>,;\"]{1,64}@[A-Za-z0-9.-]{1,188}\.[A-Za-z]{2,63}$")


class Channel(StrEnum):
    """How a subscription is told."""

    WEBHOOK = "webhook"  # a POST of JSON, signed with the subscription's secret
    EMAIL = "email"  # plain text; one digest per recipient per digest period at most


class DeliveryStatus(StrEnum):
    """Where one delivery is."""

    PENDING = "pending"  # waiting for its first attempt or its next retry
    SENT = "sent"  # the receiver took it: HTTP 2xx, or the SMTP server accepted it
    FAILED = "failed"  # given up: out of attempts, or its subscription was disabled


def validate_target(channel: Channel, target: str) -> str:
    """The target, stripped, if it suits the channel; InvalidInputError naming the fault if not."""
    target = target.strip()
    if not target or len(target) > TARGET_MAX:
        raise InvalidInputError(f"target: 1 to {TARGET_MAX} characters")
    match channel:
        case Channel.WEBHOOK:
            parts = urlsplit(target)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise InvalidInputError("target: a webhook needs an http:// or https:// URL")
            if parts.username or parts.password:
                # Credentials in a URL end up in logs and screens; the secret signs instead.
                raise InvalidInputError("target: no user or password in the URL")
            if any(c.isspace() for c in target):
                raise InvalidInputError("target: no spaces in the URL")
        case Channel.EMAIL:
            if not _ADDRESS_RE.fullmatch(target):
                raise InvalidInputError("target: one e-mail address, like ops@example.org")
    return target


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscription:
    """One way a city's alarms reach someone: a channel, a target, a severity floor, a level."""

    city_id: int
    channel: Channel
    target: str  # the webhook URL or the e-mail address
    min_severity: Severity = Severity.MINOR  # this and anything more urgent
    level: int = 1  # 1: as alarms happen; 2 and up: escalations
    secret: str | None = None  # the webhook signing key: shown at creation, never again
    enabled: bool = True
    label: str = ""
    created_at: float
    last_sent_at: float | None = None  # the last e-mail sent to it: the digest's pace
    id: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.level <= MAX_LEVEL:
            raise InvalidInputError(f"level: 1 to {MAX_LEVEL}")
        if len(self.label) > 200:  # noqa: PLR2004
            raise InvalidInputError("label: at most 200 characters")
        validate_target(self.channel, self.target)
        if self.channel is Channel.WEBHOOK and not self.secret:
            raise InvalidInputError("a webhook subscription needs a signing secret")

    @property
    def pk(self) -> int:
        """The stored subscription's id."""
        if self.id is None:
            raise ValueError("the subscription is not stored yet")
        return self.id

    def wants(self, severity: Severity) -> bool:
        """Whether alarms of that severity reach this subscription."""
        return severity.rank <= self.min_severity.rank


@dataclass(frozen=True, slots=True)
class EscalationPolicy:
    """How long an alarm may stay unacknowledged, and how often it is recalled while active."""

    escalate_after_s: float | None  # unacknowledged this long: the next level; None: never
    remind_every_s: float | None  # active: notify again this often; None: never


MINUTE: Final = 60.0
HOUR: Final = 3600.0

DEFAULT_POLICIES: Final = MappingProxyType(
    {
        Severity.CRITICAL: EscalationPolicy(15 * MINUTE, 1 * HOUR),
        Severity.MAJOR: EscalationPolicy(1 * HOUR, 4 * HOUR),
        Severity.MINOR: EscalationPolicy(8 * HOUR, 24 * HOUR),
        Severity.WARNING: EscalationPolicy(None, None),
    }
)


@dataclass(slots=True, kw_only=True)
class FollowUp:
    """What the notifier still owes one notified, active alarm: escalation and reminders."""

    alarm_id: int
    city_id: int
    level: int = 1  # the highest level told so far
    escalate_at: float | None = None  # when to tell the next level, if still unacknowledged
    remind_at: float | None = None  # when to remind every level told, if still active
    reminders: int = 0


def start_follow_up(
    alarm: Alarm, since: float, policy: EscalationPolicy, level: int = 1
) -> FollowUp:
    """The follow-up of an alarm whose (re)raising was notified at ``since``."""
    return FollowUp(
        alarm_id=alarm.pk,
        city_id=alarm.city_id,
        level=level,
        escalate_at=None if policy.escalate_after_s is None else since + policy.escalate_after_s,
        remind_at=None if policy.remind_every_s is None else since + policy.remind_every_s,
    )


def next_reminder(since: float, every: float, now: float) -> float:
    """The first ``since + k * every`` after ``now``: one reminder after a pause, not all."""
    if now < since:
        return since + every
    return since + (int((now - since) // every) + 1) * every


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often, and how far apart, a failed delivery is tried again."""

    max_attempts: int = 8
    base_s: float = 30.0  # after the first failure; doubling after each further one
    cap_s: float = 3600.0

    def delay(self, attempts: int) -> float:
        """The wait after ``attempts`` failed attempts (30 s, 1 min, 2 min, ... at most the cap)."""
        return min(self.cap_s, self.base_s * 2.0 ** max(0, attempts - 1))


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt came to."""

    ok: bool
    code: int | None = None  # the HTTP status, or the SMTP reply code
    error: str = ""  # why it failed, in a line; never a secret


@dataclass(frozen=True, slots=True)
class Mail:
    """One plain-text e-mail to one recipient."""

    to: str
    subject: str
    text: str


@dataclass(slots=True, kw_only=True)
class Delivery:
    """One notification to one subscription, with its attempts so far."""

    city_id: int
    subscription_id: int
    channel: Channel
    alarm_id: int
    event_id: int
    event_kind: EventKind
    level: int
    payload: dict[str, Any] = field(repr=False)  # the JSON body, the same on every attempt
    created_at: float
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    response_code: int | None = None
    error: str = ""
    next_attempt_at: float | None = None  # when a pending delivery is due
    last_attempt_at: float | None = None
    delivered_at: float | None = None
    id: int | None = None

    @property
    def pk(self) -> int:
        """The stored delivery's id."""
        if self.id is None:
            raise ValueError("the delivery is not stored yet")
        return self.id

    def attempted(self, outcome: Outcome, at: float, retry: RetryPolicy) -> None:
        """Count one attempt: sent, due again after the backoff, or given up."""
        self.attempts += 1
        self.last_attempt_at = at
        self.response_code = outcome.code
        self.error = outcome.error[:ERROR_MAX]
        if outcome.ok:
            self.status = DeliveryStatus.SENT
            self.delivered_at = at
            self.next_attempt_at = None
        elif self.attempts >= retry.max_attempts:
            self.status = DeliveryStatus.FAILED
            self.next_attempt_at = None
        else:
            self.next_attempt_at = at + retry.delay(self.attempts)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryQuery:
    """A filter over one city's delivery log, newest first, paged by id."""

    status: DeliveryStatus | None = None
    subscription_id: int | None = None
    alarm_id: int | None = None
    before_id: int | None = None
    limit: int = 100


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256 of ``<ts>.<body>``."""
    material = str(timestamp).encode("ascii") + b"." + body
    return "sha256=" + hmac.new(secret.encode(), material, hashlib.sha256).hexdigest()


def verify(
    secret: str, timestamp: str, body: bytes, signature: str, now: float, tolerance_s: float = 300
) -> bool:
    """Whether a received webhook is genuine and fresh (what a receiver does; see the docs)."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, sent, body), signature)


def _iso(at: float | None) -> str | None:
    if at is None:
        return None
    return datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z")


def alarm_payload(event: AlarmEvent, alarm: Alarm, city: City, level: int) -> dict[str, Any]:
    """The JSON a subscription receives about one event of one alarm (docs/notifications.md)."""
    return {
        "type": f"alarm.{event.kind}",
        "level": level,
        "event": {
            "id": event.id,
            "kind": str(event.kind),
            "at": _iso(event.at),
            "state": str(event.state),
            "actor": event.actor,
            "note": event.note,
        },
        "city": {"slug": city.slug, "name": city.name, "timezone": city.timezone},
        "alarm": {
            "id": alarm.pk,
            "type": str(alarm.type),
            "severity": str(alarm.severity),
            "state": str(alarm.state),
            "asset_code": alarm.asset_code,
            "device_uid": alarm.device_uid,
            "message": alarm.message,
            "detail": alarm.detail,
            "occurrences": alarm.occurrences,
            "parent_id": alarm.parent_id,
            "raised_at": _iso(alarm.raised_at),
            "observed_at": _iso(alarm.observed_at),
            "acknowledged_at": _iso(alarm.acknowledged_at),
            "acknowledged_by": alarm.acknowledged_by,
            "cleared_at": _iso(alarm.cleared_at),
        },
    }
