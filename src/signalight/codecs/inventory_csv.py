"""Inventory files as CSV: decode the bytes of a file into records, encode records as lines."""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from operator import itemgetter
from typing import TYPE_CHECKING

from signalight.codecs.csv_cells import escape_cell
from signalight.codecs.inventory_fields import (
    COLUMNS,
    REQUIRED_COLUMNS,
    Decoded,
    RecordError,
    RowError,
    record_from_fields,
    record_to_fields,
)
from signalight.gcpause import collector_paused

if TYPE_CHECKING:
    from _csv import Reader
    from collections.abc import Iterable, Iterator, Mapping

    from signalight.domain.assets import AssetRecord

__all__ = ["decode_csv", "encode_csv", "iter_decode_csv"]

_SAVE_AS = "save it from the spreadsheet as 'CSV UTF-8'"


@dataclass(frozen=True, slots=True)
class _Header:
    """How the cells of a row become fields: which cell feeds which column."""

    names: tuple[str, ...]  # the canonical columns the file holds
    indexes: tuple[int, ...]  # the cell of each of those columns
    width: int  # number of cells in the header
    unnamed: tuple[int, ...]  # cells with an empty header name


def _text(data: bytes) -> str | RowError:
    """The file's text, or the error that says why it is not UTF-8 CSV."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return RowError(0, f"the file is UTF-16 text, not UTF-8; {_SAVE_AS}", "file")
    if data.startswith(b"PK\x03\x04"):
        return RowError(
            0, f"this is a spreadsheet (.xlsx) or zip file, not CSV; {_SAVE_AS}", "file"
        )
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode()
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        # Count lines as the CSV reader does: \r\n, \n and a lone \r each end one.
        line = before.count(b"\n") + before.count(b"\r") - before.count(b"\r\n") + 1
        reason = f"line {line}: byte 0x{data[exc.start]:02X} is not UTF-8; {_SAVE_AS}"
        return RowError(0, reason, "file")


def _delimiter(text: str) -> str:
    """The delimiter of the header line: ';' where a European spreadsheet wrote it, else ','."""
    header = next((line for line in io.StringIO(text, newline="") if line.strip()), "")
    return ";" if header.count(";") > header.count(",") else ","


def _header(cells: list[str], mapping: Mapping[str, str | None] | None) -> _Header | list[RowError]:
    """Match the header's names to the columns, after the user's mapping."""
    renames = {
        source.strip().lower(): (target.strip().lower() if target else None)
        for source, target in (mapping or {}).items()
    }
    known = set(COLUMNS)
    source_of: dict[str, str] = {}  # canonical column -> header name it came from
    indexes: dict[str, int] = {}  # canonical column -> its cell
    unnamed: list[int] = []
    unknown: list[str] = []
    duplicates: list[str] = []
    for index, cell in enumerate(cells):
        source = cell.strip().lower()
        if not source:
            unnamed.append(index)
            continue
        target = renames.get(source, source)
        if target is None:
            continue
        if target not in known:
            unknown.append(repr(cell.strip()))
        elif target in source_of:
            first = source_of[target]
            duplicates.append(
                f"{target!r} appears more than once"
                if first == source
                else f"{target!r} comes from both {first!r} and {source!r}"
            )
        else:
            source_of[target] = source
            indexes[target] = index
    errors = [RowError(0, f"duplicate column: {duplicate}", "file") for duplicate in duplicates]
    if unknown:
        reason = (
            f"unknown columns: {', '.join(unknown)}; rename each to an inventory column"
            " with --map NAME=COLUMN or drop it with --map NAME=-"
            f" (the columns are {', '.join(COLUMNS)})"
        )
        errors.append(RowError(0, reason, "file"))
    missing = [column for column in REQUIRED_COLUMNS if column not in source_of]
    if missing:
        reason = (
            f"missing required columns: {', '.join(missing)}; if the file names them"
            " differently, rename them with --map NAME=COLUMN"
        )
        errors.append(RowError(0, reason, "file"))
    if errors:
        return errors
    return _Header(
        names=tuple(indexes),
        indexes=tuple(indexes.values()),
        width=len(cells),
        unnamed=tuple(unnamed),
    )


def _row_problem(row: list[str], header: _Header) -> str | None:
    """Why the row's shape does not fit the header, if it does not."""
    if len(row) > header.width and any(row[header.width :]):
        return f"has {len(row)} cells but the header has {header.width} columns"
    for index in header.unnamed:
        if index < len(row) and row[index].strip():
            return f"column {index + 1} has no name in the header but holds {row[index].strip()!r}"
    return None


def decode_csv(data: bytes, mapping: Mapping[str, str | None] | None = None) -> Decoded:
    """Decode an inventory CSV file.

    The file is UTF-8 (with or without a BOM), separated by ``,`` or, as European
    spreadsheets write it, by ``;`` (then ``52,37`` reads as a number); the delimiter
    is taken from the header line. Header names are matched case-insensitively. Blank
    lines are skipped and rows shorter than the header are padded with empty cells. A text
    cell escaped against formula injection (``'=SUM(1)``, ``''=x``: see
    :mod:`signalight.codecs.csv_cells`) loses its first quote, so an export reads back as
    it was written.

    Args:
        data: The file's bytes.
        mapping: Source column name to canonical column, or None to drop the column.

    Returns:
        The records, each with the physical line its row starts on (the header is line 1),
        and the errors of single rows or of the whole file; after an error of the whole file
        the records are missing or incomplete.
    """
    records: list[tuple[int, AssetRecord]] = []
    errors: list[RowError] = []
    for piece in iter_decode_csv(data, mapping, chunk_rows=1 << 30):
        records.extend(piece.records)
        errors.extend(piece.errors)
    return Decoded(records, errors)


def iter_decode_csv(
    data: bytes, mapping: Mapping[str, str | None] | None = None, *, chunk_rows: int = 5000
) -> Iterator[Decoded]:
    """Decode an inventory CSV file.

    The file is UTF-8 (with or without a BOM), separated by ``,`` or, as European
    spreadsheets write it, by ``;`` (then ``52,37`` reads as a number); the delimiter
    is taken from the header line. Header names are matched case-insensitively. Blank
    lines are skipped and rows shorter than the header are padded with empty cells. A text
    cell escaped against formula injection (``'=SUM(1)``, ``''=x``: see
    :mod:`signalight.codecs.csv_cells`) loses its first quote, so an export reads back as
    it was written.

    Args:
        data: The file's bytes.
        mapping: Source column name to canonical column, or None to drop the column.

    Args (beyond :func:`decode_csv`'s):
        chunk_rows: How many rows each yielded piece covers at most.

    Yields:
        Pieces of the result in file order, so that a caller can check and write the
        first rows while later ones are still being decoded.
    """
    text = _text(data)
    if isinstance(text, RowError):
        yield Decoded([], [text])
        return
    delimiter = _delimiter(text)
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=delimiter, strict=True, skipinitialspace=True
    )
    cells: list[str] | None = None
    header_line = 1
    try:
        for row in reader:
            if any(row):
                cells = row
                break
            header_line = reader.line_num + 1
    except csv.Error as exc:
        yield Decoded([], [_malformed(header_line, exc)])
        return
    if cells is None:
        reason = "the file is empty; its first line must name the columns, e.g. kind,code,lat,lon"
        yield Decoded([], [RowError(0, reason, "file")])
        return
    header = _header(cells, mapping)
    if isinstance(header, list):
        yield Decoded([], header)
        return
    with collector_paused():
        yield from _decode_rows(reader, header, decimal_comma=delimiter == ";", chunk=chunk_rows)


def _decode_rows(
    reader: Reader, header: _Header, *, decimal_comma: bool, chunk: int
) -> Iterator[Decoded]:
    records: list[tuple[int, AssetRecord]] = []
    errors: list[RowError] = []
    # Locals, as this loop runs once a row and 100,000 rows must take well under 2 seconds.
    names, width = header.names, header.width
    # Most files hold only inventory columns, so their rows need no picking.
    cells = _same if header.indexes == tuple(range(width)) else itemgetter(*header.indexes)
    strange_rows = bool(header.unnamed)
    # The reader's line_num is the last physical line it has read, so a record starts on the
    # line after the previous record ended, whatever quoted newlines either of them held.
    start = reader.line_num + 1
    try:
        for row in reader:
            line = start
            start = reader.line_num + 1
            if not any(row):
                continue
            if len(row) != width or strange_rows:
                problem = _row_problem(row, header)
                if problem:
                    errors.append(RowError(line, problem))
                    continue
                # Spreadsheets leave out the trailing empty cells of a row.
                row.extend([""] * (width - len(row)))
            try:
                # Not strict: a row may end in empty cells beyond the header.
                fields = zip(names, cells(row), strict=False)
                record = record_from_fields(fields, decimal_comma=decimal_comma, escaped=True)
            except RecordError as exc:
                errors.extend(RowError(line, problem) for problem in exc.problems)
            else:
                records.append((line, record))
                if len(records) >= chunk:
                    yield Decoded(records, errors)
                    records, errors = [], []
    except csv.Error as exc:
        errors.append(_malformed(start, exc))
    yield Decoded(records, errors)


def _same(row: list[str]) -> list[str]:
    return row


def _malformed(line: int, exc: csv.Error) -> RowError:
    reason = (
        f"line {line}: the CSV is malformed ({exc}); a quoted cell must end with a quote,"
        " and quotes inside it must be doubled"
    )
    return RowError(0, reason, "file")


class _Lines:
    """A write-only text file that hands back what the CSV writer wrote since the last take."""

    __slots__ = ("_parts",)

    def __init__(self) -> None:
        self._parts: list[str] = []

    def write(self, text: str) -> int:
        self._parts.append(text)
        return len(text)

    def take(self) -> str:
        text = "".join(self._parts)
        self._parts.clear()
        return text


def encode_csv(records: Iterable[AssetRecord]) -> Iterator[str]:
    """Encode records as inventory CSV, one line at a time.

    Every cell passes through :func:`~signalight.codecs.csv_cells.escape_cell`: one that
    a spreadsheet would run as a formula (beginning with ``=``, ``+``, ``-``, ``@``, tab or
    carriage return, maybe behind quotes) gets a ``'`` in front, which :func:`decode_csv`
    takes off again; plain numbers such as ``-33.8688197`` are written as they are.

    Args:
        records: The records, in the order to write them.

    Yields:
        The header line, then one line per record, each ending in CR LF (RFC 4180).
    """
    lines = _Lines()
    writer = csv.writer(lines, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    yield lines.take()
    for record in records:
        writer.writerow(map(escape_cell, record_to_fields(record).values()))
        yield lines.take()
