"""SenML JSON packs (RFC 8428) from devices: decode them into checked readings, encode readings.

Resolution follows RFC 8428 section 4: each base field (``bn``, ``bt``, ``bu``,
``bv``, ``bs``, ``bver``) applies to its own record and every later one until a
record replaces it; the name is ``bn`` + ``n``; the time is ``bt`` + ``t``, and a
resolved time below 2**28 counts from now (section 4.5.3); the value is ``bv`` +
``v``, a counter's sum ``bs`` + ``s``; a record without ``u`` takes ``bu``. A
record that holds only base fields carries no reading. Unknown labels are
ignored, except those ending in ``_``, which section 4.4 says must be understood.

Its length (about 430 lines) is on purpose: the decoder's hot loop is one
frame (see ``_resolve``), and each refusal's words sit beside the rule they
explain.

Signalight's own rules on top:

* Identity comes from the MQTT topic and credentials, so the codec is told the
  device. A ``bn`` may be left out; if present it must begin with ``{device}/``
  or ``{device}:`` (``"node-17/"``, ``"node-17:"``, ``"node-17/lamp/"``), and the
  reading's name is what follows that prefix. Any other ``bn`` is refused as
  ``foreign_base_name``, so one device cannot report for another. Without a
  ``bn`` a name may still be written in full (``"node-17/power"``); the prefix is
  dropped.
* A number's unit, if given, must be one its name accepts; the value is
  converted to the canonical unit. A number without any unit is taken to be in
  the canonical unit already. Units on booleans and strings are ignored, so a
  ``bu`` meant for the numbers of a pack does not spoil its other records.
* One value field per record (``vd`` is not used), except ``event``, which
  carries the Indiana event code in ``v`` (``bv`` is not added to it) and its
  parameter in ``vs``. The sum ``s`` is read only for counters (``energy``),
  and then instead of ``v``.
* ``ut`` is allowed and ignored. ``bver`` above 10 (newer than RFC 8428) is refused.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, NoReturn

import orjson

from signalight.domain.readings import (
    CATALOGUE,
    PayloadError,
    Reading,
    RejectReason,
    ValueType,
    canonical_unit,
    repeat_problem,
    value_problem,
)
from signalight.domain.telemetry import MAX_FUTURE_S, MAX_MESSAGE_BYTES, MAX_PAST_S

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from signalight.domain.assets import DeviceKind
    from signalight.domain.readings import NameSpec

__all__ = ["PayloadError", "decode_pack", "encode_pack"]

SENML_VERSION: Final = 10  # the version RFC 8428 defines

_RELATIVE_BELOW: Final = 2.0**28  # RFC 8428 section 4.5.3
_BASE_LABELS: Final = frozenset({"bn", "bt", "bu", "bv", "bs", "bver"})
_RECORD_LABELS: Final = frozenset({"n", "u", "v", "vs", "vb", "vd", "s", "t", "ut"})
_LABELS: Final = _BASE_LABELS | _RECORD_LABELS
_VALUE_LABELS: Final = ("v", "vs", "vb", "vd", "s")
_NOT_V: Final = frozenset({"vs", "vb", "vd", "s"})
_NOT_VB: Final = frozenset({"v", "vs", "vd", "s"})
_NOT_S: Final = frozenset({"v", "vs", "vb", "vd"})
# JSON numbers as orjson gives them; not isinstance, which would let booleans through.
_NUMBERS: Final = frozenset({int, float})
_SEPARATORS: Final = ("/", ":")  # between the device and the rest of a base name

# Speed, measured on CPython 3.11: building the NamedTuple through tuple.__new__
# skips its Python-level __new__ (100 ns a reading), and an enum member read from
# the class costs over 100 ns where a module constant costs 15.
_new_reading: Final = tuple.__new__
_NUMBER: Final = ValueType.NUMBER
_BOOL: Final = ValueType.BOOL
_STRING: Final = ValueType.STRING


def decode_pack(
    payload: bytes,
    *,
    device: str,
    kind: DeviceKind,
    now: float,
    max_bytes: int = MAX_MESSAGE_BYTES,
    max_past_s: float = MAX_PAST_S,
    max_future_s: float = MAX_FUTURE_S,
) -> list[Reading]:
    """Decode and check a SenML JSON pack that ``device`` sent.

    Args:
        payload: The message body, UTF-8 JSON.
        device: The device the topic and credentials say sent it.
        kind: That device's kind, which decides the names it may report.
        now: The time of receipt, UTC epoch seconds; relative times count from it.
        max_bytes: Longer payloads are refused before parsing.
        max_past_s: Readings older than this, in seconds before ``now``, are refused.
        max_future_s: Readings further ahead than this are refused (clock drift).

    Returns:
        The readings, in the order of the pack, in canonical units.

    Raises:
        PayloadError: The whole pack is refused; ``reason`` says why and the
            message names the record and the rule it broke.
    """
    pack = _parse(payload, max_bytes)
    readings = _resolve(pack, device, CATALOGUE[kind], now, now - max_past_s, now + max_future_s)
    if not readings:
        raise PayloadError(RejectReason.MALFORMED, "the pack holds base fields but no readings")
    if len({reading.name for reading in readings}) < len(readings):  # a name twice: look closer
        problem = repeat_problem(readings)  # events share instants; anything else must say why
        if problem is not None:
            raise PayloadError(problem.reason, problem.message)
    return readings


def _parse(payload: bytes, max_bytes: int) -> list[Any]:
    if len(payload) > max_bytes:
        text = f"the pack is {len(payload)} bytes; the limit is {max_bytes}"
        raise PayloadError(RejectReason.TOO_LARGE, text)
    try:
        pack = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(RejectReason.MALFORMED, _json_problem(payload, exc)) from exc
    if type(pack) is not list:
        text = f"a SenML pack is a JSON array of records, not {_json_type(pack)}"
        raise PayloadError(RejectReason.MALFORMED, text)
    if not pack:
        raise PayloadError(RejectReason.MALFORMED, "the pack has no records")
    return pack


def _resolve(  # noqa: C901, PLR0912, PLR0915 - the hot loop is one frame on purpose, see below
    pack: list[Any],
    device: str,
    specs: Mapping[str, NameSpec],
    now: float,
    earliest: float,
    latest: float,
) -> list[Reading]:
    """Resolve the records of a pack into readings, checking each on the way.

    This loop is ingest's hot path, so it is one frame with its state in local
    variables; the rare cases (base fields, errors, strings and events) go to
    helpers. A call and a state object per record cost a third more, measured.
    """
    readings: list[Reading] = []
    append = readings.append
    # The base fields in force (RFC 8428 section 4.1): each applies to its own
    # record and every later one, until a record replaces it.
    rest: str | None = None  # what bn adds after "{device}/"; None while no bn is in force
    base_time = base_value = base_sum = 0.0
    base_unit: str | None = None
    for index, record in enumerate(pack, 1):
        if type(record) is not dict:
            text = f"record {index} is {_json_type(record)}, not an object"
            raise PayloadError(RejectReason.MALFORMED, text)
        if not _RECORD_LABELS.issuperset(record):  # base fields, or labels unknown to RFC 8428
            if not _LABELS.issuperset(record):
                _check_labels(record, index)
            if "bn" in record:
                rest = _base_name(record["bn"], device, index)
            if "bt" in record:
                base_time = _number(record, "bt", index)
            if "bu" in record:
                base_unit = _string(record, "bu", index)
            if "bv" in record:
                base_value = _number(record, "bv", index)
            if "bs" in record:
                base_sum = _number(record, "bs", index)
            if "bver" in record:
                _check_version(record["bver"], index)
            if _RECORD_LABELS.isdisjoint(record) and not _BASE_LABELS.isdisjoint(record):
                continue  # a record of base fields only carries no reading
        name = record.get("n", "")
        if type(name) is not str:
            _not_a("n", "string", name, index)
        if rest is not None:
            name = rest + name
        spec = specs.get(name)
        if spec is None:
            name, spec = _full_name(name, device, rest, specs, index)
        time = base_time
        if "t" in record:
            offset = record["t"]
            if type(offset) not in _NUMBERS:
                _not_a("t", "number", offset, index)
            time += offset
        if time < _RELATIVE_BELOW:
            time += now
        if not earliest <= time <= latest:  # also refuses NaN
            _bad_time(name, time, now, earliest, latest, index)
        if "ut" in record:
            _number(record, "ut", index)
        kind = spec.type
        if kind is _NUMBER:
            value = record.get("v")
            if value is not None and _NOT_V.isdisjoint(record):
                if type(value) not in _NUMBERS:
                    _not_a("v", "number", value, index)
                value += base_value
            else:
                value = _sum(record, spec, name, base_sum, index)
            unit = record.get("u", base_unit)
            if unit is not None and unit != spec.unit:
                value *= _factor(spec, name, unit, index)
            if not spec.low <= value <= spec.high:  # also refuses NaN and overflow to infinity
                _out_of_range(spec, name, value, index)
            append(_new_reading(Reading, (time, name, value, None, None)))
        elif kind is _BOOL:
            flag = record.get("vb")
            if type(flag) is not bool or not _NOT_VB.isdisjoint(record):
                _bad_value(record, name, "vb", index)
            append(_new_reading(Reading, (time, name, None, flag, None)))
        else:
            append(_text_reading(record, spec, name, time, index))
    return readings


def _check_version(version: object, index: int) -> None:
    if type(version) is not int or not 0 < version <= SENML_VERSION:
        text = f"bver {version!r} is not a SenML version up to {SENML_VERSION} (RFC 8428)"
        _fail(RejectReason.MALFORMED, index, text)


def _base_name(name: object, device: str, index: int) -> str | None:
    """What a base name adds after the device's own prefix; None for an empty one."""
    if type(name) is not str:
        _not_a("bn", "string", name, index)
    if not name:
        return None
    cut = len(device) + 1
    if name[cut - 1 : cut] not in _SEPARATORS or not name.startswith(device):
        text = (
            f"base name {name[:60]!r} is not this device's;"
            f" it must be '{device}/' or '{device}:', or begin with one"
        )
        _fail(RejectReason.FOREIGN_BASE_NAME, index, text)
    return name[cut:]


def _full_name(
    name: str, device: str, rest: str | None, specs: Mapping[str, NameSpec], index: int
) -> tuple[str, NameSpec]:
    """A name written in full ("{device}/power") when no base name is in force."""
    if rest is None and name.startswith((f"{device}/", f"{device}:")):
        spec = specs.get(name[len(device) + 1 :])
        if spec is not None:
            return name[len(device) + 1 :], spec
    if not name:
        _fail(RejectReason.MALFORMED, index, "has no name (n, after bn)")
    text = f"record {index}: no reading is named {name[:60]!r} for this device"
    raise PayloadError(RejectReason.UNKNOWN_NAME, text)


def _sum(
    record: Mapping[str, Any], spec: NameSpec, name: str, base_sum: float, index: int
) -> float:
    """The value of a number record without a plain ``v``: a counter's sum, or an error."""
    if not spec.counter:
        _bad_value(record, name, "v", index)
    if "s" not in record or not _NOT_S.isdisjoint(record):
        _bad_value(record, name, "s", index)
    return _number(record, "s", index) + base_sum


def _factor(spec: NameSpec, name: str, unit: object, index: int) -> float:
    if type(unit) is not str:
        _not_a("u", "string", unit, index)
    factor = spec.units.get(unit) if spec.units else None
    if factor is None:
        accepted = ", ".join(spec.units or ())
        _fail(RejectReason.WRONG_UNIT, index, f"{name!r} is in {unit[:20]!r}; it takes {accepted}")
    return factor


def _out_of_range(spec: NameSpec, name: str, value: float, index: int) -> NoReturn:
    span = f"{spec.low:g}..{spec.high:g} {spec.unit}"
    _fail(RejectReason.OUT_OF_RANGE, index, f"{name!r} is {value:g} {spec.unit}, outside {span}")


def _text_reading(
    record: Mapping[str, Any], spec: NameSpec, name: str, time: float, index: int
) -> Reading:
    """A string or an event reading, checked against the catalogue."""
    present = {label for label in _VALUE_LABELS if label in record}
    if spec.type is _STRING:
        if present != {"vs"}:
            _bad_value(record, name, "vs", index)
        reading = Reading(time, name, None, None, _string(record, "vs", index))
    else:
        if present != {"v", "vs"}:
            _bad_value(record, name, "v+vs", index)
        code = _number(record, "v", index)
        reading = Reading(time, name, code, None, _string(record, "vs", index))
    problem = value_problem(spec, reading)
    if problem is not None:
        _fail(problem.reason, index, problem.message)
    return reading


_WANTED: Final = {
    "v": "a number in v",
    "s": "a number in v or in s (one of them)",
    "vb": "true or false in vb",
    "vs": "a string in vs",
    "v+vs": "the event code in v and its parameter in vs",
}
_JSON_WANTED: Final = {"v": "a number", "s": "a number", "vb": "true or false", "vs": "a string"}


def _bad_value(record: Mapping[str, Any], name: str, wanted: str, index: int) -> NoReturn:
    """Say what is wrong with a record's value fields for ``name``."""
    present = [label for label in _VALUE_LABELS if label in record]
    if present == [wanted]:  # the right field, holding the wrong JSON type
        text = f"{wanted} of {name!r} must be {_JSON_WANTED[wanted]}"
        _fail(RejectReason.MALFORMED, index, f"{text}, not {_json_type(record[wanted])}")
    if not present:
        _fail(RejectReason.MALFORMED, index, f"{name!r} has no value; it takes {_WANTED[wanted]}")
    has = ", ".join(present)
    _fail(RejectReason.WRONG_TYPE, index, f"{name!r} takes {_WANTED[wanted]}; it has {has}")


def _bad_time(
    name: str, time: float, now: float, earliest: float, latest: float, index: int
) -> NoReturn:
    if time < earliest:
        limit = (
            f"{(now - time) / 3600:.1f} h before now; the limit is {(now - earliest) / 3600:g} h"
        )
    elif time > latest:
        limit = f"{time - now:.0f} s after now; the limit is {latest - now:g} s (check its clock)"
    else:
        limit = "not a time"
    _fail(RejectReason.BAD_TIME, index, f"{name!r} at {_when(time)} is {limit}")


def _check_labels(record: Mapping[str, Any], index: int) -> None:
    """Refuse labels that RFC 8428 section 4.4 says must be understood (ending in '_')."""
    for label in record:
        if label not in _LABELS and label.endswith("_"):
            text = f"label {label[:30]!r} must be understood (it ends in '_') and is not"
            _fail(RejectReason.MALFORMED, index, text)


def _fail(reason: RejectReason, index: int, text: str) -> NoReturn:
    raise PayloadError(reason, f"record {index}: {text}")


def _number(record: Mapping[str, Any], label: str, index: int) -> float:
    value = record[label]
    if type(value) not in _NUMBERS:
        _not_a(label, "number", value, index)
    return float(value)


def _string(record: Mapping[str, Any], label: str, index: int) -> str:
    text = record[label]
    if type(text) is not str:
        _not_a(label, "string", text, index)
    return text


def _not_a(label: str, wanted: str, value: object, index: int) -> NoReturn:
    _fail(RejectReason.MALFORMED, index, f"{label} must be a {wanted}, not {_json_type(value)}")


_JSON_TYPES: Final = {bool: "a boolean", int: "a number", float: "a number", str: "a string"}


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    return _JSON_TYPES.get(type(value)) or ("an array" if type(value) is list else "an object")


def _when(time: float) -> str:
    try:
        return datetime.fromtimestamp(time, UTC).isoformat(timespec="seconds")
    except (OverflowError, OSError, ValueError):
        return f"{time:g} s since 1970"


def _json_problem(payload: bytes, exc: orjson.JSONDecodeError) -> str:
    try:
        payload.decode()
    except UnicodeDecodeError as bad:
        return f"the payload is not UTF-8: byte 0x{payload[bad.start]:02X} at offset {bad.start}"
    return f"the payload is not valid JSON: {exc}"


def encode_pack(device: str, readings: Sequence[Reading], base_time: float | None = None) -> bytes:
    """Encode readings as a compact SenML JSON pack from ``device``.

    The first record carries ``bn`` (``"{device}/"``) and ``bt``; each record
    has its name, its time relative to ``bt`` (left out when equal, rounded to
    the microsecond), its canonical unit for numbers, and its value.

    Args:
        device: The sending device; its id becomes the base name.
        readings: The readings, in canonical units.
        base_time: The base time; the first reading's time if not given.

    Returns:
        The pack as UTF-8 JSON.

    Raises:
        ValueError: There are no readings, or a reading has no value.
    """
    if not readings:
        raise ValueError("a SenML pack needs at least one reading")
    base = readings[0].time if base_time is None else base_time
    records: list[dict[str, object]] = []
    for reading in readings:
        record: dict[str, object] = {"n": reading.name}
        offset = round(reading.time - base, 6)
        if offset:
            record["t"] = offset
        if reading.bool_value is not None:
            record["vb"] = reading.bool_value
        elif reading.value is not None:
            unit = canonical_unit(reading.name)
            if unit is not None:
                record["u"] = unit
            record["v"] = reading.value
            if reading.string_value is not None:  # an event: code and parameter
                record["vs"] = reading.string_value
        elif reading.string_value is not None:
            record["vs"] = reading.string_value
        else:
            raise ValueError(f"reading {reading.name!r} at {reading.time} has no value")
        records.append(record)
    records[0] = {"bn": f"{device}/", "bt": base, **records[0]}
    return orjson.dumps(records)
