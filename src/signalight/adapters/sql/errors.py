"""Turning database driver exceptions into Signalight's own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from signalight.domain.errors import ConflictError, StorageError


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Re-raise SQLAlchemy errors from the block as ConflictError or StorageError."""
    try:
        yield
    except IntegrityError as exc:
        raise ConflictError(f"{what}: {_first_line(exc)}") from exc
    except OperationalError as exc:
        raise StorageError(f"{what}: database unavailable ({_first_line(exc)})") from exc
    except DBAPIError as exc:
        raise StorageError(f"{what}: {_first_line(exc)}") from exc


def _first_line(exc: DBAPIError) -> str:
    return str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
