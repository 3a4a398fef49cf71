"""The embedded database's directory and files are readable by their owner only."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from signalight.adapters.sql.engine import make_engine
from signalight.container import build
from signalight.settings import Settings


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def lax_umask() -> Iterator[None]:
    """The common default umask, under which new files are world-readable."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.mark.usefixtures("lax_umask")
def test_a_new_database_and_its_directory_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "data" / "signalight.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE secrets (value TEXT)"))
            conn.execute(text("INSERT INTO secrets VALUES ('webhook secret')"))
        # The connection is still pooled, so the write-ahead log and its index exist.
        files = [path, path.with_name("signalight.db-wal"), path.with_name("signalight.db-shm")]
        assert all(f.exists() for f in files)
        assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
        assert _mode(path.parent) == 0o700
    finally:
        engine.dispose()


@pytest.mark.usefixtures("lax_umask")
def test_existing_files_are_made_owner_only_on_start(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    path = tmp_path / "signalight.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    wal, shm = path.with_name("signalight.db-wal"), path.with_name("signalight.db-shm")
    for f in (path, wal, shm):
        f.chmod(0o644)  # as an earlier version left them
    # A crash leaves the WAL behind; the next start opens the files again.
    make_engine(f"sqlite:///{path}").dispose()
    engine.dispose()
    assert _mode(path) == 0o600
    # A log the checkpoint on close removed is simply not there.
    assert all(_mode(f) == 0o600 for f in (wal, shm) if f.exists())
    # A directory that existed before may hold other things: the engine leaves it.
    assert _mode(tmp_path) == 0o755


@pytest.mark.usefixtures("lax_umask")
def test_a_new_log_takes_the_database_files_mode(tmp_path: Path) -> None:
    path = tmp_path / "signalight.db"
    path.touch(mode=0o644)
    path.chmod(0o644)
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
        assert _mode(path) == 0o600
        assert _mode(path.with_name("signalight.db-wal")) == 0o600
        assert _mode(path.with_name("signalight.db-shm")) == 0o600
    finally:
        engine.dispose()


@pytest.mark.usefixtures("lax_umask")
def test_the_data_directory_is_made_owner_only_on_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    container = build(Settings(data_dir=data, database_url=""))
    container.close()
    assert _mode(data) == 0o700
    assert _mode(data / "signalight.db") == 0o600
