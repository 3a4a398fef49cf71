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
