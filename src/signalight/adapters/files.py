"""Files written whole or not at all, with the permissions asked for: broker files and secrets."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable
from pathlib import Path

from signalight.domain.errors import ConflictError, StorageError

log = logging.getLogger(__name__)

PRIVATE = 0o600  # owner read and write only: secrets and password hashes
PUBLIC = 0o644  # anyone may read: the ACL
PRIVATE_DIR = 0o700  # the data directory: the database and the broker's secrets


def write_atomically(path: Path, text: str, mode: int) -> None:
    """Replace ``path`` with ``text`` so that a reader sees the old file or the new, never half.

    A broker reloading on SIGHUP while this runs reads one or the other. The
    new file gets ``mode`` whatever the umask says.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from exc


def create_private(path: Path) -> int:
    """Open a new file readable by its owner only; ConflictError if it exists already.

    Returns:
        The open file descriptor, for writing.
    """
    try:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE)
    except FileExistsError:
        raise ConflictError(f"{path} exists already; it may hold earlier secrets") from None
    except OSError as exc:
        raise StorageError(f"cannot create {path}: {exc.strerror or exc}") from exc


def read_or_create_secret(path: Path, make: Callable[[], str]) -> tuple[str, bool]:
    """The secret kept in ``path``, made and written (mode 0600) on first use.

    Returns:
        The secret, and whether it was made just now.
    """
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    else:
        if not secret:
            raise StorageError(f"{path} is empty; delete it to make a new secret")
        return secret, False
    secret = make()
    if not path.parent.exists():
        path.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    fd = create_private(path)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret + "\n")
    return secret, True


def make_private_dir(path: Path) -> None:
    """Close a directory of ours to everyone but its owner, if it exists and is open.

    Only a directory this process's user owns is changed: another's is left to
    its owner, and SQLite or the secret files then say what they cannot read.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if info.st_uid != os.getuid() or info.st_mode & 0o077 == 0:
        return
    try:
        path.chmod(PRIVATE_DIR)
    except OSError as exc:
        raise StorageError(f"cannot make {path} private: {exc.strerror or exc}") from exc
    log.info("%s was open to other users; made it mode %o", path, PRIVATE_DIR)
