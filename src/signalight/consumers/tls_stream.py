"""TLS over a socket that one thread reads while another writes, as ingest's subscriber does.

Why not ``ssl.SSLSocket``: OpenSSL forbids using one connection from two
threads at once, and ``SSLSocket`` takes no lock. Ingest's reader thread
waits in ``recv`` while the batcher's thread sends PUBACKs; on an
``SSLSocket`` that races inside OpenSSL and can corrupt the connection or
crash the process (CPython issues gh-143756 and gh-151508). Here the TLS
state is an ``ssl.SSLObject`` over memory buffers, touched only under a
lock and only to encrypt or decrypt; waiting for the network happens on the
plain socket outside the lock, so a send never waits for a receive.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from typing import Final

__all__ = ["TlsStream"]

_CHUNK: Final = 1 << 16


class TlsStream:
    """A client TLS connection with the socket methods the subscriber uses.

    ``recv`` may run on one thread while ``sendall`` runs on another; each of
    them on one thread at a time.
    """

    def __init__(
        self,
        sock: socket.socket,
        tls: ssl.SSLObject,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
    ) -> None:
        self._sock = sock
        self._tls = tls
        self._incoming = incoming
        self._outgoing = outgoing
        self._lock = threading.Lock()

    @classmethod
    def connect(
        cls, sock: socket.socket, context: ssl.SSLContext, server_hostname: str
    ) -> TlsStream:
        """Run the TLS handshake over the connected ``sock`` (its timeout applies).

        Raises:
            ssl.SSLCertVerificationError: the server's certificate is not trusted
                or is not for ``server_hostname``.
            OSError: the handshake failed otherwise, or timed out.
        """
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = context.wrap_bio(incoming, outgoing, server_hostname=server_hostname)
        stream = cls(sock, tls, incoming, outgoing)
        stream._handshake()
        return stream

    def recv(self, size: int) -> bytes:
        """Up to ``size`` bytes of plaintext; b"" once the server has closed the connection."""
        while True:
            with self._lock:
                data = self._read(size)
            if data is not None:
                return data
            raw = self._sock.recv(max(size, _CHUNK))  # a timeout raises TimeoutError
            if not raw:
                return b""
            with self._lock:
                self._incoming.write(raw)

    def sendall(self, data: bytes) -> None:
        """Encrypt and send all of ``data``."""
        with self._lock:
            view = memoryview(data)
            while view:
                view = view[self._tls.write(view) :]
            self._flush()

    def settimeout(self, timeout: float | None) -> None:
        """The socket's timeout, for ``recv`` and ``sendall``."""
        self._sock.settimeout(timeout)

    def close(self) -> None:
        """Say close_notify if the connection still takes it, then close the socket."""
        with contextlib.suppress(OSError), self._lock:
            # unwrap() sends close_notify, then wants the server's, which is not awaited.
            with contextlib.suppress(ssl.SSLWantReadError):
                self._tls.unwrap()
            self._flush()
        self._sock.close()

    def _handshake(self) -> None:
        while True:
            try:
                self._tls.do_handshake()
            except ssl.SSLWantReadError:
                self._flush()
                raw = self._sock.recv(_CHUNK)
                if not raw:
                    raise ConnectionAbortedError(
                        "the server closed the connection during the TLS handshake"
                    ) from None
                self._incoming.write(raw)
            except ssl.SSLError:
                # Tell the server why (an alert), so that its log says it too.
                with contextlib.suppress(OSError):
                    self._flush()
                raise
            else:
                self._flush()
                return

    def _read(self, size: int) -> bytes | None:
        """Plaintext already received (up to ``size`` bytes); None if there is none yet."""
        chunks: list[bytes] = []
        try:
            while size > 0:
                chunk = self._tls.read(size)
                if not chunk:  # the server's close_notify
                    break
                chunks.append(chunk)
                size -= len(chunk)
        except ssl.SSLWantReadError:
            if not chunks:
                return None
        finally:
            # Reading may have produced records to send back (a TLS 1.3 key update).
            self._flush()
        return b"".join(chunks)

    def _flush(self) -> None:
        if self._outgoing.pending:
            self._sock.sendall(self._outgoing.read())
