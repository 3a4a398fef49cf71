"""Controller event logs taken in: decoded, placed in the city's time, stored once, recorded.

A log file (Econolite ``.dat``/``.datZ``, MAXTIME XML, ATSPM CSV, parquet:
``codecs/signal_logs``) names its controllers by the ids it carries (an IP
address, a device number); each is the city's intersection whose
``controller_id`` (or code) it is, or the one an import names. Times a log
gives without a zone are the controller's wall clock, in the city's time
zone. Events go to the same store as the live feed's, each (intersection,
time, code, parameter) once, so a file imported twice, or after the live
feed, adds nothing and loses nothing.

Every file is recorded with what came of it (:class:`LogFile`): ``stored``,
``partial`` (some of its controllers are no intersection of the city; the
others' events are stored, and importing it again once the inventory knows
them adds the rest), or ``refused`` with its reason (too large, unreadable,
no controller known). A refused file never stops an import of many, nor the
drop directory (:mod:`signal_drop`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol
from zoneinfo import ZoneInfo

from signalight.codecs.signal_logs import LogError, decode_log, detect_format
from signalight.domain.signals import LogFile, LogFormat, LogStatus, LogZone, event_time

if TYPE_CHECKING:
    from signalight.domain.cities import City

__all__ = ["LogFileStore", "SignalEventStore", "SignalLogs", "to_utc"]

_HOUR: Final = 3600


class SignalEventStore(Protocol):
    """Where controller events are kept, each once (``adapters/sql/signal_events``)."""

    def add(self, city_id: int, asset_id: int, events: Iterable[tuple[float, int, int]]) -> int:
        """Store an intersection's events; returns how many were new."""
        ...


class LogFileStore(Protocol):
    """What came of each log file, and which intersection a controller is."""

    def controllers(self, city_id: int, names: set[str]) -> dict[str, tuple[int, str]]:
        """The intersections (asset id, code) these controller names are."""
        ...

    def record(self, city_id: int, log: LogFile) -> LogFile:
        """Keep what came of a file."""
        ...


class SignalLogs:
    """Takes controller log files into a city's events, and records each."""

    def __init__(
        self,
        events: SignalEventStore,
        files: LogFileStore,
        *,
        max_bytes: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._events = events
        self._files = files
        self.max_bytes = max_bytes
        self._clock = clock

    def take_path(self, city: City, path: Path, *, intersection: str | None = None) -> LogFile:
        """Import one file from disk; a file too large is refused before it is read."""
        size = path.stat().st_size
        if size > self.max_bytes:
            reason = (
                f"{path.name}: {size:,} bytes, over the limit of {self.max_bytes:,}"
                " (SIGNALIGHT_SIGNAL_LOG_MAX_BYTES); split the log by day"
            )
            return self._refused(city, path.name, size, None, reason)
        return self.take(city, path.name, path.read_bytes(), intersection=intersection)

    def take(
        self, city: City, name: str, data: bytes, *, intersection: str | None = None
    ) -> LogFile:
        """Import one file's bytes: decode, place in time, store each event once, record.

        Args:
            city: The city whose intersections the log's controllers are.
            name: The file's name (its extension tells the format; an
                Econolite name carries the controller's IP address).
            data: The file's bytes.
            intersection: The intersection code every event goes to, for a
                log that names no controller (MAXTIME) or names it otherwise.

        Raises:
            StorageError: the database failed; the file may be taken again.
        """
        if len(data) > self.max_bytes:
            reason = f"{name}: {len(data):,} bytes, over the limit of {self.max_bytes:,}"
            return self._refused(city, name, len(data), None, reason)
        try:
            log = decode_log(name, data)
        except LogError as exc:
            return self._refused(city, name, len(data), _format_of(name, data), str(exc))
        signals = log.signals
        if intersection is not None:
            if len(signals) > 1:
                reason = (
                    f"{name}: holds {len(signals)} controllers ({_listed(signals)}); an"
                    " intersection can be named only for a log of one"
                )
                return self._refused(city, name, len(data), log.format, reason, log.count)
            signals = {intersection: next(iter(signals.values()), [])}
        found = self._files.controllers(city.pk, set(signals))
        zone = ZoneInfo(city.timezone)
        new, codes = 0, []
        for signal, events in signals.items():
            place = found.get(signal)
            if place is None:
                continue
            asset_id, code = place
            stored = events if log.zone is LogZone.UTC else to_utc(events, zone)
            new += self._events.add(city.pk, asset_id, stored)
            codes.append(code)
        missing = sorted(set(signals) - set(found))
        if not codes:
            reason = _unknown(name, missing, named=intersection is not None)
            return self._refused(city, name, len(data), log.format, reason, log.count)
        status = LogStatus.PARTIAL if missing else LogStatus.STORED
        reason = _unknown(name, missing, named=False) if missing else ""
        return self._files.record(
            city.pk,
            LogFile(
                name=name,
                size=len(data),
                format=log.format,
                events=log.count,
                new=new,
                status=status,
                reason=reason,
                intersections=tuple(codes),
                at=self._clock(),
            ),
        )

    def _refused(
        self,
        city: City,
        name: str,
        size: int,
        found: LogFormat | None,
        reason: str,
        events: int = 0,
    ) -> LogFile:
        refused = LogFile(
            name=name,
            size=size,
            format=found,
            events=events,
            new=0,
            status=LogStatus.REFUSED,
            reason=reason,
            at=self._clock(),
        )
        return self._files.record(city.pk, refused)


def to_utc(events: list[tuple[float, int, int]], zone: ZoneInfo) -> list[tuple[float, int, int]]:
    """Events whose times are a wall clock in ``zone`` (read as if UTC), with UTC times.

    The zone's offset is looked up once an hour of the log: a day of a busy
    controller is 100,000 events, and a lookup an event would cost more
    than decoding them. In the hour a clock goes back, a wall time happens
    twice; the first is taken, as a controller that logs local time cannot
    tell them apart either.
    """
    offsets: dict[int, float] = {}
    out = []
    for at, code, param in events:
        hour = int(at // _HOUR)
        offset = offsets.get(hour)
        if offset is None:
            wall = datetime.fromtimestamp(hour * _HOUR, UTC).replace(tzinfo=zone)
            shift = wall.utcoffset()
            offset = offsets[hour] = shift.total_seconds() if shift is not None else 0.0
        out.append((event_time(at - offset), code, param))
    return out


def _format_of(name: str, data: bytes) -> LogFormat | None:
    try:
        return detect_format(name, data)
    except LogError:
        return None


def _listed(signals: dict[str, list[tuple[float, int, int]]] | set[str] | list[str]) -> str:
    names = sorted(signals)
    shown = ", ".join(repr(n) for n in names[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")  # noqa: PLR2004


def _unknown(name: str, missing: list[str], *, named: bool) -> str:
    if named:
        return f"{name}: no intersection {missing[0]!r} in the city"
    if missing == [""]:
        return f"{name}: the log names no controller; name its intersection (--intersection)"
    return (
        f"{name}: no intersection of the city has controller id or code {_listed(missing)};"
        " set the intersection's controller_id in the inventory, or name it (--intersection)"
    )

