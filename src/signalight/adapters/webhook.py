"""Webhook deliveries over HTTP (httpx2): one signed JSON POST per attempt.

The headers of every POST (docs/notifications.md shows a receiver):

- ``X-Signalight-Timestamp``: Unix seconds when this attempt was signed;
- ``X-Signalight-Signature``: ``sha256=`` and the hex HMAC-SHA256, keyed with
  the subscription's secret, of the timestamp, a full stop and the raw body;
- ``X-Signalight-Event``: what happened, e.g. ``alarm.raised``;
- ``X-Signalight-Delivery``: the delivery's id, the same on every retry, so
  that a receiver can drop a repeat.

Unless private targets are allowed, a URL whose host resolves to a loopback,
private, link-local or otherwise non-public address is refused before any
connection: a city's admin must not be able to make the service call its
own neighbours. The check and the connection each resolve the name, so a
host that changes its answer in between is not caught; where that matters,
send webhooks through an egress proxy (``HTTPS_PROXY``) that filters.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable

import httpx2

from signalight import __version__
from signalight.domain.notifications import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Outcome,
    sign,
)

__all__ = ["WebhookClient"]


class WebhookClient:
    """Implements ``WebhookSender`` over one pooled client, safe to share between threads."""

    def __init__(
        self,
        *,
        timeout_s: float = 10.0,
        allow_private: bool = False,
        max_connections: int = 32,
        transport: httpx2.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._allow_private = allow_private
        self._clock = clock
        self._timeout_s = timeout_s
        self._client = httpx2.Client(
            timeout=timeout_s,
            follow_redirects=False,  # a redirect is a failure: the signed target is this URL
            limits=httpx2.Limits(max_connections=max_connections),
            headers={"User-Agent": f"Signalight/{__version__}"},
            transport=transport,
        )

    def post(self, url: str, secret: str, body: bytes, event: str, delivery_id: int) -> Outcome:
        """One attempt; every failure comes back as an Outcome."""
        try:
            target = httpx2.URL(url)
        except httpx2.InvalidURL:
            return Outcome(ok=False, error="the URL is not valid")
        if not self._allow_private and (refused := _refusal(target)):
            return Outcome(ok=False, error=refused)
        timestamp = int(self._clock())
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(secret, timestamp, body),
            EVENT_HEADER: event,
            DELIVERY_HEADER: str(delivery_id),
        }
        try:
            # Streamed and left unread: only the status matters, and a receiver
            # cannot make the notifier hold a large answer in memory.
            with self._client.stream("POST", target, content=body, headers=headers) as response:
                code = response.status_code
                reason = response.reason_phrase
        except httpx2.TimeoutException:
            return Outcome(ok=False, error=f"no answer within {self._timeout_s:g} s")
        except httpx2.HTTPError as exc:
            # The message, not the URL: a URL may carry a token (chat services' hooks do).
            return Outcome(ok=False, error=f"{type(exc).__name__}: {exc}".replace(url, "<url>"))
        if 200 <= code < 300:  # noqa: PLR2004
            return Outcome(ok=True, code=code)
        return Outcome(ok=False, code=code, error=f"HTTP {code} {reason}".strip())

    def close(self) -> None:
        """Close the pooled connections."""
        self._client.close()


def _refusal(url: httpx2.URL) -> str | None:
    """Why the URL's host may not be called, or None if every address it has is public."""
    host = url.host
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        return f"cannot resolve the host ({exc})"
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not address.is_global:
            return (
                "refused: the host has a private or local address"
                " (SIGNALIGHT_NOTIFY_WEBHOOK_PRIVATE=true allows it)"
            )
    return None
