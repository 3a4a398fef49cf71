"""Commands as ChirpStack and The Things Stack downlinks, and their events read back."""

from __future__ import annotations

import base64
import struct
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from signalight.codecs.lorawan import parse_routes
from signalight.codecs.lorawan_down import (
    Downlink,
    Encoding,
    Server,
    chirpstack_answer,
    chirpstack_command,
    encode_frame,
    parse_downlink,
    tts_answer,
    tts_push,
)
from signalight.domain.commands import AckStatus, Command, CommandKind, WireAck
from signalight.domain.errors import InvalidInputError

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
ID = "3f1c9a52-7d1e-4c1a-9b5e-0c2a6e8f4d21"
APP = "a3f1c2d4-0000-4000-8000-000000000001"
EUI = "0004a30b001c0530"


def _command(kind: CommandKind = CommandKind.DIM, **args: object) -> Command:
    return Command(
        id=ID,
        city_id=1,
        device_uid=EUI,
        kind=kind,
        args=args or {"level": 40},
        requested_by="ana",
        created_at=NOW,
        expires_at=NOW + timedelta(hours=1),
    )


def test_the_routing_file_takes_a_downlink_object_beside_the_fields() -> None:
    document = {
        "applications": {
            APP: {
                "city": "ipoh",
                "fields": {"powerW": ["power", 1.0]},
                "downlink": {"server": "chirpstack", "f_port": 10, "encoding": "bytes",
                             "devices": ["0004A30B001C0530"]},
            },
            "lights@ttn": {"city": "ipoh", "fields": {}},
        }
    }  # fmt: skip
    routes = parse_routes(orjson.dumps(document))
    assert routes[APP].downlink == Downlink(
        Server.CHIRPSTACK, 10, Encoding.BYTES, frozenset({EUI}), None, confirmed=True
    )
    assert routes["lights@ttn"].downlink is None  # uplinks only, as before


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ([], "must be an object"),
        ({"server": "lorix", "f_port": 1, "devices": []}, "server"),
        ({"server": "chirpstack", "f_port": 0, "devices": []}, "f_port"),
        ({"server": "chirpstack", "f_port": 224, "devices": []}, "f_port"),
        ({"server": "chirpstack", "f_port": 1, "devices": "all"}, "devices"),
        ({"server": "chirpstack", "f_port": 1, "devices": [], "encoding": "cbor"}, "encoding"),
        ({"server": "chirpstack", "f_port": 1, "devices": [], "port": 2}, "unknown keys"),
        ({"server": "chirpstack", "f_port": 1, "devices": [], "confirmed": "yes"}, "confirmed"),
    ],
)
def test_bad_downlink_objects_are_refused_by_name(entry: object, words: str) -> None:
    with pytest.raises(InvalidInputError, match=words):
        parse_downlink("app x", entry)


def test_a_chirpstack_downlink_command() -> None:
    downlink = Downlink(Server.CHIRPSTACK, 10, Encoding.JSON, frozenset({EUI}))
    topic, payload = chirpstack_command(APP, downlink, _command(), NOW)
    assert topic == f"application/{APP}/device/{EUI}/command/down"
    body = orjson.loads(payload)
    assert body == {
        "id": ID,  # the queue item's id, which its ack event names
        "devEui": EUI,
        "confirmed": True,
        "fPort": 10,
        "object": {
            "id": ID, "kind": "dim", "args": {"level": 40},
            "exp": int((NOW + timedelta(hours=1)).timestamp()), "t": int(NOW.timestamp()),
        },
    }  # fmt: skip
    raw = Downlink(Server.CHIRPSTACK, 10, Encoding.BYTES, frozenset({EUI}))
    body = orjson.loads(chirpstack_command(APP, raw, _command(), NOW)[1])
    assert base64.b64decode(body["data"]) == encode_frame(_command(), NOW)
    with pytest.raises(InvalidInputError, match="DevEUI"):
        chirpstack_command(APP, raw, replace(_command(), device_uid="N-1"), NOW)


def test_a_things_stack_push() -> None:
    downlink = Downlink(Server.THE_THINGS_STACK, 15, Encoding.BYTES, frozenset(), "ttn")
    topic, payload = tts_push("lights", downlink, _command(CommandKind.SWITCH, on=False), NOW)
    assert topic == f"v3/lights@ttn/devices/{EUI}/down/push"
    (item,) = orjson.loads(payload)["downlinks"]
    assert item["f_port"] == 15
    assert item["confirmed"] is True
    assert item["correlation_ids"] == [f"signalight:cmd:{ID}"]
    assert base64.b64decode(item["frm_payload"])[-1:] == b"\x00"
    open_source = Downlink(Server.THE_THINGS_STACK, 15, Encoding.JSON, frozenset())
    topic, payload = tts_push("lights", open_source, _command(), NOW)
    assert topic.startswith("v3/lights/devices/")
    assert orjson.loads(payload)["downlinks"][0]["decoded_payload"]["args"] == {"level": 40}


def test_the_compact_frame() -> None:
    expiry = int((NOW + timedelta(hours=1)).timestamp())
    head = bytes([2]) + bytes.fromhex("3f1c9a52") + struct.pack("!I", expiry)
    assert encode_frame(_command(level=62.6), NOW) == head + bytes([63])
    until = int(NOW.timestamp()) + 600
    frame = encode_frame(_command(CommandKind.OVERRIDE, level=10, until=until), NOW)
    assert frame[9:] == struct.pack("!BBI", 2, 10, until)
    assert encode_frame(_command(CommandKind.CLOCK), NOW)[9:] == struct.pack(
        "!I", int(NOW.timestamp())
    )
    with pytest.raises(InvalidInputError, match="json downlink encoding"):
        encode_frame(_command(CommandKind.PROFILE, profile={"a": 1}), NOW)


def test_chirpstack_events() -> None:
    base = f"application/{APP}/device/{EUI}/event"
    ack = {"deduplicationId": "x", "time": "2026-03-01T12:00:05Z",
           "deviceInfo": {"devEui": EUI, "applicationId": APP},
           "queueItemId": ID, "acknowledged": True, "fCntDown": 7}  # fmt: skip
    got = chirpstack_answer(f"{base}/ack", orjson.dumps(ack))
    assert got is not None
    assert (got.application_id, got.device_uid, got.ack) == (APP, EUI, WireAck(ID, AckStatus.OK))
    missed = chirpstack_answer(f"{base}/ack", orjson.dumps({**ack, "acknowledged": False}))
    assert missed is not None
    assert missed.ack is None
    assert missed.readable
    txack = chirpstack_answer(f"{base}/txack", orjson.dumps({"queueItemId": ID, "downlinkId": 1}))
    assert txack is not None
    assert txack.ack is None
    junk = chirpstack_answer(f"{base}/ack", b"{}")
    assert junk is not None
    assert not junk.readable
    assert chirpstack_answer(f"{base}/up", b"{}") is None


def test_things_stack_events() -> None:
    base = f"v3/lights@ttn/devices/{EUI}/down"
    ours = {"correlation_ids": ["as:downlink:01", f"signalight:cmd:{ID}"], "f_port": 15}
    ids = {"end_device_ids": {"device_id": EUI, "application_ids": {"application_id": "lights"}}}
    ok = tts_answer(f"{base}/ack", orjson.dumps({**ids, "downlink_ack": ours}))
    assert ok is not None
    assert (ok.application_id, ok.device_uid, ok.ack) == ("lights", EUI, WireAck(ID, AckStatus.OK))
    nack = tts_answer(f"{base}/nack", orjson.dumps({**ids, "downlink_nack": ours}))
    assert nack is not None
    assert nack.ack is None
    assert nack.readable
    failed = {"downlink": ours, "error": {"name": "x", "message_format": "no device session"}}
    bad = tts_answer(f"{base}/failed", orjson.dumps({**ids, "downlink_failed": failed}))
    assert bad is not None
    assert bad.ack == WireAck(ID, AckStatus.ERROR, "no device session")
    foreign = tts_answer(f"{base}/ack", orjson.dumps({**ids, "downlink_ack": {"f_port": 1}}))
    assert foreign is not None
    assert not foreign.readable
    assert tts_answer(f"v3/lights@ttn/devices/{EUI}/up", b"{}") is None
