"""Commands as LoRaWAN downlinks (ChirpStack v4, The Things Stack v3), and the servers' answers.

Pure functions over JSON and bytes.

A city's routing file gives an application a ``downlink`` object (see
:func:`parse_downlink`): which network server, the FPort, the encoding, and
which devices it carries. With ``json`` the command's JSON object (as on
``down``) is handed to the network server's codec (ChirpStack ``object``,
The Things Stack ``decoded_payload``); with ``bytes`` Signalight writes the
compact frame of :func:`encode_frame` itself. The network server's
acknowledgement of the confirmed downlink is the node's answer.
"""

from __future__ import annotations

import base64
import struct
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

import orjson

from signalight.domain.commands import AckStatus, CommandKind, Sendable, WireAck
from signalight.domain.errors import InvalidInputError

if TYPE_CHECKING:
    from datetime import datetime

__all__ = [
    "CORRELATION_PREFIX",
    "Downlink",
    "Encoding",
    "Server",
    "chirpstack_answer",
    "chirpstack_command",
    "encode_frame",
    "parse_downlink",
    "tts_answer",
    "tts_push",
]

CORRELATION_PREFIX: Final = "signalight:cmd:"  # our command's id among TTS's correlation ids
_EUI_DIGITS: Final = 16
_HEX: Final = frozenset("0123456789abcdef")
_MAX_F_PORT: Final = 223  # LoRaWAN application ports are 1-223
_KIND_CODES: Final = {
    CommandKind.SWITCH: 1,
    CommandKind.DIM: 2,
    CommandKind.OVERRIDE: 3,
    CommandKind.READ: 4,
    CommandKind.CLOCK: 5,
}


class Server(StrEnum):
    """The network server an application lives on."""

    CHIRPSTACK = "chirpstack"
    THE_THINGS_STACK = "the_things_stack"


class Encoding(StrEnum):
    """How a command travels in the downlink."""

    JSON = "json"  # the command object, encoded by the network server's codec
    BYTES = "bytes"  # Signalight's compact frame (encode_frame), as FRMPayload


@dataclass(frozen=True, slots=True)
class Downlink:
    """How one application's devices get commands."""

    server: Server
    f_port: int
    encoding: Encoding
    devices: frozenset[str]  # the device ids (as in the inventory) this application carries
    tenant: str | None = None  # The Things Stack's tenant in topics ("ttn"); None: Open Source
    confirmed: bool = True  # a confirmed downlink, so the network server reports the node's ack


def parse_downlink(where: str, entry: object) -> Downlink:
    """Read an application's ``downlink`` object from the routing file.

    ``{"server": "chirpstack" | "the_things_stack", "f_port": 1-223,
    "encoding": "json" | "bytes", "devices": [ids], "tenant": "ttn",
    "confirmed": true}``; ``tenant`` and ``confirmed`` are optional.

    Raises:
        InvalidInputError: The object is not of that shape; the message says where.
    """
    if not isinstance(entry, dict):
        raise InvalidInputError(f"{where}: downlink must be an object")
    unknown = set(entry) - {"server", "f_port", "encoding", "devices", "tenant", "confirmed"}
    if unknown:
        raise InvalidInputError(f"{where}: downlink has unknown keys {sorted(unknown)}")
    server, encoding = entry.get("server"), entry.get("encoding", "json")
    if not isinstance(server, str) or server not in Server.__members__.values():
        raise InvalidInputError(f"{where}: downlink.server must be chirpstack or the_things_stack")
    if not isinstance(encoding, str) or encoding not in Encoding.__members__.values():
        raise InvalidInputError(f"{where}: downlink.encoding must be json or bytes")
    f_port = entry.get("f_port")
    if not isinstance(f_port, int) or isinstance(f_port, bool) or not 1 <= f_port <= _MAX_F_PORT:
        raise InvalidInputError(f"{where}: downlink.f_port must be 1 to {_MAX_F_PORT}")
    devices = entry.get("devices")
    if not isinstance(devices, list) or not all(isinstance(d, str) and d for d in devices):
        raise InvalidInputError(f"{where}: downlink.devices must be a list of device ids")
    tenant, confirmed = entry.get("tenant"), entry.get("confirmed", True)
    if tenant is not None and (not isinstance(tenant, str) or not tenant):
        raise InvalidInputError(f"{where}: downlink.tenant must be a tenant id")
    if not isinstance(confirmed, bool):
        raise InvalidInputError(f"{where}: downlink.confirmed must be true or false")
    if server == Server.CHIRPSTACK:
        devices = [d.lower() for d in devices]
    return Downlink(
        Server(server), f_port, Encoding(encoding), frozenset(devices), tenant, confirmed
    )


def encode_frame(command: Sendable, now: datetime) -> bytes:
    """The compact frame of a command: kind, the id's first 4 bytes, expiry, then its arguments.

    ``kind (1) | tag (4) | exp (u32, epoch s) | args``, big-endian: switch
    ``on (1)``; dim ``level (1)``; override ``mode (1: 0 off, 1 on, 2 level) |
    level (1) | until (u32)``; read nothing; clock ``t (u32)``. The tag lets a
    node tell a resend (same tag) from a new command. A profile does not fit:
    send it with the ``json`` encoding.
    """
    code = _KIND_CODES.get(command.kind)
    if code is None:
        raise InvalidInputError(f"a {command.kind} command needs the json downlink encoding")
    head = struct.pack("!B4sI", code, uuid.UUID(command.id).bytes[:4], _u32(command.expires_at))
    args = command.args
    match command.kind:
        case CommandKind.SWITCH:
            tail = struct.pack("!B", int(args["on"]))
        case CommandKind.DIM:
            tail = struct.pack("!B", round(args["level"]))
        case CommandKind.OVERRIDE:
            mode = 2 if "level" in args else int(args["on"])
            tail = struct.pack("!BBI", mode, round(args.get("level", 0)), args["until"])
        case CommandKind.CLOCK:
            tail = struct.pack("!I", _u32(now))
        case _:
            tail = b""
    return head + tail


def _u32(moment: datetime) -> int:
    return int(moment.timestamp()) & 0xFFFFFFFF


def _body(command: Sendable, downlink: Downlink, now: datetime) -> tuple[str, Any]:
    """("data" or "object", value): the frame in base64, or the command object."""
    if downlink.encoding is Encoding.BYTES:
        return "data", base64.b64encode(encode_frame(command, now)).decode()
    message = {
        "id": command.id,
        "kind": str(command.kind),
        "args": dict(command.args),
        "exp": int(command.expires_at.timestamp()),
        "t": int(now.timestamp()),
    }
    return "object", message


def chirpstack_command(
    application_id: str, downlink: Downlink, command: Sendable, now: datetime
) -> tuple[str, bytes]:
    """``application/{app}/device/{devEui}/command/down`` and ChirpStack's DownlinkCommand JSON.

    The command's id is the queue item's id, which ChirpStack's ack event names.
    """
    dev_eui = command.device_uid.lower()
    if len(dev_eui) != _EUI_DIGITS or not _HEX.issuperset(dev_eui):
        raise InvalidInputError(f"{command.device_uid!r} is not a DevEUI: ChirpStack needs one")
    key, value = _body(command, downlink, now)
    body = {
        "id": command.id,
        "devEui": dev_eui,
        "confirmed": downlink.confirmed,
        "fPort": downlink.f_port,
        key: value,
    }
    return f"application/{application_id}/device/{dev_eui}/command/down", orjson.dumps(body)


def tts_push(
    application_id: str, downlink: Downlink, command: Sendable, now: datetime
) -> tuple[str, bytes]:
    """``v3/{app}@{tenant}/devices/{id}/down/push`` and its ``downlinks`` list of one."""
    key, value = _body(command, downlink, now)
    item: dict[str, Any] = {
        "f_port": downlink.f_port,
        "confirmed": downlink.confirmed,
        "priority": "NORMAL",
        "correlation_ids": [f"{CORRELATION_PREFIX}{command.id}"],
    }
    item["frm_payload" if key == "data" else "decoded_payload"] = value
    app = f"{application_id}@{downlink.tenant}" if downlink.tenant else application_id
    topic = f"v3/{app}/devices/{command.device_uid}/down/push"
    return topic, orjson.dumps({"downlinks": [item]})


@dataclass(frozen=True, slots=True)
class ServerAnswer:
    """A network server's event about a downlink: whose, which command, what it means."""

    application_id: str
    device_uid: str
    ack: WireAck | None  # None: news that ends nothing (sent, not yet confirmed), or unreadable
    detail: str = ""
    readable: bool = True


def _loads(payload: bytes) -> dict[str, Any] | None:
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    return body if isinstance(body, dict) else None


def chirpstack_answer(topic: str, payload: bytes) -> ServerAnswer | None:
    """Read ``application/{app}/device/{devEui}/event/ack|txack``; None for other topics.

    ``ack`` with ``acknowledged`` true is the node's answer ``ok``; ``false``
    (the downlink timed out) and ``txack`` (a gateway took it) end nothing.
    """
    parts = topic.split("/")
    if len(parts) != 6 or (parts[0], parts[2], parts[4]) != ("application", "device", "event"):  # noqa: PLR2004
        return None
    if parts[5] not in ("ack", "txack"):
        return None
    app, dev_eui = parts[1], parts[3].lower()
    body = _loads(payload)
    item = None if body is None else body.get("queueItemId")
    if not isinstance(item, str) or not item:
        return ServerAnswer(app, dev_eui, None, "no queueItemId in the event", readable=False)
    if parts[5] == "txack":
        return ServerAnswer(app, dev_eui, None, "sent by a gateway")
    if body is not None and body.get("acknowledged") is True:
        return ServerAnswer(app, dev_eui, WireAck(item, AckStatus.OK))
    return ServerAnswer(app, dev_eui, None, "not acknowledged by the node; sent again later")


def _our_id(correlation_ids: object) -> str | None:
    if not isinstance(correlation_ids, list):
        return None
    for value in correlation_ids:
        if isinstance(value, str) and value.startswith(CORRELATION_PREFIX):
            return value.removeprefix(CORRELATION_PREFIX)
    return None


def tts_answer(topic: str, payload: bytes) -> ServerAnswer | None:
    """Read ``v3/{app}[@{tenant}]/devices/{id}/down/ack|nack|failed``; None for other topics.

    ``ack`` is the answer ``ok``; ``failed`` is ``error`` with the server's
    reason; ``nack`` (the node did not confirm; the server tries again) ends nothing.
    """
    parts = topic.split("/")
    if len(parts) != 6 or parts[0] != "v3" or parts[2] != "devices" or parts[4] != "down":  # noqa: PLR2004
        return None
    event = parts[5]
    if event not in ("ack", "nack", "failed"):
        return None
    app, device = parts[1].partition("@")[0], parts[3]
    body = _loads(payload) or {}
    member = {"ack": "downlink_ack", "nack": "downlink_nack", "failed": "downlink_failed"}[event]
    part = body.get(member)
    part = part if isinstance(part, dict) else {}
    downlink = part.get("downlink", part) if event == "failed" else part
    command_id = _our_id(downlink.get("correlation_ids") if isinstance(downlink, dict) else None)
    if command_id is None:
        return ServerAnswer(
            app, device, None, f"no {CORRELATION_PREFIX} id in {member}", readable=False
        )
    if event == "ack":
        return ServerAnswer(app, device, WireAck(command_id, AckStatus.OK))
    if event == "nack":
        return ServerAnswer(app, device, None, "not confirmed by the node; the server retries")
    error = part.get("error")
    reason = "downlink failed"
    if isinstance(error, dict):
        reason = str(error.get("message_format") or error.get("name") or reason)
    return ServerAnswer(app, device, WireAck(command_id, AckStatus.ERROR, reason[:200]))
