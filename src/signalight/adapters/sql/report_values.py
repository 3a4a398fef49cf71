"""How a report's readings are kept in the ``data`` column of ``reports``: a JSON object.

A device's readings of one instant make one row, ``{name: value}``; one row a
message costs a fifth of one row a reading to insert and to index (measured
in ``bench/ingest.py``). The value of a name is

- the reading's one value: a number (``v``), ``true``/``false`` (``vb``) or a
  string (``vs``);
- ``[v, vb, vs]``, with nulls, when the reading carries more than one (a
  signal monitor's ``event``: the code in ``v``, its parameter in ``vs``);
- ``null`` when it carries none.

Migration 0005 writes the same encoding in SQL; keep the two together.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Any

import orjson

from signalight.domain.readings import Reading

__all__ = ["data_of", "decoded", "encoded"]


def encoded(value: float | None, bool_value: bool | None, string_value: str | None) -> Any:  # noqa: ANN401 - JSON
    """One reading's value as ``data`` keeps it."""
    if bool_value is None:
        if string_value is None:
            return value
        if value is None:
            return string_value
    elif value is None and string_value is None:
        return bool_value
    return [value, bool_value, string_value]


def decoded(
    time: float, data: Mapping[str, Any], names: Collection[str] | None = None
) -> Iterator[Reading]:
    """A row's readings, by name; only ``names`` if given."""
    for name in sorted(data):
        if names is not None and name not in names:
            continue
        raw = data[name]
        if isinstance(raw, bool):
            yield Reading(time, name, None, raw, None)
        elif isinstance(raw, str):
            yield Reading(time, name, None, None, raw)
        elif isinstance(raw, list):
            value, bool_value, string_value = raw
            yield Reading(
                time, name, None if value is None else float(value), bool_value, string_value
            )
        else:
            yield Reading(time, name, None if raw is None else float(raw), None, None)


def data_of(raw: Any) -> dict[str, Any]:  # noqa: ANN401 - JSON text, or parsed by the driver
    """A stored ``data`` value as a dict: SQLite gives JSON text, PostgreSQL's driver a dict."""
    data: dict[str, Any] = orjson.loads(raw) if isinstance(raw, str | bytes) else raw
    return data
