"""Where a command goes on the broker, and what an answer topic says: Signalight's own topics.

The native route is ``signalight/{city}/{device}/down`` out and ``.../ack``
in. LoRaWAN routes (ChirpStack, The Things Stack) plug in as more
:class:`Route` objects; the first that claims a device carries its commands.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol

from signalight.domain.commands import MAX_DOWN_BYTES, Sendable, WireAck, decode_ack, encode_down
from signalight.domain.errors import InvalidInputError
from signalight.domain.topics import TOPIC_ROOT, Channel

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

__all__ = ["Answer", "NativeRoute", "Route", "Router"]

_PARTS: Final = 4  # signalight/{city}/{device}/ack


@dataclass(frozen=True, slots=True)
class Answer:
    """What came on an answer topic: whose it is and what it says (None: unreadable)."""

    city_slug: str | None  # None when the topic names no city (a network server's)
    device_uid: str
    ack: WireAck | None
    detail: str = ""  # why it could not be read, or the network server's words
    route: str = "mqtt"
    # A network server's news that ends nothing (sent by a gateway, or not yet
    # confirmed by the device): the command waits, and is sent again if need be.
    news_only: bool = False


class Route(Protocol):
    """One way to reach devices: which it claims, how a command looks, how answers come back."""

    name: str

    def claims(self, city_slug: str, device_uid: str) -> bool:
        """Whether this route carries that device's commands."""
        ...

    def outgoing(self, city_slug: str, command: Sendable, now: datetime) -> tuple[str, bytes]:
        """The topic and payload of a command; InvalidInputError if it cannot be carried."""
        ...

    def filters(self) -> list[str]:
        """The topic filters its answers come on."""
        ...

    def incoming(self, topic: str, payload: bytes) -> Answer | None:
        """Read an answer from one of its topics; None if the topic is not this route's."""
        ...


class NativeRoute:
    """Signalight's own topics (``docs/protocol.md``, Commands): every device not claimed else."""

    name = "mqtt"

    def claims(self, city_slug: str, device_uid: str) -> bool:  # noqa: ARG002 - every device
        """Every device."""
        return True

    def outgoing(self, city_slug: str, command: Sendable, now: datetime) -> tuple[str, bytes]:
        """``signalight/{city}/{device}/down`` and the JSON command."""
        payload = encode_down(command, now)
        if len(payload) > MAX_DOWN_BYTES:
            raise InvalidInputError(
                f"the command is {len(payload)} bytes; the limit is {MAX_DOWN_BYTES}"
            )
        # Not device_topic(): the ids were checked when stored, and this runs for every send.
        return f"{TOPIC_ROOT}/{city_slug}/{command.device_uid}/{Channel.DOWN}", payload

    def filters(self) -> list[str]:
        """Every device's ``ack`` topic."""
        return [f"{TOPIC_ROOT}/+/+/{Channel.ACK}"]

    def incoming(self, topic: str, payload: bytes) -> Answer | None:
        """The answer on ``signalight/{city}/{device}/ack``."""
        parts = topic.split("/")
        if len(parts) != _PARTS or parts[0] != TOPIC_ROOT or parts[3] != Channel.ACK:
            return None
        try:
            ack = decode_ack(payload)
        except InvalidInputError as exc:
            return Answer(parts[1], parts[2], None, str(exc))
        return Answer(parts[1], parts[2], ack)


class Router:
    """The routes in order of precedence; the native route last, for every other device."""

    def __init__(self, routes: Sequence[Route] = ()) -> None:
        self.routes: list[Route] = [*routes, NativeRoute()]

    def outgoing(self, city_slug: str, command: Sendable, now: datetime) -> tuple[str, bytes]:
        """The topic and payload for a command (InvalidInputError if it cannot be carried)."""
        for route in self.routes:
            if route.claims(city_slug, command.device_uid):
                return route.outgoing(city_slug, command, now)
        raise InvalidInputError(f"no route to {command.device_uid}")  # pragma: no cover

    def filters(self) -> list[str]:
        """Every route's answer topics."""
        return [f for route in self.routes for f in route.filters()]

    def incoming(self, topic: str, payload: bytes) -> Answer | None:
        """The answer on ``topic``, read by the route it belongs to; None if none knows it."""
        for route in self.routes:
            answer = route.incoming(topic, payload)
            if answer is not None:
                return answer
        return None
