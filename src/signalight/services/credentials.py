"""Devices' MQTT credentials: issued once in clear, kept as hashes, read back for the broker."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from signalight.domain.cities import City
from signalight.domain.errors import ConflictError, InvalidInputError, NotFoundError
from signalight.domain.topics import device_username
from signalight.ports import AssetRepository, DeviceCredentialStore

log = logging.getLogger(__name__)

SECRET_BYTES = 24  # 192 random bits, 32 URL-safe characters

HashSecret = Callable[[str], str]


def new_secret() -> str:
    """A fresh random password for a device or a service account, never beginning with '-'."""
    # One token in 64 begins with '-': a spreadsheet opening the credentials CSV would run it
    # as a formula (and escaping it there would change the password), and a command line
    # would take it for an option. Drawing again costs under 1% of the key space.
    while True:
        secret = secrets.token_urlsafe(SECRET_BYTES)
        if not secret.startswith("-"):
            return secret


@dataclass(frozen=True, slots=True)
class IssuedCredential:
    """One device's new credentials, to be shown to the operator once."""

    device: str
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class IssueResult:
    """What one run of :meth:`CredentialService.issue` did."""

    issued: list[IssuedCredential]
    # Devices that kept their credentials (no rotation asked for).
    kept: int = 0
    # Device ids that no MQTT username can hold, with the reason.
    refused: list[str] = field(default_factory=list)


class CredentialService:
    """Issues per-device secrets and lists the stored hashes for the broker's files.

    ``hash_secret`` turns a secret into its stored form; the composition root
    passes the broker's own format, so the broker and the HTTP ingest check
    the same hash.
    """

    def __init__(
        self, devices: AssetRepository, store: DeviceCredentialStore, hash_secret: HashSecret
    ) -> None:
        self._devices = devices
        self._store = store
        self._hash = hash_secret

    def issue(self, city: City, device: str | None = None, *, rotate: bool = False) -> IssueResult:
        """New credentials for one device, or for every device of the city.

        Without ``rotate`` only devices that have none get them, and naming
        one that has them is a ConflictError; with it, the old ones stop
        working as soon as the broker reloads its password file. All hashes
        are stored in one transaction before any secret is returned.
        """
        have = {uid for _, uid, _ in self._store.credentials(city.pk)}
        if device is not None:
            self._devices.get_device(city.pk, device)  # NotFoundError if it is not there
            if device in have and not rotate:
                raise ConflictError(
                    f"device {device!r} has credentials already; rotate them to replace them"
                )
            wanted = [device]
        else:
            wanted = sorted(self._devices.existing_devices(city.pk))
        todo = [uid for uid in wanted if rotate or uid not in have]
        issued: list[IssuedCredential] = []
        refused: list[str] = []
        for uid in todo:
            try:
                username = device_username(city.slug, uid)
            except ValueError as exc:
                refused.append(f"{uid}: {exc}")
                continue
            issued.append(IssuedCredential(uid, username, new_secret()))
        if device is not None and refused:
            raise InvalidInputError(refused[0])
        self._store.set_credentials(city.pk, {c.device: self._hash(c.password) for c in issued})
        log.info(
            "issued MQTT credentials to %s devices of %s (%s rotated)",
            len(issued),
            city.slug,
            sum(1 for c in issued if c.device in have),
        )
        return IssueResult(issued, kept=len(wanted) - len(todo), refused=refused)

    def revoke(self, city: City, device: str) -> None:
        """Take a device's credentials away; it is refused at its next connection."""
        if device not in {uid for _, uid, _ in self._store.credentials(city.pk)}:
            raise NotFoundError(f"device {device!r} of {city.slug!r} has no credentials")
        self._store.set_credentials(city.pk, {device: None})
        log.info("revoked the MQTT credentials of a device of %s", city.slug)

    def broker_entries(self) -> list[tuple[str, str]]:
        """``(username, hash)`` of every device of every city that has credentials."""
        entries = []
        for slug, uid, stored in self._store.credentials():
            try:
                entries.append((device_username(slug, uid), stored))
            except ValueError:
                # Stored before the rules changed; it cannot be written, so skip it loudly.
                log.warning("device %r of %s has credentials no broker file can hold", uid, slug)
        return entries
