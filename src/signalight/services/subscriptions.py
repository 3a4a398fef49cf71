"""A city's notification subscriptions: created with a fresh signing secret, changed, rotated."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from typing import Any

from signalight.domain.alarms import Severity
from signalight.domain.errors import InvalidInputError
from signalight.domain.notifications import Channel, Subscription
from signalight.ports import NotificationStore

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
