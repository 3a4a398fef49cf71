"""Back-off after failed attempts: how long the next attempt must wait, as plain arithmetic."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """A back-off policy: some failures are free, then each doubles the wait, up to a ceiling."""

    free_failures: int  # failures in a row that cost no wait
    first_wait_s: float  # the wait after the first failure beyond them
    max_wait_s: float  # the longest wait
    forget_after_s: float  # failures are forgotten this long after the last one

    def wait_s(self, failures: int) -> float:
        """How long after the last of ``failures`` failures the next attempt must wait."""
        beyond = failures - self.free_failures
        if beyond <= 0:
            return 0.0
        # Capping the exponent first keeps the float in range for any count.
        return min(self.first_wait_s * 2.0 ** min(beyond - 1, 64), self.max_wait_s)


@dataclass(frozen=True, slots=True)
class Failures:
    """Failed attempts in a row under one key (a username, an address)."""

    count: int
    last_at: float  # UTC epoch seconds of the latest


def retry_after_s(policy: Backoff, failures: Failures | None, now: float) -> float:
    """Seconds until an attempt may be made; 0 when it may be made now."""
    if failures is None or now - failures.last_at >= policy.forget_after_s:
        return 0.0
    return max(0.0, failures.last_at + policy.wait_s(failures.count) - now)


def after_failure(policy: Backoff, failures: Failures | None, now: float) -> Failures:
    """The failures under a key once one more attempt has failed at ``now``."""
    if failures is None or now - failures.last_at >= policy.forget_after_s:
        return Failures(1, now)
    return Failures(failures.count + 1, now)
