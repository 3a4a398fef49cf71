"""Synthetic fleets: a made-up but realistic inventory of a city's lights and signals.

The street network is drawn first (``streets``), poles are set along it at the
spacing of each street class and trimmed from the outside in to the exact count
asked for (``poles``), consecutive poles are wired to cabinets (``circuits``)
and the main crossings get traffic signals (``signals``). Every choice comes
from ``random.Random`` streams seeded by ``seed``, so a seed always gives the
same fleet.
"""

from __future__ import annotations

import math
import random
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from signalight.domain.assets import AssetKind, AssetRecord, StreetClass
from signalight.domain.cities import City
from signalight.domain.errors import InvalidInputError
from signalight.domain.geo import offset
from signalight.sim.circuits import circuits
from signalight.sim.lamps import HISTORY_YEARS, YEAR, StreetLighting
from signalight.sim.lines import Point, cut
from signalight.sim.poles import RoadPoles, place_poles, trim
from signalight.sim.signals import junctions
from signalight.sim.streets import REACH, Outline, Plan, Road, build_network

# Lit street per km² comes to about this many lights with the spacings in
# streets.py; it only sets the first guess at the city's size.
LIGHTS_PER_KM2 = 250.0
SURPLUS = (1.04, 1.15, 1.35)  # poles to lay out per light wanted: least, aim, most
SIZING_TRIES = 6  # after this many resizes any network with enough poles will do
MIN_RADIUS_M = 100.0  # a hamlet still gets a crossroads
MAX_REACH_M = 29_000.0  # the farthest a street may run from the centre
# The largest outline radius, with a little room for kerbs and bends; a bigger
# fleet packs its streets closer instead.
MAX_RADIUS_M = MAX_REACH_M / (REACH * 1.02)
NODE_BOUND = 0.97  # lights with a node; the rest are waiting for one or lost theirs
NODE_FIRMWARE = (("2.4.1", 0.7), ("2.3.7", 0.22), ("2.5.0", 0.08))
METER_FIRMWARE = (("1.9.2", 0.8), ("1.8.0", 0.2))
MONITOR_FIRMWARE = (("3.1.4", 0.6), ("3.0.9", 0.4))
SECTION_M = 1_000.0  # streets are lit, retrofitted and grouped in sections this long
CABINET_SETBACK_M = 4.0  # how far behind its first pole, away from the road, a cabinet stands
PROGRESS_EVERY = 1_000
MAJOR = frozenset({StreetClass.ARTERIAL, StreetClass.COLLECTOR})  # signals go where these cross


@dataclass(frozen=True, slots=True)
class Street:
    """A lit street (or the lit stretch of one), as (lat, lon) vertices."""

    name: str
    street_class: StreetClass
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True, slots=True)
class Fleet:
    """A synthetic inventory: its streets and its asset records."""

    streets: list[Street]
    records: list[AssetRecord]  # cabinets first, then streetlights, then intersections


@dataclass(frozen=True, slots=True)
class _Layout:
    outline: Outline
    roads: list[Road]
    poles: list[RoadPoles]


def generate_fleet(
    city: City,
    *,
    lights: int = 20_000,
    intersections: int = 150,
    seed: int = 0,
    today: date | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> Fleet:
    """A realistic synthetic inventory around the city's centre.

    Args:
        city: The city whose centre and country (for street names) are used.
        lights: Exactly how many streetlights to make.
        intersections: How many signalised intersections to make; fewer when the
            network has too few major crossings (a very small town has few).
        seed: Same seed, same fleet.
        today: The day the inventory is as of; defaults to today in the city.
        on_progress: Called now and then with the number of lights made so far.

    Returns:
        The lit streets and the records: cabinets, then lights, then intersections.

    Raises:
        InvalidInputError: If ``lights`` or ``intersections`` is negative.
    """
    if lights < 0 or intersections < 0:
        raise InvalidInputError("lights and intersections must not be negative")
    if today is None:
        today = datetime.now(zoneinfo.ZoneInfo(city.timezone)).date()
    if lights == 0:
        return Fleet([], [])
    layout = _lay_out(city, lights, seed)
    trim(layout.outline, layout.poles, lights)
    kept = [
        (road, poles)
        for road, poles in zip(layout.roads, layout.poles, strict=True)
        if poles.hi > poles.lo
    ]
    lines = [
        cut(
            road.points,
            poles.along[poles.lo] - road.spacing_m / 2,
            poles.along[poles.hi - 1] + road.spacing_m / 2,
        )
        for road, poles in kept
    ]

    def to_latlon(point: Point) -> tuple[float, float]:
        return offset(city.lat, city.lon, point[1], point[0])

    streets = [
        Street(road.name, road.street_class, tuple(to_latlon(p) for p in line))
        for (road, _), line in zip(kept, lines, strict=True)
    ]
    day = today.toordinal()
    lamps, cabinets = _lights(kept, layout.outline, to_latlon, day, seed, on_progress)
    signals = _intersections(layout.outline, kept, lines, intersections, to_latlon, day, seed)
    return Fleet(streets, cabinets + lamps + signals)


def _lay_out(city: City, lights: int, seed: int) -> _Layout:
    """A network with a few more poles than ``lights``, resized until it has."""
    low, aim, high = SURPLUS
    # The radius the city would have at its usual density; beyond MAX_RADIUS_M
    # it is packed denser instead.
    size = max(MIN_RADIUS_M, math.sqrt(aim * lights / (math.pi * LIGHTS_PER_KM2)) * 1_000)
    for attempt in range(1_000):
        radius = min(size, MAX_RADIUS_M)
        outline = Outline.draw(radius, random.Random(f"{seed}/outline"))  # noqa: S311 (simulation)
        plan = Plan.sized(outline, (size / radius) ** 2)
        roads = build_network(plan, random.Random(f"{seed}/streets"), city.country)  # noqa: S311
        expected = sum(road.expected_poles() for road in roads)
        if low * lights <= expected <= high * lights or (
            attempt >= SIZING_TRIES and expected >= low * lights
        ):
            pole_rng = random.Random(f"{seed}/poles")  # noqa: S311 (simulation)
            poles = [place_poles(road, pole_rng) for road in roads]
            if sum(len(p.xs) for p in poles) >= lights:
                return _Layout(outline, roads, poles)
            expected = min(expected, lights)  # so that the next try grows
        # Lights grow with the area, so scale the radius by the square root.
        scale = math.sqrt(aim * lights / max(expected, lights / 4))
        size = max(MIN_RADIUS_M, size * min(2.0, max(0.5, scale)))
    raise RuntimeError("no street network fits")  # pragma: no cover (sizes converge)


@dataclass(frozen=True, slots=True)
class _Poles:
    """The kept poles of every road, flattened in order along the roads."""

    points: list[Point]
    abreast: list[Point]  # the centre-line point beside each pole
    owner: list[int]  # index of the pole's road in ``kept``
    along: list[float]  # distance from the road's start

    @classmethod
    def of(cls, kept: list[tuple[Road, RoadPoles]]) -> _Poles:
        flat = cls([], [], [], [])
        for n, (_, poles) in enumerate(kept):
            lo, hi = poles.lo, poles.hi
            flat.points.extend(zip(poles.xs[lo:hi], poles.ys[lo:hi], strict=True))
            flat.abreast.extend(zip(poles.cxs[lo:hi], poles.cys[lo:hi], strict=True))
            flat.along.extend(poles.along[lo:hi])
            flat.owner.extend([n] * (hi - lo))
        return flat


def _lights(
    kept: list[tuple[Road, RoadPoles]],
    outline: Outline,
    to_latlon: Callable[[Point], tuple[float, float]],
    today: int,
    seed: int,
    on_progress: Callable[[int], None] | None,
) -> tuple[list[AssetRecord], list[AssetRecord]]:
    """The streetlights on the kept poles, and the cabinets feeding them."""
    rng = random.Random(f"{seed}/lights")  # noqa: S311 (simulation)
    poles = _Poles.of(kept)
    # Circuits are drawn on the centre line so that both poles of a pair share one.
    feeds = circuits(poles.abreast, rng)
    cabinet_of = [0] * len(poles.points)
    for number, members in enumerate(feeds, 1):
        for i in members:
            cabinet_of[i] = number
    # Streets were lit, and are retrofitted, a section at a time.
    lighting: dict[tuple[int, int], StreetLighting] = {}
    numbered: dict[str, int] = {}
    lamps: list[AssetRecord] = []
    for i, point in enumerate(poles.points):
        road = kept[poles.owner[i]][0]
        section = 1 + int(poles.along[i] // SECTION_M)
        history = lighting.get((poles.owner[i], section))
        if history is None:
            history = StreetLighting.draw(road.street_class, outline.key(*point), today, rng)
            lighting[poles.owner[i], section] = history
        lamp = history.lamp(today, rng)
        lat, lon = to_latlon(point)
        number = i + 1
        on_street = numbered[road.name] = numbered.get(road.name, 0) + 1
        bound = rng.random() < NODE_BOUND
        lamps.append(
            AssetRecord(
                kind=AssetKind.STREETLIGHT,
                code=f"SL-{number:06d}",
                lat=lat,
                lon=lon,
                name=f"{road.name} #{on_street}",
                street=road.name,
                street_class=road.street_class,
                cabinet=f"CB-{cabinet_of[i]:04d}",
                group=f"{road.name}, section {section}",
                installed_on=date.fromordinal(lamp.installed),
                luminaire=lamp.luminaire,
                rated_watts=lamp.watts,
                lamp_changed_on=None if lamp.changed is None else date.fromordinal(lamp.changed),
                device=f"n-{number:06d}" if bound else None,
                device_firmware=_pick(NODE_FIRMWARE, rng) if bound else "",
            )
        )
        if on_progress is not None and number % PROGRESS_EVERY == 0:
            on_progress(number)
    if on_progress is not None:
        on_progress(len(lamps))
    return lamps, _cabinets(kept, poles, feeds, lamps, to_latlon, rng)


def _cabinets(
    kept: list[tuple[Road, RoadPoles]],
    poles: _Poles,
    feeds: list[list[int]],
    lamps: list[AssetRecord],
    to_latlon: Callable[[Point], tuple[float, float]],
    rng: random.Random,
) -> list[AssetRecord]:
    """One cabinet per circuit, on the verge behind the circuit's first pole."""
    cabinets = []
    for number, members in enumerate(feeds, 1):
        first = members[0]
        road = kept[poles.owner[first]][0]
        (x, y), (cx, cy) = poles.points[first], poles.abreast[first]
        away = CABINET_SETBACK_M / (math.hypot(x - cx, y - cy) or 1.0)
        lat, lon = to_latlon((x + (x - cx) * away, y + (y - cy) * away))
        # The cabinet went in with the first of its lights (later ones are renewals).
        installed = min(lamps[i].installed_on or date.max for i in members)
        cabinets.append(
            AssetRecord(
                kind=AssetKind.CABINET,
                code=f"CB-{number:04d}",
                lat=lat,
                lon=lon,
                name=f"Feeder pillar, {road.name}",
                street=road.name,
                street_class=road.street_class,
                installed_on=installed,
                device=f"m-{number:04d}",
                device_firmware=_pick(METER_FIRMWARE, rng),
            )
        )
    return cabinets


def _intersections(
    outline: Outline,
    kept: list[tuple[Road, RoadPoles]],
    lines: list[list[Point]],
    wanted: int,
    to_latlon: Callable[[Point], tuple[float, float]],
    today: int,
    seed: int,
) -> list[AssetRecord]:
    """Signalised intersections at crossings of the lit main roads."""
    rng = random.Random(f"{seed}/signals")  # noqa: S311 (simulation)
    major = [n for n, (road, _) in enumerate(kept) if road.street_class in MAJOR]
    chosen = junctions(
        [lines[n] for n in major],
        [kept[n][0].street_class for n in major],
        outline.key,
        wanted,
        rng,
    )
    records = []
    for number, junction in enumerate(chosen, 1):
        main, minor = kept[major[junction.main]][0], kept[major[junction.minor]][0]
        lat, lon = to_latlon(junction.point)
        # Like the streets, signals are older in the middle of town.
        age = HISTORY_YEARS * (1 - 0.7 * min(1.0, outline.key(*junction.point)))
        age = min(HISTORY_YEARS, max(0.5, age + rng.gauss(0.0, 3.0)))
        records.append(
            AssetRecord(
                kind=AssetKind.INTERSECTION,
                code=f"TS-{number:03d}",
                lat=lat,
                lon=lon,
                name=f"{main.name} / {minor.name}",
                street=main.name,
                street_class=main.street_class,
                group=main.name,  # signals are coordinated along their main road
                installed_on=date.fromordinal(today - round(YEAR * age)),
                controller_id=f"CTL-{number:03d}",
                controller_vendor=junction.vendor,
                phases=junction.phases,
                device=f"s-{number:03d}",
                device_firmware=_pick(MONITOR_FIRMWARE, rng),
            )
        )
    return records


def _pick(options: tuple[tuple[str, float], ...], rng: random.Random) -> str:
    roll = rng.random()
    for value, weight in options:
        roll -= weight
        if roll < 0:
            return value
    return options[-1][0]
