"""A notifier over the test database with a real HTTP receiver and a real SMTP server."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from signalight.adapters.clock import ManualClock
from signalight.adapters.smtp import SmtpConfig, SmtpMailer
from signalight.adapters.sql.database import SqlDatabase
from signalight.adapters.webhook import WebhookClient
from signalight.domain.alarms import Alarm, AlarmEvent, AlarmType, EventKind, Severity
from signalight.domain.cities import City
from signalight.domain.notifications import (
    Channel,
    Delivery,
    DeliveryQuery,
    RetryPolicy,
    Subscription,
)
from signalight.services.notifications import Notifier, NotifierConfig, PassReport
from signalight.services.subscriptions import SubscriptionRequest, create_subscription
from tests.receivers import MailBox, WebhookReceiver, smtp_server, webhook_receiver

# 2027-01-15 08:00 UTC: every test's stream time starts here.
T0 = 1_800_000_000.0
MINUTE = 60.0
HOUR = 3600.0
OWNER = "tests"  # one owner for every test's notifier, so none waits on another's lease
_codes = itertools.count(1)


def make_alarm(
    city: City,
    *,
    severity: Severity = Severity.CRITICAL,
    at: float = T0,
    held: bool = False,
    parent_id: int | None = None,
    kind: AlarmType = AlarmType.LAMP_FAILURE,
) -> Alarm:
    """A new alarm on a light of its own (not stored)."""
    n = next(_codes)
    return Alarm(
        city_id=city.pk,
        type=kind,
        severity=severity,
        asset_code=f"SL-{n:05d}",
        device_uid=f"n-{n:05d}",
        raised_at=at,
        observed_at=at,
        updated_at=at,
        message="draws 2.0 W where 70 W is expected",
        detail={"power": 2.0},
        held=held,
        parent_id=parent_id,
    )


@dataclass
class Rig:
    """The database, a city, the receivers and a notifier, driven by ``run(now)``."""

    db: SqlDatabase
    city: City
    receiver: WebhookReceiver
    mailbox: MailBox
    notifier: Notifier
    webhooks: WebhookClient

    def raise_(self, *alarms: Alarm, at: float = T0) -> list[AlarmEvent]:
        return self.db.alarms.record([(a, EventKind.RAISED, at) for a in alarms])

    def clear(self, alarm: Alarm, at: float) -> list[AlarmEvent]:
        alarm.cleared_at = at
        return self.db.alarms.record([(alarm, EventKind.CLEARED, at)])

    def acknowledge(self, alarm: Alarm, at: float) -> None:
        self.db.alarms.act(self.city.pk, alarm.pk, EventKind.ACKNOWLEDGED, "alice", at, "")

    def webhook(
        self,
        path: str,
        *,
        city: City | None = None,
        level: int = 1,
        min_severity: Severity = Severity.MINOR,
    ) -> Subscription:
        subscription = create_subscription(
            self.db.notifications,
            (city or self.city).pk,
            SubscriptionRequest(
                channel=Channel.WEBHOOK,
                target=self.receiver.url(path),
                level=level,
                min_severity=min_severity,
            ),
            T0,
            mail_configured=True,
        )
        assert subscription.secret is not None
        self.receiver.secrets[path] = subscription.secret
        return subscription

    def email(self, address: str, *, level: int = 1) -> Subscription:
        return create_subscription(
            self.db.notifications,
            self.city.pk,
            SubscriptionRequest(channel=Channel.EMAIL, target=address, level=level),
            T0,
            mail_configured=True,
        )

    def run(self, now: float, notifier: Notifier | None = None) -> PassReport:
        """Passes at ``now`` until the notifier has nothing more to do; their totals."""
        total = PassReport()
        for _ in range(100):
            report = (notifier or self.notifier).run_once(now)
            for name in ("events", "queued", "escalated", "reminded", "sent", "failed", "mails"):
                setattr(total, name, getattr(total, name) + getattr(report, name))
            total.gave_up += report.gave_up
            if not report.busy:
                return total
        raise AssertionError("the notifier never caught up")

    def deliveries(self, city: City | None = None, **filters: object) -> list[Delivery]:
        query = DeliveryQuery(limit=10_000, **filters)  # type: ignore[arg-type]
        return self.db.notifications.deliveries((city or self.city).pk, query).items

    def new_notifier(self, **config: object) -> Notifier:
        base = NotifierConfig(retry=RetryPolicy(max_attempts=5, base_s=30, cap_s=HOUR))
        return Notifier(
            self.db.alarms,
            self.db.notifications,
            self.db.cities,
            self.webhooks,
            SmtpMailer(
                SmtpConfig(
                    host="127.0.0.1",
                    port=self.mailbox.port,
                    sender="alarms@signalight.test",
                    starttls=False,
                )
            ),
            ManualClock(datetime.fromtimestamp(T0, UTC)),
            replace(base, **config),  # type: ignore[arg-type]
            owner=OWNER,
        )


@contextmanager
def notify_rig(db: SqlDatabase, city: City, **config: object) -> Iterator[Rig]:
    """A rig whose subscriptions are disabled afterwards, so later tests' notifiers skip them."""
    with ExitStack() as stack:
        receiver = stack.enter_context(webhook_receiver())
        mailbox = stack.enter_context(smtp_server())
        webhooks = WebhookClient(allow_private=True, timeout_s=5)
        stack.callback(webhooks.close)
        rig = Rig(db, city, receiver, mailbox, None, webhooks)  # type: ignore[arg-type]
        rig.notifier = rig.new_notifier(**config)
        try:
            yield rig
        finally:
            for subscription in db.notifications.list_subscriptions():
                if subscription.enabled and subscription.created_at == T0:
                    db.notifications.update_subscription(replace(subscription, enabled=False))
