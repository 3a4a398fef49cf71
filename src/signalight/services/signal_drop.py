"""A watched drop directory of controller logs: each file taken once it is whole, then put aside.

Controllers, or the scripts that fetch their logs (FTP from an Econolite
ASC/3, the MAXTIME HTTP API), drop files into a directory. A file is taken
once its size and time have stood still between two looks, so one being
written is never read half-way; files whose names start with a dot or end
in ``.part``/``.tmp`` are left alone. Then it is moved to ``done/``, or to
``refused/`` with ``<name>.reason.txt`` beside it: kept, like a dead letter,
and recorded with its reason (``signalight signals files``).

With a city given, the directory holds that city's files; without, each
city's files are in a folder named by its slug. A failing database leaves
the file where it is, to be taken at a later look: nothing is lost, and
nothing stops the watcher.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from signalight.domain.errors import NotFoundError, StorageError
from signalight.domain.signals import LogFile, LogStatus

if TYPE_CHECKING:
    from signalight.domain.cities import City
    from signalight.services.signal_logs import SignalLogs

__all__ = ["DropDirectory"]

log = logging.getLogger(__name__)

DONE: Final = "done"
REFUSED: Final = "refused"
_SKIPPED_SUFFIXES: Final = (".part", ".tmp", ".reason.txt")


@dataclass(frozen=True, slots=True)
class _Seen:
    size: int
    mtime: float


class DropDirectory:
    """Watches a directory and takes each log file dropped into it."""

    def __init__(
        self,
        logs: SignalLogs,
        root: Path,
        find_city: Callable[[str], City],
        *,
        city: str | None = None,
        report: Callable[[City, LogFile], None] | None = None,
    ) -> None:
        self._logs = logs
        self._root = root
        self._find_city = find_city
        self._city = city
        self._report = report or (lambda _city, _log: None)
        self._seen: dict[Path, _Seen] = {}
        self.taken = 0
        self.refused = 0

    def run(self, stop: threading.Event, every: float = 2.0) -> None:
        """Look every ``every`` seconds until ``stop`` is set."""
        while not stop.is_set():
            try:
                self.look()
            except Exception:  # a bug must not stop the watcher: say it, look again
                log.exception("looking at %s failed; looking again", self._root)
            stop.wait(every)

    def look(self) -> int:
        """Take every file that has stood still since the last look; returns how many."""
        taken = 0
        for folder, slug in self._folders():
            for path in sorted(folder.iterdir()):
                if self._ready(path) and self._take(path, slug):
                    taken += 1
        return taken

    def _folders(self) -> list[tuple[Path, str]]:
        if self._city is not None:
            return [(self._root, self._city)]
        return [
            (folder, folder.name)
            for folder in sorted(self._root.iterdir())
            if folder.is_dir() and not folder.name.startswith(".")
        ]

    def _ready(self, path: Path) -> bool:
        name = path.name
        if name.startswith(".") or name.endswith(_SKIPPED_SUFFIXES) or not path.is_file():
            return False
        stat = path.stat()
        now = _Seen(stat.st_size, stat.st_mtime)
        before = self._seen.get(path)
        self._seen[path] = now
        return before == now

    def _take(self, path: Path, slug: str) -> bool:
        try:
            city = self._find_city(slug)
        except NotFoundError:
            if self._seen.pop(path, None) is not None:
                log.warning("%s: no city %r; the file is left where it is", path, slug)
            return False
        try:
            outcome = self._logs.take_path(city, path)
        except StorageError as exc:  # the database is away: take it at a later look
            log.warning("%s: not stored (%s); trying again", path.name, exc)
            self._seen.pop(path, None)
            return False
        self._seen.pop(path, None)
        self.taken += 1
        if outcome.status is LogStatus.REFUSED:
            self.refused += 1
            aside = _move(path, path.parent / REFUSED)
            aside.with_name(aside.name + ".reason.txt").write_text(outcome.reason + "\n")
            log.warning("%s refused: %s", path.name, outcome.reason)
        else:
            _move(path, path.parent / DONE)
        self._report(city, outcome)
        return True


def _move(path: Path, folder: Path) -> Path:
    """Move ``path`` into ``folder``, never over another file of the same name."""
    folder.mkdir(exist_ok=True)
    target = folder / path.name
    if target.exists():
        target = folder / f"{path.stem}.{time.strftime('%Y%m%dT%H%M%S')}{path.suffix}"
        n = 1
        while target.exists():
            target = folder / f"{path.stem}.{time.strftime('%Y%m%dT%H%M%S')}-{n}{path.suffix}"
            n += 1
    path.rename(target)
    return target
