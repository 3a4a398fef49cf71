"""The simulated fleet: a model of every device, built from a city's inventory.

Each light, cabinet and intersection gets its fixed traits here (photocell
offset, line drop, ageing, energy counter, cabinet voltage, signal plan),
drawn from a stream seeded by the run's seed, so a seed always builds the
same fleet. Assets without a device are modelled too where they matter: an
unmonitored light still loads its cabinet's meter.
"""

from __future__ import annotations

import logging
import math
import random
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import time

from signalight.domain.assets import (
    DEVICE_KIND_FOR_ASSET,
    AssetKind,
    AssetRecord,
    AssetStatus,
    DeviceKind,
    LuminaireType,
)
from signalight.domain.cities import City
from signalight.domain.errors import InvalidInputError
from signalight.domain.schedules import Profile
from signalight.domain.sun import LocalDays, SunTable
from signalight.domain.topics import Channel, device_topic
from signalight.sim.faults import FaultSpec, FaultType
from signalight.sim.monitors import SignalMonitor
from signalight.sim.nodes import NOMINAL_V, CabinetMeter, LightingSchedule, LightNode, Random

logger = logging.getLogger(__name__)

DEFAULT_WATTS = 100.0  # a light with no rating in the inventory
LIFETIME_H = 4_300.0  # hours a streetlight burns in a year
GONE = frozenset({AssetStatus.PLANNED, AssetStatus.REMOVED})  # not in the street


@dataclass(frozen=True, slots=True)
class SimConfig:
    """How the fleet behaves and reports."""

    seed: int = 0
    light_interval: int = 300  # seconds between a node's reports
    meter_interval: int = 300
    monitor_interval: int = 60
    night_dim: float = 50.0  # percent; 100 turns dimming off
    dim_from: time = field(default_factory=lambda: time(0))  # local time in the city
    dim_until: time = field(default_factory=lambda: time(5))
    fault_rate_scale: float = 1.0  # 0 injects only the faults asked for
    profile: Profile | None = None  # the nodes run it; None: photocell and night_dim hours


Model = LightNode | CabinetMeter | SignalMonitor
Slot = tuple[float, Callable[[float], bytes | None], str]  # offset in the cycle, report, topic
_KIND_OF: dict[type, AssetKind] = {
    LightNode: AssetKind.STREETLIGHT,
    CabinetMeter: AssetKind.CABINET,
}


def asset_kind(model: Model) -> AssetKind:
    """The kind of asset a model stands for."""
    return _KIND_OF.get(type(model), AssetKind.INTERSECTION)


@dataclass(slots=True)
class FleetModel:
    """Every simulated device of one city, and each asset's model by its code."""

    city: City
    lights: list[LightNode]
    cabinets: list[CabinetMeter]
    monitors: list[SignalMonitor]
    by_code: dict[str, Model]
    intervals: dict[type, int]
    out_of_service: frozenset[str] = frozenset()

    def reporting(self) -> list[Model]:
        """Every model that has a device."""
        devices: list[Model] = [*self.lights, *self.cabinets, *self.monitors]
        return [d for d in devices if d.uid is not None]

    def stepped(self) -> list[tuple[Model, int]]:
        """Every model the clock moves, with its interval: the devices and unmonitored lights.

        A light without a node reports nothing but still loads its cabinet.
        """
        models: list[Model] = [*self.lights, *self.cabinets, *self.monitors]
        return [
            (m, self.intervals[type(m)])
            for m in models
            if m.uid is not None or isinstance(m, LightNode)
        ]

    def report_cycle(self, seed: int) -> tuple[float, list[Slot]]:
        """One cycle of every report, by its offset: each device at a phase of its own."""
        stepped = self.stepped()
        intervals = {interval for _, interval in stepped}
        if any(interval < 1 for interval in intervals):
            raise InvalidInputError("report intervals must be at least one second")
        cycle = math.lcm(*intervals) if intervals else 1
        phases = random.Random(f"{seed}/phases")  # noqa: S311 - a simulation
        schedule: list[Slot] = []
        for model, interval in stepped:
            phase = phases.uniform(0.0, interval)
            schedule += [
                (phase + k * interval, model.report, model.topic) for k in range(cycle // interval)
            ]
        schedule.sort(key=lambda entry: entry[0])
        return float(cycle), schedule

    def eligible(self, specs: Mapping[FaultType, FaultSpec]) -> dict[FaultType, list[Model]]:
        """The assets each fault type can strike at random, by type; types with none left out."""
        models: list[Model] = [*self.lights, *self.cabinets, *self.monitors]
        usable = [
            m
            for m in models
            if m.code not in self.out_of_service
            and (m.uid is not None or (isinstance(m, CabinetMeter) and m.lights))
        ]
        eligible: dict[FaultType, list[Model]] = {}
        for kind, spec in specs.items():
            found = [m for m in usable if asset_kind(m) in spec.kinds]
            if kind is FaultType.COMMUNICATION_FAILURE:
                found = [m for m in found if m.uid is not None]
            if found and spec.per_day > 0:
                eligible[kind] = found
        return eligible


def build_fleet(
    city: City,
    assets: Iterable[AssetRecord],
    config: SimConfig,
    rnd: Random,
    device_kinds: Mapping[str, DeviceKind] | None = None,
) -> FleetModel:
    """Model the city's fleet from its inventory.

    Args:
        city: The city; its time zone decides the dimming hours.
        assets: Its assets (stored ``Asset`` rows or plain records).
        config: The run's settings; its seed draws each device's traits.
        rnd: The noise source every device draws its readings' noise from.
        device_kinds: Each device's kind as registered; a device bound to the
            wrong kind of asset is then left silent. None trusts the assets.
    """
    zone = zoneinfo.ZoneInfo(city.timezone)
    sun = SunTable(zone)
    schedule = LightingSchedule(
        LocalDays(zone), sun, config.night_dim, config.dim_from, config.dim_until, config.profile
    )
    rng = random.Random(f"{config.seed}/traits")  # noqa: S311 - a simulation
    listed = [a for a in assets if a.status not in GONE]
    listed.sort(key=lambda a: a.kind is not AssetKind.CABINET)
    model = FleetModel(
        city,
        [],
        [],
        [],
        {},
        {
            LightNode: config.light_interval,
            CabinetMeter: config.meter_interval,
            SignalMonitor: config.monitor_interval,
        },
        frozenset(a.code for a in listed if a.status is AssetStatus.OUT_OF_SERVICE),
    )
    mains = CabinetMeter(
        "", None, "", (0, 0), schedule, rnd, nominal=NOMINAL_V, swing_phase=0.0, energy=0.0
    )
    for asset in listed:
        uid = _device(asset, device_kinds)
        topic = device_topic(city.slug, uid, Channel.UP) if uid is not None else ""
        cell = sun.cell(asset.lat, asset.lon)
        match asset.kind:
            case AssetKind.CABINET:
                cabinet = CabinetMeter(
                    asset.code,
                    uid,
                    topic,
                    cell,
                    schedule,
                    rnd,
                    nominal=min(245.0, max(215.0, rng.gauss(NOMINAL_V, 3.0))),
                    swing_phase=rng.uniform(0.0, 2 * math.pi),
                    energy=rng.uniform(1e5, 5e7),
                )
                model.cabinets.append(cabinet)
                model.by_code[asset.code] = cabinet
            case AssetKind.STREETLIGHT:
                feed = model.by_code.get(asset.cabinet or "")
                supply = feed if isinstance(feed, CabinetMeter) else mains
                rated = asset.rated_watts or DEFAULT_WATTS
                light = LightNode(
                    asset.code,
                    uid,
                    topic,
                    supply,
                    cell,
                    schedule,
                    rnd,
                    rated=rated,
                    led=asset.luminaire in (None, LuminaireType.LED),
                    offset=max(-180.0, min(180.0, rng.gauss(0.0, 45.0))),
                    drop=rng.uniform(0.5, 4.0),
                    tilt=rng.uniform(0.0, 3.0),
                    ageing=rng.uniform(0.97, 1.03),
                    energy=rated * LIFETIME_H * rng.uniform(0.0, 6.0),
                    in_service=asset.status is AssetStatus.IN_SERVICE,
                )
                supply.lights.append(light)
                model.lights.append(light)
                model.by_code[asset.code] = light
            case AssetKind.INTERSECTION:
                monitor = SignalMonitor(
                    asset.code, uid, topic, asset.phases, config.monitor_interval, rng, rnd
                )
                model.monitors.append(monitor)
                model.by_code[asset.code] = monitor
    return model


def _device(asset: AssetRecord, kinds: Mapping[str, DeviceKind] | None) -> str | None:
    """The asset's device, unless it is registered as another kind of device."""
    uid = asset.device
    if uid is None or kinds is None:
        return uid
    kind = kinds.get(uid)
    if kind is not DEVICE_KIND_FOR_ASSET[asset.kind]:
        logger.warning("device %s on %s is a %s; it stays silent", uid, asset.code, kind)
        return None
    return uid
