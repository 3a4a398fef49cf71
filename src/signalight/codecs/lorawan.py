"""Uplinks from LoRaWAN network servers (ChirpStack v4, The Things Stack v3), decoded into readings.

The network server decrypts the radio frame, runs the device profile's codec
(ChirpStack) or payload formatter (The Things Stack) and publishes the result
as JSON over MQTT. These decoders read that JSON: the device's identity as the
network server states it, the uplink's time, and the decoded fields, which a
city's FieldMapping turns into catalogue names in canonical units.

Which Signalight device an uplink belongs to, and so its kind, is known only
once ingest has looked up ``Uplink.device_id``; ingest then checks each reading
with ``signalight.domain.readings.check_reading``. The decoders check what they
can without the kind: shapes, types, identity between topic and payload, time.

Its length (about 420 lines) is two network servers' decoders that share
every helper below; split them when a third server comes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final, TypeAlias

import orjson

from signalight.codecs.lorawan_down import Downlink, parse_downlink
from signalight.domain.errors import InvalidInputError
from signalight.domain.readings import CATALOGUE, PayloadError, Reading, RejectReason, unit_factor
from signalight.domain.telemetry import MAX_FUTURE_S, MAX_PAST_S

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

__all__ = [
    "ApplicationRoute",
    "FieldMapping",
    "NetworkServer",
    "Uplink",
    "decode_chirpstack_up",
    "decode_tts_up",
    "parse_routes",
]

MAX_BYTES: Final = 65_536  # an uplink heard by many gateways carries an rxInfo entry for each
MAX_DEPTH: Final = 8  # decoded objects nested deeper are not read
_EUI_DIGITS: Final = 16
_HEX: Final = frozenset("0123456789abcdefABCDEF")
_KNOWN_NAMES: Final = frozenset(name for specs in CATALOGUE.values() for name in specs)
_CHIRPSTACK_UP: Final = ("application", "device", "event", "up")

Target: TypeAlias = tuple[str, float | None] | tuple[str, float | None, str | None]


class NetworkServer(StrEnum):
    """The LoRaWAN network server an uplink came through."""

    CHIRPSTACK = "chirpstack"  # ChirpStack v4, MQTT integration, JSON encoding
    THE_THINGS_STACK = "the_things_stack"  # The Things Stack v3 (TTN, Cloud, Open Source)


@dataclass(frozen=True, slots=True)
class FieldMapping:
    """How a city's decoded LoRaWAN fields become readings.

    ``fields`` maps a field's path in the decoded object, in dot notation
    (``"lamp.power"``; list items by index, ``"voltages.0"``), to a target:
    ``(name, scale)`` or ``(name, scale, unit)``. A number is multiplied by
    ``scale`` and, if ``unit`` is given, converted from that unit to the name's
    canonical one; a ``scale`` of None takes the value as it is (booleans,
    strings). For example ``{"powerW": ("power", 1.0), "energyKwh": ("energy",
    1000.0), "relay": ("on", None)}``.

    Raises:
        InvalidInputError: A target names no catalogue reading, or gives a unit
            that its name cannot be converted from.
    """

    fields: Mapping[str, Target]
    # path -> (name, factor to the canonical unit, or None to take the value as it is)
    targets: Mapping[str, tuple[str, float | None]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        targets: dict[str, tuple[str, float | None]] = {}
        problems: list[str] = []
        for path, target in self.fields.items():
            name, scale = target[0], target[1]
            unit = target[2] if len(target) > 2 else None  # noqa: PLR2004 - (name, scale, unit)
            factor = scale
            if name not in _KNOWN_NAMES:
                problems.append(f"{path!r}: no reading is named {name!r}")
            elif unit is not None:
                conversion = unit_factor(name, unit)
                if scale is None or conversion is None:
                    problems.append(f"{path!r}: {name!r} cannot be converted from {unit!r}")
                else:
                    factor = scale * conversion
            targets[path] = (name, factor)
        if problems:
            raise InvalidInputError("field mapping: " + "; ".join(problems))
        object.__setattr__(self, "targets", targets)


@dataclass(frozen=True, slots=True, kw_only=True)
class Uplink:
    """One decoded uplink: who sent it as the network server says, when, and its readings."""

    server: NetworkServer
    device_id: str  # the server's key for the device: ChirpStack's DevEUI, TTS's device id
    dev_eui: str | None  # lower-case hex
    device_name: str | None  # ChirpStack's display name
    application_id: str  # ChirpStack: a UUID; TTS: the application id, without tenant
    application_name: str | None  # ChirpStack only
    tenant: str | None  # TTS tenant from the topic ("ttn"); ChirpStack tenant id
    time: float  # UTC epoch seconds: the server's receive time, else the time of decoding
    f_cnt: int  # frame counter; servers leave out a zero
    f_port: int
    readings: tuple[Reading, ...]
    ignored: tuple[str, ...]  # decoded fields that gave no reading: unmapped, or null
    simulated: bool = False  # TTS marks uplinks simulated from its console


def _json_object(payload: bytes, max_bytes: int, what: str) -> dict[str, Any]:
    if len(payload) > max_bytes:
        text = f"the {what} is {len(payload)} bytes; the limit is {max_bytes}"
        raise PayloadError(RejectReason.TOO_LARGE, text)
    try:
        message = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(RejectReason.MALFORMED, f"the {what} is not valid JSON: {exc}") from exc
    if type(message) is not dict:
        raise PayloadError(RejectReason.MALFORMED, f"the {what} is not a JSON object")
    return message


_WANTED: Final[dict[type, str]] = {dict: "an object", str: "a string"}


def _member(container: Mapping[str, Any], key: str, kind: type, where: str) -> Any:  # noqa: ANN401 - JSON
    value = container.get(key)
    if type(value) is not kind:
        text = f"{where}{key} is missing or not {_WANTED[kind]}"
        raise PayloadError(RejectReason.MALFORMED, text)
    return value


def _text(container: Mapping[str, Any], key: str) -> str | None:
    """An optional string member; anything else counts as absent."""
    value = container.get(key)
    return value if type(value) is str else None


def _count(container: Mapping[str, Any], key: str, where: str) -> int:
    """A counter that protobuf JSON leaves out when zero."""
    value = container.get(key, 0)
    if type(value) is not int or value < 0:
        raise PayloadError(RejectReason.MALFORMED, f"{where}{key} is not a whole number")
    return value


def _time(stamp: object, now: float, max_past_s: float, max_future_s: float) -> float:
    """An RFC 3339 time from the server, or ``now`` when it gives none."""
    if stamp is None:
        return now
    try:
        moment = datetime.fromisoformat(stamp) if type(stamp) is str else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise PayloadError(
            RejectReason.MALFORMED, f"time {str(stamp)[:40]!r} is not an RFC 3339 time"
        )
    time = moment.timestamp()
    if not now - max_past_s <= time <= now + max_future_s:
        text = (
            f"uplink time {stamp} is not within {max_past_s:g} s before"
            f" and {max_future_s:g} s after now"
        )
        raise PayloadError(RejectReason.BAD_TIME, text)
    return time


def _leaves(value: Any, path: str, depth: int) -> Iterator[tuple[str, Any]]:  # noqa: ANN401 - JSON
    """Each scalar of a decoded object with its dot path; a subtree too deep as one leaf."""
    if type(value) is dict and depth < MAX_DEPTH:
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}" if path else key, depth + 1)
    elif type(value) is list and depth < MAX_DEPTH:
        for index, item in enumerate(value):
            yield from _leaves(item, f"{path}.{index}" if path else str(index), depth + 1)
    else:
        yield path, value


def _readings(
    decoded: Mapping[str, Any], mapping: FieldMapping, time: float
) -> tuple[tuple[Reading, ...], tuple[str, ...]]:
    readings: list[Reading] = []
    ignored: list[str] = []
    for path, value in _leaves(decoded, "", 0):
        target = mapping.targets.get(path)
        if target is None or value is None:
            ignored.append(path)
            continue
        name, factor = target
        match value:
            case bool() if factor is None:
                readings.append(Reading(time, name, None, value, None))
            case str() if factor is None:
                readings.append(Reading(time, name, None, None, value))
            case int() | float() if not isinstance(value, bool):
                scaled = float(value) if factor is None else value * factor
                readings.append(Reading(time, name, scaled, None, None))
            case _:
                wanted = "a number" if factor is not None else "a number, boolean or string"
                text = (
                    f"decoded field {path!r} for {name!r} is {type(value).__name__}, not {wanted}"
                )
                raise PayloadError(RejectReason.WRONG_TYPE, text)
    return tuple(readings), tuple(ignored)


def _eui(text: str, where: str, reason: RejectReason) -> str:
    if len(text) != _EUI_DIGITS or not _HEX.issuperset(text):
        raise PayloadError(reason, f"{where} {text[:40]!r} is not a DevEUI (16 hex digits)")
    return text.lower()


def decode_chirpstack_up(
    topic: str,
    payload: bytes,
    mapping: FieldMapping,
    now: float,
    *,
    max_bytes: int = MAX_BYTES,
    max_past_s: float = MAX_PAST_S,
    max_future_s: float = MAX_FUTURE_S,
) -> Uplink:
    """Decode a ChirpStack v4 uplink event from its MQTT integration (JSON encoding).

    Args:
        topic: ``application/{application id}/device/{DevEUI}/event/up``.
        payload: The event, an ``UplinkEvent`` in protobuf JSON mapping.
        mapping: The city's mapping of decoded fields to readings.
        now: The time of receipt, UTC epoch seconds.
        max_bytes: Longer payloads are refused before parsing.
        max_past_s: An uplink time further back than this is refused.
        max_future_s: An uplink time further ahead than this is refused.

    Returns:
        The uplink, with its readings at the event's ``time``.

    Raises:
        PayloadError: The topic, the JSON or its identity is wrong, or the
            uplink has no decoded ``object`` (no codec on the device profile).
    """
    parts = topic.split("/")
    if len(parts) != 6 or (parts[0], parts[2], parts[4], parts[5]) != _CHIRPSTACK_UP:  # noqa: PLR2004
        text = f"topic {topic[:80]!r} is not application/{{application}}/device/{{DevEUI}}/event/up"
        raise PayloadError(RejectReason.BAD_TOPIC, text)
    application_id, dev_eui = parts[1], _eui(parts[3], "topic DevEUI", RejectReason.BAD_TOPIC)
    event = _json_object(payload, max_bytes, "ChirpStack uplink event")
    info = _member(event, "deviceInfo", dict, "")
    if _member(info, "devEui", str, "deviceInfo.").lower() != dev_eui:
        text = f"deviceInfo.devEui {info['devEui'][:20]!r} is not the topic's {dev_eui!r}"
        raise PayloadError(RejectReason.IDENTITY_MISMATCH, text)
    if _member(info, "applicationId", str, "deviceInfo.") != application_id:
        text = f"deviceInfo.applicationId is not the topic's {application_id!r}"
        raise PayloadError(RejectReason.IDENTITY_MISMATCH, text)
    decoded = event.get("object")
    if decoded is None:
        profile = info.get("deviceProfileName", "?")
        text = (
            "the uplink has no decoded 'object': ChirpStack decodes payloads only when the"
            f" device profile ({profile!r}) has a codec; set one, or use a SenML device"
        )
        raise PayloadError(RejectReason.NOT_DECODED, text)
    if type(decoded) is not dict:
        raise PayloadError(RejectReason.MALFORMED, "the uplink's 'object' is not a JSON object")
    time = _time(event.get("time"), now, max_past_s, max_future_s)
    readings, ignored = _readings(decoded, mapping, time)
    return Uplink(
        server=NetworkServer.CHIRPSTACK,
        device_id=dev_eui,
        dev_eui=dev_eui,
        device_name=_text(info, "deviceName"),
        application_id=application_id,
        application_name=_text(info, "applicationName"),
        tenant=_text(info, "tenantId"),
        time=time,
        f_cnt=_count(event, "fCnt", ""),
        f_port=_count(event, "fPort", ""),
        readings=readings,
        ignored=ignored,
    )


def decode_tts_up(
    topic: str,
    payload: bytes,
    mapping: FieldMapping,
    now: float,
    *,
    max_bytes: int = MAX_BYTES,
    max_past_s: float = MAX_PAST_S,
    max_future_s: float = MAX_FUTURE_S,
) -> Uplink:
    """Decode an uplink message from The Things Stack v3 MQTT server.

    Args:
        topic: ``v3/{application id}@{tenant id}/devices/{device id}/up``, or
            without ``@{tenant id}`` on The Things Stack Open Source.
        payload: The ``ApplicationUp`` message with its ``uplink_message``.
        mapping: The city's mapping of decoded fields to readings.
        now: The time of receipt, UTC epoch seconds.
        max_bytes: Longer payloads are refused before parsing.
        max_past_s: An uplink time further back than this is refused.
        max_future_s: An uplink time further ahead than this is refused.

    Returns:
        The uplink, with its readings at the network server's ``received_at``.

    Raises:
        PayloadError: The topic, the JSON or its identity is wrong, or the
            uplink has no ``decoded_payload`` (no payload formatter).
    """
    parts = topic.split("/")
    if len(parts) != 5 or parts[0] != "v3" or parts[2] != "devices" or parts[4] != "up":  # noqa: PLR2004
        text = f"topic {topic[:80]!r} is not v3/{{application}}@{{tenant}}/devices/{{device}}/up"
        raise PayloadError(RejectReason.BAD_TOPIC, text)
    application_id, _, tenant = parts[1].partition("@")
    device_id = parts[3]
    if not application_id or not device_id:
        raise PayloadError(
            RejectReason.BAD_TOPIC, f"topic {topic[:80]!r} names no application or device"
        )
    message = _json_object(payload, max_bytes, "The Things Stack uplink")
    ids = _member(message, "end_device_ids", dict, "")
    if _member(ids, "device_id", str, "end_device_ids.") != device_id:
        text = (
            f"end_device_ids.device_id {ids['device_id'][:40]!r} is not the topic's {device_id!r}"
        )
        raise PayloadError(RejectReason.IDENTITY_MISMATCH, text)
    app_ids = _member(ids, "application_ids", dict, "end_device_ids.")
    if _member(app_ids, "application_id", str, "end_device_ids.application_ids.") != application_id:
        text = (
            f"end_device_ids.application_ids.application_id is not the topic's {application_id!r}"
        )
        raise PayloadError(RejectReason.IDENTITY_MISMATCH, text)
    uplink = _member(message, "uplink_message", dict, "")
    decoded = uplink.get("decoded_payload")
    if decoded is None:
        text = (
            "the uplink has no decoded_payload: The Things Stack decodes payloads only when"
            " the device or application has a payload formatter; set one, or use a SenML device"
        )
        raise PayloadError(RejectReason.NOT_DECODED, text)
    if type(decoded) is not dict:
        raise PayloadError(
            RejectReason.MALFORMED, "uplink_message.decoded_payload is not a JSON object"
        )
    received = uplink.get("received_at", message.get("received_at"))
    time = _time(received, now, max_past_s, max_future_s)
    readings, ignored = _readings(decoded, mapping, time)
    dev_eui = _text(ids, "dev_eui")  # absent for devices activated by personalisation
    if dev_eui is not None:
        dev_eui = _eui(dev_eui, "end_device_ids.dev_eui", RejectReason.MALFORMED)
    return Uplink(
        server=NetworkServer.THE_THINGS_STACK,
        device_id=device_id,
        dev_eui=dev_eui,
        device_name=None,
        application_id=application_id,
        application_name=None,
        tenant=tenant or None,
        time=time,
        f_cnt=_count(uplink, "f_cnt", "uplink_message."),
        f_port=_count(uplink, "f_port", "uplink_message."),
        readings=readings,
        ignored=ignored,
        simulated=message.get("simulated") is True,
    )


@dataclass(frozen=True, slots=True)
class ApplicationRoute:
    """Where one network-server application's uplinks go: a city, and its field mapping."""

    city_slug: str
    mapping: FieldMapping
    downlink: Downlink | None = None  # how its devices get commands, if they do


def parse_routes(document: bytes) -> dict[str, ApplicationRoute]:
    """Read the routing file: ``{"applications": {app id: {"city": slug, "fields": {...}}}}``.

    ``fields`` maps a decoded field's path to ``[name, scale]`` or
    ``[name, scale, unit]``, as :class:`FieldMapping` takes them.

    Raises:
        InvalidInputError: The document is not of that shape, or a mapping
            names no catalogue reading or an impossible unit; the message says
            which application.
    """
    try:
        data = orjson.loads(document)
    except orjson.JSONDecodeError as exc:
        raise InvalidInputError(f"LoRaWAN routes: not JSON ({exc})") from None
    applications = data.get("applications") if isinstance(data, dict) else None
    if not isinstance(applications, dict):
        raise InvalidInputError('LoRaWAN routes: expected {"applications": {...}}')
    routes: dict[str, ApplicationRoute] = {}
    for app, entry in applications.items():
        where = f"LoRaWAN routes: application {app!r}"
        if not isinstance(entry, dict) or not isinstance(entry.get("city"), str):
            raise InvalidInputError(f'{where}: expected {{"city": slug, "fields": {{...}}}}')
        fields = entry.get("fields")
        if not isinstance(fields, dict) or not all(
            isinstance(target, list) and 2 <= len(target) <= 3  # noqa: PLR2004 - [name, scale(, unit)]
            for target in fields.values()
        ):
            raise InvalidInputError(
                f"{where}: each field maps to [name, scale] or [name, scale, unit]"
            )
        try:
            mapping = FieldMapping({path: tuple(target) for path, target in fields.items()})
        except InvalidInputError as exc:
            raise InvalidInputError(f"{where}: {exc}") from None
        downlink = None
        if "downlink" in entry:
            downlink = parse_downlink(where, entry["downlink"])
        routes[app] = ApplicationRoute(entry["city"], mapping, downlink)
    return routes
