"""The fleet telemetry simulator: a city's devices reporting on a simulated clock, with faults.

Every device reports every ``interval`` simulated seconds at a phase of its
own, so reports spread evenly; faults start at random (a Poisson process per
fault type over the devices it can strike) or when asked, change what their
devices report while they hold, and are written to the ground truth as they
start and end. Messages come out as ``(time, topic, payload)`` in simulated-time
order; :meth:`Simulator.run` hands them to any sink, as fast as it can or
paced against the wall clock.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import TYPE_CHECKING

from signalight.domain.assets import DeviceKind
from signalight.domain.errors import InvalidInputError, NotFoundError
from signalight.domain.faults import DetectionSettings
from signalight.domain.topics import Channel, device_topic
from signalight.sim.crews import Crews, Windows
from signalight.sim.faults import (
    DAY,
    DEFAULT_SPECS,
    Fault,
    FaultSpec,
    FaultType,
    Injection,
    draw_duration,
)
from signalight.sim.fleet_model import FleetModel, Model, SimConfig, asset_kind, build_fleet
from signalight.sim.monitors import SignalMonitor
from signalight.sim.nodes import CabinetMeter, LightNode

if TYPE_CHECKING:
    from collections.abc import Iterable

    from signalight.domain.assets import AssetRecord
    from signalight.domain.cities import City
    from signalight.ports import AssetRepository
    from signalight.sim.truth import TruthLog

__all__ = ["Message", "Progress", "RunStats", "SimConfig", "Simulator", "Sink"]

logger = logging.getLogger(__name__)

Message = tuple[float, str, bytes]  # simulated UTC epoch seconds, MQTT topic, payload
Sink = Callable[[str, bytes], None]
# An intersection a fault has just left takes no random fault for this long: its alarms
# clear first, so that each fault of the ground truth has an alarm of its own.
SIGNAL_REST_S = 900.0
ONLINE = b"online"
OFFLINE = b"offline"
PAGE = 1_000
PROGRESS_EVERY = 1_024  # messages between looks at the wall clock when running flat out


class _Step(IntEnum):
    """What happens at a point of the fault timeline; at equal times, in this order."""

    END = 0  # a fault ends
    START = 1  # a fault starts
    DRAW = 2  # a random fault of a type strikes a device drawn at random


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a run stands, for a progress display."""

    time: float  # simulated UTC epoch seconds
    messages: int
    bytes: int
    active_faults: int
    faults_started: int


@dataclass(frozen=True, slots=True)
class RunStats:
    """What one call of :meth:`Simulator.run` did."""

    messages: int
    bytes: int
    simulated_s: float
    wall_s: float

    @property
    def rate(self) -> float:
        """Messages per wall-clock second."""
        return self.messages / self.wall_s if self.wall_s > 0 else 0.0


class Simulator:
    """A city's fleet on a simulated clock that starts at ``start``.

    Args:
        city: The city (its slug names the topics, its zone the dimming hours).
        assets: Its inventory: stored assets or plain records.
        config: Intervals, dimming, seed and the scale of the fault rates.
        start: Where the simulated clock starts (timezone-aware).
        device_kinds: Each device's registered kind, if known (see ``build_fleet``).
        truth: Where to write the ground truth; None writes none.
        specs: Rates and durations per fault type.
        settings: The detection settings the city judges with: what a fault's
            consequences are (a battery low, a door open too long) is theirs.
        windows: Books the maintenance window of a crew's door opening before
            the door opens; without it (or when it cannot) the opening is a
            break-in, and the ground truth says so.
    """

    def __init__(
        self,
        city: City,
        assets: Iterable[AssetRecord],
        config: SimConfig | None = None,
        *,
        start: datetime,
        device_kinds: Mapping[str, DeviceKind] | None = None,
        truth: TruthLog | None = None,
        specs: Mapping[FaultType, FaultSpec] = DEFAULT_SPECS,
        settings: DetectionSettings | None = None,
        windows: Windows | None = None,
    ) -> None:
        if start.tzinfo is None:
            raise InvalidInputError("the simulation start needs a time zone")
        self.config = config = config or SimConfig()
        self.city = city
        self.truth = truth
        self.specs = specs
        self.settings = settings or DetectionSettings()
        self.crews = Crews(windows)
        self._noise = random.Random(f"{config.seed}/noise")  # noqa: S311 - a simulation
        self._faults = random.Random(f"{config.seed}/faults")  # noqa: S311
        self.model: FleetModel = build_fleet(city, assets, config, self._noise.random, device_kinds)
        self.start = self.now = start.timestamp()
        self.active: dict[str, Fault] = {}
        self._rested: dict[str, float] = {}  # an intersection takes no random fault until
        self.faults_started = 0
        self._timeline: list[tuple[float, int, int, Fault | FaultType]] = []
        self._order = itertools.count()
        self._cycle, self._schedule = self.model.report_cycle(config.seed)
        self._base, self._index = self.start, 0
        self._announced = False
        for light in self.model.lights:
            light.report(self.start)  # so that cabinets meter their lights from the first report
        self._eligible = self.model.eligible(specs)
        for kind in self._eligible:
            self._next_draw(kind, self.start)

    @classmethod
    def from_store(
        cls,
        repository: AssetRepository,
        city: City,
        config: SimConfig | None = None,
        *,
        start: datetime,
        truth: TruthLog | None = None,
        specs: Mapping[FaultType, FaultSpec] = DEFAULT_SPECS,
        settings: DetectionSettings | None = None,
        windows: Windows | None = None,
    ) -> Simulator:
        """A simulator of a stored city's fleet, its devices' kinds as registered."""
        kinds: dict[str, DeviceKind] = {}
        after: int | None = 0
        while after is not None:
            page = repository.query_devices(city.pk, None, after, PAGE)
            kinds.update((device.uid, device.kind) for device in page.items)
            after = page.next_after
        assets = repository.iter_assets(city.pk)
        return cls(
            city,
            assets,
            config,
            start=start,
            device_kinds=kinds,
            truth=truth,
            specs=specs,
            settings=settings,
            windows=windows,
        )

    @property
    def devices(self) -> int:
        """How many devices report."""
        return len(self.model.reporting())

    def inject(self, injection: Injection) -> Fault:
        """Have a fault start on an asset at a time, for a while (or to the end of the run).

        Raises:
            NotFoundError: The city has no such asset in the street.
            InvalidInputError: The fault cannot strike that kind of asset, or
                would start before the simulated clock.
        """
        model = self.model.by_code.get(injection.asset)
        if model is None:
            raise NotFoundError(f"no asset {injection.asset!r} in the simulated fleet")
        kind = asset_kind(model)
        spec = self.specs.get(injection.type) or DEFAULT_SPECS[injection.type]
        if kind not in spec.kinds:
            raise InvalidInputError(f"{injection.type} cannot strike a {kind} ({injection.asset})")
        if injection.start < self.now:
            raise InvalidInputError(f"{injection.type} on {injection.asset} starts in the past")
        end = None if injection.duration is None else injection.start + injection.duration
        fault = Fault(injection.type, injection.asset, injection.start, end, injected=True)
        if injection.level is not None:
            fault.level = injection.level
        self._push(injection.start, _Step.START, fault)
        return fault

    def messages(self, until: float = math.inf) -> Iterator[Message]:
        """The messages from the clock's present up to (not including) ``until``, in time order.

        The clock moves on as they are taken; a later call continues where this
        one stopped. The first call begins with every device's ``online`` status.
        """
        if not self._announced:
            self._announced = True
            for model in self.model.reporting():
                yield self.start, self._status(model), ONLINE
        schedule, cycle, timeline = self._schedule, self._cycle, self._timeline
        count = len(schedule)
        base, index = self._base, self._index
        try:
            while count:
                if index == count:
                    base += cycle
                    index = 0
                offset, report, topic = schedule[index]
                t = base + offset
                if t >= until:
                    break
                if timeline and timeline[0][0] <= t:
                    yield from self._advance(t)
                payload = report(t)
                index += 1
                self.now = t
                if payload is not None:
                    yield t, topic, payload
            if until < math.inf:
                yield from self._advance(math.nextafter(until, -math.inf))
                self.now = until
        finally:
            self._base, self._index = base, index

    def run(
        self,
        sink: Sink,
        *,
        until: float = math.inf,
        speed: float = 0.0,
        on_progress: Callable[[Progress], None] | None = None,
        stop: threading.Event | None = None,
    ) -> RunStats:
        """Hand the messages up to ``until`` to ``sink``, paced or flat out.

        Args:
            sink: Called with each message's topic and payload, in order.
            until: Where to stop, simulated UTC epoch seconds (inf: never).
            speed: Simulated seconds per wall-clock second; 0 runs flat out.
            on_progress: Called about once a second with where the run stands.
            stop: Set it (from another thread) to end the run early.
        """
        wall0 = time.monotonic()
        sim0 = self.now
        sent = size = 0
        next_progress = wall0 + 1.0
        stop = stop or threading.Event()
        for t, topic, payload in self.messages(until):
            if speed > 0:
                delay = wall0 + (t - sim0) / speed - time.monotonic()
                if delay > 0 and stop.wait(delay):
                    break
            sink(topic, payload)
            sent += 1
            size += len(payload)
            if sent % PROGRESS_EVERY == 0 or speed > 0:
                if stop.is_set():
                    break
                if on_progress is not None and time.monotonic() >= next_progress:
                    next_progress += 1.0
                    on_progress(self.progress(sent, size))
        if on_progress is not None:
            on_progress(self.progress(sent, size))
        return RunStats(sent, size, self.now - sim0, time.monotonic() - wall0)

    def progress(self, messages: int = 0, size: int = 0) -> Progress:
        """Where the simulation stands."""
        return Progress(self.now, messages, size, len(self.active), self.faults_started)

    # The fault timeline.

    def _push(self, at: float, step: _Step, item: Fault | FaultType) -> None:
        heapq.heappush(self._timeline, (at, step, next(self._order), item))

    def _next_draw(self, kind: FaultType, after: float) -> None:
        rate = self.specs[kind].per_day * self.config.fault_rate_scale
        per_second = rate * len(self._eligible[kind]) / DAY
        if per_second > 0:
            # On a whole second, as the ground truth writes it.
            at = math.ceil(after + self._faults.expovariate(per_second))
            self._push(at, _Step.DRAW, kind)

    def _advance(self, limit: float) -> Iterator[Message]:
        """Carry out the timeline up to ``limit``, yielding the status messages it causes."""
        timeline = self._timeline
        while timeline and timeline[0][0] <= limit:
            at, step, _, item = heapq.heappop(timeline)
            if isinstance(item, FaultType):
                yield from self._draw(item, at)
            elif step is _Step.START:
                yield from self._begin(item)
            else:
                yield from self._finish(item)

    def _draw(self, kind: FaultType, at: float) -> Iterator[Message]:
        rng = self._faults
        model = rng.choice(self._eligible[kind])
        duration = draw_duration(self.specs[kind], rng)
        end = None if duration is None else at + round(duration)
        self._next_draw(kind, at)
        return self._begin(Fault(kind, model.code, at, end))

    def _begin(self, fault: Fault) -> Iterator[Message]:
        if fault.consequence:
            self._record(fault)
            return
        model = self.model.by_code[fault.asset]
        if model.fault is not None or (isinstance(model, LightNode) and model.cabinet.outage):
            # One fault at a time per asset, and a light without supply shows
            # no lamp fault: the outage is the one truth for its lights.
            log = logger.warning if fault.injected else logger.debug
            log("%s on %s not started: the asset already has a fault", fault.type, fault.asset)
            return
        if not fault.injected and fault.start < self._rested.get(fault.asset, -math.inf):
            return  # an intersection a crew has just mended
        self.crews.name(fault)
        model.begin(fault, self._faults)
        fault.device = model.uid
        self.active[fault.asset] = fault
        self.faults_started += 1
        self._record(fault)
        if isinstance(model, SignalMonitor):
            for follow in model.follows(fault, self.settings):
                self._push(follow.start, _Step.START, follow)
        if fault.type is FaultType.COMMUNICATION_FAILURE and model.uid is not None:
            yield fault.start, self._status(model), OFFLINE
        elif isinstance(model, CabinetMeter) and model.outage:
            for light in model.lights:
                if light.uid is not None and not light.silent:
                    yield fault.start, self._status(light), OFFLINE

    def _record(self, fault: Fault) -> None:
        """Write a fault's start to the ground truth, and look for its end."""
        if self.truth is not None:
            self.truth.started(fault)
        if fault.end is not None:
            self._push(fault.end, _Step.END, fault)

    def _finish(self, fault: Fault) -> Iterator[Message]:
        if fault.consequence:
            if self.truth is not None:
                self.truth.ended(fault)
            return
        model = self.model.by_code[fault.asset]
        at = fault.end if fault.end is not None else self.now
        outage = isinstance(model, CabinetMeter) and model.outage
        if isinstance(model, SignalMonitor):
            self._rested[fault.asset] = at + SIGNAL_REST_S
        model.finish()
        del self.active[fault.asset]
        if self.truth is not None:
            self.truth.ended(fault)
        if fault.type is FaultType.COMMUNICATION_FAILURE and model.uid is not None:
            if not (isinstance(model, LightNode) and model.cabinet.outage):
                yield at, self._status(model), ONLINE
        elif isinstance(model, CabinetMeter) and outage:
            for light in model.lights:
                if light.uid is not None and not light.silent:
                    yield at, self._status(light), ONLINE

    # Set-up.

    def _status(self, model: Model) -> str:
        return device_topic(self.city.slug, model.uid or "", Channel.STATUS)
