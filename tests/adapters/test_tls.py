"""TLS client contexts: verification always on, TLS 1.2 at least, bad files refused clearly."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from signalight.adapters.tls import client_context
from signalight.domain.errors import InvalidInputError
from tests.pki import Authority


@pytest.fixture
def ca(tmp_path: Path) -> Authority:
    return Authority.create(tmp_path)


@pytest.mark.parametrize("with_ca", [True, False])
def test_the_servers_certificate_and_name_are_always_checked(ca: Authority, with_ca: bool) -> None:
    context = client_context(ca.cert if with_ca else None)
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.minimum_version is ssl.TLSVersion.TLSv1_2


def test_a_ca_file_is_the_only_trust(ca: Authority) -> None:
    context = client_context(ca.cert)
    assert [str(cert["subject"]) for cert in context.get_ca_certs()] == [
        "((('commonName', 'Signalight test CA'),),)"
    ]


def test_a_client_certificate_with_its_key_loads(ca: Authority) -> None:
    pair = ca.client("ingest")
    client_context(ca.cert, pair.cert, pair.key)
    both = pair.cert.parent / "both.pem"
    both.write_bytes(pair.cert.read_bytes() + pair.key.read_bytes())
    client_context(ca.cert, both)  # the key in the certificate's file


def test_bad_files_are_refused_with_the_file_named(ca: Authority, tmp_path: Path) -> None:
    pair = ca.client("ingest")
    other = ca.client("other")
    missing = tmp_path / "missing.pem"
    # (what the message says, the file it names, the files given)
    cases: list[tuple[str, Path, tuple[Path | None, ...]]] = [
        ("no such file", missing, (missing,)),
        ("NO_CERTIFICATE", pair.key, (pair.key,)),
        ("KEY_VALUES_MISMATCH", other.key, (ca.cert, pair.cert, other.key)),
        ("not a PEM certificate with its key", pair.cert, (ca.cert, pair.cert)),
    ]
    for expected, named, files in cases:
        with pytest.raises(InvalidInputError) as caught:
            client_context(*files)
        assert expected.lower() in str(caught.value).lower(), (expected, caught.value)
        assert str(named) in str(caught.value)
    with pytest.raises(InvalidInputError, match="without its certificate"):
        client_context(ca.cert, None, pair.key)


def test_an_encrypted_key_is_refused_rather_than_prompted_for(ca: Authority) -> None:
    pair = ca.client("ingest")
    key = serialization.load_pem_private_key(pair.key.read_bytes(), None)
    pair.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    with pytest.raises(InvalidInputError, match="encrypted"):
        client_context(ca.cert, pair.cert, pair.key)
