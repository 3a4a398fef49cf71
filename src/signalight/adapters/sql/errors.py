"""Turning database driver exceptions into Signalight's own."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy.exc import (
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from signalight.domain.errors import ConflictError, StorageError, StorageUnavailableError


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Re-raise database errors from the block as Signalight's own.

    ConflictError for a broken constraint; StorageUnavailableError when the
    database is away or busy (the same call may work later: connection lost,
    lock timeout, disk full, no pooled connection free); StorageError for the
    rest, which the same input would meet again. Both SQLAlchemy's and the
    drivers' own: the bulk paths write through the driver's cursor (COPY,
    multi-row VALUES).
    """
    try:
        yield
    except (IntegrityError, sqlite3.IntegrityError, psycopg.IntegrityError) as exc:
        raise ConflictError(f"{what}: {_first_line(exc)}") from exc
    except (
        OperationalError,
        InterfaceError,
        sqlite3.OperationalError,
        psycopg.OperationalError,
        psycopg.InterfaceError,
    ) as exc:
        raise StorageUnavailableError(f"{what}: database unavailable ({_first_line(exc)})") from exc
    except PoolTimeoutError as exc:
        raise StorageUnavailableError(f"{what}: no database connection free ({exc})") from exc
    except (DBAPIError, sqlite3.Error, psycopg.Error) as exc:
        raise StorageError(f"{what}: {_first_line(exc)}") from exc


def _first_line(exc: Exception) -> str:
    cause = exc.orig if isinstance(exc, DBAPIError) else exc
    text = str(cause).strip()
    return text.splitlines()[0] if text else type(exc).__name__
