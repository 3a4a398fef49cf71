"""Traffic-signal controller event logs in their native formats, decoded as pure functions.

:func:`decode_log` picks the decoder by the file's extension and, where that
says nothing, by the first bytes; every decoder takes the file's name (for
its messages, and the signal id an Econolite file's name carries) and its
bytes, and returns a :class:`~signalight.domain.signals.DecodedLog` or raises
:class:`LogError`, never anything else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from signalight.codecs.signal_logs.atspm_csv import decode_atspm_csv
from signalight.codecs.signal_logs.econolite import (
    decode_dat,
    decode_datz,
    is_zlib,
    looks_like_dat,
)
from signalight.codecs.signal_logs.errors import LogError
from signalight.codecs.signal_logs.maxtime import decode_maxtime_xml
from signalight.codecs.signal_logs.parquet import decode_parquet
from signalight.domain.signals import DecodedLog, LogFormat
from signalight.gcpause import collector_paused

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "DECODERS",
    "LogError",
    "decode_atspm_csv",
    "decode_dat",
    "decode_datz",
    "decode_log",
    "decode_maxtime_xml",
    "decode_parquet",
    "detect_format",
]

DECODERS: Final[dict[LogFormat, Callable[[str, bytes], DecodedLog]]] = {
    LogFormat.ECONOLITE_DAT: decode_dat,
    LogFormat.ECONOLITE_DATZ: decode_datz,
    LogFormat.MAXTIME_XML: decode_maxtime_xml,
    LogFormat.ATSPM_CSV: decode_atspm_csv,
    LogFormat.PARQUET: decode_parquet,
}
_BY_EXTENSION: Final = {
    "xml": LogFormat.MAXTIME_XML,
    "csv": LogFormat.ATSPM_CSV,
    "parquet": LogFormat.PARQUET,
}
_BOM: Final = b"\xef\xbb\xbf"


def detect_format(filename: str, data: bytes) -> LogFormat:
    """The format of a log: by its extension, else by its first bytes.

    An Econolite log is read as compressed or not by its first bytes
    whatever its extension says: a ``.dat`` that opens with a zlib header is
    inflated, and a ``.datZ`` that opens with a plain header is not (any
    other ``.datZ`` is inflated as ATSPM does, after two bytes). Anything
    without a known extension and without another format's opening is
    taken for CSV, whose decoder then says what is wrong with it.
    """
    extension = filename.rpartition(".")[2].lower() if "." in filename else ""
    if extension == "dat":
        return LogFormat.ECONOLITE_DATZ if is_zlib(data) else LogFormat.ECONOLITE_DAT
    if extension == "datz":
        return LogFormat.ECONOLITE_DAT if looks_like_dat(data) else LogFormat.ECONOLITE_DATZ
    return _BY_EXTENSION.get(extension) or _by_opening(data)


def _by_opening(data: bytes) -> LogFormat:
    """The format the first bytes say, CSV when they say nothing."""
    if data.startswith(b"PAR1"):
        return LogFormat.PARQUET
    if data.startswith(b"x") and is_zlib(data):  # every zlib writer's 32 KiB window
        return LogFormat.ECONOLITE_DATZ
    if looks_like_dat(data):
        return LogFormat.ECONOLITE_DAT
    if data.removeprefix(_BOM).lstrip().startswith(b"<"):
        return LogFormat.MAXTIME_XML
    return LogFormat.ATSPM_CSV


def decode_log(filename: str, data: bytes) -> DecodedLog:
    """Decode a controller's event log, whichever native format it is in.

    Args:
        filename: the file's name as received (its extension picks the format;
            an Econolite log's name may carry the controller's IP).
        data: the whole file.

    Raises:
        LogError: the file cannot be decoded; the message names the file and
            says what is wrong, on one line.
    """
    decoder = DECODERS[detect_format(filename, data)]
    # A log is hundreds of thousands of tuples that make no cycles: without the pause,
    # the collector's passes over them cost about as much as the decoding.
    with collector_paused():
        return decoder(filename, data)
