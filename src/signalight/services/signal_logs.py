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
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol
from zoneinfo import ZoneInfo

from signalight.codecs.signal_logs import LogError, decode_log, detect_format
from signalight.domain.signals import LogFile, LogFormat, LogStatus, LogZone, event_time

if TYPE_CHECKING:
    from signalight.domain.cities import City

__all__ = ["ControllerDirectory", "SignalEventStore", "SignalLogs", "to_utc"]

_HOUR: Final = 3600
_KNOWN_S: Final = 60.0  # a controller's intersection is looked up again after this
_KNOWN_MAX: Final = 100_000
_STEADY_S: Final = 7 * 86_400.0  # a log this short cannot hold two clock changes


class SignalEventStore(Protocol):
    """Where controller events are kept, each once, with each file's record."""

    def add_log(
        self,
        city_id: int,
        placed: Sequence[tuple[int, Sequence[tuple[float, int, int]]]],
        log: LogFile,
    ) -> LogFile:
        """Store a file's events by intersection (asset id) and record it, in one go."""
        ...


class ControllerDirectory(Protocol):
    """Which intersection a log's controller is."""

    def controllers(self, city_id: int, names: set[str]) -> dict[str, tuple[int, str]]:
        """The intersections (asset id, code) these controller names are."""
        ...


class SignalLogs:
    """Takes controller log files into a city's events, and records each."""

    def __init__(
        self,
        events: SignalEventStore,
        controllers: ControllerDirectory,
        *,
        max_bytes: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._events = events
        self._controllers = controllers
        self.max_bytes = max_bytes
        self._clock = clock
        # A city's controllers as last looked up, and when: an import of a
        # thousand quarter-hour files asks once, and sees an inventory change
        # within a minute.
        self._known: dict[tuple[int, str], tuple[float, tuple[int, str] | None]] = {}

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
                log that names no controller, or names it otherwise than the
                inventory's ``controller_id`` (a MAXTIME response names its
                intersection number, else its IP address).

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
        found = self._find(city, set(signals))
        zone = ZoneInfo(city.timezone)
        placed: list[tuple[int, Sequence[tuple[float, int, int]]]] = []
        codes = []
        for signal, events in signals.items():
            place = found.get(signal)
            if place is not None:
                asset_id, code = place
                local = log.zone is LogZone.LOCAL
                placed.append((asset_id, to_utc(events, zone) if local else events))
                codes.append(code)
        missing = sorted(set(signals) - set(found))
        if not codes:
            reason = _unknown(name, missing, named=intersection is not None)
            return self._refused(city, name, len(data), log.format, reason, log.count)
        taken = LogFile(
            name=name,
            size=len(data),
            format=log.format,
            events=log.count,
            new=0,
            status=LogStatus.PARTIAL if missing else LogStatus.STORED,
            reason=_unknown(name, missing, named=False) if missing else "",
            intersections=tuple(codes),
            at=self._clock(),
        )
        return self._events.add_log(city.pk, placed, taken)

    def _find(self, city: City, names: set[str]) -> dict[str, tuple[int, str]]:
        """The intersections these controllers are, looked up at most once a minute each."""
        now, known = self._clock(), self._known
        if len(known) > _KNOWN_MAX:
            known.clear()
        wanted = set()
        for name in names:
            held = known.get((city.pk, name))
            if held is None or now - held[0] > _KNOWN_S:
                wanted.add(name)
        if wanted:
            found = self._controllers.controllers(city.pk, wanted)
            for name in wanted:
                known[(city.pk, name)] = (now, found.get(name))
        places = {name: known[(city.pk, name)][1] for name in names}
        return {name: place for name, place in places.items() if place is not None}

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
        return self._events.add_log(city.pk, [], refused)


def to_utc(events: list[tuple[float, int, int]], zone: ZoneInfo) -> list[tuple[float, int, int]]:
    """Events whose times are a wall clock in ``zone`` (read as if UTC), with UTC times.

    A log file spans minutes to a day: when the zone's offset is the same at
    its first and last hour (no clock change between), every time moves by
    that one offset. Offsets are whole seconds, so ``time - offset`` keeps a
    tenth of a second exact (the same double as the decimal, as
    :func:`event_time` would give) without rounding each event. Across a
    change the offset is looked up once an hour of the log. In the hour a
    clock goes back, a wall time happens twice; the first is taken, as a
    controller that logs local time cannot tell them apart either.
    """
    if not events:
        return []
    offsets: dict[int, float] = {}

    def offset(at: float) -> float:
        hour = int(at // _HOUR)
        found = offsets.get(hour)
        if found is None:
            wall = datetime.fromtimestamp(hour * _HOUR, UTC).replace(tzinfo=zone)
            shift = wall.utcoffset()
            found = offsets[hour] = shift.total_seconds() if shift is not None else 0.0
        return found

    times = [at for at, _, _ in events]
    first, last = min(times), max(times)
    one = offset(first)
    if one == offset(last) and last - first < _STEADY_S and one == int(one):
        return [(at - one, code, param) for at, code, param in events]
    return [(event_time(at - offset(at)), code, param) for at, code, param in events]


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
