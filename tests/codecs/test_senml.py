from __future__ import annotations

import math
import pickle
from typing import Any

import orjson
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from signalight.codecs import senml
from signalight.codecs.senml import PayloadError, decode_pack, encode_pack
from signalight.domain.assets import DeviceKind
from signalight.domain.errors import InvalidInputError
from signalight.domain.readings import Reading, RejectReason

NOW = 1_773_488_527.0  # 2026-03-14T11:42:07Z
DEVICE = "node-0417"
NODE = DeviceKind.STREETLIGHT_NODE
METER = DeviceKind.CABINET_METER
MONITOR = DeviceKind.SIGNAL_MONITOR


def decode(
    records: Any, *, kind: DeviceKind = NODE, device: str = DEVICE, **limits: Any
) -> list[Reading]:
    payload = records if isinstance(records, bytes) else orjson.dumps(records)
    return decode_pack(payload, device=device, kind=kind, now=NOW, **limits)


def rejected(records: Any, reason: RejectReason, *, kind: DeviceKind = NODE, **limits: Any) -> str:
    with pytest.raises(PayloadError) as info:
        decode(records, kind=kind, **limits)
    assert info.value.reason is reason, info.value.message
    assert str(info.value) == info.value.message
    return info.value.message


def test_public_surface() -> None:
    assert set(senml.__all__) == {"PayloadError", "decode_pack", "encode_pack"}


# RFC 8428 section 5.1 examples, with the 1-wire sensor renamed to one of our devices.


def test_rfc8428_single_datapoint() -> None:
    # 5.1.1: a full name and no time means "now".
    assert decode([{"n": f"{DEVICE}/temp", "u": "Cel", "v": 23.1}]) == [Reading(NOW, "temp", 23.1)]


def test_rfc8428_multiple_datapoints() -> None:
    # 5.1.2: a base name ending in ':' prefixes every name.
    pack = [
        {"bn": f"{DEVICE}:", "n": "voltage", "u": "V", "v": 120.1},
        {"n": "current", "u": "A", "v": 1.2},
    ]
    assert decode(pack) == [Reading(NOW, "voltage", 120.1), Reading(NOW, "current", 1.2)]


def test_rfc8428_multiple_datapoints_over_time() -> None:
    # 5.1.2, second example: bt, a bu that u overrides, bver 5 and times relative to bt.
    base = NOW - 1.5
    pack = [
        {
            "bn": f"{DEVICE}/",
            "bt": base,
            "bu": "A",
            "bver": 5,
            "n": "voltage",
            "u": "V",
            "v": 120.1,
        },
        *({"n": "current", "t": -offset, "v": 1.7 - offset / 10} for offset in range(5, 0, -1)),
        {"n": "current", "v": 1.7},
    ]
    readings = decode(pack)
    assert readings[0] == Reading(base, "voltage", 120.1)
    assert [(r.time, r.name) for r in readings[1:]] == [
        (base - offset, "current") for offset in (5, 4, 3, 2, 1, 0)
    ]
    assert [r.value for r in readings[1:]] == pytest.approx([1.2, 1.3, 1.4, 1.5, 1.6, 1.7])


def test_rfc8428_multiple_data_types() -> None:
    # 5.1.5 without its data value: v, vs and vb in one pack.
    pack = [
        {"bn": f"{DEVICE}:", "n": "temp", "u": "Cel", "v": 23.1},
        {"n": "fault", "vs": "Machine Room"},
        {"n": "on", "vb": False},
    ]
    assert decode(pack) == [
        Reading(NOW, "temp", 23.1),
        Reading(NOW, "fault", string_value="Machine Room"),
        Reading(NOW, "on", bool_value=False),
    ]
    message = rejected([*pack, {"n": "fault", "vd": "aGkgCg"}], RejectReason.WRONG_TYPE)
    assert message == "record 4: 'fault' takes a string in vs; it has vd"


def test_rfc8428_collection_of_resources_from_two_devices_is_refused() -> None:
    # 5.1.6: one pack for two devices; the second base name is not the sender's.
    pack = [
        {"bn": f"{DEVICE}/", "bt": NOW, "n": "temp", "u": "Cel", "v": 27.2},
        {"n": "lux", "u": "lx", "v": 80},
        {"bn": "node-0001/", "n": "temp", "u": "Cel", "v": 24.1},
    ]
    message = rejected(pack, RejectReason.FOREIGN_BASE_NAME)
    assert message.startswith("record 3: base name 'node-0001/' is not this device's")


# Resolution of base fields.


@pytest.mark.parametrize(
    ("records", "names"),
    [
        ([{"n": "power", "v": 1}], ["power"]),  # no bn: names are relative to the device
        ([{"n": f"{DEVICE}/power", "v": 1}], ["power"]),  # no bn, a full name
        ([{"bn": "", "n": "power", "v": 1}], ["power"]),  # an empty bn is no bn
        ([{"bn": f"{DEVICE}/power", "v": 1}], ["power"]),  # bn names the sensor, no n
        ([{"bn": f"{DEVICE}/", "n": "power", "v": 1}, {"n": "dim", "v": 1}], ["power", "dim"]),
    ],
)
def test_name_is_base_name_plus_name(records: list[dict[str, Any]], names: list[str]) -> None:
    assert [reading.name for reading in decode(records)] == names


def test_base_name_applies_until_replaced() -> None:
    pack = [
        {"bn": "sig-12/lamp/1/", "n": "red", "v": 0.5},
        {"n": "yellow", "v": 0},
        {"bn": "sig-12/lamp/2/", "n": "red", "v": 0.4},
        {"bn": "sig-12/", "n": "door", "vs": "closed"},
    ]
    readings = decode_pack(orjson.dumps(pack), device="sig-12", kind=MONITOR, now=NOW)
    assert [r.name for r in readings] == ["lamp/1/red", "lamp/1/yellow", "lamp/2/red", "door"]


@pytest.mark.parametrize(
    ("records", "times"),
    [
        ([{"n": "power", "v": 1}], [NOW]),  # no time at all: now
        ([{"n": "power", "t": -5, "v": 1}], [NOW - 5]),  # negative: seconds before now
        ([{"n": "power", "t": 0.25, "v": 1}], [NOW + 0.25]),  # small positive: after now
        ([{"n": "power", "t": NOW - 30, "v": 1}], [NOW - 30]),  # >= 2**28: absolute
        ([{"bt": -60, "n": "power", "t": 10, "v": 1}], [NOW - 50]),  # relative bt and t
        (
            [{"bt": NOW - 20, "n": "power", "v": 1}, {"n": "dim", "t": 5, "v": 1}],
            [NOW - 20, NOW - 15],  # bt applies to later records
        ),
        (
            [{"bt": NOW - 20, "n": "power", "v": 1}, {"bt": -3, "n": "dim", "v": 1}],
            [NOW - 20, NOW - 3],  # until a record replaces it
        ),
    ],
)
def test_time_is_base_time_plus_time(records: list[dict[str, Any]], times: list[float]) -> None:
    assert [reading.time for reading in decode(records)] == times


def test_the_sum_of_base_time_and_time_decides_relative_or_absolute() -> None:
    # RFC 8428 section 4.5.3: below 2**28 counts from now, from 2**28 on from 1970.
    assert "after now" in rejected([{"n": "power", "t": 2**28 - 1, "v": 1}], RejectReason.BAD_TIME)
    assert "before now" in rejected([{"n": "power", "t": 2**28, "v": 1}], RejectReason.BAD_TIME)
    assert "before now" in rejected(
        [{"bt": 2**27, "n": "power", "t": 2**27, "v": 1}], RejectReason.BAD_TIME
    )


def test_base_unit_applies_where_a_record_has_none() -> None:
    pack = [
        {"bn": f"{DEVICE}/", "bu": "kW", "n": "power", "v": 0.04},
        {"n": "voltage", "u": "V", "v": 230},
        {"n": "on", "vb": True},  # a unit means nothing to a boolean
        {"bu": "W", "n": "power", "t": -60, "v": 41},
    ]
    assert decode(pack) == [
        Reading(NOW, "power", 40.0),
        Reading(NOW, "voltage", 230.0),
        Reading(NOW, "on", bool_value=True),
        Reading(NOW - 60, "power", 41.0),
    ]


def test_base_value_is_added_to_values() -> None:
    pack = [{"bv": 230, "n": "voltage", "v": 1.5}, {"n": "voltage", "t": -1, "v": -0.5}]
    assert [r.value for r in decode(pack)] == [231.5, 229.5]


def test_base_sum_is_added_to_sums_of_counters() -> None:
    pack = [
        {"bn": f"{DEVICE}/", "bs": 120_000, "n": "energy", "u": "Wh", "s": 345.5},
        {"n": "energy", "t": -900, "s": 300},
        {"n": "energy", "t": -1800, "v": 119_000},  # a counter may also come as a value
    ]
    assert [r.value for r in decode(pack)] == [120_345.5, 120_300.0, 119_000.0]


def test_records_of_base_fields_only_carry_no_reading() -> None:
    pack = [{"bn": f"{DEVICE}/", "bt": NOW - 1, "bver": 10}, {"n": "power", "v": 40}]
    assert decode(pack) == [Reading(NOW - 1, "power", 40.0)]
    message = rejected([{"bn": f"{DEVICE}/", "bt": NOW}], RejectReason.MALFORMED)
    assert message == "the pack holds base fields but no readings"


def test_update_time_and_unknown_labels_are_ignored() -> None:
    assert decode([{"n": "power", "v": 40, "ut": 300, "l": "x", "x-vendor": 1}]) == [
        Reading(NOW, "power", 40.0)
    ]


def test_labels_ending_in_underscore_must_be_understood() -> None:
    message = rejected([{"n": "power", "v": 40, "vendor_": 1}], RejectReason.MALFORMED)
    assert message == "record 1: label 'vendor_' must be understood (it ends in '_') and is not"


# Units.


@pytest.mark.parametrize(
    ("name", "unit", "value", "expected"),
    [
        ("energy", "J", 7200, 2.0),
        ("energy", "kWh", 1.5, 1500.0),
        ("energy", "Wh", 12.5, 12.5),
        ("tilt", "rad", math.pi / 4, 45.0),
        ("tilt", "deg", 3, 3.0),
        ("power", "kW", 0.25, 250.0),
        ("current", "mA", 172, 0.172),
        ("pf", "%", 96, 0.96),
        ("dim", "/", 0.7, 70.0),
        ("power", None, 40, 40.0),  # no unit at all: the canonical one
    ],
)
def test_units_are_converted_to_the_canonical_one(
    name: str, unit: str | None, value: float, expected: float
) -> None:
    record: dict[str, Any] = {"n": name, "v": value}
    if unit is not None:
        record["u"] = unit
    [reading] = decode([record])
    assert reading.value == pytest.approx(expected)


def test_wrong_unit() -> None:
    message = rejected([{"n": "power", "u": "V", "v": 40}], RejectReason.WRONG_UNIT)
    assert message == "record 1: 'power' is in 'V'; it takes W, kW"
    assert "'dim' is in 'W'" in rejected(
        [{"bu": "W", "n": "power", "v": 1}, {"n": "dim", "v": 50}], RejectReason.WRONG_UNIT
    )


# The catalogue of each kind.


@pytest.mark.parametrize(
    ("kind", "record"),
    [
        (NODE, {"n": "dim", "u": "%", "v": 0}),
        (NODE, {"n": "fault", "vs": "lamp open circuit"}),
        (METER, {"n": "voltage/l2", "u": "V", "v": 229.9}),
        (METER, {"n": "contactor", "vb": False}),
        (MONITOR, {"n": "door", "vs": "open"}),
        (MONITOR, {"n": "mode", "vs": "preempt"}),
        (MONITOR, {"n": "mmu", "vs": "red_fail"}),
        (MONITOR, {"n": "lamp/40/yellow", "u": "A", "v": 0.62}),
        (MONITOR, {"n": "battery", "u": "V", "v": 26.4}),
    ],
)
def test_catalogue_accepts(kind: DeviceKind, record: dict[str, Any]) -> None:
    [reading] = decode([record], kind=kind)
    assert reading.name == record["n"]


@pytest.mark.parametrize(
    ("kind", "record", "reason", "message"),
    [
        (
            NODE,
            {"n": "dim", "v": 120},
            RejectReason.OUT_OF_RANGE,
            "'dim' is 120 %, outside 0..100 %",
        ),
        (NODE, {"n": "pf", "v": 1.2}, RejectReason.OUT_OF_RANGE, "'pf' is 1.2 /, outside 0..1 /"),
        (NODE, {"n": "voltage", "v": -1}, RejectReason.OUT_OF_RANGE, "outside 0..500 V"),
        (NODE, {"n": "power", "v": 5001}, RejectReason.OUT_OF_RANGE, "outside 0..5000 W"),
        (METER, {"n": "power", "v": 5001}, None, ""),  # a cabinet draws far more than a lamp
        (NODE, {"n": "temp", "v": -60}, RejectReason.OUT_OF_RANGE, "outside -50..120 Cel"),
        (NODE, {"n": "tilt", "u": "rad", "v": 2}, RejectReason.OUT_OF_RANGE, "outside 0..90 deg"),
        (NODE, {"n": "energy", "u": "kWh", "v": 1e300}, RejectReason.OUT_OF_RANGE, "outside"),
        (NODE, {"n": "fault", "vs": "x" * 201}, RejectReason.OUT_OF_RANGE, "longer than 200"),
        (
            MONITOR,
            {"n": "door", "vs": "ajar"},
            RejectReason.OUT_OF_RANGE,
            "'door' is 'ajar', not one of closed, open",
        ),
        (MONITOR, {"n": "mode", "vs": "blinking"}, RejectReason.OUT_OF_RANGE, "not one of"),
        (METER, {"n": "voltage/l4", "v": 230}, RejectReason.UNKNOWN_NAME, "named 'voltage/l4'"),
        (METER, {"n": "voltage", "v": 230}, RejectReason.UNKNOWN_NAME, "named 'voltage'"),
        (NODE, {"n": "voltage/l1", "v": 230}, RejectReason.UNKNOWN_NAME, "named 'voltage/l1'"),
        (MONITOR, {"n": "lamp/41/red", "v": 0}, RejectReason.UNKNOWN_NAME, "'lamp/41/red'"),
        (MONITOR, {"n": "lamp/0/red", "v": 0}, RejectReason.UNKNOWN_NAME, "'lamp/0/red'"),
        (NODE, {"n": "door", "vs": "open"}, RejectReason.UNKNOWN_NAME, "named 'door'"),
    ],
)
def test_catalogue_refuses(
    kind: DeviceKind, record: dict[str, Any], reason: RejectReason | None, message: str
) -> None:
    if reason is None:
        assert decode([record], kind=kind)
    else:
        assert message in rejected([record], reason, kind=kind)


def test_events_carry_code_and_parameter() -> None:
    pack = [
        {"bn": "sig-12/", "bt": NOW - 1, "n": "event", "v": 82, "vs": "5"},
        {"n": "event", "t": 0.1, "v": 173, "vs": "6"},
    ]
    readings = decode_pack(orjson.dumps(pack), device="sig-12", kind=MONITOR, now=NOW)
    assert readings == [
        Reading(NOW - 1, "event", 82.0, string_value="5"),
        Reading(NOW - 0.9, "event", 173.0, string_value="6"),
    ]


def test_events_of_one_instant_are_all_kept_and_vendor_codes_too() -> None:
    pack = [
        {"bn": "sig-12/", "bt": NOW - 1, "n": "event", "v": 8, "vs": "2"},
        {"n": "event", "v": 8, "vs": "6"},  # phases 2 and 6 end green together
        {"n": "event", "v": 10, "vs": "2"},
        {"n": "event", "v": 412, "vs": "1300"},  # a vendor's code, above Indiana's 255
    ]
    readings = decode(pack, kind=MONITOR, device="sig-12")
    assert [(r.value, r.string_value) for r in readings] == [
        (8.0, "2"),
        (8.0, "6"),
        (10.0, "2"),
        (412.0, "1300"),
    ]
    assert {r.time for r in readings} == {NOW - 1}


def test_one_name_with_two_values_at_one_instant_is_ambiguous() -> None:
    pack = [{"bt": NOW - 5, "n": "dim", "v": 40}, {"n": "power", "v": 20}, {"n": "dim", "v": 60}]
    message = rejected(pack, RejectReason.AMBIGUOUS)
    assert "record 3 gives 'dim' a second, different value at the same time (40 and 60)" in message
    door = [{"bt": NOW, "n": "door", "vs": "open"}, {"n": "door", "vs": "closed"}]
    assert "('open' and 'closed')" in rejected(door, RejectReason.AMBIGUOUS, kind=MONITOR)


def test_a_record_repeated_exactly_is_a_copy_not_ambiguous() -> None:
    pack = [
        {"bt": NOW - 5, "n": "dim", "v": 40},
        {"n": "dim", "v": 40},
        {"n": "dim", "t": 1, "v": 60},
    ]
    assert [r.value for r in decode(pack)] == [40.0, 40.0, 60.0]  # the store keeps one of the two


@pytest.mark.parametrize(
    ("record", "reason", "message"),
    [
        ({"v": 65536, "vs": "1"}, RejectReason.OUT_OF_RANGE, "code is 65536, not a whole number"),
        ({"v": 3.5, "vs": "1"}, RejectReason.OUT_OF_RANGE, "code is 3.5, not a whole number"),
        ({"v": 82, "vs": "65536"}, RejectReason.OUT_OF_RANGE, "parameter is '65536'"),
        ({"v": 82, "vs": "-1"}, RejectReason.OUT_OF_RANGE, "parameter is '-1'"),
        ({"v": 82, "vs": "five"}, RejectReason.OUT_OF_RANGE, "parameter is 'five'"),
        ({"v": 82}, RejectReason.WRONG_TYPE, "takes the event code in v and its parameter in vs"),
        ({"v": 82, "vs": 5}, RejectReason.MALFORMED, "vs must be a string, not a number"),
    ],
)
def test_bad_events(record: dict[str, Any], reason: RejectReason, message: str) -> None:
    assert message in rejected([{"n": "event", **record}], reason, kind=MONITOR)


# Value fields and JSON types.


@pytest.mark.parametrize(
    ("record", "reason", "message"),
    [
        (
            {"n": "power", "vs": "40"},
            RejectReason.WRONG_TYPE,
            "'power' takes a number in v; it has vs",
        ),
        ({"n": "power", "v": 40, "vb": True}, RejectReason.WRONG_TYPE, "it has v, vb"),
        ({"n": "power"}, RejectReason.MALFORMED, "'power' has no value; it takes a number in v"),
        ({"n": "power", "s": 40}, RejectReason.WRONG_TYPE, "'power' takes a number in v; it has s"),
        ({"n": "energy", "v": 1, "s": 2}, RejectReason.WRONG_TYPE, "one of them); it has v, s"),
        ({"n": "on", "v": 1}, RejectReason.WRONG_TYPE, "'on' takes true or false in vb; it has v"),
        ({"n": "on", "vb": "true"}, RejectReason.MALFORMED, "vb of 'on' must be true or false"),
        ({"n": "power", "v": "40"}, RejectReason.MALFORMED, "v must be a number, not a string"),
        ({"n": "power", "v": True}, RejectReason.MALFORMED, "v must be a number, not a boolean"),
        (
            {"n": "power", "v": None},
            RejectReason.MALFORMED,
            "v of 'power' must be a number, not null",
        ),
        ({"n": 7, "v": 40}, RejectReason.MALFORMED, "n must be a string, not a number"),
        ({"n": "power", "u": 1, "v": 40}, RejectReason.MALFORMED, "u must be a string"),
        ({"n": "power", "t": "now", "v": 40}, RejectReason.MALFORMED, "t must be a number"),
        ({"n": "power", "ut": "1m", "v": 40}, RejectReason.MALFORMED, "ut must be a number"),
        ({"bt": "now", "n": "power", "v": 40}, RejectReason.MALFORMED, "bt must be a number"),
        ({"bn": 17, "n": "power", "v": 40}, RejectReason.MALFORMED, "bn must be a string"),
        ({"bver": 11, "n": "power", "v": 40}, RejectReason.MALFORMED, "bver 11 is not a SenML"),
        ({"bver": "10", "n": "power", "v": 40}, RejectReason.MALFORMED, "bver '10' is not"),
        ({}, RejectReason.MALFORMED, "record 1: has no name"),
        ({"x-vendor": 1}, RejectReason.MALFORMED, "record 1: has no name"),
    ],
)
def test_value_fields(record: dict[str, Any], reason: RejectReason, message: str) -> None:
    assert message in rejected([record], reason)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b'[{"n":"power","v":4', "the payload is not valid JSON"),
        (b'[{"n":"power","v":NaN}]', "the payload is not valid JSON"),
        (b'[{"n":"power","v":Infinity}]', "the payload is not valid JSON"),
        (b'[{"n":"power","v":1e400}]', "the payload is not valid JSON"),
        (b'[{"n":"fault","vs":"\xff"}]', "the payload is not UTF-8: byte 0xFF at offset 20"),
        (b'{"n":"power","v":40}', "a SenML pack is a JSON array of records, not an object"),
        (b"[]", "the pack has no records"),
        (b'[{"n":"power","v":40}, 7]', "record 2 is a number, not an object"),
    ],
)
def test_malformed_payloads(payload: bytes, message: str) -> None:
    assert rejected(payload, RejectReason.MALFORMED).startswith(message)


def test_size_is_checked_before_parsing() -> None:
    payload = b"[" + b" " * 100 + b"not json"
    message = rejected(payload, RejectReason.TOO_LARGE, max_bytes=100)
    assert message == "the pack is 109 bytes; the limit is 100"
    assert decode([{"n": "power", "v": 40}], max_bytes=22)  # exactly the limit


@pytest.mark.parametrize(
    "base_name",
    ["node-0418/", "node-04170/", "node-0417", "urn:dev:ow:10e2073a01080063:", "/node-0417/"],
)
def test_foreign_base_names(base_name: str) -> None:
    message = rejected([{"bn": base_name, "n": "power", "v": 40}], RejectReason.FOREIGN_BASE_NAME)
    assert message == (
        f"record 1: base name {base_name!r} is not this device's;"
        " it must be 'node-0417/' or 'node-0417:', or begin with one"
    )


def test_full_name_of_another_device_is_unknown() -> None:
    message = rejected([{"n": "node-0418/power", "v": 40}], RejectReason.UNKNOWN_NAME)
    assert message == "record 1: no reading is named 'node-0418/power' for this device"


# The time window.


def test_time_window() -> None:
    week = 7 * 86_400
    assert decode([{"n": "power", "t": -week, "v": 1}])[0].time == NOW - week
    assert decode([{"n": "power", "t": 300, "v": 1}])[0].time == NOW + 300
    message = rejected([{"n": "power", "t": -week - 1, "v": 1}], RejectReason.BAD_TIME)
    assert message == (
        "record 1: 'power' at 2026-03-07T11:42:06+00:00 is 168.0 h before now; the limit is 168 h"
    )
    message = rejected([{"n": "power", "t": 301, "v": 1}], RejectReason.BAD_TIME)
    assert message == (
        "record 1: 'power' at 2026-03-14T11:47:08+00:00 is 301 s after now;"
        " the limit is 300 s (check its clock)"
    )
    assert "before now" in rejected(
        [{"n": "power", "t": -61, "v": 1}], RejectReason.BAD_TIME, max_past_s=60
    )


def test_payload_error_is_invalid_input_and_pickles() -> None:
    error = PayloadError(RejectReason.BAD_TIME, "too old")
    assert isinstance(error, InvalidInputError)
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
    assert (copy.reason, copy.message, str(copy)) == (RejectReason.BAD_TIME, "too old", "too old")


# Encoding and round trips.


def test_encode_pack_is_compact_senml() -> None:
    readings = [
        Reading(NOW - 2, "on", bool_value=True),
        Reading(NOW - 2, "power", 38.4),
        Reading(NOW - 1.5, "energy", 123_456.7),
    ]
    assert orjson.loads(encode_pack(DEVICE, readings)) == [
        {"bn": "node-0417/", "bt": NOW - 2, "n": "on", "vb": True},
        {"n": "power", "u": "W", "v": 38.4},
        {"n": "energy", "t": 0.5, "u": "Wh", "v": 123_456.7},
    ]
    assert decode(encode_pack(DEVICE, readings)) == readings


def test_encode_events_and_strings_with_a_base_time() -> None:
    readings = [
        Reading(NOW, "event", 82.0, string_value="5"),
        Reading(NOW, "door", string_value="open"),
    ]
    payload = encode_pack("sig-12", readings, base_time=NOW - 10)
    assert orjson.loads(payload) == [
        {"bn": "sig-12/", "bt": NOW - 10, "n": "event", "t": 10.0, "v": 82.0, "vs": "5"},
        {"n": "door", "t": 10.0, "vs": "open"},
    ]
    assert decode_pack(payload, device="sig-12", kind=MONITOR, now=NOW) == readings


def test_encode_refuses_what_it_cannot_write() -> None:
    with pytest.raises(ValueError, match="at least one reading"):
        encode_pack(DEVICE, [])
    with pytest.raises(ValueError, match=r"'power' at .* has no value"):
        encode_pack(DEVICE, [Reading(NOW, "power")])


_NODE_READINGS = st.one_of(
    st.builds(lambda flag: Reading(0.0, "on", bool_value=flag), st.booleans()),
    st.builds(lambda value: Reading(0.0, "dim", value), st.floats(0, 100)),
    st.builds(lambda value: Reading(0.0, "power", value), st.floats(0, 5000)),
    st.builds(lambda value: Reading(0.0, "temp", value), st.floats(-50, 120)),
    st.builds(lambda value: Reading(0.0, "energy", value), st.floats(0, 1e12)),
    st.builds(lambda text: Reading(0.0, "fault", string_value=text), st.text(max_size=200)),
)


@given(
    st.lists(st.tuples(_NODE_READINGS, st.floats(-86_400, 299)), min_size=1, max_size=8),
    st.one_of(st.none(), st.floats(NOW - 86_400, NOW)),
)
def test_round_trip(
    readings_and_offsets: list[tuple[Reading, float]], base_time: float | None
) -> None:
    readings = [reading._replace(time=NOW + offset) for reading, offset in readings_and_offsets]
    assume(len({(r.time, r.name) for r in readings}) == len(readings))  # else ambiguous, below
    decoded = decode(encode_pack(DEVICE, readings, base_time))
    assert [r._replace(time=0.0) for r in decoded] == [r._replace(time=0.0) for r in readings]
    assert [r.time for r in decoded] == pytest.approx([r.time for r in readings], abs=1e-6)
