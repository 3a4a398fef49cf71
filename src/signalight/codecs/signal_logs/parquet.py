"""Controller events as Parquet: the ``TimeStamp, DeviceId, EventId, Parameter`` table.

The layout of ODOT's ``atspm`` package and of ATSPM's Parquet exports. The
columns are read whole by pyarrow and turned into Python values once, never
row by row through pyarrow's scalars. A timestamp column with a time zone
holds UTC instants (:attr:`LogZone.UTC`); a naive one, the controller's wall
clock (:attr:`LogZone.LOCAL`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, cast

from signalight.codecs.signal_logs.errors import LogError
from signalight.domain.signals import (
    EVENT_CODE_MAX,
    EVENT_PARAMETER_MAX,
    DecodedLog,
    LogFormat,
    LogZone,
    event_time,
)

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["COLUMNS", "decode_parquet"]

TIME, DEVICE, CODE, PARAMETER = COLUMNS = ("TimeStamp", "DeviceId", "EventId", "Parameter")
_PER_SECOND: Final = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
_LIMITS: Final = {CODE: (0, EVENT_CODE_MAX), PARAMETER: (-EVENT_PARAMETER_MAX, EVENT_PARAMETER_MAX)}


def decode_parquet(filename: str, data: bytes) -> DecodedLog:
    """Decode a Parquet event table; raise :class:`LogError` naming a missing or wrong column."""
    # pyarrow takes a good part of a second to import; only Parquet files need it.
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not data:
        raise LogError(filename, "the file is empty")
    try:
        parquet = pq.ParquetFile(pa.BufferReader(data))
        names = {name.lower(): name for name in parquet.schema_arrow.names}
        if missing := [column for column in COLUMNS if column.lower() not in names]:
            found = ", ".join(parquet.schema_arrow.names[:10]) or "none"
            reason = f"Parquet file lacks column {', '.join(missing)} (it has {found})"
            raise LogError(filename, reason)
        table = parquet.read(columns=[names[column.lower()] for column in COLUMNS])
    except (pa.ArrowException, OSError, ValueError, TypeError) as exc:
        raise LogError(filename, f"not a readable Parquet file ({exc})") from None
    table = table.rename_columns(list(COLUMNS))
    zone = _check(filename, table)
    return DecodedLog(LogFormat.PARQUET, zone, _events_by_signal(table))


def _check(filename: str, table: pa.Table) -> LogZone:
    """Refuse a column of the wrong type, an empty cell or a code out of range; the log's zone."""
    import pyarrow as pa
    import pyarrow.compute as pc

    schema = table.schema
    wrong = [
        f"{name} is {schema.field(name).type}"
        for name, fits in (
            (TIME, pa.types.is_timestamp),
            (DEVICE, _is_id),
            (CODE, pa.types.is_integer),
            (PARAMETER, pa.types.is_integer),
        )
        if not fits(schema.field(name).type)
    ]
    if wrong:
        expected = "timestamp, integer or string, integer, integer"
        raise LogError(filename, f"Parquet column {'; '.join(wrong)} (expected {expected})")
    if empty := [
        f"{name} ({table[name].null_count})" for name in COLUMNS if table[name].null_count
    ]:
        raise LogError(filename, f"Parquet column with empty cells: {', '.join(empty)}")
    for name, (low, high) in _LIMITS.items():
        extremes = pc.min_max(table[name])
        least, most = extremes["min"].as_py(), extremes["max"].as_py()
        if least is not None and (least < low or most > high):
            reason = f"Parquet column {name} holds {least}..{most}, outside {low}..{high}"
            raise LogError(filename, reason)
    return LogZone.UTC if schema.field(TIME).type.tz else LogZone.LOCAL


def _is_id(kind: pa.DataType) -> bool:
    """Whether a column of this type names devices: integers or text (pandas writes both)."""
    import pyarrow as pa

    if pa.types.is_dictionary(kind):  # a pandas category
        kind = kind.value_type
    return pa.types.is_integer(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _events_by_signal(table: pa.Table) -> dict[str, list[tuple[float, int, int]]]:
    """Each device's events in file order, grouped by pyarrow rather than row by row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if table.num_rows == 0:
        return {}
    devices = pc.cast(table[DEVICE], pa.string())
    table = table.set_column(COLUMNS.index(DEVICE), DEVICE, devices)
    if pc.count_distinct(devices).as_py() == 1:
        return {devices[0].as_py().strip(): _events(table)}
    # A stable sort keeps each device's events in file order, one run of rows per device;
    # value_counts lists the ids in the order they first appear, the sorted order.
    table = table.take(pc.sort_indices(devices))
    signals: dict[str, list[tuple[float, int, int]]] = {}
    start = 0
    runs = pc.value_counts(table[DEVICE])
    ids = cast("list[str]", runs.field("values").to_pylist())
    counts = cast("list[int]", runs.field("counts").to_pylist())
    for device, count in zip(ids, counts, strict=True):
        signals.setdefault(device.strip(), []).extend(_events(table.slice(start, count)))
        start += count
    return signals


def _events(table: pa.Table) -> list[tuple[float, int, int]]:
    """One device's rows as ``(time, code, parameter)``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    per_second = _PER_SECOND[table.schema.field(TIME).type.unit]
    # Each distinct instant through event_time once (many events share their tenth of a
    # second), then spread back to the rows by pyarrow. No cell is empty (see _check).
    ticks = pc.cast(table[TIME], pa.int64())
    distinct = pc.unique(ticks)
    seconds = [event_time(tick / per_second) for tick in cast("list[int]", distinct.to_pylist())]
    at = pc.index_in(ticks, value_set=distinct)
    times = cast("list[float]", pa.array(seconds, pa.float64()).take(at).to_pylist())
    codes = cast("list[int]", table[CODE].to_pylist())
    params = cast("list[int]", table[PARAMETER].to_pylist())
    return list(zip(times, codes, params, strict=True))
