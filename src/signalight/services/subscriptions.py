"""A city's notification subscriptions: created with a fresh signing secret, changed, rotated."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from signalight.domain.alarms import Severity
from signalight.domain.assets import Page
from signalight.domain.cities import City
from signalight.domain.errors import InvalidInputError
from signalight.domain.notifications import Channel, Delivery, DeliveryQuery, Subscription
from signalight.ports import Clock, NotificationStore

__all__ = ["SubscriptionRequest", "change_subscription", "create_subscription", "rotate_secret"]

NO_MAIL = "e-mail is not configured on this server (SIGNALIGHT_SMTP_HOST)"


def new_secret() -> str:
    """A webhook signing secret: 256 random bits, URL-safe."""
    return "whsec_" + secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriptionRequest:
    """What an admin asks for."""

    channel: Channel
    target: str
    min_severity: Severity = Severity.MINOR
    level: int = 1
    label: str = ""
    enabled: bool = True


def create_subscription(
    store: NotificationStore,
    city_id: int,
    request: SubscriptionRequest,
    now: float,
    *,
    mail_configured: bool,
) -> Subscription:
    """Store a new subscription; a webhook's gets a new secret, returned here and never again."""
    if request.channel is Channel.EMAIL and not mail_configured:
        raise InvalidInputError(NO_MAIL)
    subscription = Subscription(
        city_id=city_id,
        channel=request.channel,
        target=request.target.strip(),
        min_severity=request.min_severity,
        level=request.level,
        label=request.label,
        enabled=request.enabled,
        secret=new_secret() if request.channel is Channel.WEBHOOK else None,
        created_at=now,
    )
    return store.add_subscription(subscription)


def change_subscription(
    store: NotificationStore, city_id: int, subscription_id: int, changes: dict[str, Any]
) -> Subscription:
    """Change some of target, min_severity, level, label and enabled; the rest stays."""
    allowed = {"target", "min_severity", "level", "label", "enabled"}
    if unknown := set(changes) - allowed:
        raise InvalidInputError(f"cannot change {', '.join(sorted(unknown))}")
    current = store.get_subscription(city_id, subscription_id)
    if "target" in changes:
        changes["target"] = str(changes["target"]).strip()
    return store.update_subscription(replace(current, **changes))


def rotate_secret(store: NotificationStore, city_id: int, subscription_id: int) -> Subscription:
    """Give a webhook subscription a new secret; the old one stops signing at once."""
    current = store.get_subscription(city_id, subscription_id)
    if current.channel is not Channel.WEBHOOK:
        raise InvalidInputError("only a webhook subscription has a secret")
    return store.update_subscription(replace(current, secret=new_secret()))


class Subscriptions:
    """A city's notification subscriptions and delivery log, as the API manages them."""

    def __init__(
        self, store: NotificationStore, clock: Clock, *, mail_configured: Callable[[], bool]
    ) -> None:
        self._store = store
        self._clock = clock
        self._mail_configured = mail_configured  # asked each time: settings can change

    def all(self, city: City) -> list[Subscription]:
        """The city's subscriptions."""
        return self._store.list_subscriptions(city.pk)

    def get(self, city: City, subscription_id: int) -> Subscription:
        """One subscription of the city; NotFoundError if none."""
        return self._store.get_subscription(city.pk, subscription_id)

    def add(self, city: City, request: SubscriptionRequest) -> Subscription:
        """A new subscription (see :func:`create_subscription`)."""
        return create_subscription(
            self._store,
            city.pk,
            request,
            self._clock.now().timestamp(),
            mail_configured=self._mail_configured(),
        )

    def change(self, city: City, subscription_id: int, changes: dict[str, Any]) -> Subscription:
        """Change a subscription (see :func:`change_subscription`)."""
        return change_subscription(self._store, city.pk, subscription_id, changes)

    def rotate(self, city: City, subscription_id: int) -> Subscription:
        """A webhook subscription's new secret (see :func:`rotate_secret`)."""
        return rotate_secret(self._store, city.pk, subscription_id)

    def remove(self, city: City, subscription_id: int) -> None:
        """Remove a subscription and its delivery log."""
        self._store.delete_subscription(city.pk, subscription_id)

    def deliveries(self, city: City, query: DeliveryQuery) -> Page[Delivery]:
        """The city's delivery log, newest first."""
        return self._store.deliveries(city.pk, query)
