"""The notifier: follows the alarm feed, tells subscribers, retries, escalates and reminds.

It runs off the ingest path: the detector only stores alarm events, and the
notifier reads them afterwards from its own cursor, so a burst of alarms
costs ingest nothing. One pass (:meth:`Notifier.run_once`):

1. takes the notifier's lease (of several processes, one sends);
2. reads new alarm events and queues a delivery per event and subscription
   that wants it, moving its cursor in the same transaction;
3. escalates alarms left unacknowledged past their severity's time, and
   reminds of alarms still active, recording ``escalated`` and ``reminded``
   events in the alarms' history;
4. sends what is due: webhooks one POST per delivery, a bounded number in
   flight; e-mails as one digest per recipient per digest period;
5. records every attempt; a failure is retried with exponential backoff
   (kept in the database, so a restart carries on) until it gives up.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from signalight.domain.alarms import Alarm, AlarmEvent, AlarmState, EventKind, Severity
from signalight.domain.cities import City
from signalight.domain.errors import NotFoundError, SignalightError
from signalight.domain.notifications import (
    DEFAULT_POLICIES,
    STARTING_KINDS,
    Delivery,
    EscalationPolicy,
    FollowUp,
    RetryPolicy,
    Subscription,
    alarm_payload,
    next_reminder,
    start_follow_up,
)
from signalight.ports import (
    AlarmStore,
    CityRepository,
    Clock,
    MailSender,
    NotificationStore,
    WebhookSender,
)
from signalight.services.dispatch import DispatchConfig, Dispatcher, PassReport

__all__ = ["Notifier", "NotifierConfig", "PassReport"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class NotifierConfig:
    """How the notifier paces itself."""

    retry: RetryPolicy = field(default_factory=RetryPolicy)
    policies: Mapping[Severity, EscalationPolicy] = field(default_factory=lambda: DEFAULT_POLICIES)
    interval_s: float = 5.0  # between passes when there is nothing more to do
    digest_s: float = 60.0  # an e-mail recipient gets at most one message per this period
    webhook_concurrency: int = 8  # POSTs in flight at once
    feed_batch: int = 1000  # alarm events per read
    feed_batches: int = 10  # reads per pass
    webhook_batch: int = 1000  # webhook deliveries attempted per pass
    mail_batch: int = 50_000  # e-mail deliveries read per pass
    follow_up_batch: int = 1000  # escalations and reminders per pass
    lease_ttl_s: float = 60.0


@dataclass(slots=True)
class _Pass:
    """What one pass reads once and shares between its steps."""

    now: float
    subscriptions: dict[int, list[Subscription]]  # enabled ones, by city
    cities: dict[int, City] = field(default_factory=dict)
    report: PassReport = field(default_factory=PassReport)

    def by_id(self) -> dict[int, Subscription]:
        return {s.pk: s for subs in self.subscriptions.values() for s in subs}


class Notifier:
    """Tells subscribers of alarms; see the module's docstring for one pass."""

    def __init__(
        self,
        alarms: AlarmStore,
        store: NotificationStore,
        cities: CityRepository,
        webhooks: WebhookSender,
        mail: MailSender | None,
        clock: Clock,
        config: NotifierConfig | None = None,
        owner: str | None = None,
    ) -> None:
        self._alarms = alarms
        self._store = store
        self._cities = cities
        self._clock = clock
        self.config = config or NotifierConfig()
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._dispatch = Dispatcher(
            store,
            webhooks,
            mail,
            DispatchConfig(
                retry=self.config.retry,
                digest_s=self.config.digest_s,
                webhook_concurrency=self.config.webhook_concurrency,
                webhook_batch=self.config.webhook_batch,
                mail_batch=self.config.mail_batch,
            ),
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # The loop.

    def run_once(self, now: float) -> PassReport:
        """One pass at time ``now`` (epoch seconds); tests drive it with a fake clock."""
        cursor = self._store.claim(self.owner, now, self.config.lease_ttl_s)
        if cursor is None:
            return PassReport(leased=False)
        enabled: dict[int, list[Subscription]] = defaultdict(list)
        for subscription in self._store.list_subscriptions():
            if subscription.enabled:
                enabled[subscription.city_id].append(subscription)
        step = _Pass(now, dict(enabled))
        self._follow_feed(step, cursor)
        self._follow_up(step)
        # The lease is renewed before each sending step, so that a slow pass
        # does not lose it to another process midway and send twice.
        if self._store.claim(self.owner, now, self.config.lease_ttl_s) is not None:
            self._dispatch.send_webhooks(now, step.by_id(), step.report)
        if self._store.claim(self.owner, now, self.config.lease_ttl_s) is not None:
            self._dispatch.send_mail(
                now, step.by_id(), lambda city_id: self._city(step, city_id), step.report
            )
        return step.report

    def run(self, stop: threading.Event) -> None:
        """Pass after pass until ``stop`` is set; errors are logged and waited out."""
        log.info("notifier %s started", self.owner)
        failures = 0
        interval = self.config.interval_s
        while not stop.is_set():
            try:
                report = self.run_once(self._clock.now().timestamp())
            # Anything: the loop must outlive a database outage, and a bug too.
            except Exception:
                failures += 1
                if failures == 1:
                    log.exception("notifier pass failed; trying again with backoff")
                stop.wait(min(300.0, interval * 2**failures))
                continue
            if failures:
                log.info("notifier working again after %d failed passes", failures)
                failures = 0
            if not report.busy:
                stop.wait(interval)
        try:
            self._store.release(self.owner)
        except SignalightError as exc:  # the lease then runs out by itself
            log.warning("notifier could not release its lease: %s", exc)
        log.info("notifier %s stopped", self.owner)

    def start(self) -> None:
        """Run in a daemon thread of this process (``signalight serve``)."""
        self._stop.clear()
        self._thread = threading.Thread(
            target=self.run, args=(self._stop,), name="notifier", daemon=True
        )
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop the thread :meth:`start` began, after its current pass."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    # 2. The feed.

    def _follow_feed(self, step: _Pass, cursor: int) -> None:
        config = self.config
        for _ in range(config.feed_batches):
            events = self._alarms.events_after(cursor, config.feed_batch)
            if not events:
                return
            follow_ups = self._store.follow_ups({e.alarm_id for e in events})
            changed: dict[int, FollowUp | None] = {}  # None: the alarm needs nothing more
            queued: list[Delivery] = []
            for event in events:
                queued += self._on_event(step, event, follow_ups, changed)
            self._store.commit(
                queued,
                [f for f in changed.values() if f is not None],
                [alarm_id for alarm_id, f in changed.items() if f is None],
                cursor=(self.owner, cursor, _id(events[-1])),
            )
            cursor = _id(events[-1])
            step.report.events += len(events)
            step.report.queued += len(queued)
            if len(events) < config.feed_batch:
                return
        step.report.busy = True

    def _on_event(
        self,
        step: _Pass,
        event: AlarmEvent,
        stored: Mapping[int, FollowUp],
        changed: dict[int, FollowUp | None],
    ) -> list[Delivery]:
        """The deliveries one event calls for; updates the alarm's follow-up in ``changed``."""
        alarm_id = event.alarm_id
        current = changed[alarm_id] if alarm_id in changed else stored.get(alarm_id)
        if event.kind in STARTING_KINDS:
            subscriptions = step.subscriptions.get(event.city_id)
            if not subscriptions:
                return []  # a city that nobody listens to owes nobody anything
            alarm = self._alarm(event)
            if alarm is None or alarm.held:
                return []  # held: told through its outage incident
            policy = self.config.policies.get(alarm.severity, EscalationPolicy(None, None))
            changed[alarm_id] = start_follow_up(alarm, event.at, policy)
            return self._deliveries(step, event, alarm, {1})
        match event.kind:
            case EventKind.CLEARED if current is not None:
                changed[alarm_id] = None
                alarm = self._alarm(event)
                if alarm is None:
                    return []
                return self._deliveries(step, event, alarm, range(1, current.level + 1))
            case EventKind.ACKNOWLEDGED if current is not None:
                current.escalate_at = None  # someone has it; reminders go on while it is down
                changed[alarm_id] = current
            case EventKind.CLOSED:
                changed[alarm_id] = None
            case _:
                pass  # HELD is not told; NOTED is history; ESCALATED and REMINDED are ours
        return []

    def _alarm(self, event: AlarmEvent) -> Alarm | None:
        try:
            return self._alarms.get_alarm(event.city_id, event.alarm_id)
        except NotFoundError:
            return None

    def _city(self, step: _Pass, city_id: int) -> City:
        if city_id not in step.cities:
            for city in self._cities.list_cities(list(step.subscriptions)):
                step.cities[city.pk] = city
        return step.cities[city_id]

    def _deliveries(
        self, step: _Pass, event: AlarmEvent, alarm: Alarm, levels: Collection[int]
    ) -> list[Delivery]:
        """A delivery to each enabled subscription of the alarm's city at ``levels`` wanting it."""
        wanted = [
            s
            for s in step.subscriptions.get(alarm.city_id, [])
            if s.level in levels and s.wants(alarm.severity)
        ]
        if not wanted:
            return []
        city = self._city(step, alarm.city_id)
        return [
            Delivery(
                city_id=alarm.city_id,
                subscription_id=s.pk,
                channel=s.channel,
                alarm_id=alarm.pk,
                event_id=_id(event),
                event_kind=event.kind,
                level=s.level,
                payload=alarm_payload(event, alarm, city, s.level),
                created_at=step.now,
                next_attempt_at=step.now,
            )
            for s in wanted
        ]

    # 3. Escalation and reminders.

    def _follow_up(self, step: _Pass) -> None:
        now = step.now
        due = self._store.due_follow_ups(now, self.config.follow_up_batch)
        changed: dict[int, FollowUp | None] = {}
        plans: list[tuple[Alarm, EventKind, range]] = []
        for follow_up in due:
            plans += self._plan(step, follow_up, changed)
        recorded = self._alarms.record([(alarm, kind, now) for alarm, kind, _ in plans])
        # An alarm deleted meanwhile records nothing, so events are matched, not zipped.
        events = {(e.alarm_id, e.kind): e for e in recorded}
        queued: list[Delivery] = []
        for alarm, kind, levels in plans:
            event = events.get((alarm.pk, kind))
            if event is None:
                continue
            queued += self._deliveries(step, event, alarm, levels)
            if kind is EventKind.ESCALATED:
                step.report.escalated += 1
            else:
                step.report.reminded += 1
        self._store.commit(
            queued,
            [f for f in changed.values() if f is not None],
            [alarm_id for alarm_id, f in changed.items() if f is None],
        )
        step.report.queued += len(queued)
        if len(due) >= self.config.follow_up_batch:
            step.report.busy = True

    def _plan(
        self, step: _Pass, follow_up: FollowUp, changed: dict[int, FollowUp | None]
    ) -> list[tuple[Alarm, EventKind, range]]:
        """The steps one due follow-up calls for; its next times go into ``changed``."""
        now = step.now
        try:
            alarm = self._alarms.get_alarm(follow_up.city_id, follow_up.alarm_id)
        except NotFoundError:
            alarm = None
        if alarm is None or not alarm.active or alarm.held:
            changed[follow_up.alarm_id] = None
            return []
        changed[alarm.pk] = follow_up
        policy = self.config.policies.get(alarm.severity, EscalationPolicy(None, None))
        subscriptions = step.subscriptions.get(alarm.city_id, [])
        plans: list[tuple[Alarm, EventKind, range]] = []
        if follow_up.escalate_at is not None and follow_up.escalate_at <= now:
            level = follow_up.level + 1
            up = [s for s in subscriptions if s.level == level and s.wants(alarm.severity)]
            if alarm.state is AlarmState.RAISED and up and policy.escalate_after_s is not None:
                plans.append((alarm, EventKind.ESCALATED, range(level, level + 1)))
                follow_up.level = level
                follow_up.escalate_at = now + policy.escalate_after_s
            else:
                follow_up.escalate_at = None  # acknowledged, or nobody further up
        if follow_up.remind_at is not None and follow_up.remind_at <= now:
            if policy.remind_every_s is None:
                follow_up.remind_at = None
            else:
                levels = range(1, follow_up.level + 1)
                if any(s.level in levels and s.wants(alarm.severity) for s in subscriptions):
                    plans.append((alarm, EventKind.REMINDED, levels))
                    follow_up.reminders += 1
                follow_up.remind_at = next_reminder(follow_up.remind_at, policy.remind_every_s, now)
        return plans


def _id(event: AlarmEvent) -> int:
    if event.id is None:
        raise ValueError("the event is not stored yet")
    return event.id
