"""What ingest produces: accepted messages, dead letters, live device state and hourly rollups.

A device message is either accepted whole (all its readings are stored) or
refused whole into the dead-letter store with its reason: a pack is one
observation of one device, and half of it would mislead the fault rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, NamedTuple

if TYPE_CHECKING:
    from signalight.domain.assets import DeviceKind
    from signalight.domain.readings import Reading, RejectReason

__all__ = [
    "DAY",
    "DEAD_PAYLOAD_MAX",
    "HOUR",
    "MAX_FUTURE_S",
    "MAX_MESSAGE_BYTES",
    "MAX_PAST_S",
    "Accepted",
    "DeadLetter",
    "DeviceRef",
    "DeviceState",
    "HourlyRollup",
    "StateValue",
    "hour_of",
]

HOUR: Final = 3600.0
DAY: Final = 86_400.0
# What ingest accepts of a device message unless the settings say otherwise
# (SIGNALIGHT_INGEST_MAX_BYTES, SIGNALIGHT_INGEST_MAX_PAST_DAYS); the codecs'
# defaults and the settings' are these. The size is the broker's packet limit
# (deploy/mosquitto), and HTTP ingest applies it too.
MAX_MESSAGE_BYTES: Final = 16_384
MAX_PAST_S: Final = 7 * DAY  # a node buffers at most a week offline
MAX_FUTURE_S: Final = 300.0  # clock drift a node may have
# A dead letter keeps at most this much of the refused payload: enough to see
# what was wrong, never enough for a hostile client to fill the database.
DEAD_PAYLOAD_MAX: Final = 4096

StateValue = float | bool | str


class DeviceRef(NamedTuple):
    """A registered device as ingest knows it: who it is, in which city, of which kind."""

    id: int
    city_id: int
    city_slug: str
    uid: str
    kind: DeviceKind
    asset_id: int | None = None  # its asset: a monitor's events are its intersection's


class Accepted(NamedTuple):
    """A message that passed every check: its device and its readings, canonical units."""

    device: DeviceRef
    readings: list[Reading]
    received_at: float  # UTC epoch seconds, when Signalight got it


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadLetter:
    """A refused message, kept for the operator with its reason."""

    received_at: float
    topic: str  # the MQTT topic, or "http" and the path for HTTP ingest
    reason: RejectReason
    message: str  # the reason in plain words, naming the record and rule it broke
    payload: bytes  # the first DEAD_PAYLOAD_MAX bytes
    size: int  # the whole payload's length in bytes
    city_id: int | None = None  # when the topic named a known city
    device_uid: str | None = None  # when the topic or credentials named a device
    id: int | None = None  # set once stored

    @classmethod
    def of(
        cls,
        *,
        received_at: float,
        topic: str,
        reason: RejectReason,
        message: str,
        payload: bytes,
        city_id: int | None = None,
        device_uid: str | None = None,
    ) -> DeadLetter:
        """A dead letter with the payload capped at DEAD_PAYLOAD_MAX bytes."""
        return cls(
            received_at=received_at,
            topic=topic[:512],
            reason=reason,
            message=message[:1000],
            payload=bytes(payload[:DEAD_PAYLOAD_MAX]),
            size=len(payload),
            city_id=city_id,
            device_uid=device_uid[:64] if device_uid else None,
        )


@dataclass(slots=True, kw_only=True)
class DeviceState:
    """A device's live state: when it last spoke and the newest value of each name."""

    device_id: int
    city_id: int
    last_seen: float  # the receipt time of its newest message
    observed_at: float  # the time of its newest reading
    values: dict[str, tuple[float, StateValue]] = field(default_factory=dict)


def hour_of(time: float) -> float:
    """The start of the UTC hour that holds ``time`` (epoch seconds)."""
    return time - time % HOUR


@dataclass(frozen=True, slots=True, kw_only=True)
class HourlyRollup:
    """One device's hour, summed as readings arrive.

    Energy is read off the cumulative counter: ``energy_wh`` is what the
    counter counted from the previous hour's last value (or this hour's
    first) to this hour's last, through resets and wraps
    (:mod:`signalight.domain.energy`). On-hours are the share of ``on`` reports that said on,
    times one hour: exact for a node that reports at a steady rate, as
    nodes do.
    """

    device_id: int
    hour: float  # epoch seconds of the hour's start, UTC
    samples: int  # readings of any name stored for the hour
    energy_wh: float | None
    on_hours: float | None
    voltage_min: float | None
    voltage_max: float | None
    voltage_mean: float | None
    power_min: float | None
    power_max: float | None
    power_mean: float | None
