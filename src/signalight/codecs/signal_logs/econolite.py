r"""Econolite ASC/3 and Cobalt event logs: the binary ``.dat`` and its zlib-compressed ``.datZ``.

A ``.dat`` is 7 ASCII header lines, each ``<start time>,<label>,<value>``::

    7-22-2024 13:32:11.3,Version #:,3
    7-22-2024 13:32:11.3,ECON_10.204.9.227_2024_07_22_1332.dat
    7-22-2024 13:32:11.3,Intersection #:,10.204.9.227
    7-22-2024 13:32:11.3,IP Address:,10.204.9.227
    7-22-2024 13:32:11.3,MAC Address:,00:04:81:02:15:02
    7-22-2024 13:32:11.3,Controller Data Log Beginning:,7/22/2024,13:32:11.3
    7-22-2024 13:32:11.3,Phases in use:,2,4,6,8

then 4-byte records: code (u8), parameter (u8) and the time since the start
in tenths of a second (int16, big-endian), as ATSPM's ``AscToIndianaDecoder``
reads them. The header's last line may be followed by a record whose code is
10 (``\\n``), so the header is exactly 7 lines, never "up to a blank line".
"""

from __future__ import annotations

import re
import struct
import zlib
from typing import Final

from signalight.codecs.signal_logs.errors import LogError
from signalight.codecs.signal_logs.timestamps import parse_timestamp
from signalight.domain.signals import DecodedLog, LogFormat, LogZone, event_time

__all__ = ["MAX_INFLATED_BYTES", "decode_dat", "decode_datz", "is_zlib", "looks_like_dat"]

MAX_INFLATED_BYTES: Final = 64 * 1024 * 1024  # a day of a busy controller is a few MB
_HEADER_LINES: Final = 7
_RECORD: Final = struct.Struct(">BBh")
_ZLIB_HEADER: Final = 2
_ZLIB_TRAILER: Final = 4  # the Adler-32 of the inflated bytes
_DEFLATE: Final = 8  # the only compression method zlib defines
_LARGEST_WINDOW: Final = 7  # 32 KiB
_START: Final = re.compile(rb"\d{1,2}[-/]\d{1,2}[-/]\d{4} \d{1,2}:\d{2}:\d{2}")
_IP: Final = re.compile(r"ECON_(\d{1,3}(?:\.\d{1,3}){3})_", re.ASCII)
_SIGNAL_LABEL: Final = "intersection #:"


def looks_like_dat(data: bytes) -> bool:
    """Whether the bytes open as a ``.dat`` header does: a start time, then a comma."""
    match = _START.match(data)
    return match is not None and data[match.end() : match.end() + 8].find(b",") >= 0


def is_zlib(data: bytes) -> bool:
    """Whether the bytes open with a zlib header (RFC 1950: DEFLATE, and a valid check)."""
    if len(data) < _ZLIB_HEADER:
        return False
    first, second = data[0], data[1]
    return (
        first & 0x0F == _DEFLATE
        and first >> 4 <= _LARGEST_WINDOW
        and (first << 8 | second) % 31 == 0
    )


def decode_dat(filename: str, data: bytes) -> DecodedLog:
    """Decode a ``.dat`` log; raise :class:`LogError` naming what is wrong."""
    return _decode(filename, data, LogFormat.ECONOLITE_DAT, "")


def decode_datz(filename: str, data: bytes) -> DecodedLog:
    """Decode a ``.datZ`` log: zlib, whose 2-byte header is skipped as ATSPM skips it.

    ATSPM inflates raw DEFLATE after the first two bytes and ignores the
    checksum, so a file it reads is read here too; where the Adler-32 trailer
    is present after a real zlib header, it is checked.
    """
    if not data:
        raise LogError(filename, "the file is empty")
    if len(data) <= _ZLIB_HEADER:
        raise LogError(filename, "corrupt zlib stream: nothing after its 2-byte header")
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        body = inflater.decompress(data[2:], MAX_INFLATED_BYTES)
    except zlib.error as exc:
        raise LogError(filename, f"corrupt zlib stream ({exc})") from exc
    if inflater.unconsumed_tail:
        limit = MAX_INFLATED_BYTES // (1024 * 1024)
        raise LogError(filename, f"inflates to more than {limit} MiB; refused")
    if not inflater.eof:
        raise LogError(filename, "corrupt zlib stream: it ends before its last block (truncated)")
    trailer = inflater.unused_data[:_ZLIB_TRAILER]
    if (
        is_zlib(data)
        and len(trailer) == _ZLIB_TRAILER
        and int.from_bytes(trailer) != zlib.adler32(body)
    ):
        raise LogError(filename, "corrupt zlib stream: the checksum does not match")
    return _decode(filename, body, LogFormat.ECONOLITE_DATZ, " of the inflated log")


def _decode(filename: str, data: bytes, log_format: LogFormat, where: str) -> DecodedLog:
    """The header, then the records; ``where`` qualifies byte offsets (inflated or not)."""
    if not data:
        raise LogError(filename, "the file is empty" if not where else "the inflated log is empty")
    end = 0
    for line in range(_HEADER_LINES):
        end = data.find(b"\n", end) + 1
        if not end:
            raise LogError(filename, f"the header ends after {line} of its 7 lines{where}")
    try:
        lines = data[:end].decode("ascii").split("\n")
    except UnicodeDecodeError as exc:
        raise LogError(filename, f"the header is not ASCII text (byte {exc.start}{where})") from exc
    start_text = lines[0].partition(",")[0].strip()
    start = parse_timestamp(start_text)
    if start is None:
        raise LogError(filename, f"unreadable start time {start_text[:40]!r} in the header")
    body = data[end:]
    cut = len(body) % _RECORD.size
    if cut:
        at = end + len(body) - cut
        raise LogError(filename, f"truncated record at byte {at}{where}: {cut} of its 4 bytes")
    records = list(_RECORD.iter_unpack(body))
    # Each distinct offset once: many events share their tenth of a second.
    origin = start[0]
    time_at = {offset: event_time(origin + offset / 10) for offset in {r[2] for r in records}}
    events = [(time_at[offset], code, param) for code, param, offset in records]
    return DecodedLog(log_format, LogZone.LOCAL, {_signal_id(filename, lines): events})


def _signal_id(filename: str, lines: list[str]) -> str:
    """The header's ``Intersection #``, else the IP in the file's name (given, then logged)."""
    for line in lines:
        fields = line.split(",")
        if len(fields) > 2 and fields[1].strip().lower() == _SIGNAL_LABEL and fields[2].strip():  # noqa: PLR2004
            return fields[2].strip()
    named = _IP.search(filename) or _IP.search(lines[1])
    return named.group(1) if named else ""
