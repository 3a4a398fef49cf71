"""LoRaWAN uplinks, tested with payloads in the network servers' documented shapes.

``fixtures/chirpstack_v4_up_*.json`` follow the ``up`` event of ChirpStack v4
("Event types" in the ChirpStack documentation, the ``UplinkEvent`` message of
``api/proto/integration/integration.proto``, with ``rxInfo`` and ``txInfo`` as in
``api/proto/gw/gw.proto``) in the protobuf JSON mapping that the MQTT
integration publishes on ``application/{application id}/device/{DevEUI}/event/up``.
As in protobuf JSON, zero values such as ``fCnt`` 0 are left out.

``fixtures/tts_v3_up_cabinet.json`` follows "Uplink Messages" of The Things
Stack's "Data Formats" documentation (``end_device_ids``, ``correlation_ids``,
``received_at``, ``uplink_message`` with ``decoded_payload``, ``rx_metadata``,
``settings``), as its MQTT server publishes it on
``v3/{application id}@{tenant id}/devices/{device id}/up``.
"""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from signalight.codecs import lorawan
from signalight.codecs.lorawan import (
    FieldMapping,
    NetworkServer,
    Uplink,
    decode_chirpstack_up,
    decode_tts_up,
    parse_routes,
)
from signalight.domain.assets import DeviceKind
from signalight.domain.errors import InvalidInputError
from signalight.domain.readings import (
    CATALOGUE,
    PayloadError,
    Reading,
    RejectReason,
    canonical_unit,
    check_reading,
    reading_problem,
    unit_factor,
)

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2026, 3, 14, 11, 42, 10, tzinfo=UTC).timestamp()
CS_APP = "3b0f6d2e-71a4-4c8e-9f15-d2a7c6e08b49"
CS_TOPIC = f"application/{CS_APP}/device/70b3d59ba0000417/event/up"
TTS_TOPIC = "v3/seberang-perai-cabinets@ttn/devices/sp-cab-c07-meter/up"

STREETLIGHT_FIELDS = FieldMapping(
    {
        "relay": ("on", None),
        "dimLevel": ("dim", 1.0),
        "lamp.powerW": ("power", 1.0),
        "lamp.voltageV": ("voltage", 1.0),
        "lamp.currentA": ("current", 1.0),
        "lamp.powerFactor": ("pf", 1.0),
        "energyKwh": ("energy", 1000.0),
        "tiltDeg": ("tilt", 1.0),
        "temperatureC": ("temp", 1.0),
        "faultCode": ("fault", None),
    }
)
CABINET_FIELDS = FieldMapping(
    {
        "mains": ("mains", None),
        "contactor": ("contactor", None),
        "voltage.l1": ("voltage/l1", 1.0),
        "voltage.l2": ("voltage/l2", 1.0),
        "voltage.l3": ("voltage/l3", 1.0),
        "power_kw": ("power", 1.0, "kW"),
        "energy_wh": ("energy", 1.0, "Wh"),
    }
)


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads((FIXTURES / name).read_bytes())
    return data


def chirpstack(event: dict[str, Any], topic: str = CS_TOPIC, **limits: Any) -> Uplink:
    return decode_chirpstack_up(topic, orjson.dumps(event), STREETLIGHT_FIELDS, NOW, **limits)


def tts(message: dict[str, Any], topic: str = TTS_TOPIC, **limits: Any) -> Uplink:
    return decode_tts_up(topic, orjson.dumps(message), CABINET_FIELDS, NOW, **limits)


def refused(call: Any, reason: RejectReason) -> str:
    with pytest.raises(PayloadError) as info:
        call()
    assert info.value.reason is reason, info.value.message
    return info.value.message


def test_public_surface() -> None:
    assert set(lorawan.__all__) == {
        "ApplicationRoute",
        "FieldMapping",
        "NetworkServer",
        "Uplink",
        "decode_chirpstack_up",
        "decode_tts_up",
        "parse_routes",
    }


def test_chirpstack_streetlight_uplink() -> None:
    uplink = chirpstack(fixture("chirpstack_v4_up_streetlight.json"))
    time = datetime(2026, 3, 14, 11, 42, 7, 318204, tzinfo=UTC).timestamp()
    assert uplink == Uplink(
        server=NetworkServer.CHIRPSTACK,
        device_id="70b3d59ba0000417",
        dev_eui="70b3d59ba0000417",
        device_name="SP-BM-00417",
        application_id=CS_APP,
        application_name="streetlights-bukit-mertajam",
        tenant="9c6e2a41-5d7f-4b1e-8a3c-0f2d6e4b7a15",
        time=time,
        f_cnt=1842,
        f_port=2,
        readings=(
            Reading(time, "on", bool_value=True),
            Reading(time, "dim", 70.0),
            Reading(time, "power", 38.4),
            Reading(time, "voltage", 231.2),
            Reading(time, "current", 0.172),
            Reading(time, "pf", 0.96),
            Reading(time, "energy", 123.4567 * 1000.0),  # kWh, scaled to Wh
            Reading(time, "tilt", 1.5),
            Reading(time, "temp", 31.0),
        ),
        ignored=("firmware", "faultCode"),  # unmapped, and mapped but null
    )
    assert all(check_reading(DeviceKind.STREETLIGHT_NODE, r) is None for r in uplink.readings)


def test_chirpstack_without_a_codec_is_not_decoded() -> None:
    topic = f"application/{CS_APP}/device/70b3d59ba0000418/event/up"
    event = fixture("chirpstack_v4_up_no_codec.json")
    message = refused(lambda: chirpstack(event, topic), RejectReason.NOT_DECODED)
    assert message == (
        "the uplink has no decoded 'object': ChirpStack decodes payloads only when the device"
        " profile ('Lamp controller AS923 (no codec)') has a codec; set one, or use a SenML device"
    )


def test_chirpstack_zero_counters_and_missing_time() -> None:
    event = fixture("chirpstack_v4_up_streetlight.json")
    del event["fCnt"], event["time"]  # protobuf JSON leaves out zeros; a time is not promised
    uplink = chirpstack(event)
    assert (uplink.f_cnt, uplink.time) == (0, NOW)
    assert {reading.time for reading in uplink.readings} == {NOW}


@pytest.mark.parametrize(
    ("topic", "message"),
    [
        (f"application/{CS_APP}/device/70b3d59ba0000417/event/status", "is not application/"),
        (f"application/{CS_APP}/device/70b3d59ba0000417/up", "is not application/"),
        (f"application/{CS_APP}/device/70b3d59ba000041/event/up", "is not a DevEUI"),
        (f"application/{CS_APP}/device/70b3d59ba000041z/event/up", "is not a DevEUI"),
        ("v3/app@ttn/devices/dev/up", "is not application/"),
    ],
)
def test_chirpstack_topics(topic: str, message: str) -> None:
    event = fixture("chirpstack_v4_up_streetlight.json")
    assert message in refused(lambda: chirpstack(event, topic), RejectReason.BAD_TOPIC)


def test_chirpstack_identity_must_match_the_topic() -> None:
    event = fixture("chirpstack_v4_up_streetlight.json")
    other = f"application/{CS_APP}/device/70b3d59ba0000999/event/up"
    message = refused(lambda: chirpstack(event, other), RejectReason.IDENTITY_MISMATCH)
    assert message == "deviceInfo.devEui '70b3d59ba0000417' is not the topic's '70b3d59ba0000999'"
    other = "application/00000000-0000-0000-0000-000000000000/device/70b3d59ba0000417/event/up"
    message = refused(lambda: chirpstack(event, other), RejectReason.IDENTITY_MISMATCH)
    assert message.startswith("deviceInfo.applicationId is not the topic's")
    upper = f"application/{CS_APP}/device/70B3D59BA0000417/event/up"
    assert chirpstack(event, upper).device_id == "70b3d59ba0000417"


def test_chirpstack_malformed_events() -> None:
    event = fixture("chirpstack_v4_up_streetlight.json")
    no_info = {key: value for key, value in event.items() if key != "deviceInfo"}
    assert refused(lambda: chirpstack(no_info), RejectReason.MALFORMED) == (
        "deviceInfo is missing or not an object"
    )
    listed = {**event, "object": [1, 2]}
    assert "'object' is not a JSON object" in refused(
        lambda: chirpstack(listed), RejectReason.MALFORMED
    )
    bad_time = {**event, "time": "yesterday"}
    assert "is not an RFC 3339 time" in refused(
        lambda: chirpstack(bad_time), RejectReason.MALFORMED
    )
    payload = b'{"deviceInfo": '
    message = refused(
        lambda: decode_chirpstack_up(CS_TOPIC, payload, STREETLIGHT_FIELDS, NOW),
        RejectReason.MALFORMED,
    )
    assert message.startswith("the ChirpStack uplink event is not valid JSON")
    message = refused(lambda: chirpstack(event, max_bytes=100), RejectReason.TOO_LARGE)
    assert message.startswith("the ChirpStack uplink event is ")


def test_uplink_time_window() -> None:
    event = {**fixture("chirpstack_v4_up_streetlight.json"), "time": "2026-03-01T00:00:00Z"}
    message = refused(lambda: chirpstack(event), RejectReason.BAD_TIME)
    assert message == (
        "uplink time 2026-03-01T00:00:00Z is not within 604800 s before and 300 s after now"
    )
    assert (
        chirpstack(event, max_past_s=30 * 86_400).time
        == datetime(2026, 3, 1, tzinfo=UTC).timestamp()
    )


def test_mapped_fields_of_the_wrong_type() -> None:
    event = fixture("chirpstack_v4_up_streetlight.json")
    event["object"]["lamp"]["powerW"] = "38.4"
    message = refused(lambda: chirpstack(event), RejectReason.WRONG_TYPE)
    assert message == "decoded field 'lamp.powerW' for 'power' is str, not a number"
    event["object"]["lamp"]["powerW"] = True
    assert "is bool, not a number" in refused(lambda: chirpstack(event), RejectReason.WRONG_TYPE)


def test_tts_cabinet_uplink() -> None:
    uplink = tts(fixture("tts_v3_up_cabinet.json"))
    time = datetime(2026, 3, 14, 11, 42, 8, 917309, tzinfo=UTC).timestamp()
    assert uplink == Uplink(
        server=NetworkServer.THE_THINGS_STACK,
        device_id="sp-cab-c07-meter",
        dev_eui="0004a30b00f1c07e",
        device_name=None,
        application_id="seberang-perai-cabinets",
        application_name=None,
        tenant="ttn",
        time=time,  # the network server's received_at, inside uplink_message
        f_cnt=5310,
        f_port=10,
        readings=(
            Reading(time, "mains", bool_value=True),
            Reading(time, "contactor", bool_value=True),
            Reading(time, "voltage/l1", 231.4),
            Reading(time, "voltage/l2", 229.8),
            Reading(time, "voltage/l3", 232.1),
            Reading(time, "power", 12_840.0),
            Reading(time, "energy", 48_211_730.0),
        ),
        ignored=("door_open", "battery_pct"),
    )
    assert all(check_reading(DeviceKind.CABINET_METER, r) is None for r in uplink.readings)


def test_tts_open_source_topic_has_no_tenant() -> None:
    uplink = tts(
        fixture("tts_v3_up_cabinet.json"), "v3/seberang-perai-cabinets/devices/sp-cab-c07-meter/up"
    )
    assert (uplink.application_id, uplink.tenant) == ("seberang-perai-cabinets", None)


def test_tts_time_falls_back_to_the_application_server_then_now() -> None:
    message = fixture("tts_v3_up_cabinet.json")
    del message["uplink_message"]["received_at"]
    assert tts(message).time == datetime(2026, 3, 14, 11, 42, 9, 120734, tzinfo=UTC).timestamp()
    del message["received_at"]
    assert tts(message).time == NOW


def test_tts_simulated_uplinks_are_marked() -> None:
    message = {**fixture("tts_v3_up_cabinet.json"), "simulated": True}
    assert tts(message).simulated
    assert not tts(fixture("tts_v3_up_cabinet.json")).simulated


def test_tts_without_a_payload_formatter_is_not_decoded() -> None:
    message = fixture("tts_v3_up_cabinet.json")
    del message["uplink_message"]["decoded_payload"]
    assert refused(lambda: tts(message), RejectReason.NOT_DECODED).startswith(
        "the uplink has no decoded_payload: The Things Stack decodes payloads only when"
    )


@pytest.mark.parametrize(
    ("topic", "reason"),
    [
        ("v3/seberang-perai-cabinets@ttn/devices/sp-cab-c07-meter/join", RejectReason.BAD_TOPIC),
        ("v3/seberang-perai-cabinets@ttn/devices/sp-cab-c07-meter", RejectReason.BAD_TOPIC),
        ("v2/seberang-perai-cabinets@ttn/devices/sp-cab-c07-meter/up", RejectReason.BAD_TOPIC),
        ("v3/@ttn/devices/sp-cab-c07-meter/up", RejectReason.BAD_TOPIC),
        (
            "v3/seberang-perai-cabinets@ttn/devices/sp-cab-c08-meter/up",
            RejectReason.IDENTITY_MISMATCH,
        ),
        ("v3/other-app@ttn/devices/sp-cab-c07-meter/up", RejectReason.IDENTITY_MISMATCH),
    ],
)
def test_tts_topics(topic: str, reason: RejectReason) -> None:
    message = fixture("tts_v3_up_cabinet.json")
    refused(lambda: tts(message, topic), reason)


def test_tts_join_accept_on_the_up_topic_is_malformed() -> None:
    message = fixture("tts_v3_up_cabinet.json")
    join = {key: value for key, value in message.items() if key != "uplink_message"}
    join["join_accept"] = {"session_key_id": "AXBSH1Pk6Z0G166RlH16CQ=="}
    assert refused(lambda: tts(join), RejectReason.MALFORMED) == (
        "uplink_message is missing or not an object"
    )


def test_nested_lists_are_read_by_index() -> None:
    message = copy.deepcopy(fixture("tts_v3_up_cabinet.json"))
    message["uplink_message"]["decoded_payload"] = {
        "lamps": [[0.0, 0.0, 0.61], [0.58, 0.0, 0.0]],
        "cabinet": {"door": "open", "deep": {"a": {"b": {"c": {"d": {"e": {"f": {"g": 1}}}}}}}},
    }
    mapping = FieldMapping(
        {
            "lamps.0.2": ("lamp/2/green", 1.0),
            "lamps.1.0": ("lamp/4/red", 1.0),
            "cabinet.door": ("door", None),
        }
    )
    uplink = decode_tts_up(TTS_TOPIC, orjson.dumps(message), mapping, NOW)
    assert [(r.name, r.value, r.string_value) for r in uplink.readings] == [
        ("lamp/2/green", 0.61, None),
        ("lamp/4/red", 0.58, None),
        ("door", None, "open"),
    ]
    assert uplink.ignored == (
        "lamps.0.0",
        "lamps.0.1",
        "lamps.1.1",
        "lamps.1.2",
        "cabinet.deep.a.b.c.d.e.f",  # eight levels down, a subtree is not read
    )


def test_field_mapping_checks_its_targets() -> None:
    with pytest.raises(InvalidInputError) as info:
        FieldMapping(
            {
                "x": ("wattage", 1.0),
                "y": ("power", 1.0, "V"),
                "z": ("on", None, "W"),
                "ok": ("energy", 2.0, "kWh"),
            }
        )
    assert str(info.value) == (
        "field mapping: 'x': no reading is named 'wattage'; 'y': 'power' cannot be converted"
        " from 'V'; 'z': 'on' cannot be converted from 'W'"
    )
    assert FieldMapping({"e": ("energy", 2.0, "kWh")}).targets == {"e": ("energy", 2000.0)}


# The catalogue, which ingest applies to LoRaWAN readings once it knows the device.


def test_check_reading_gives_plain_reasons() -> None:
    node = DeviceKind.STREETLIGHT_NODE
    assert check_reading(node, Reading(NOW, "dim", 50.0)) is None
    assert check_reading(node, Reading(NOW, "dim", 120.0)) == "'dim' is 120 %, outside 0..100 %"
    assert check_reading(node, Reading(NOW, "dim", bool_value=True)) == "'dim' takes a number"
    assert check_reading(node, Reading(NOW, "on", 1.0)) == "'on' takes a boolean"
    assert check_reading(node, Reading(NOW, "fault", 1.0)) == "'fault' takes a string"
    assert check_reading(node, Reading(NOW, "door", string_value="open")) == (
        "streetlight_node devices have no reading named 'door'"
    )
    monitor = DeviceKind.SIGNAL_MONITOR
    assert check_reading(monitor, Reading(NOW, "event", 82.0)) == (
        "'event' takes the event code in v and its parameter in vs"
    )
    problem = reading_problem(monitor, Reading(NOW, "mmu", string_value="tripped"))
    assert problem is not None
    assert problem.reason is RejectReason.OUT_OF_RANGE


def test_catalogue_units_are_one_per_name() -> None:
    # Converters and encoders look units up by name alone, whatever the kind.
    units: dict[str, set[tuple[str | None, tuple[tuple[str, float], ...]]]] = {}
    for specs in CATALOGUE.values():
        for name, spec in specs.items():
            accepted = tuple(sorted((spec.units or {}).items()))
            units.setdefault(name, set()).add((spec.unit, accepted))
            if spec.unit is not None:
                assert spec.units is not None
                assert spec.units[spec.unit] == 1.0
    assert {name: len(found) for name, found in units.items() if len(found) > 1} == {}
    assert canonical_unit("energy") == "Wh"
    assert canonical_unit("on") is None
    assert unit_factor("energy", "J") == pytest.approx(1 / 3600)
    assert unit_factor("energy", "V") is None
    assert unit_factor("door", "%") is None
    assert len(CATALOGUE[DeviceKind.SIGNAL_MONITOR]) == 6 + 40 * 3


def test_routes_file_sends_each_application_to_its_city_with_its_mapping() -> None:
    routes = parse_routes(
        b'{"applications": {"app-1": {"city": "ipoh",'
        b' "fields": {"powerW": ["power", 1.0], "e": ["energy", 1.0, "kWh"]}}}}'
    )
    assert routes["app-1"].city_slug == "ipoh"
    assert routes["app-1"].mapping.targets == {"powerW": ("power", 1.0), "e": ("energy", 1000.0)}


@pytest.mark.parametrize(
    ("document", "words"),
    [
        (b"{", "not JSON"),
        (b'{"apps": {}}', "applications"),
        (b'{"applications": {"a": {"fields": {}}}}', "'a'"),
        (b'{"applications": {"a": {"city": "x", "fields": {"p": "power"}}}}', "[name, scale]"),
        (b'{"applications": {"a": {"city": "x", "fields": {"p": ["watts", 1]}}}}', "watts"),
    ],
)
def test_a_bad_routes_file_is_refused_with_the_application_named(
    document: bytes, words: str
) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(words)):
        parse_routes(document)
