"""Where a synthetic city puts its traffic signals, and what controllers run them."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from signalight.domain.assets import StreetClass
from signalight.sim.lines import Point, crossings

VENDORS = ("Econolite", "Q-Free", "Siemens", "Cubic Trafficware", "McCain")
MAIN_VENDOR = 0.7  # a city buys most controllers from one vendor, the rest are legacy
# Which crossings get signals first: arterial with arterial, then with a collector.
# Motorways cross other roads on bridges, so they get no signals.
RANK = {
    (StreetClass.ARTERIAL, StreetClass.ARTERIAL): 0.0,
    (StreetClass.ARTERIAL, StreetClass.COLLECTOR): 1.0,
    (StreetClass.COLLECTOR, StreetClass.ARTERIAL): 1.0,
    (StreetClass.COLLECTOR, StreetClass.COLLECTOR): 2.0,
}
CENTRAL_WEIGHT = 1.2  # how much a central crossing outranks an outlying one
LOCAL_NEEDS = 0.6  # randomness in the ranking: traffic and history differ by junction
SEPARATION_M = 90.0  # closer crossings are one junction (or too close to signal both)
T_JUNCTION_M = 40.0  # a crossing this close to the end of a street is a T-junction
EIGHT_PHASES = (1, 2, 3, 4, 5, 6, 7, 8)  # protected left turns on both roads
FOUR_PHASES = (2, 4, 6, 8)  # through movements only
MAIN_LEFTS = (1, 2, 4, 5, 6, 8)  # protected left turns on the main road only
T_PHASES = (2, 4, 6)
T_WITH_LEFT = (1, 2, 4, 6)  # with a protected left turn off the main road
T_LEFT_SHARE = 0.3
# (phases, weight) by how many arterials meet there.
FOUR_LEG_PHASES = {
    2: ((EIGHT_PHASES, 0.75), (FOUR_PHASES, 0.25)),
    1: ((FOUR_PHASES, 0.5), (MAIN_LEFTS, 0.3), (EIGHT_PHASES, 0.2)),
    0: ((FOUR_PHASES, 0.9), (EIGHT_PHASES, 0.1)),
}


@dataclass(frozen=True, slots=True)
class Junction:
    """A signalised crossing of two streets."""

    point: Point
    main: int  # index of the higher-class street
    minor: int
    phases: tuple[int, ...]
    vendor: str


def junctions(
    lines: list[list[Point]],
    classes: list[StreetClass],
    key: Callable[[float, float], float],
    wanted: int,
    rng: random.Random,
) -> list[Junction]:
    """Up to ``wanted`` signalised junctions where the given streets cross, best first.

    ``key`` says how far out a point lies (0 at the centre, 1 at the edge):
    central junctions are signalised before outlying ones of the same rank.
    """
    candidates: list[tuple[float, int, int, Point]] = []
    for a, b, point in crossings(lines):
        rank = RANK.get((classes[a], classes[b]))
        if rank is not None:
            score = rank + CENTRAL_WEIGHT * key(*point) + rng.random() * LOCAL_NEEDS
            main, minor = (b, a) if classes[b] is StreetClass.ARTERIAL else (a, b)
            candidates.append((score, main, minor, point))
    candidates.sort()
    main_vendor = rng.choice(VENDORS)
    chosen: list[Junction] = []
    # Chosen junctions by grid cell, so the separation check only looks nearby.
    near: dict[tuple[int, int], list[Point]] = {}
    for _, main, minor, point in candidates:
        if len(chosen) == wanted:
            break
        cx, cy = math.floor(point[0] / SEPARATION_M), math.floor(point[1] / SEPARATION_M)
        around = (
            p for dx in (-1, 0, 1) for dy in (-1, 0, 1) for p in near.get((cx + dx, cy + dy), ())
        )
        if any(math.dist(point, other) < SEPARATION_M for other in around):
            continue
        near.setdefault((cx, cy), []).append(point)
        vendor = main_vendor if rng.random() < MAIN_VENDOR else rng.choice(VENDORS)
        phases = _phases(lines[main], lines[minor], point, classes[main], classes[minor], rng)
        chosen.append(Junction(point, main, minor, phases, vendor))
    return chosen


def _phases(
    main: list[Point],
    minor: list[Point],
    point: Point,
    main_class: StreetClass,
    minor_class: StreetClass,
    rng: random.Random,
) -> tuple[int, ...]:
    """NEMA phases for the junction: a T-junction where one street ends, else four legs."""
    ends = (main[0], main[-1], minor[0], minor[-1])
    if any(math.dist(point, end) < T_JUNCTION_M for end in ends):
        return T_WITH_LEFT if rng.random() < T_LEFT_SHARE else T_PHASES
    arterials = (main_class, minor_class).count(StreetClass.ARTERIAL)
    options = FOUR_LEG_PHASES[arterials]
    return rng.choices([p for p, _ in options], [w for _, w in options])[0]
