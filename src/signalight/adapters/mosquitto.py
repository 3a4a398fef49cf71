"""Mosquitto's password file and ACL file, written from Signalight's device credentials.

Pure functions over strings: nothing here touches a socket or a file. The
hashes are in Mosquitto's own ``$7$`` format (PBKDF2-HMAC-SHA512, a 12-byte
salt and a 64-byte digest, both in standard base64), the one that
``mosquitto_passwd`` writes for Mosquitto 2, so the broker and (later) the
HTTP ingest check a device's secret against the same stored value.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Iterable

from signalight.domain.topics import INGEST_USER, TOPIC_ROOT, Channel, ingest_username

HASH_TYPE = "7"  # Mosquitto's name for PBKDF2-HMAC-SHA512
SALT_BYTES = 12  # what Mosquitto 2 writes, and the only length it reads
DIGEST_BYTES = 64  # SHA-512
# Every secret Signalight issues is 192 random bits (secrets.token_urlsafe(24)),
# which no iteration count makes any harder or easier to guess: stretching
# only helps secrets people choose. The count is paid on every check instead:
# by the single-threaded broker for each CONNECT (20,000 devices reconnecting
# after a broker restart cost 1.2 s of its time at 101 rounds, 11 s at 1,000)
# and by the HTTP ingest for each request (0.06 ms at 101, 0.56 ms at 1,000,
# measured). So the count is mosquitto_passwd's own default.
DEFAULT_ITERATIONS = 101
MAX_ITERATIONS = 1_000_000  # a stored hash above this is refused, not computed
MAX_SECRET = 256  # longer secrets are refused before any hashing
# What a device may do with each of its own topics.
_ACCESS = (
    (Channel.UP, "write"),
    (Channel.STATUS, "write"),
    (Channel.ACK, "write"),
    (Channel.DOWN, "read"),
)
# Mosquitto splits a password-file line at the first ':', and an ACL line
# ends at the line break; usernames with these could not be written.
_FORBIDDEN_IN_USERNAME = frozenset(":\n\r\x00+#")


def hash_password(
    secret: str, *, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None
) -> str:
    """The ``$7$`` hash of ``secret``, as ``mosquitto_passwd`` writes it.

    Args:
        secret: the password in clear.
        iterations: PBKDF2 rounds, at least 1.
        salt: 12 bytes; a fresh random salt when left out (tests pass one).

    Returns:
        ``$7$<iterations>$<base64 salt>$<base64 digest>``.
    """
    if not 1 <= iterations <= MAX_ITERATIONS:
        raise ValueError(f"iterations must be 1-{MAX_ITERATIONS}")
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    if len(salt) != SALT_BYTES:
        raise ValueError(f"Mosquitto reads only {SALT_BYTES}-byte salts")
    digest = hashlib.pbkdf2_hmac("sha512", secret.encode(), salt, iterations)
    return f"${HASH_TYPE}${iterations}${_b64(salt)}${_b64(digest)}"


def verify_password(stored: str, secret: str) -> bool:
    """Whether ``secret`` matches a ``$7$`` hash; False for any malformed hash."""
    parsed = _parse(stored)
    if parsed is None or len(secret) > MAX_SECRET:
        return False
    iterations, salt, expected = parsed
    digest = hashlib.pbkdf2_hmac("sha512", secret.encode(), salt, iterations)
    return hmac.compare_digest(digest, expected)


def verify_device_secret(stored_hash: str | None, secret: str) -> bool:
    """Whether a device's secret (its MQTT password, also its HTTP token) is right.

    A device without credentials (``stored_hash`` None) never verifies.
    """
    if stored_hash is None or not secret:
        return False
    return verify_password(stored_hash, secret)


def password_file(entries: Iterable[tuple[str, str]]) -> str:
    """A Mosquitto ``password_file``: one ``username:hash`` line per entry, by username."""
    lines = []
    for username, hashed in sorted(entries):
        check_username(username)
        if _parse(hashed) is None:
            raise ValueError(f"the stored hash of {username!r} is not a $7$ hash")
        lines.append(f"{username}:{hashed}\n")
    return "".join(lines)


def acl_file(
    ingest_user: str = INGEST_USER,
    devices: Iterable[str] | None = None,
    *,
    workers: int = 1,
    simulator: str | None = None,
    commands: str | None = None,
) -> str:
    """A Mosquitto ``acl_file``: each device under its own topics, the ingest account over all.

    A device's username is ``{city}/{device}``, which is also the middle of
    its topics, so four ``pattern`` lines with ``%u`` cover every device and
    the file need not change when devices are added. Mosquitto 2.0 lets a
    ``%u`` that holds a ``/`` span two topic levels; Mosquitto 2.1 denies
    such a match (eclipse-mosquitto issue 3520, open). For 2.1, pass
    ``devices`` (their usernames) to get the same rules as one ``user``
    block per device instead; Mosquitto 2.0 reads that form in time that
    grows with the square of the device count (4 s for 20,000, measured).

    Args:
        ingest_user: the service account that reads every device topic and
            writes commands.
        devices: usernames for explicit per-device blocks; None for patterns.
        workers: how many ingest workers read the topics, each with its own
            account (see ``ingest_username``).
        simulator: an account that may publish as any device: for test and
            demo brokers only, never one that real devices use.
        commands: the command service's account (``signalight-commands``):
            writes every ``down`` topic and the LoRaWAN network servers'
            downlink topics, reads every ``ack`` and their downlink events.
    """
    check_username(ingest_user)
    root = TOPIC_ROOT
    lines = [
        "# Written by `signalight device broker-files`; changes here are overwritten.",
        "# Each device may publish only to its own up, status and ack topics",
        "# and read only its own down topic.",
    ]
    if devices is None:
        lines += [f"pattern {access} {root}/%u/{channel}" for channel, access in _ACCESS]
    else:
        for username in sorted(devices):
            check_username(username)
            lines += ["", f"user {username}"]
            lines += [f"topic {access} {root}/{username}/{channel}" for channel, access in _ACCESS]
    for worker in range(1, workers + 1):
        lines += [
            "",
            "# The ingest service: every device topic in, commands out.",
            f"user {check_username(ingest_username(ingest_user, worker))}",
            f"topic read {root}/#",
            f"topic write {root}/+/+/{Channel.DOWN}",
        ]
    if commands is not None:
        lines += [
            "",
            "# The command service: commands out, answers in (docs/protocol.md, Commands).",
            f"user {check_username(commands)}",
            f"topic write {root}/+/+/{Channel.DOWN}",
            f"topic read {root}/+/+/{Channel.ACK}",
            "topic write application/+/device/+/command/down",
            "topic read application/+/device/+/event/ack",
            "topic read application/+/device/+/event/txack",
            "topic write v3/+/devices/+/down/push",
            "topic read v3/+/devices/+/down/ack",
            "topic read v3/+/devices/+/down/nack",
            "topic read v3/+/devices/+/down/failed",
        ]
    if simulator is not None:
        lines += [
            "",
            "# The fleet simulator, which speaks for every device. Test brokers only.",
            f"user {check_username(simulator)}",
            f"topic write {root}/+/+/{Channel.UP}",
            f"topic write {root}/+/+/{Channel.STATUS}",
        ]
    return "\n".join(lines) + "\n"


def check_username(username: str) -> str:
    """Return ``username`` if Mosquitto's files can hold it, else raise ValueError."""
    if not username or username != username.strip() or _FORBIDDEN_IN_USERNAME & set(username):
        raise ValueError(f"{username!r} cannot be a Mosquitto username")
    return username


def _parse(stored: str) -> tuple[int, bytes, bytes] | None:
    parts = stored.split("$")
    if len(parts) != 5 or parts[0] or parts[1] != HASH_TYPE:  # noqa: PLR2004 ('', '7', n, salt, digest)
        return None
    try:
        iterations = int(parts[2])
        salt = base64.b64decode(parts[3], validate=True)
        digest = base64.b64decode(parts[4], validate=True)
    except (ValueError, binascii.Error):
        return None
    if not 1 <= iterations <= MAX_ITERATIONS:
        return None
    if len(salt) != SALT_BYTES or len(digest) != DIGEST_BYTES:
        return None
    return iterations, salt, digest


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
