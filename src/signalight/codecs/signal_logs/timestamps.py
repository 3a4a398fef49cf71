"""Controller log timestamps as text: US and ISO styles, read fast, in file order.

Logs hold one timestamp per event, so most of them share their whole second
with the row before; a :class:`TimestampReader` parses each second once and
adds the fraction by hand, which is several times faster than
``datetime.strptime`` per row.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final

from signalight.domain.signals import event_time

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["TimestampReader", "parse_timestamp"]

_DIGITS: Final = "0123456789"
# 4/17/2023 19:00:03, 7-22-2024 13:33:19, 4/17/2023 7:00:03 PM (fraction taken off);
# MAXTIME writes minutes and seconds unpadded (7-22-2024 13:34:0.2)
_US: Final = re.compile(
    r"(\d{1,2})([/-])(\d{1,2})\2(\d{4})[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2}))?(?:\s*([AaPp])[Mm])?",
    re.ASCII,
)
# 2021-09-17 18:27:37, 2021-09-17T18:27:37Z, 2021-09-17T18:27:37+08:00 (fraction taken off)
_ISO: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?\s*(Z|[+-]\d{2}(?::?\d{2})?)?",
    re.IGNORECASE | re.ASCII,
)
_CACHE_SIZE: Final = 4096  # seconds remembered; a log is in time order, so a few suffice
_MINUTE: Final = 60
_FRACTION_DIGITS: Final = 9  # nanoseconds; ATSPM writes 7 (.NET ticks)


def _second(text: str) -> tuple[float, bool] | None:
    """Epoch seconds of a timestamp without its fraction, and whether it gave a zone.

    Without a zone the wall time is read as if it were UTC (``LogZone.LOCAL``).
    """
    if match := _ISO.fullmatch(text):
        year, month, day, hour, minute, second, zone = match.groups()
        meridiem = None
    elif match := _US.fullmatch(text):
        month, _, day, year, hour, minute, second, meridiem = match.groups()
        zone = None
    else:
        return None
    hours = int(hour)
    if meridiem is not None:
        if not 1 <= hours <= 12:  # noqa: PLR2004 - a 12-hour clock
            return None
        hours = hours % 12 + (12 if meridiem in "Pp" else 0)
    try:
        wall = datetime(
            int(year), int(month), int(day), hours, int(minute), int(second or 0), tzinfo=UTC
        )
    except ValueError:  # 2/30/2024, 25:00:00
        return None
    if zone is None or zone.upper() == "Z":
        return wall.timestamp(), zone is not None
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
    if offset >= timedelta(hours=24):
        return None
    return (wall - sign * offset).timestamp(), True


def parse_timestamp(text: str) -> tuple[float, bool] | None:
    """One timestamp as event time (see :func:`event_time`), and whether it gave a zone.

    ``None`` when the text is none of the styles logs use.
    """
    reader = TimestampReader()
    try:
        return reader.read(text), bool(reader.zoned)
    except ValueError:
        return None


class TimestampReader:
    """Reads the timestamps of one log, remembering the seconds it has parsed.

    Styles: ``M/D/YYYY H:MM:SS.f`` (also with ``-``, without a fraction, or
    with AM/PM) and ISO ``YYYY-MM-DD HH:MM:SS.fffffff`` (also with ``T``,
    and with ``Z`` or an offset, which makes the time UTC). A log gives a
    zone on every timestamp or on none: ``zoned`` says which, from the first.
    """

    __slots__ = ("_fractions", "_minutes", "_seconds", "zoned")

    def __init__(self) -> None:
        self._seconds: dict[str, float] = {}
        self._minutes: dict[str, float] = {}  # "4/17/2023 19:00" -> its epoch seconds
        self._fractions: dict[str, float] = {}  # "1000000" -> 0.1
        self.zoned: bool | None = None

    def read(self, text: str) -> float:
        """The timestamp as event time; raise ``ValueError`` saying why it cannot be read."""
        # Most timestamps are a second seen just before and a fraction seen before.
        head, _, rest = text.partition(".")
        seconds, fraction = self._seconds.get(head), self._fractions.get(rest)
        if seconds is not None and fraction is not None:
            return event_time(seconds + fraction)
        return self._read_slowly(text)

    def read_all(self, texts: Sequence[str]) -> list[float]:
        """Many timestamps, each distinct one read once (a log repeats them); as :meth:`read`."""
        times = dict.fromkeys(texts, 0.0)
        known, fractions = self._seconds, self._fractions
        for text in times:  # read()'s fast path, inline: this loop is a CSV decode's hot spot
            head, _, rest = text.partition(".")
            seconds, fraction = known.get(head), fractions.get(rest)
            if seconds is not None and fraction is not None:
                times[text] = event_time(seconds + fraction)
            else:
                times[text] = self._read_slowly(text)
        return list(map(times.__getitem__, texts))

    def _read_slowly(self, text: str) -> float:
        """Any timestamp: spaces around, a zone or AM/PM after the fraction, a new second."""
        head, dot, rest = text.strip().partition(".")
        fraction = 0.0
        if dot:
            digits = _leading_digits(rest)
            if not digits:
                raise ValueError(f"unreadable timestamp {text[:40]!r}")
            head += rest[len(digits) :]  # the zone or AM/PM after the fraction
            fraction = int(digits[:_FRACTION_DIGITS]) / 10 ** len(digits[:_FRACTION_DIGITS])
            if digits == rest and len(self._fractions) < _CACHE_SIZE:
                self._fractions[rest] = fraction
        seconds = self._seconds.get(head)
        if seconds is None:
            seconds = self._first(head, text)
        return event_time(seconds + fraction)

    def _first(self, head: str, text: str) -> float:
        """A second not seen lately: parse it, check its zone against the log's, remember it."""
        # A plain "...HH:MM:SS" whose minute is known is that minute plus its seconds;
        # only plain (zoneless) times are remembered by the minute.
        plain = head[-3:-2] == head[-6:-5] == ":" and head[-2:].isdecimal()
        minute = self._minutes.get(head[:-3]) if plain else None
        if minute is not None and int(head[-2:]) < _MINUTE:
            parsed: tuple[float, bool] | None = (minute + int(head[-2:]), False)
        else:
            parsed = _second(head)
        if parsed is None:
            raise ValueError(f"unreadable timestamp {text[:40]!r}")
        seconds, zoned = parsed
        if plain and not zoned and len(self._minutes) < _CACHE_SIZE:
            self._minutes[head[:-3]] = seconds - int(head[-2:])
        if self.zoned is None:
            self.zoned = zoned
        elif zoned != self.zoned:
            given, others = ("gives a", "give none") if zoned else ("gives no", "give one")
            raise ValueError(f"timestamp {text[:40]!r} {given} zone where earlier ones {others}")
        if len(self._seconds) >= _CACHE_SIZE:
            self._seconds.clear()
        self._seconds[head] = seconds
        return seconds


def _leading_digits(text: str) -> str:
    """The ASCII digits that open ``text``."""
    return text[: len(text) - len(text.lstrip(_DIGITS))]
