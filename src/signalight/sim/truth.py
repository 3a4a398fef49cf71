"""The simulator's ground truth: which fault held on which asset when, as JSON lines.

A line is written when a fault starts (``end`` null) and again when it ends,
each flushed at once, so that a crashed run still says what had happened. The
later line of the same fault (same type, asset and start) supersedes the
earlier; :func:`read_truth` merges them. A null ``end`` means the fault lasted
to the end of the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING

import orjson

if TYPE_CHECKING:
    from signalight.sim.faults import Fault


@dataclass(frozen=True, slots=True)
class TruthEntry:
    """One fault as the ground truth states it."""

    fault: str
    asset: str
    device: str | None
    city: str
    start: datetime
    end: datetime | None


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).astimezone(UTC)


class TruthLog:
    """Writes ground-truth lines to a file as faults start and end."""

    def __init__(self, stream: IO[bytes], city: str) -> None:
        self._stream = stream
        self._city = city
        self.lines = 0

    @classmethod
    def open(cls, path: Path, city: str) -> TruthLog:
        """A log appending to ``path`` (created with its folder if need be)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        return cls(path.open("ab"), city)

    def started(self, fault: Fault) -> None:
        """Record that ``fault`` began (its end not known yet)."""
        self._write(fault, None)

    def ended(self, fault: Fault) -> None:
        """Record that ``fault`` ended at its ``end``."""
        self._write(fault, fault.end)

    def close(self) -> None:
        """Close the file."""
        self._stream.close()

    def _write(self, fault: Fault, end: float | None) -> None:
        line = {
            "fault": str(fault.type),
            "asset": fault.asset,
            "device": fault.device,
            "city": self._city,
            "start": _iso(fault.start),
            "end": None if end is None else _iso(end),
        }
        self._stream.write(orjson.dumps(line) + b"\n")
        self._stream.flush()
        self.lines += 1


def read_truth(path: Path) -> list[TruthEntry]:
    """The faults a ground-truth file holds, the last line of each fault winning, by start."""
    merged: dict[tuple[str, str, str, datetime], TruthEntry] = {}
    with path.open("rb") as stream:
        for raw in stream:
            if not raw.strip():
                continue
            line = orjson.loads(raw)
            start = _parse(line["start"])
            if start is None:
                raise ValueError(f"{path}: a line without a start")
            entry = TruthEntry(
                line["fault"],
                line["asset"],
                line["device"],
                line["city"],
                start,
                _parse(line["end"]),
            )
            merged[entry.city, entry.fault, entry.asset, entry.start] = entry
    return sorted(merged.values(), key=lambda e: (e.start, e.city, e.asset, e.fault))
