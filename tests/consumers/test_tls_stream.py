"""The subscriber's TLS stream against a real TLS server: both ways at once, checked, closed.

The server is Python's own ``ssl`` on 127.0.0.1 with a CA made in the test;
the broker's TLS listener is exercised in tests/integration/test_mqtt_tls.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import select
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from signalight.adapters.tls import client_context
from signalight.consumers.tls_stream import TlsStream
from tests.pki import Authority

TIMEOUT = 10.0
DOWN = 4 * 1024 * 1024  # bytes the server sends while the client sends its own
UP_WRITES = 20_000  # small writes from the client, as PUBACKs go out


@dataclass
class Server:
    """Accepts one TLS connection; sends ``DOWN`` bytes while it reads what comes up."""

    context: ssl.SSLContext
    listener: socket.socket = field(default_factory=socket.socket)
    received: hashlib._Hash = field(default_factory=hashlib.sha256)
    received_bytes: int = 0
    error: BaseException | None = None
    close_after_sending: bool = False

    def __post_init__(self) -> None:
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        port: int = self.listener.getsockname()[1]
        return port

    def _serve(self) -> None:
        try:
            raw, _ = self.listener.accept()
            raw.settimeout(TIMEOUT)
            with self.context.wrap_socket(raw, server_side=True) as conn:
                if self.close_after_sending:
                    conn.sendall(b"bye")
                    conn.unwrap()
                    return
                # One thread on this end: interleave sending and reading by hand.
                conn.settimeout(0.0)
                down = memoryview(pattern(DOWN))
                while down or self.received_bytes < UP_WRITES * 8:
                    if not conn.pending():
                        select.select([conn], [conn] if down else [], [], TIMEOUT)
                    if down:
                        with contextlib.suppress(ssl.SSLWantWriteError, ssl.SSLWantReadError):
                            down = down[conn.send(down[:16_384]) :]
                    with contextlib.suppress(ssl.SSLWantReadError, ssl.SSLWantWriteError):
                        chunk = conn.recv(65_536)
                        self.received.update(chunk)
                        self.received_bytes += len(chunk)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            self.error = exc
        finally:
            self.listener.close()


def pattern(size: int) -> bytes:
    return bytes(range(256)) * (size // 256)


@pytest.fixture
def ca(tmp_path: Path) -> Authority:
    return Authority.create(tmp_path / "pki")


@pytest.fixture
def server(ca: Authority) -> Iterator[Server]:
    pair = ca.server()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pair.cert, pair.key)
    instance = Server(context)
    yield instance
    instance.thread.join(TIMEOUT)


def connect(port: int, context: ssl.SSLContext, host: str = "127.0.0.1") -> TlsStream:
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    try:
        return TlsStream.connect(sock, context, host)
    except BaseException:
        sock.close()
        raise


def test_one_thread_receives_while_another_sends_and_nothing_is_lost(
    ca: Authority, server: Server
) -> None:
    stream = connect(server.port, client_context(ca.cert))
    sent = hashlib.sha256()

    def send() -> None:
        for n in range(UP_WRITES):
            data = n.to_bytes(8, "big")
            sent.update(data)
            stream.sendall(data)

    sender = threading.Thread(target=send)
    sender.start()
    got = bytearray()
    while len(got) < DOWN:
        chunk = stream.recv(1 << 20)
        assert chunk, "the server closed early"
        got += chunk
    sender.join(TIMEOUT)
    server.thread.join(TIMEOUT)
    stream.close()
    assert server.error is None
    assert bytes(got) == pattern(DOWN)
    assert server.received_bytes == UP_WRITES * 8
    assert server.received.digest() == sent.digest()


def test_the_servers_close_notify_reads_as_the_end(ca: Authority, server: Server) -> None:
    server.close_after_sending = True
    stream = connect(server.port, client_context(ca.cert))
    got = b""
    while chunk := stream.recv(1024):
        got += chunk
    assert got == b"bye"
    stream.close()


def test_a_certificate_from_another_ca_is_refused(tmp_path: Path, server: Server) -> None:
    other = Authority.create(tmp_path / "other", "other")
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        connect(server.port, client_context(other.cert))


def test_a_certificate_for_another_name_is_refused(ca: Authority, server: Server) -> None:
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        connect(server.port, client_context(ca.cert), host="broker.example.org")
