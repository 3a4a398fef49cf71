"""Sending what the notifier queued: webhooks a bounded number at once, e-mail as digests.

Each attempt is recorded on its delivery: sent, due again after the
backoff, or given up. A subscription whose receiver fails is logged once
when it starts failing and once when it recovers, not per attempt.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import orjson

from signalight.domain.cities import City
from signalight.domain.notifications import (
    Channel,
    Delivery,
    DeliveryStatus,
    Mail,
    Outcome,
    RetryPolicy,
    Subscription,
)
from signalight.ports import MailSender, NotificationStore, WebhookSender
from signalight.services.digest import digest

__all__ = ["DispatchConfig", "Dispatcher", "PassReport"]

log = logging.getLogger(__name__)

NO_SMTP = "no SMTP server is configured (SIGNALIGHT_SMTP_HOST)"


@dataclass(slots=True)
class PassReport:
    """What one pass did."""

    leased: bool = True  # False: another process holds the lease, nothing was done
    events: int = 0
    queued: int = 0
    escalated: int = 0
    reminded: int = 0
    sent: int = 0
    failed: int = 0  # attempts that failed (retried later, or given up)
    gave_up: int = 0
    mails: int = 0
    busy: bool = False  # more work is waiting: run again without pausing


@dataclass(frozen=True, slots=True, kw_only=True)
class DispatchConfig:
    """How much is sent at once, and how failures are retried."""

    retry: RetryPolicy = field(default_factory=RetryPolicy)
    digest_s: float = 60.0  # an e-mail recipient gets at most one message per this period
    webhook_concurrency: int = 8  # POSTs in flight at once
    webhook_batch: int = 1000  # webhook deliveries attempted per pass
    mail_batch: int = 50_000  # e-mail deliveries read per pass


class Dispatcher:
    """Sends due deliveries and records each attempt."""

    def __init__(
        self,
        store: NotificationStore,
        webhooks: WebhookSender,
        mail: MailSender | None,
        config: DispatchConfig,
    ) -> None:
        self._store = store
        self._webhooks = webhooks
        self._mail = mail
        self.config = config
        self._failing: set[int] = set()  # subscriptions whose last attempt failed (for the log)

    def send_webhooks(
        self, now: float, subscriptions: Mapping[int, Subscription], report: PassReport
    ) -> None:
        """Attempt the due webhook deliveries, a bounded number at once."""
        config = self.config
        due = self._store.due_deliveries(Channel.WEBHOOK, now, config.webhook_batch)
        if not due:
            return
        failing: set[int] = set()
        lock = threading.Lock()

        def attempt(delivery: Delivery) -> Delivery:
            subscription = subscriptions[delivery.subscription_id]
            with lock:
                held_back = subscription.pk in failing
            if held_back:
                # Its receiver just failed: wait for the retry rather than spend an
                # attempt (and a timeout) on each of its other deliveries.
                delivery.next_attempt_at = now + config.retry.base_s
                return delivery
            outcome = self._webhooks.post(
                subscription.target,
                subscription.secret or "",
                orjson.dumps(delivery.payload),
                f"alarm.{delivery.event_kind}",
                delivery.pk,
            )
            if not outcome.ok:
                with lock:
                    failing.add(subscription.pk)
            delivery.attempted(outcome, now, config.retry)
            return delivery

        with ThreadPoolExecutor(config.webhook_concurrency, "webhook") as pool:
            done = list(pool.map(attempt, (d for d in due if d.subscription_id in subscriptions)))
        self._store.finish(done)
        self._account(now, done, subscriptions, report)
        if len(due) >= config.webhook_batch:
            report.busy = True

    def send_mail(
        self,
        now: float,
        subscriptions: Mapping[int, Subscription],
        city_of: Callable[[int], City],
        report: PassReport,
    ) -> None:
        """Send each recipient with due deliveries one digest of them all."""
        config = self.config
        quiet_since = now - config.digest_s if config.digest_s > 0 else None
        due = self._store.due_deliveries(Channel.EMAIL, now, config.mail_batch, quiet_since)
        if not due:
            return
        groups: dict[int, list[Delivery]] = defaultdict(list)
        for delivery in due:
            if delivery.subscription_id in subscriptions:
                groups[delivery.subscription_id].append(delivery)
        mails = []
        for subscription_id, items in groups.items():
            subscription = subscriptions[subscription_id]
            subject, text = digest(city_of(subscription.city_id), [d.payload for d in items])
            mails.append(Mail(subscription.target, subject, text))
        if self._mail is None:
            outcomes = [Outcome(ok=False, error=NO_SMTP)] * len(mails)
        else:
            outcomes = self._mail.send(mails)
        done: list[Delivery] = []
        for items, outcome in zip(groups.values(), outcomes, strict=True):
            for delivery in items:
                delivery.attempted(outcome, now, config.retry)
            done += items
        self._store.finish(done, sent_to=list(groups))
        report.mails += sum(1 for o in outcomes if o.ok)
        self._account(now, done, subscriptions, report)

    def _account(
        self,
        now: float,
        done: Iterable[Delivery],
        subscriptions: Mapping[int, Subscription],
        report: PassReport,
    ) -> None:
        """Count the attempts; log a subscription's failing and recovering once each."""
        last: dict[int, Delivery] = {}
        gave_up: dict[int, int] = defaultdict(int)
        for delivery in done:
            if delivery.last_attempt_at != now:
                continue  # held back behind a failure, not attempted
            last[delivery.subscription_id] = delivery
            match delivery.status:
                case DeliveryStatus.SENT:
                    report.sent += 1
                case DeliveryStatus.FAILED:
                    report.failed += 1
                    report.gave_up += 1
                    gave_up[delivery.subscription_id] += 1
                case DeliveryStatus.PENDING:
                    report.failed += 1
        for subscription_id, delivery in last.items():
            subscription = subscriptions[subscription_id]
            if delivery.status is DeliveryStatus.SENT and subscription_id in self._failing:
                self._failing.discard(subscription_id)
                log.info("%s subscription %s delivers again", subscription.channel, subscription_id)
            elif (
                delivery.status is not DeliveryStatus.SENT and subscription_id not in self._failing
            ):
                self._failing.add(subscription_id)
                log.warning(
                    "%s subscription %s of city %s failing (%s); retrying with backoff",
                    subscription.channel,
                    subscription_id,
                    subscription.city_id,
                    delivery.error,
                )
        for subscription_id, count in gave_up.items():
            log.warning(
                "gave up on %d deliveries to subscription %s after %d attempts",
                count,
                subscription_id,
                self.config.retry.max_attempts,
            )
