"""Turning database driver exceptions into Signalight's own."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from signalight.domain.errors import ConflictError, StorageError


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Re-raise database errors from the block as ConflictError or StorageError.

    Both SQLAlchemy's and the drivers' own: the bulk paths write through the
    driver's cursor (COPY, multi-row VALUES).
    """
    try:
        yield
    except (IntegrityError, sqlite3.IntegrityError, psycopg.IntegrityError) as exc:
        raise ConflictError(f"{what}: {_first_line(exc)}") from exc
    except (OperationalError, sqlite3.OperationalError, psycopg.OperationalError) as exc:
        raise StorageError(f"{what}: database unavailable ({_first_line(exc)})") from exc
    except (DBAPIError, sqlite3.Error, psycopg.Error) as exc:
        raise StorageError(f"{what}: {_first_line(exc)}") from exc


def _first_line(exc: Exception) -> str:
    cause = exc.orig if isinstance(exc, DBAPIError) else exc
    text = str(cause).strip()
    return text.splitlines()[0] if text else type(exc).__name__
