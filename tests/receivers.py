"""Real receivers for notification tests: an HTTP server that checks signatures, an SMTP server."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from signalight.domain.notifications import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    verify,
)


@dataclass(frozen=True)
class Received:
    """One POST as the receiver saw it."""

    path: str
    headers: dict[str, str]
    body: bytes
    valid: bool  # the signature checked out against the path's secret, and was fresh

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def delivery(self) -> int:
        return int(self.headers[DELIVERY_HEADER])

    @property
    def event(self) -> str:
        return self.headers[EVENT_HEADER]


@dataclass
class WebhookReceiver:
    """An HTTP server in a thread: checks each POST's signature, fails the next N on request."""

    port: int = 0
    secrets: dict[str, str] = field(default_factory=dict)  # path -> the subscription's secret
    fail_next: int = 0  # answer this many requests with 500 first
    status_when_failing: int = 500
    received: list[Received] = field(default_factory=list)
    failed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def valid(self, path: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.valid and (path is None or r.path == path)]

    def _take(self, path: str, headers: dict[str, str], body: bytes) -> int:
        secret = self.secrets.get(path)
        ok = secret is not None and verify(
            secret,
            headers.get(TIMESTAMP_HEADER, ""),
            body,
            headers.get(SIGNATURE_HEADER, ""),
            time.time(),
        )
        with self.lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                self.failed += 1
                return self.status_when_failing
            self.received.append(Received(path, headers, body, ok))
        return 204 if ok else 401


@contextmanager
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """A running receiver on a free port of 127.0.0.1."""
    receiver = WebhookReceiver()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver would

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            status = receiver._take(self.path, dict(self.headers.items()), body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
            pass  # quiet

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@dataclass
class MailBox:
    """What the SMTP server accepted."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)  # recipients answered with 550
    logins: list[str] = field(default_factory=list)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


class _Handler:
    """aiosmtpd's hooks, which it calls with these arguments by name."""

    def __init__(self, box: MailBox) -> None:
        self.box = box

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self,
        server: SMTP,  # noqa: ARG002
        session: Session,  # noqa: ARG002
        envelope: Envelope,
        address: str,
        options: list[str],  # noqa: ARG002
    ) -> str:
        if address in self.box.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self,
        server: SMTP,  # noqa: ARG002
        session: Session,  # noqa: ARG002
        envelope: Envelope,
    ) -> str:
        content = envelope.original_content or b""
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.box.messages.append(message)
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def smtp_server(*, user: str | None = None, password: str | None = None) -> Iterator[MailBox]:
    """A real SMTP server (aiosmtpd) on a free port; with ``user``, it asks for a login."""
    box = MailBox(port=_free_port())

    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == user
            and data.password.decode() == password
        )
        if ok:
            box.logins.append(user or "")
        return AuthResult(success=ok, handled=False)

    extra: dict[str, Any] = {}
    if user is not None:
        extra = {"authenticator": authenticate, "auth_require_tls": False}
    controller = Controller(_Handler(box), hostname="127.0.0.1", port=box.port, **extra)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
