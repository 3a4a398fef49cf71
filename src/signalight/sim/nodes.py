"""Simulated streetlight nodes and cabinet meters: what each reports, healthy or faulty.

A node's report is formatted into a fixed SenML template made once per
device: 20,000 nodes over a simulated week are 40 million reports, and a
template costs a third of building the records and encoding them.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import date, time, timedelta
from typing import Final

import orjson

from signalight.codecs.senml import encode_pack
from signalight.domain.readings import Reading
from signalight.domain.schedules import NOON, NightSun, Plan, Profile, night_of, night_plan
from signalight.domain.sun import Cell, LocalDay, LocalDays, SunTable
from signalight.sim.faults import Fault, FaultType
from signalight.sim.orders import Orders

NOMINAL_V: Final = 230.0
FULL: Final = 100.0  # percent: not dimmed
STANDBY_W: Final = 0.6  # what a node and its driver draw with the lamp off
HID_FLOOR: Final = 0.6  # a bi-level HPS or metal-halide ballast dims no lower than this
HID_BALLAST: Final = 1.1  # a magnetic ballast draws a tenth more than the lamp's rating
LED_PF: Final = 0.95
HID_PF: Final = 0.85
STUCK_DIM: Final = (100.0, 30.0, 70.0)  # where a failed dimming driver is left stuck
# A supply out of band, clear of the rules' thresholds (253 V and 207 V) at every light
# whatever its line drop (up to 4 V) and the daily swing (2.5 V).
HIGH_SUPPLY_V: Final = (262.0, 275.0)
LOW_SUPPLY_V: Final = (180.0, 198.0)
HIGH_POWER: Final = (1.6, 2.0)  # a failed driver's draw, times what the lamp should draw
LOW_PF: Final = (0.45, 0.6)  # a driver whose power-factor correction failed
DIAGNOSIS: Final = b',{"n":"fault","vs":"driver overtemperature"}]'  # a node's own fault report
_PLANS_KEPT: Final = 100_000  # cell-nights of plans kept
CYCLE_ON: Final = 0.7  # share of a cycling lamp's period that it burns

_TRUE: Final = b"true"
_FALSE: Final = b"false"
_LIGHT_TEMPLATE: Final = (
    b'[{"bn":"{uid}","bt":%.3f,"n":"on","vb":%s},'
    b'{"n":"dim","u":"%%","v":%d},'
    b'{"n":"power","u":"W","v":%.1f},'
    b'{"n":"voltage","u":"V","v":%.1f},'
    b'{"n":"current","u":"A","v":%.3f},'
    b'{"n":"pf","u":"/","v":%.2f},'
    b'{"n":"energy","u":"Wh","v":%.1f},'
    b'{"n":"lux","u":"lx","v":%.1f},'
    b'{"n":"tilt","u":"deg","v":%.1f},'
    b'{"n":"temp","u":"Cel","v":%.1f}]'
)

Random = Callable[[], float]


def light_template(uid: str) -> bytes:
    """The SenML template of a node's report, with its base name filled in."""
    base = orjson.dumps(f"{uid}/")[1:-1].replace(b"%", b"%%")
    return _LIGHT_TEMPLATE.replace(b"{uid}", base)


class LightingSchedule:
    """When lights burn and at what level.

    Without a profile: dusk to dawn at each pole by its photocell, dimmed in
    the small hours by the clock (``night_dim`` from ``dim_from`` to
    ``dim_until``). With one, each node runs the profile's plan (as a node
    sent its profile does, offline), its clock off by the pole's offset.
    """

    def __init__(
        self,
        days: LocalDays,
        sun: SunTable,
        night_dim: float,
        dim_from: time,
        dim_until: time,
        profile: Profile | None = None,
    ) -> None:
        self.days = days
        self.sun = sun
        self.night_dim = night_dim
        self.dim_from = dim_from
        self.dim_until = dim_until
        self.profile = profile
        self._windows: dict[float, tuple[tuple[float, float], ...]] = {}
        self._plans: dict[tuple[Cell, date], Plan] = {}

    @property
    def levels(self) -> frozenset[float]:
        """The dim levels the schedule asks of a burning light."""
        if self.profile is None:
            return frozenset({FULL, self.night_dim})
        return frozenset(step.level for step in self.profile.steps if step.level > 0)

    def _planned(self, cell: Cell, offset: float, t: float) -> tuple[bool, float, float]:
        """``state`` by the profile: the plan of the pole's night, its clock ``offset`` late."""
        assert self.profile is not None  # noqa: S101 - the caller checks
        local = t - offset
        night = night_of(self.days, local)
        plan = self._plans.get((cell, night))
        if plan is None:
            if len(self._plans) > _PLANS_KEPT:
                self._plans.clear()
            sun = NightSun(
                self.sun.twilight(cell, night), self.sun.twilight(cell, night + timedelta(days=1))
            )
            plan = self._plans[(cell, night)] = night_plan(self.profile, night, sun, self.days)
        level = plan.level_at(local)
        end = self.days.on(night + timedelta(days=1), NOON)
        until = min((step for step in plan.steps if step > local), default=end)
        return level > 0, level if level > 0 else FULL, min(until, end) + offset

    def state(self, cell: Cell, offset: float, t: float) -> tuple[bool, float, float]:
        """Whether a light is on at ``t``, its dim level, and until when both hold.

        Args:
            cell: The sun grid cell of the pole.
            offset: The pole's photocell offset, in seconds after sunset and sunrise.
            t: The time, UTC epoch seconds.
        """
        if self.profile is not None:
            return self._planned(cell, offset, t)
        day = self.days.at(t)
        daylight = self.sun.daylight(cell, day.day)
        rise, set_ = daylight.sunrise + offset, daylight.sunset + offset
        night = t < rise or t >= set_
        dim = FULL
        edges = [rise, set_, day.end]
        for low, high in self._dim_windows(day):
            edges += (low, high)
            if night and low <= t < high:
                dim = self.night_dim
        return night, dim, min(edge for edge in edges if edge > t)

    def _dim_windows(self, day: LocalDay) -> tuple[tuple[float, float], ...]:
        windows = self._windows.get(day.start)
        if windows is None:
            if self.night_dim >= FULL or self.dim_from == self.dim_until:
                windows = ()
            else:
                low = self.days.clock(day, self.dim_from)
                high = self.days.clock(day, self.dim_until)
                windows = ((low, high),) if low < high else ((day.start, high), (low, day.end))
            self._windows[day.start] = windows
        return windows


class CabinetMeter:
    """The meter and contactor of a lighting cabinet, and the mains that feeds its lights."""

    def __init__(
        self,
        code: str,
        uid: str | None,
        topic: str,
        cell: Cell,
        schedule: LightingSchedule,
        rnd: Random,
        *,
        nominal: float,
        swing_phase: float,
        energy: float,
    ) -> None:
        self.code = code
        self.uid = uid
        self.topic = topic
        self.cell = cell
        self.schedule = schedule
        self.rnd = rnd
        self.nominal = nominal
        self.swing_phase = swing_phase
        self.lights: list[LightNode] = []
        self.energy = energy
        self.power = 0.0
        self.last: float | None = None
        self.outage = False
        self.fault: Fault | None = None
        self.silent = False
        self.supply: float | None = None  # the level of a supply out of band

    def begin(self, fault: Fault, rng: random.Random) -> None:
        """Start ``fault`` on the cabinet, drawing a supply's voltage if it needs one."""
        self.fault = fault
        self.silent = fault.type is FaultType.COMMUNICATION_FAILURE
        self.outage = fault.type is FaultType.SUPPLY_LOSS
        band = {FaultType.HIGH_VOLTAGE: HIGH_SUPPLY_V, FaultType.LOW_VOLTAGE: LOW_SUPPLY_V}
        if fault.type in band:
            fault.level = self.supply = fault.level or rng.uniform(*band[fault.type])

    def finish(self) -> None:
        """End the cabinet's fault."""
        self.fault = self.supply = None
        self.silent = self.outage = False

    def volts(self, t: float) -> float:
        """The mains voltage at the cabinet: a slow daily swing around its nominal level."""
        if self.outage:
            return 0.0
        level = self.nominal if self.supply is None else self.supply
        return level + 2.5 * math.sin(t * (2 * math.pi / 86_400.0) + self.swing_phase)

    def report(self, t: float) -> bytes | None:
        """The meter's SenML pack at ``t``, or None while it is silent."""
        if self.last is not None:
            self.energy += self.power * (t - self.last) / 3600.0
        self.last = t
        rnd = self.rnd
        if self.outage:
            self.power = 0.0
            lines: tuple[float, ...] = (0.0, 0.0, 0.0)
            contactor = False
        else:
            self.power = sum(light.power for light in self.lights)
            base = self.volts(t)
            lines = tuple(round(base + (rnd() - 0.5) * 2.0, 1) for _ in range(3))
            contactor = self.schedule.state(self.cell, 0.0, t)[0]
        if self.silent or self.uid is None:
            return None
        readings = [
            Reading(t, "mains", bool_value=not self.outage),
            *(Reading(t, f"voltage/l{n}", value) for n, value in enumerate(lines, 1)),
            Reading(t, "contactor", bool_value=contactor),
            Reading(t, "power", round(self.power, 1)),
            Reading(t, "energy", round(self.energy, 1)),
        ]
        return encode_pack(self.uid, readings, t)


class LightNode:
    """A luminaire and its node: on, dim, power and the rest, from the schedule and its faults."""

    __slots__ = (
        "ageing",
        "cabinet",
        "cell",
        "code",
        "dim",
        "drop",
        "energy",
        "fault",
        "floor",
        "in_service",
        "last",
        "night",
        "offset",
        "orders",
        "pf",
        "power",
        "rated",
        "rnd",
        "schedule",
        "silent",
        "template",
        "tilt",
        "tilt_base",
        "topic",
        "uid",
        "until",
    )

    def __init__(
        self,
        code: str,
        uid: str | None,
        topic: str,
        cabinet: CabinetMeter,
        cell: Cell,
        schedule: LightingSchedule,
        rnd: Random,
        *,
        rated: float,
        led: bool,
        offset: float,
        drop: float,
        tilt: float,
        ageing: float,
        energy: float,
        in_service: bool = True,
    ) -> None:
        self.code = code
        self.uid = uid
        self.topic = topic
        self.template = light_template(uid) if uid is not None else None
        self.cabinet = cabinet
        self.cell = cell
        self.schedule = schedule
        self.rnd = rnd
        self.rated = rated * (1.0 if led else HID_BALLAST)
        self.floor = 0.0 if led else HID_FLOOR
        self.pf = LED_PF if led else HID_PF
        self.offset = offset
        self.drop = drop
        self.tilt = self.tilt_base = tilt
        self.ageing = ageing
        self.energy = energy
        self.in_service = in_service
        self.power = 0.0
        self.last: float | None = None
        self.night = False
        self.dim = 100.0
        self.until = -math.inf
        self.fault: Fault | None = None
        self.silent = False
        self.orders: Orders | None = None  # the commands it ran, when commands reach it

    def report(self, t: float) -> bytes | None:
        """The node's SenML pack at ``t``, or None if it is silent or has lost its supply."""
        if t >= self.until:
            self.night, self.dim, self.until = self.schedule.state(self.cell, self.offset, t)
        if self.last is not None:
            self.energy += self.power * (t - self.last) / 3600.0
        self.last = t
        cabinet = self.cabinet
        if cabinet.outage:
            self.power = 0.0
            return None
        night, dim = self.night, self.dim
        if self.orders is not None:
            night, dim = self.orders.told(self, t, night, dim)
        on, factor = night and self.in_service, 1.0
        if self.fault is not None:
            on, dim, factor = self._faulty(self.fault, t, on, dim)
        rnd = self.rnd
        volts = cabinet.volts(t) - self.drop + (rnd() - 0.5)
        if on:
            share = max(dim / 100.0, self.floor) if self.floor else 0.05 + 0.95 * dim / 100.0
            power = self.rated * share * factor * (self.ageing + (rnd() - 0.5) * 0.02)
            pf = self.pf - 0.1 * (1.0 - share)
            lux = rnd() * 4.0 if self.night else 20_000.0 + 60_000.0 * rnd()
            temp = 38.0 + 4.0 * rnd()
        else:
            power = STANDBY_W * (0.8 + 0.4 * rnd())
            pf = 0.5
            lux = rnd() * 4.0 if self.night else 20_000.0 + 60_000.0 * rnd()
            temp = 27.0 + 4.0 * rnd()
        fault = self.fault
        if on and fault is not None and fault.type is FaultType.LOW_POWER_FACTOR:
            pf = fault.level
        self.power = power
        if self.silent or self.template is None:
            return None
        pack = self.template % (
            t,
            _TRUE if on else _FALSE,
            dim,
            power,
            volts,
            power / (volts * pf),
            pf,
            self.energy,
            lux,
            self.tilt,
            temp,
        )
        if fault is not None and fault.type is FaultType.NODE_FAULT:
            return pack[:-1] + DIAGNOSIS
        return pack

    def begin(self, fault: Fault, rng: random.Random) -> None:
        """Start ``fault`` on the light, drawing what it needs (a level, a period, an angle)."""
        self.fault = fault
        self.silent = fault.type is FaultType.COMMUNICATION_FAILURE
        match fault.type:
            case FaultType.LAMP_FAILURE:
                fault.level = rng.uniform(0.0, 0.05)
            # An injection may name the period or the stuck level; a drawn fault's is 0.
            case FaultType.CYCLING_FAILURE:
                fault.level = fault.level or rng.uniform(240.0, 720.0)
            case FaultType.DIMMING_FAILURE:
                scheduled = self.schedule.levels
                fault.level = fault.level or rng.choice(
                    [level for level in STUCK_DIM if level not in scheduled]
                )
            case FaultType.ORIENTATION_CHANGED:
                fault.level = self.tilt = rng.uniform(30.0, 80.0)
            case FaultType.HIGH_POWER:
                fault.level = fault.level or rng.uniform(*HIGH_POWER)
            case FaultType.LOW_POWER_FACTOR:
                fault.level = fault.level or rng.uniform(*LOW_PF)
            case _:
                pass

    def finish(self) -> None:
        """End the light's fault."""
        self.fault = None
        self.silent = False
        self.tilt = self.tilt_base

    def _faulty(self, fault: Fault, t: float, on: bool, dim: float) -> tuple[bool, float, float]:
        """What a fault makes of the scheduled state: (on, dim, power over what it should be)."""
        match fault.type:
            case FaultType.LAMP_FAILURE:
                return on, dim, fault.level
            case FaultType.LAMP_UNEXPECTED_ON:
                return True, dim, 1.0
            case FaultType.CYCLING_FAILURE:
                burning = on and (t - fault.start) % fault.level < CYCLE_ON * fault.level
                return burning, dim, 1.0
            case FaultType.DIMMING_FAILURE:
                return on, fault.level, 1.0
            case FaultType.HIGH_POWER:
                return on, dim, fault.level
        return on, dim, 1.0
