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
from dataclasses import dataclass
from itertools import chain, compress, islice
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
_CHUNK: Final = 65_536  # rows decoded at a time: fast column by column, and bounded in memory
_FEW_SIGNALS: Final = 16


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
    """The rows after the BOM: an optional header, then one event a row, a chunk at a time."""
    number = 0  # the rows read so far, the header and blank lines included
    first: list[str] = []
    while not first:  # blank lines before anything; the caller saw some text
        first = next(rows)
        number += 1
    columns = _columns(filename, first)
    layout = _Layout(len(first), *columns) if columns else _Layout(len(_ROLES), 0, 1, 2, 3)
    if columns is None:
        rows, number = chain([first], rows), number - 1
    reader = TimestampReader()
    signals: dict[str, list[tuple[float, int, int]]] = {}
    while chunk := list(islice(rows, _CHUNK)):
        by_signal = _columnwise(chunk, layout, reader)
        if by_signal is None:  # something is wrong, or a row is blank: find which, row by row
            by_signal = _rowwise(filename, chunk, number, layout, reader)
        for signal, events in by_signal.items():
            signals.setdefault(signal, []).extend(events)
        number += len(chunk)
    zone = LogZone.UTC if reader.zoned else LogZone.LOCAL
    return DecodedLog(LogFormat.ATSPM_CSV, zone, signals)


@dataclass(frozen=True, slots=True)
class _Layout:
    """How many cells a row has, and which cell holds what."""

    width: int
    signal: int
    time: int
    code: int
    param: int


def _columnwise(
    chunk: list[list[str]], layout: _Layout, reader: TimestampReader
) -> dict[str, list[tuple[float, int, int]]] | None:
    """The chunk's events a column at a time (C loops, each timestamp parsed once), or None.

    None when any row is not a plain event; the caller then reads the chunk
    row by row to say which and why.
    """
    if set(map(len, chunk)) != {layout.width}:
        return None
    columns = list(zip(*chunk, strict=True))
    ids = columns[layout.signal]
    try:
        codes = list(map(int, columns[layout.code]))
        params = list(map(int, columns[layout.param]))
        times = reader.read_all(columns[layout.time])
    except ValueError:
        return None
    if min(codes) < 0 or max(codes) > EVENT_CODE_MAX or max(map(abs, params)) > EVENT_PARAMETER_MAX:
        return None
    events = list(zip(times, codes, params, strict=True))
    distinct = dict.fromkeys(ids)
    if len(distinct) == 1:
        return {ids[0].strip(): events}
    signals: dict[str, list[tuple[float, int, int]]] = {}
    if len(distinct) <= _FEW_SIGNALS:  # a pass over the chunk per signal, each in C
        for signal in distinct:
            signals.setdefault(signal.strip(), []).extend(compress(events, map(signal.__eq__, ids)))
        return signals
    for signal, event in zip(ids, events, strict=True):
        signals.setdefault(signal.strip(), []).append(event)
    return signals


def _rowwise(
    filename: str, chunk: list[list[str]], number: int, layout: _Layout, reader: TimestampReader
) -> dict[str, list[tuple[float, int, int]]]:
    """The chunk's events a row at a time, skipping blank rows; raise on the first bad one."""
    signals: dict[str, list[tuple[float, int, int]]] = {}
    for row in chunk:
        number += 1
        if len(row) != layout.width:
            if not row:  # a blank line, as a spreadsheet leaves at the end
                continue
            reason = f"CSV row {number} has {len(row)} columns, expected {layout.width}"
            raise LogError(filename, reason)
        try:
            time = reader.read(row[layout.time])
        except ValueError as exc:
            raise LogError(filename, f"{exc} on row {number}") from None
        code_text, param_text = row[layout.code], row[layout.param]
        try:
            code, param = int(code_text), int(param_text)
        except ValueError:
            numbers = f"{code_text[:20]!r}, {param_text[:20]!r}"
            raise LogError(filename, f"CSV row {number}: code and parameter {numbers}") from None
        if code < 0 or code > EVENT_CODE_MAX or abs(param) > EVENT_PARAMETER_MAX:
            reason = f"CSV row {number}: code {code} or parameter {param} out of range"
            raise LogError(filename, reason)
        signals.setdefault(row[layout.signal].strip(), []).append((time, code, param))
    return signals
