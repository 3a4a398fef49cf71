"""ATSPM's CSV exports of controller events: signal, timestamp, event code, parameter.

With a header (``Location Id,Timestamp,Event Code,Event Parameter`` or
``SignalId,Timestamp,EventCode,EventParam``, in any order, matched without
regard to case, spaces or underscores) or without one (the columns in that
order), with or without a UTF-8 BOM. Timestamps in the styles
:class:`~signalight.codecs.signal_logs.timestamps.TimestampReader` reads.
"""

from __future__ import annotations

import csv
import io
from itertools import chain
from typing import TYPE_CHECKING, Final

from signalight.codecs.signal_logs.errors import LogError
from signalight.codecs.signal_logs.timestamps import TimestampReader
from signalight.domain.signals import (
    EVENT_CODE_MAX,
    EVENT_PARAMETER_MAX,
    DecodedLog,
    LogFormat,
    LogZone,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["decode_atspm_csv"]

# The columns by role, in the order of a headerless file, and the header names of each.
_ROLES: Final = ("signal", "timestamp", "event code", "event parameter")
_NAMES: Final = {
    **dict.fromkeys(("locationid", "signalid", "deviceid", "locationidentifier"), "signal"),
    **dict.fromkeys(("timestamp", "time"), "timestamp"),
    **dict.fromkeys(("eventcode", "eventid", "eventtypeid", "code"), "event code"),
    **dict.fromkeys(("eventparam", "eventparameter", "parameter", "param"), "event parameter"),
}
_EXPECTED: Final = "Location Id, Timestamp, Event Code, Event Parameter"


def decode_atspm_csv(filename: str, data: bytes) -> DecodedLog:
    """Decode an ATSPM CSV export; raise :class:`LogError` naming the row and what is wrong."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        reason = f"not UTF-8 text (byte 0x{data[exc.start]:02X} at byte {exc.start})"
        raise LogError(filename, reason) from None
    if not text.strip():
        raise LogError(filename, "the file is empty")
    rows = csv.reader(io.StringIO(text, newline=""))
    try:
        return _decode(filename, rows)
    except csv.Error as exc:
        raise LogError(filename, f"CSV row {rows.line_num}: {exc}") from None


def _columns(filename: str, first: list[str]) -> tuple[int, int, int, int] | None:
    """The cells of signal, timestamp, code and parameter if ``first`` is a header, else None."""
    names = ["".join(cell.lower().replace("_", " ").split()) for cell in first]
    if not any(name in _NAMES for name in names):
        return None
    where: dict[str, int] = {}
    for index, name in enumerate(names):
        role = _NAMES.get(name)
        if role is None:
            reason = (
                f"CSV header has an unknown column {first[index][:40]!r} (expected {_EXPECTED})"
            )
            raise LogError(filename, reason)
        if role in where:
            raise LogError(filename, f"CSV header has two {role} columns")
        where[role] = index
    if missing := [role for role in _ROLES if role not in where]:
        raise LogError(filename, f"CSV header has no {' or '.join(missing)} column")
    signal, timestamp, code, param = (where[role] for role in _ROLES)
    return signal, timestamp, code, param


def _decode(filename: str, rows: Iterator[list[str]]) -> DecodedLog:
    """The rows after the BOM: an optional header, then one event a row."""
    number = 0  # the rows read so far, the header and blank lines included
    first: list[str] = []
    while not first:  # blank lines before anything; the caller saw some text
        first = next(rows)
        number += 1
    columns = _columns(filename, first)
    width = len(first) if columns else len(_ROLES)
    signal_at, time_at, code_at, param_at = columns or (0, 1, 2, 3)
    if columns is None:
        rows, number = chain([first], rows), number - 1
    reader = TimestampReader()
    read = reader.read
    signals: dict[str, list[tuple[float, int, int]]] = {}
    last_signal: str | None = None
    events: list[tuple[float, int, int]] = []
    for row in rows:
        number += 1
        if len(row) != width:
            if not row:  # a blank line, as a spreadsheet leaves at the end
                continue
            raise LogError(filename, f"CSV row {number} has {len(row)} columns, expected {width}")
        try:
            time = read(row[time_at])
        except ValueError as exc:
            raise LogError(filename, f"{exc} on row {number}") from None
        try:
            code, param = int(row[code_at]), int(row[param_at])
        except ValueError:
            numbers = f"{row[code_at][:20]!r}, {row[param_at][:20]!r}"
            raise LogError(filename, f"CSV row {number}: code and parameter {numbers}") from None
        if code < 0 or code > EVENT_CODE_MAX or abs(param) > EVENT_PARAMETER_MAX:
            reason = f"CSV row {number}: code {code} or parameter {param} out of range"
            raise LogError(filename, reason)
        signal = row[signal_at]
        if signal != last_signal:
            events = signals.setdefault(signal.strip(), [])
            last_signal = signal
        events.append((time, code, param))
    zone = LogZone.UTC if reader.zoned else LogZone.LOCAL
    return DecodedLog(LogFormat.ATSPM_CSV, zone, signals)
