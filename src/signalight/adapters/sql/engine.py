"""Engines for the two supported backends, tuned for each."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import stat
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
# The files SQLite keeps beside a database: the write-ahead log and its index,
# and the rollback journal (VACUUM, or a database not in WAL mode).
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def normalise_url(url: str) -> str:
    """Pin the driver: ``postgresql://`` means psycopg 3 here."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get WAL mode and enforced foreign keys."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            make_private(Path(database))
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def make_private(database: Path) -> None:
    """Make a SQLite database file and the files beside it readable by their owner only.

    The database holds webhook secrets in plain text (docs/operations.md). A
    missing directory is made with mode 0700; a directory that exists is the
    operator's and is left as it is. A missing database file is made empty
    with mode 0600, as SQLite gives its write-ahead log and index the mode
    of the database file; an existing database and its side files are set
    to 0600, so that a database an earlier version left world-readable is
    closed on the next start. Modes are given to ``os.open`` and ``chmod``
    rather than by changing the umask, which is the whole process's and
    would race with other threads.
    """
    if not database.parent.exists():
        database.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        database.parent.chmod(PRIVATE_DIR)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    for path in (database, *(database.with_name(database.name + s) for s in SQLITE_SIDE_FILES)):
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode != PRIVATE_FILE:
                path.chmod(PRIVATE_FILE)
                log.info("%s was mode %o; made it %o", path, mode, PRIVATE_FILE)
        except FileNotFoundError:
            continue
        except OSError as exc:
            # Another user's file: SQLite reports whether it can open it.
            log.warning("cannot make %s private: %s", path, exc.strerror or exc)


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:  # noqa: ANN401 (DBAPI)
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    # 16 KiB pages (SQLite's default is 4): ingest's batch of readings costs
    # a sixth less to insert, measured. It takes effect only where the file
    # is new; an existing database keeps its pages until a VACUUM.
    cursor.execute("PRAGMA page_size=16384")
    # WAL lets the API read while ingest writes; NORMAL sync is durable across
    # process crashes (only a power cut can lose the last commits).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # 64 MiB of page cache keeps the asset indexes in memory during bulk imports.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def describe(engine: Engine) -> str:
    """The engine's URL with any password hidden, for logs and the CLI."""
    return engine.url.render_as_string(hide_password=True)
