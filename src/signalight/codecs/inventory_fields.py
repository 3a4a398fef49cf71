"""The inventory's columns and their conversions, shared by the CSV and GeoJSON codecs.

One table of every column with its conversion both ways: about 430 lines,
kept whole so that a column is added in one place.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, Generic, TypeVar

from signalight.codecs.csv_cells import unescape_cell
from signalight.domain.assets import (
    AssetKind,
    AssetRecord,
    AssetStatus,
    LuminaireType,
    StreetClass,
    record_problems,
)
from signalight.domain.errors import InvalidInputError

__all__ = [
    "COLUMNS",
    "COORDINATE_DECIMALS",
    "REQUIRED_COLUMNS",
    "Decoded",
    "RecordError",
    "RowError",
    "field_value",
    "parse_mapping",
    "record_from_fields",
    "record_to_fields",
    "record_to_properties",
]

REQUIRED_COLUMNS: tuple[str, ...] = ("kind", "code", "lat", "lon")
_REQUIRED = frozenset(REQUIRED_COLUMNS)
COORDINATE_DECIMALS = 7  # 1e-7 degree is about 1 cm on the ground: finer is noise
ECHO_MAX = 40  # longest bad value echoed back in a reason, so one cell cannot flood a report

E = TypeVar("E", bound=StrEnum)
Converter = Callable[[object], object]


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem of an inventory file, at a CSV line, a GeoJSON feature or the whole file."""

    line: int  # CSV physical line, or 1-based feature number for GeoJSON; 0 for the whole file
    reason: str
    where: str = "line"  # "line", "feature" or "file"

    def __str__(self) -> str:
        if self.where == "file":
            return f"file: {self.reason}"
        return f"{self.where} {self.line}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Decoded:
    """The records of an inventory file, each with its line (or feature) number, and the errors."""

    records: list[tuple[int, AssetRecord]]
    errors: list[RowError]

    @property
    def ok(self) -> bool:
        """Whether the file decoded without a single error."""
        return not self.errors


class RecordError(InvalidInputError):
    """The fields of one record do not make a valid asset; ``problems`` holds every reason."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems: tuple[str, ...] = tuple(problems)


class _BadValueError(ValueError):
    """A value that does not convert; the message completes "column: 'value' ..."."""


_FAILED = object()  # stands for a value that did not convert, so it is not reported missing


def _echo(value: object) -> str:
    """The value as quoted in a reason: short, and in the notation the user wrote it in."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value if len(value) <= ECHO_MAX else value[: ECHO_MAX - 1] + "…")
    text = repr(value)
    return text if len(text) <= ECHO_MAX else text[: ECHO_MAX - 1] + "…"


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    # GIS tools write numeric pole and cabinet numbers as JSON integers.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise _BadValueError("is not text")


def _number(value: object) -> float:
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            hint = " (write decimals with '.')" if "," in value else ""
            raise _BadValueError(f"is not a number{hint}") from None
    elif isinstance(value, int | float) and not isinstance(value, bool):  # JSON true is no number
        try:
            number = float(value)
        except OverflowError:
            raise _BadValueError("is not a finite number") from None
    else:
        raise _BadValueError("is not a number")
    if not math.isfinite(number):
        raise _BadValueError("is not a finite number")
    return number


def _number_decimal_comma(value: object) -> float:
    # Spreadsheets in most of Europe write 52,37 in the semicolon-separated files they save.
    if isinstance(value, str) and value.count(",") == 1 and "." not in value:
        value = value.replace(",", ".")
    return _number(value)


def _date(value: object) -> date:
    # date.fromisoformat also takes week dates and compact forms; the files must say YYYY-MM-DD.
    reason = "is not a date (YYYY-MM-DD)"
    if not (isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-"):  # noqa: PLR2004
        raise _BadValueError(reason)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _BadValueError(reason) from None


def _phases(value: object) -> tuple[int, ...]:
    parts: Sequence[object]
    if isinstance(value, str):
        parts = value.replace(";", " ").replace("|", " ").replace(",", " ").split()
    elif isinstance(value, list | tuple):
        parts = value
    else:
        raise _BadValueError("is not a list of phase numbers like 2;4;6;8")
    phases: list[int] = []
    for part in parts:
        if isinstance(part, str):
            try:
                phases.append(int(part))
            except ValueError:
                raise _BadValueError("is not a list of phase numbers like 2;4;6;8") from None
        elif isinstance(part, int) and not isinstance(part, bool):
            phases.append(part)
        elif isinstance(part, float) and part.is_integer():
            phases.append(int(part))
        else:
            raise _BadValueError("is not a list of phase numbers like 2;4;6;8")
    return tuple(phases)


class _EnumConverter(Generic[E]):
    """Converts text to a member of ``enum`` by value, case-insensitively."""

    def __init__(self, enum: type[E]) -> None:
        self.by_value = {member.value: member for member in enum}
        self.reason = f"is not one of {', '.join(self.by_value)}"

    def __call__(self, value: object) -> E:
        if isinstance(value, str):
            member = self.by_value.get(value)
            if member is None:
                # Accept "Metal-Halide", "metal halide" and "IN SERVICE" as people type them.
                member = self.by_value.get("_".join(value.lower().replace("-", " ").split()))
            if member is not None:
                return member
        raise _BadValueError(self.reason)


def _finite(text: str) -> float | None:
    number = float(text)
    return number if math.isfinite(number) else None


_CONVERTERS: dict[str, Converter] = {
    "kind": _EnumConverter(AssetKind),
    "code": _text,
    "name": _text,
    "lat": _number,
    "lon": _number,
    "status": _EnumConverter(AssetStatus),
    "street": _text,
    "street_class": _EnumConverter(StreetClass),
    "cabinet": _text,
    "group": _text,
    "installed_on": _date,
    "luminaire": _EnumConverter(LuminaireType),
    "rated_watts": _number,
    "lamp_changed_on": _date,
    "controller_id": _text,
    "controller_vendor": _text,
    "phases": _phases,
    "device": _text,
    "device_firmware": _text,
}
# The canonical columns are AssetRecord's fields, in the order a person reads a row in.
COLUMNS: tuple[str, ...] = tuple(_CONVERTERS)
_DECIMAL_COMMA_CONVERTERS: dict[str, Converter] = {
    column: _number_decimal_comma if convert is _number else convert
    for column, convert in _CONVERTERS.items()
}


def field_value(column: str, value: object, *, decimal_comma: bool = False) -> object:
    """Convert one given (not empty, not null) value of ``column`` as records are built.

    Raises:
        InvalidInputError: If the column is unknown or the value does not convert; the
            message reads like a reason of :class:`RecordError`.
    """
    convert = (_DECIMAL_COMMA_CONVERTERS if decimal_comma else _CONVERTERS).get(column)
    if convert is None:
        raise InvalidInputError(f"{column}: not an inventory column")
    if isinstance(value, str):
        value = value.strip()
    try:
        return convert(value)
    except _BadValueError as exc:
        raise InvalidInputError(f"{column}: {_echo(value)} {exc}") from None


def _fast(convert: Converter) -> Callable[[str], object] | None:
    if convert is _text:
        return None
    if isinstance(convert, _EnumConverter):
        return convert.by_value.get
    if convert is _number:
        return _finite
    return convert


# Decoding 100,000 CSV rows must take well under 2 seconds, so most cells take this path: text
# is kept as it is (None) and the rest goes to C-level calls where it can. A cell the fast path
# cannot take (an exception or None) goes to the full converter, which says what is wrong.
_FAST_FOR_TEXT: dict[str, Callable[[str], object] | None] = {
    column: _fast(convert) for column, convert in _CONVERTERS.items()
}


def _to_slow_path(_value: str) -> None:
    return None


def _convert(
    items: Iterable[tuple[str, object]], converters: dict[str, Converter], *, unescape: bool
) -> tuple[dict[str, Any], list[str]]:
    """Convert each given value; a value that fails is kept as ``_FAILED``, with its reason."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    fast_for_text = _FAST_FOR_TEXT
    for column, raw in items:
        value: object
        if raw.__class__ is str:
            value = text = raw.strip()
            if not text:
                continue
            fast = fast_for_text.get(column, _to_slow_path)
            if fast is None:
                # Unescaped after stripping, so that an escaped leading tab is kept.
                values[column] = unescape_cell(text) if unescape and text[0] == "'" else text
                continue
            try:
                result = fast(text)
            except ValueError:
                result = None
            if result is not None:
                values[column] = result
                continue
        elif raw is None:
            continue
        else:
            value = raw.strip() if isinstance(raw, str) else raw
        convert = converters.get(column)
        if convert is None:
            problems.append(f"{column}: not an inventory column")
            continue
        try:
            values[column] = convert(value)
        except _BadValueError as exc:
            problems.append(f"{column}: {_echo(value)} {exc}")
            values[column] = _FAILED
    return values, problems


def record_from_fields(
    fields: Mapping[str, object] | Iterable[tuple[str, object]],
    *,
    decimal_comma: bool = False,
    escaped: bool = False,
) -> AssetRecord:
    """Build an asset record from the text of a CSV row or the properties of a GeoJSON feature.

    Empty strings and nulls mean "not given", so the field keeps its default; text is
    stripped; enums match their values case-insensitively.

    Args:
        fields: Values by canonical column name (see :data:`COLUMNS`), as a mapping or as
            ``(column, value)`` pairs such as ``zip(header, row)``, which spares the CSV
            decoder a dict per row.
        decimal_comma: Also accept ``52,37`` for numbers (semicolon-separated CSV files).
        escaped: Undo :func:`~signalight.codecs.csv_cells.escape_cell` on text (CSV files).

    Raises:
        RecordError: Listing every problem of the fields, then of the record as a whole.
    """
    items = fields.items() if isinstance(fields, Mapping) else fields
    converters = _DECIMAL_COMMA_CONVERTERS if decimal_comma else _CONVERTERS
    values, problems = _convert(items, converters, unescape=escaped)
    if problems or not values.keys() >= _REQUIRED:
        problems.extend(f"{column}: missing" for column in REQUIRED_COLUMNS if column not in values)
        values = {column: value for column, value in values.items() if value is not _FAILED}
        if not values.keys() >= _REQUIRED:
            raise RecordError(problems)
    # Fields that failed keep their defaults here, so that the rules of the whole record are
    # checked as well and a user sees every problem of a row at once.
    record = AssetRecord(**values)
    problems.extend(record_problems(record))
    if problems:
        raise RecordError(problems)
    return record


def _coordinate_text(value: float) -> str:
    text = f"{value:.{COORDINATE_DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _number_text(value: float | None) -> str:
    if value is None:
        return ""
    # repr is the shortest text that reads back as the same float; 60.0 is written 60.
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)  # noqa: PLR2004


def record_to_fields(record: AssetRecord) -> dict[str, str]:
    """The CSV cells of ``record`` by column, in :data:`COLUMNS` order.

    Unset values are empty, phases are joined with ``;`` and coordinates keep up to seven
    decimals (about 1 cm), so a value read from a file is written back unchanged.
    """
    return {
        "kind": record.kind.value,
        "code": record.code,
        "name": record.name,
        "lat": _coordinate_text(record.lat),
        "lon": _coordinate_text(record.lon),
        "status": record.status.value,
        "street": record.street,
        "street_class": record.street_class.value if record.street_class else "",
        "cabinet": record.cabinet or "",
        "group": record.group,
        "installed_on": record.installed_on.isoformat() if record.installed_on else "",
        "luminaire": record.luminaire.value if record.luminaire else "",
        "rated_watts": _number_text(record.rated_watts),
        "lamp_changed_on": record.lamp_changed_on.isoformat() if record.lamp_changed_on else "",
        "controller_id": record.controller_id,
        "controller_vendor": record.controller_vendor,
        "phases": ";".join(map(str, record.phases)),
        "device": record.device or "",
        "device_firmware": record.device_firmware,
    }


def record_to_properties(record: AssetRecord) -> dict[str, object]:
    """The GeoJSON properties of ``record``: JSON types, None for unset, no lat/lon."""
    return {
        "kind": record.kind.value,
        "code": record.code,
        "name": record.name or None,
        "status": record.status.value,
        "street": record.street or None,
        "street_class": record.street_class.value if record.street_class else None,
        "cabinet": record.cabinet,
        "group": record.group or None,
        "installed_on": record.installed_on.isoformat() if record.installed_on else None,
        "luminaire": record.luminaire.value if record.luminaire else None,
        "rated_watts": record.rated_watts,
        "lamp_changed_on": record.lamp_changed_on.isoformat() if record.lamp_changed_on else None,
        "controller_id": record.controller_id or None,
        "controller_vendor": record.controller_vendor or None,
        "phases": list(record.phases) or None,
        "device": record.device,
        "device_firmware": record.device_firmware or None,
    }


def parse_mapping(items: Sequence[str]) -> dict[str, str | None]:
    """Parse column mappings such as ``pole_no=code`` (rename) and ``notes=-`` (drop).

    Returns the canonical column, or None to drop the column, by lower-case source name
    (headers are matched case-insensitively).

    Raises:
        InvalidInputError: For a malformed item, a target that is not a column, a source
            mapped twice or two sources mapped to one column.
    """
    mapping: dict[str, str | None] = {}
    for item in items:
        # The target never holds "=", so splitting at the last one lets a source name hold it.
        source, equals, target = item.rpartition("=")
        source, target = source.strip().lower(), target.strip().lower()
        if not equals or not source or not target:
            raise InvalidInputError(
                f"--map {item!r}: write NAME=COLUMN to rename a column or NAME=- to drop it"
            )
        if source in mapping:
            raise InvalidInputError(f"--map {item!r}: column {source!r} is mapped twice")
        if target == "-":
            mapping[source] = None
            continue
        if target not in _CONVERTERS:
            raise InvalidInputError(
                f"--map {item!r}: {target!r} is not an inventory column;"
                f" the columns are {', '.join(COLUMNS)}"
            )
        other = next((name for name, to in mapping.items() if to == target), None)
        if other is not None:
            raise InvalidInputError(f"--map: both {other!r} and {source!r} map to {target!r}")
        mapping[source] = target
    return mapping
