"""Errors the domain and the services raise, mapped to HTTP and CLI at the edges."""


class SignalightError(Exception):
    """Base of every error that Signalight raises on purpose."""


class NotFoundError(SignalightError):
    """A city, asset, device or user does not exist (or is not visible to the caller)."""


class ConflictError(SignalightError):
    """The change would break a uniqueness or reference rule."""


class InvalidInputError(SignalightError):
    """Input that fails validation; the message says which field and why."""


class PermissionDeniedError(SignalightError):
    """The caller is authenticated but has no role that allows this."""


class AuthenticationError(SignalightError):
    """No valid credentials were given."""


class StorageError(SignalightError):
    """The database failed in a way the caller cannot fix by changing the input."""


class StorageUnavailableError(StorageError):
    """The database is away or busy (connection lost, lock timeout, disk full): try again later.

    Every other error of a write is about what was written, and writing the
    same thing again would fail the same way.
    """


class TooManyAttemptsError(SignalightError):
    """Too many failed logins lately: try again after ``retry_after_s`` seconds."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class BusyError(SignalightError):
    """The service is at its limit for this kind of work; try again in a moment."""
