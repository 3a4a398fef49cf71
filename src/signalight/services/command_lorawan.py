"""Command routes through LoRaWAN network servers' MQTT integrations on the same broker.

Each application of the routing file with a ``downlink`` object claims the
devices it lists in its city; their commands go out as ChirpStack or The
Things Stack downlinks, and the server's acknowledgement of the confirmed
downlink comes back as the node's answer (``docs/protocol.md``, LoRaWAN).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from signalight.codecs.lorawan_down import (
    Server,
    ServerAnswer,
    chirpstack_answer,
    chirpstack_command,
    tts_answer,
    tts_push,
)
from signalight.services.command_routes import Answer

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from signalight.codecs.lorawan import ApplicationRoute
    from signalight.codecs.lorawan_down import Downlink
    from signalight.domain.commands import Sendable

__all__ = ["LorawanRoute", "lorawan_routes"]

_FILTERS = {
    Server.CHIRPSTACK: [
        "application/+/device/+/event/ack",
        "application/+/device/+/event/txack",
    ],
    Server.THE_THINGS_STACK: [
        "v3/+/devices/+/down/ack",
        "v3/+/devices/+/down/nack",
        "v3/+/devices/+/down/failed",
    ],
}


class LorawanRoute:
    """One network server's applications: the devices they carry, downlinks out, events in."""

    def __init__(self, server: Server, applications: Mapping[str, ApplicationRoute]) -> None:
        self.server = server
        self.name = str(server)
        self._apps = {
            app: route
            for app, route in applications.items()
            if route.downlink is not None and route.downlink.server is server
        }
        # (city, device) -> (application, downlink)
        self._devices: dict[tuple[str, str], tuple[str, Downlink]] = {}
        for app, route in self._apps.items():
            assert route.downlink is not None  # noqa: S101 - filtered above
            for device in route.downlink.devices:
                self._devices[(route.city_slug, device)] = (app, route.downlink)

    def _key(self, device_uid: str) -> str:
        return device_uid.lower() if self.server is Server.CHIRPSTACK else device_uid

    def claims(self, city_slug: str, device_uid: str) -> bool:
        """Whether an application of this server lists the device."""
        return (city_slug, self._key(device_uid)) in self._devices

    def outgoing(self, city_slug: str, command: Sendable, now: datetime) -> tuple[str, bytes]:
        """The downlink for the command (InvalidInputError if it cannot be encoded)."""
        app, downlink = self._devices[(city_slug, self._key(command.device_uid))]
        if self.server is Server.CHIRPSTACK:
            return chirpstack_command(app, downlink, command, now)
        return tts_push(app, downlink, command, now)

    def filters(self) -> list[str]:
        """The server's downlink event topics, if it has an application with downlinks."""
        return list(_FILTERS[self.server]) if self._apps else []

    def incoming(self, topic: str, payload: bytes) -> Answer | None:
        """An event of one of this server's applications, as an answer; None if not ours."""
        read = chirpstack_answer if self.server is Server.CHIRPSTACK else tts_answer
        event: ServerAnswer | None = read(topic, payload)
        if event is None or event.application_id not in self._apps:
            return None
        city = self._apps[event.application_id].city_slug
        if event.ack is None and event.readable:
            return Answer(city, event.device_uid, None, event.detail, self.name, news_only=True)
        return Answer(city, event.device_uid, event.ack, event.detail, self.name)


def lorawan_routes(applications: Mapping[str, ApplicationRoute]) -> list[LorawanRoute]:
    """A route for each network server some application sends downlinks through."""
    servers = {r.downlink.server for r in applications.values() if r.downlink is not None}
    return [LorawanRoute(server, applications) for server in sorted(servers)]
