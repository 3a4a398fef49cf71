"""Guards password logins: a back-off per username and per address, and few hashes at once."""

from __future__ import annotations

import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar

from signalight.domain.errors import BusyError, TooManyAttemptsError
from signalight.domain.throttle import Backoff, Failures, after_failure, retry_after_s
from signalight.ports import Clock

log = logging.getLogger(__name__)


class LoginGuard:
    """Refuses logins after repeated failures, and keeps argon2 from taking every core.

    Failures are counted per username (known or not, so the answer does not
    tell which exist) and per client address, in this process's memory: a
    restart forgives them, and each ``serve`` process counts its own. A
    refused attempt is not checked, so it costs no hash and adds no failure;
    a success clears its username's count (not its address's, so an attacker
    cannot reset the address's count with an account of their own).
    """

    # Five tries for a mistyped password, then 1 s, 2 s, 4 s ... up to 15 minutes:
    # a guesser gets some hundred tries a day at a name.
    PER_USER: ClassVar[Backoff] = Backoff(
        free_failures=5, first_wait_s=1.0, max_wait_s=900.0, forget_after_s=3600.0
    )
    # More room per address, as many people may share one (an office's NAT).
    PER_ADDRESS: ClassVar[Backoff] = Backoff(
        free_failures=20, first_wait_s=1.0, max_wait_s=900.0, forget_after_s=3600.0
    )
    # Enough for every address of a large attack, in a few tens of MB at most.
    MAX_KEYS: ClassVar[int] = 100_000

    def __init__(self, clock: Clock, *, concurrent_hashes: int = 1) -> None:
        self._clock = clock
        self._failures: OrderedDict[str, Failures] = OrderedDict()
        self._lock = threading.Lock()
        self._hashes = threading.BoundedSemaphore(concurrent_hashes)

    def check(self, username: str, address: str) -> None:
        """TooManyAttemptsError if the user or the address must wait before trying again."""
        now = self._clock.now().timestamp()
        with self._lock:
            wait = max(
                retry_after_s(self.PER_USER, self._failures.get(_user_key(username)), now),
                retry_after_s(self.PER_ADDRESS, self._failures.get(_address_key(address)), now),
            )
        if wait > 0:
            # Whole seconds, as Retry-After says them; never 0, which reads as "now".
            seconds = max(1.0, float(math.ceil(wait)))
            raise TooManyAttemptsError(
                f"too many failed logins; try again in {seconds:.0f} s", seconds
            )

    def failed(self, username: str, address: str) -> None:
        """Count a failed attempt against the username and the address."""
        now = self._clock.now().timestamp()
        with self._lock:
            for key, policy, what in (
                # Never the name typed: people type their password there by mistake.
                (_user_key(username), self.PER_USER, "a username"),
                (_address_key(address), self.PER_ADDRESS, f"address {address}"),
            ):
                self._failures[key] = after_failure(policy, self._failures.pop(key, None), now)
                if self._failures[key].count == policy.free_failures + 1:
                    log.warning("logins held back for %s after repeated failures", what)
            while len(self._failures) > self.MAX_KEYS:
                # The least recently failed key goes first (keys move to the end on failure).
                self._failures.popitem(last=False)

    def succeeded(self, username: str) -> None:
        """Clear the username's failures after a right password."""
        with self._lock:
            self._failures.pop(_user_key(username), None)

    @contextmanager
    def hashing(self) -> Iterator[None]:
        """Hold one of the few slots for a password hash; BusyError at once if none is free.

        argon2 takes a core for some 150 ms. Waiting for a slot would hold a
        worker thread of the server per waiting request, so a flood would
        still starve every other route; refusing costs nothing.
        """
        if not self._hashes.acquire(blocking=False):
            raise BusyError("too many logins at once; try again in a moment")
        try:
            yield
        finally:
            self._hashes.release()


def _user_key(username: str) -> str:
    return "u:" + username


def _address_key(address: str) -> str:
    return "a:" + address
