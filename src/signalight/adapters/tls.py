"""TLS client contexts for the MQTT broker: the server's certificate always checked, TLS 1.2 up.

There is deliberately no switch that turns verification off: a client that
accepts any certificate sends its password to whoever answers. A broker
with a certificate from a private CA is trusted by giving that CA's
certificate.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import NoReturn

from signalight.domain.errors import InvalidInputError

__all__ = ["client_context"]


class _HandshakeClosingSocket(ssl.SSLSocket):
    """An ``SSLSocket`` that closes itself when its handshake fails.

    paho-mqtt drops the socket without closing it when the handshake fails
    (an untrusted certificate), leaving the descriptor to the garbage collector.
    """

    def do_handshake(self, block: bool = False) -> None:
        try:
            super().do_handshake(block)
        except OSError:
            self.close()
            raise


def client_context(
    ca: Path | None = None, cert: Path | None = None, key: Path | None = None
) -> ssl.SSLContext:
    """A client context that verifies the server's certificate and host name, TLS 1.2 or newer.

    Args:
        ca: A PEM file of the CA certificates to trust for the broker's
            certificate, instead of the system's; None trusts the system's
            CAs (a broker with a public certificate).
        cert: The client's certificate (PEM, its chain after it), for a
            broker that requires one; None presents none.
        key: The client certificate's private key (PEM, not encrypted); None
            when it is in the ``cert`` file.

    Raises:
        InvalidInputError: a file is missing or unreadable, is not what it
            should be, the key is encrypted, or it does not match the certificate.
    """
    if key is not None and cert is None:
        raise InvalidInputError("a client key was given without its certificate")
    # PROTOCOL_TLS_CLIENT requires a certificate and checks the host name (or
    # the IP address) against it; neither is ever turned off here.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.sslsocket_class = _HandshakeClosingSocket
    if ca is None:
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    else:
        try:
            context.load_verify_locations(cafile=ca)
        except OSError as exc:
            raise InvalidInputError(
                f"cannot load the CA certificates from {ca}: {_reason(exc)}"
            ) from exc
    if cert is not None:
        try:
            context.load_cert_chain(cert, key, password=_no_passphrase)
        except OSError as exc:
            files = f"{cert} and {key}" if key is not None else str(cert)
            raise InvalidInputError(
                f"cannot load the client certificate from {files}: {_reason(exc)}"
            ) from exc
    return context


def _no_passphrase() -> NoReturn:
    # Without a callback OpenSSL would ask for the passphrase on the terminal,
    # which hangs a service with no one to answer.
    raise InvalidInputError("the client key is encrypted: give a key file without a passphrase")


def _reason(exc: OSError) -> str:
    """What went wrong, without the C source location ssl adds."""
    reason = exc.reason if isinstance(exc, ssl.SSLError) else exc.strerror
    # OpenSSL's bare "PEM lib": the file holds no certificate or no key where expected.
    return str(reason or "not a PEM certificate with its key")
