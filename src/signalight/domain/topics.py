"""Devices' MQTT topics and usernames: ``signalight/{city}/{device}/{channel}``."""

from __future__ import annotations

from enum import StrEnum

from signalight.domain.assets import device_uid_problems

TOPIC_ROOT = "signalight"
# The service account that reads every device topic and writes commands. No
# device can take this name: a device's username always holds a '/'.
INGEST_USER = "signalight-ingest"
# Mosquitto ends a password-file username at ':' and treats '+' and '#' in a
# username as an attack. Device ids obey the same rule (device_uid_problems).
_NOT_IN_USERNAME = frozenset(":+#/\x00\n\r ")


class Channel(StrEnum):
    """The topics under each device, and who writes them."""

    UP = "up"  # readings and events, from the device
    STATUS = "status"  # "online" or "offline", retained; "offline" is the device's last will
    DOWN = "down"  # commands, to the device
    ACK = "ack"  # the device's acknowledgements of commands


def device_username(city_slug: str, uid: str) -> str:
    """A device's MQTT username, ``{city}/{device}``: unique across cities, and its topics' middle.

    Raises:
        ValueError: the slug or id holds a character that a username or a
            topic level cannot.
    """
    if not city_slug or _NOT_IN_USERNAME & set(city_slug):
        raise ValueError(
            f"{city_slug!r} cannot be part of an MQTT username (no ':', '+', '#', '/' or spaces)"
        )
    problems = device_uid_problems(uid)
    if problems:
        raise ValueError(f"{uid!r} cannot be part of an MQTT username: {problems[0]}")
    return f"{city_slug}/{uid}"


def device_topic(city_slug: str, uid: str, channel: Channel) -> str:
    """One of a device's topics, e.g. ``signalight/seberang-perai/SL-1/up``."""
    return f"{TOPIC_ROOT}/{device_username(city_slug, uid)}/{channel}"


def ingest_username(base: str, worker: int) -> str:
    """The MQTT account of ingest worker ``worker`` (1, 2, ...): the first has ``base`` itself.

    Each worker needs an account of its own: the broker makes a client's id
    its username, so two workers on one account would push each other off.
    """
    if worker < 1:
        raise ValueError("workers are numbered from 1")
    return base if worker == 1 else f"{base}-{worker}"
