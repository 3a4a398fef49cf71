"""Notifications: subscriptions, the delivery log, and the senders."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

from signalight.domain.assets import (
    Page,
)
from signalight.domain.notifications import (
    Channel,
    Delivery,
    DeliveryQuery,
    FollowUp,
    Mail,
    Outcome,
    Subscription,
)

__all__ = ["MailSender", "NotificationStore", "WebhookSender"]


class NotificationStore(Protocol):
    """Subscriptions, the delivery log (also the notifier's queue), its cursor and follow-ups.

    Only the process holding the notifier's lease reads the alarm feed and
    sends; :meth:`commit` moves the cursor and queues what was decided in one
    transaction, so an event is neither lost nor queued twice by a restart.
    """

    def add_subscription(self, subscription: Subscription) -> Subscription:
        """Store a new subscription; returns it with its id."""
        ...

    def get_subscription(self, city_id: int, subscription_id: int) -> Subscription:
        """One subscription of the city; NotFoundError if none."""
        ...

    def list_subscriptions(self, city_id: int | None = None) -> list[Subscription]:
        """One city's subscriptions (None: every city's), by id."""
        ...

    def update_subscription(self, subscription: Subscription) -> Subscription:
        """Store changed fields; disabling fails the subscription's pending deliveries."""
        ...

    def delete_subscription(self, city_id: int, subscription_id: int) -> None:
        """Remove a subscription and its deliveries; NotFoundError if none."""
        ...

    def deliveries(self, city_id: int, query: DeliveryQuery) -> Page[Delivery]:
        """The city's delivery log, newest first; ``next_after`` continues before it."""
        ...

    def claim(self, owner: str, now: float, ttl_s: float) -> int | None:
        """Take or renew the notifier's lease until ``now + ttl_s``.

        Returns:
            The id of the last alarm event read, or None if another owner holds the lease.
        """
        ...

    def release(self, owner: str) -> None:
        """Give the lease up, if ``owner`` holds it."""
        ...

    def commit(
        self,
        queued: Sequence[Delivery],
        follow_ups: Sequence[FollowUp] = (),
        done: Collection[int] = (),
        cursor: tuple[str, int, int] | None = None,
    ) -> None:
        """In one transaction: queue ``queued``, keep follow-ups, drop those of ``done`` alarms.

        A delivery already queued for the same subscription and event is
        skipped. ``cursor`` is ``(owner, read, to)``: the cursor moves from
        ``read`` to ``to`` if the owner still holds the lease and nobody moved
        it meanwhile, else ConflictError and nothing is stored.
        """
        ...

    def follow_ups(self, alarm_ids: Collection[int]) -> dict[int, FollowUp]:
        """The follow-ups kept for those alarms, by alarm id."""
        ...

    def due_follow_ups(self, now: float, limit: int) -> list[FollowUp]:
        """Follow-ups whose escalation or reminder is due by ``now``."""
        ...

    def due_deliveries(
        self, channel: Channel, now: float, limit: int, quiet_since: float | None = None
    ) -> list[Delivery]:
        """Pending deliveries of enabled subscriptions due by ``now``, oldest first.

        With ``quiet_since``, only those of subscriptions sent nothing since then.
        """
        ...

    def finish(self, attempted: Sequence[Delivery], sent_to: Collection[int] = ()) -> None:
        """Store the attempts made, and that ``sent_to`` (subscription ids) were just sent to."""
        ...


class WebhookSender(Protocol):
    """POSTs one signed JSON body to a subscriber's URL."""

    def post(self, url: str, secret: str, body: bytes, event: str, delivery_id: int) -> Outcome:
        """One attempt; failures come back as an Outcome, never raised."""
        ...


class MailSender(Protocol):
    """Sends plain-text e-mails."""

    def send(self, mails: Sequence[Mail]) -> list[Outcome]:
        """One attempt per mail, over one connection; an Outcome per mail, in order."""
        ...
