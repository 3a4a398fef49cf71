"""Mosquitto's password and ACL files as Signalight writes them, checked with mosquitto_passwd."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from signalight.adapters.mosquitto import (
    DEFAULT_ITERATIONS,
    acl_file,
    check_username,
    hash_password,
    password_file,
    verify_device_secret,
    verify_password,
)

HASH_RE = re.compile(r"^\$7\$(\d+)\$([A-Za-z0-9+/]{16})\$([A-Za-z0-9+/]{86}==)$")


def mosquitto_passwd(tmp_path: Path, username: str, password: str) -> str:
    """The hash that the real mosquitto_passwd writes for a password."""
    tool = shutil.which("mosquitto_passwd")
    if tool is None:
        pytest.fail("Mosquitto is needed: apt-get install mosquitto", pytrace=False)
    path = tmp_path / "passwd"
    subprocess.run([tool, "-c", "-b", str(path), username, password], check=True)  # noqa: S603
    name, _, hashed = path.read_text().strip().partition(":")
    assert name == username
    return hashed


def test_hash_has_mosquittos_format() -> None:
    hashed = hash_password("a secret of the device")
    match = HASH_RE.match(hashed)
    assert match is not None, hashed
    assert int(match[1]) == DEFAULT_ITERATIONS
    assert len(base64.b64decode(match[2])) == 12
    assert len(base64.b64decode(match[3])) == 64
    # A fresh salt each time: the same secret never hashes the same twice.
    assert hash_password("a secret of the device") != hashed


@pytest.mark.parametrize("password", ["plain", "with spaces and ünïcode", "x" * 200])
def test_mosquitto_passwd_hashes_verify_and_reproduce(tmp_path: Path, password: str) -> None:
    stored = mosquitto_passwd(tmp_path, "ipoh/SL-1", password)
    assert verify_password(stored, password)
    assert not verify_password(stored, password + "!")
    # Same salt and rounds give mosquitto_passwd's exact line: the formats agree.
    _, _, rounds, salt, _ = stored.split("$")
    assert hash_password(password, iterations=int(rounds), salt=base64.b64decode(salt)) == stored


def test_other_iteration_counts_verify() -> None:
    stored = hash_password("s3cret", iterations=1000)
    assert stored.startswith("$7$1000$")
    assert verify_password(stored, "s3cret")


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "plain",
        "$6$c2FsdA==$aGFzaA==",  # Mosquitto 1.x SHA-512, no PBKDF2: not issued by us
        "$7$0$AAAAAAAAAAAAAAAA$" + "A" * 86 + "==",
        "$7$99999999$AAAAAAAAAAAAAAAA$" + "A" * 86 + "==",
        "$7$101$short$" + "A" * 86 + "==",
        "$7$101$AAAAAAAAAAAAAAAA$notbase64!",
        "$7$101$AAAAAAAAAAAAAAAA$" + "A" * 40,
        "$7$x$AAAAAAAAAAAAAAAA$" + "A" * 86 + "==",
    ],
)
def test_malformed_hashes_never_verify(stored: str) -> None:
    assert not verify_password(stored, "anything")


def test_device_secrets() -> None:
    stored = hash_password("device-secret")
    assert verify_device_secret(stored, "device-secret")
    assert not verify_device_secret(stored, "device-secreT")
    assert not verify_device_secret(None, "device-secret")  # no credentials issued
    assert not verify_device_secret(stored, "")
    assert not verify_device_secret(stored, "x" * 10_000)  # refused before hashing


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="12-byte"):
        hash_password("s", salt=b"short")
    with pytest.raises(ValueError, match="iterations"):
        hash_password("s", iterations=0)


def test_password_file_lines_are_sorted() -> None:
    b, a = hash_password("b"), hash_password("a")
    text = password_file([("ipoh/B", b), ("ipoh/A", a), ("signalight-ingest", b)])
    assert text == f"ipoh/A:{a}\nipoh/B:{b}\nsignalight-ingest:{b}\n"
    assert password_file([]) == ""


@pytest.mark.parametrize("username", ["", "a:b", "a+b", "#", " lead", "new\nline"])
def test_usernames_mosquitto_cannot_hold_are_refused(username: str) -> None:
    with pytest.raises(ValueError, match="username"):
        check_username(username)
    with pytest.raises(ValueError, match="username"):
        password_file([(username, hash_password("x"))])


def test_password_file_refuses_foreign_hashes() -> None:
    with pytest.raises(ValueError, match=r"\$7\$"):
        password_file([("ipoh/A", "not-a-hash")])


def test_pattern_acl() -> None:
    assert acl_file("signalight-ingest") == (
        "# Written by `signalight device broker-files`; changes here are overwritten.\n"
        "# Each device may publish only to its own up, status and ack topics\n"
        "# and read only its own down topic.\n"
        "pattern write signalight/%u/up\n"
        "pattern write signalight/%u/status\n"
        "pattern write signalight/%u/ack\n"
        "pattern read signalight/%u/down\n"
        "\n"
        "# The ingest service: every device topic in, commands out.\n"
        "user signalight-ingest\n"
        "topic read signalight/#\n"
        "topic write signalight/+/+/down\n"
    )


def test_per_device_acl() -> None:
    text = acl_file("ingest", ["ipoh/B", "ipoh/A"])
    assert "pattern" not in text
    assert (
        "user ipoh/A\n"
        "topic write signalight/ipoh/A/up\n"
        "topic write signalight/ipoh/A/status\n"
        "topic write signalight/ipoh/A/ack\n"
        "topic read signalight/ipoh/A/down\n"
        "\n"
        "user ipoh/B\n"
    ) in text
    # The ingest account's block comes last, so no device line falls under it.
    assert text.endswith("user ingest\ntopic read signalight/#\ntopic write signalight/+/+/down\n")
    with pytest.raises(ValueError, match="username"):
        acl_file("ingest", ["ipoh/+"])
