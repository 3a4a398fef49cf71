"""A synthetic street network: motorways, arterials, a collector grid and estates of streets."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from signalight.domain.assets import StreetClass
from signalight.sim.lines import BEND_MEMORY, Point, bent_line, clip, cumulative
from signalight.sim.names import RoadKind, StreetNamer


@dataclass(frozen=True, slots=True)
class PoleLayout:
    """How poles stand along streets of one class."""

    spacing_m: tuple[float, float]  # each street draws its spacing from this range
    two_sided: float  # share of streets wide enough to be lit from both kerbs
    setback_m: float  # from the centre line to the pole


POLE_LAYOUT = {
    StreetClass.MOTORWAY: PoleLayout((25.0, 30.0), two_sided=1.0, setback_m=16.0),
    StreetClass.ARTERIAL: PoleLayout((25.0, 30.0), two_sided=0.5, setback_m=11.0),
    StreetClass.COLLECTOR: PoleLayout((30.0, 38.0), two_sided=0.0, setback_m=6.0),
    StreetClass.LOCAL: PoleLayout((38.0, 45.0), two_sided=0.0, setback_m=4.0),
    StreetClass.PEDESTRIAN: PoleLayout((25.0, 35.0), two_sided=0.0, setback_m=2.0),
}
SPACING_JITTER = 0.06  # each gap varies this much around the street's spacing

CLASS_OF = {
    RoadKind.MOTORWAY: StreetClass.MOTORWAY,
    RoadKind.ARTERIAL: StreetClass.ARTERIAL,
    RoadKind.RING: StreetClass.ARTERIAL,
    RoadKind.COLLECTOR: StreetClass.COLLECTOR,
    RoadKind.LOCAL: StreetClass.LOCAL,
    RoadKind.PEDESTRIAN: StreetClass.PEDESTRIAN,
}
# (vertex step, sideways wobble) in metres: main roads sweep, estate streets barely bend.
SHAPE_OF = {
    RoadKind.MOTORWAY: (400.0, 25.0),
    RoadKind.ARTERIAL: (250.0, 12.0),
    RoadKind.RING: (200.0, 10.0),
    RoadKind.COLLECTOR: (200.0, 7.0),
    RoadKind.LOCAL: (250.0, 3.0),
    RoadKind.PEDESTRIAN: (120.0, 2.0),
}
MIN_ROAD_M = 60.0  # shorter fragments of a clipped street are dropped
STRETCH_MAX = 1.25  # the outline is up to 1.25^2 as long as it is wide
WAVES = ((2, 0.08), (3, 0.06), (5, 0.03))  # harmonics that make the outline less of an ellipse
REACH = STRETCH_MAX * (1 + sum(a for _, a in WAVES))  # farthest outline point per unit radius
ARTERIAL_EVERY = 4  # every fourth grid line is an arterial
EMPTY_BLOCK = (0.06, 0.3)  # chance a block has no streets (parks, fields): centre, edge
PEDESTRIAN_BLOCK = (0.5, 0.45)  # chance of a lit footpath in a block, within this key
CUL_DE_SAC = 0.2
# Towns get main roads as they grow: radial roads past this radius, a motorway
# bypass past the first and a second past the next, ring roads once they would
# be at least this far out.
RADIALS_FROM_M = 1_000.0
MOTORWAYS_FROM_M = (2_500.0, 9_000.0)
RING_LEVELS = (0.3, 0.62)
RING_MIN_M = 600.0
LOCAL_INSET_M = 15.0  # local streets stop short of the collectors they join
BLOCK_REACH = 1.1  # blocks centred farther out than this lie wholly outside the outline


@dataclass(frozen=True, slots=True)
class Outline:
    """The city's outline, a wobbly ellipse; ``key`` is 0 at the centre and 1 on it."""

    radius_m: float
    cos_a: float  # direction of the long axis
    sin_a: float
    stretch: float  # square root of the aspect ratio
    phases: tuple[float, ...]  # one per wave

    @classmethod
    def draw(cls, radius_m: float, rng: random.Random) -> Outline:
        """A random outline with a mean radius of about ``radius_m``."""
        angle = rng.uniform(0, math.pi)
        phases = tuple(rng.uniform(0, 2 * math.pi) for _ in WAVES)
        return cls(radius_m, math.cos(angle), math.sin(angle), rng.uniform(1, STRETCH_MAX), phases)

    def key(self, x: float, y: float) -> float:
        """How far out (x, y) lies: 0 at the centre, 1 on the outline."""
        u = (x * self.cos_a + y * self.sin_a) / self.stretch
        v = (y * self.cos_a - x * self.sin_a) * self.stretch
        phi = math.atan2(v, u)
        return math.hypot(u, v) / (self.radius_m * self._wave(phi))

    def point(self, phi: float, level: float) -> Point:
        """The point at angle ``phi`` whose key is ``level``."""
        r = level * self.radius_m * self._wave(phi)
        u, v = r * math.cos(phi) * self.stretch, r * math.sin(phi) / self.stretch
        return u * self.cos_a - v * self.sin_a, u * self.sin_a + v * self.cos_a

    def _wave(self, phi: float) -> float:
        return 1 + sum(
            a * math.sin(k * phi + p) for (k, a), p in zip(WAVES, self.phases, strict=True)
        )


@dataclass(frozen=True, slots=True)
class Road:
    """One street, or the part of it inside the outline, in metres around the centre."""

    name: str
    street_class: StreetClass
    points: list[Point]
    spacing_m: float  # between poles on one side
    two_sided: bool

    @property
    def length_m(self) -> float:
        """Length along the centre line."""
        return cumulative(self.points)[-1]

    def expected_poles(self) -> float:
        """About how many poles the street will carry."""
        return (2 if self.two_sided else 1) * self.length_m / self.spacing_m


@dataclass(frozen=True, slots=True)
class Plan:
    """The size of a network: its outline and how far apart its streets run."""

    outline: Outline
    collector_m: float  # spacing of the collector grid
    local_m: float  # spacing of local streets within a block

    @classmethod
    def sized(cls, outline: Outline, density: float) -> Plan:
        """Spacings for an outline; small towns get smaller blocks, ``density`` > 1 packs more."""
        # Collectors every 700 m in a city, closer in a town so it still has a few.
        collector = min(700.0, max(150.0, outline.radius_m / 2.5))
        return cls(outline, collector / density, min(110.0, collector / 2.5) / density)


class _Builder:
    def __init__(self, plan: Plan, rng: random.Random, namer: StreetNamer) -> None:
        self.plan = plan
        self.rng = rng
        self.namer = namer
        self.roads: list[Road] = []

    def add(self, kind: RoadKind, points: list[Point], name: str | None = None) -> None:
        street_class = CLASS_OF[kind]
        name = name or self.namer.name(kind)
        layout = POLE_LAYOUT[street_class]
        spacing = self.rng.uniform(*layout.spacing_m)
        two_sided = self.rng.random() < layout.two_sided
        for piece in clip(points, self.plan.outline.key):
            road = Road(name, street_class, piece, spacing, two_sided)
            if road.length_m >= MIN_ROAD_M:
                self.roads.append(road)

    def line(self, kind: RoadKind, start: Point, end: Point, name: str | None = None) -> None:
        step, wobble = SHAPE_OF[kind]
        self.add(kind, bent_line(start, end, step, wobble, self.rng), name)


def build_network(plan: Plan, rng: random.Random, country: str) -> list[Road]:
    """Every street of a synthetic city inside ``plan.outline``, main roads first.

    Local streets come block by block in a serpentine order, so roads next to
    each other in the list are mostly next to each other on the ground.
    """
    builder = _Builder(plan, rng, StreetNamer(country, rng))
    _motorways(builder)
    _rings_and_radials(builder)
    us, vs, angle = _grid(builder)
    _estates(builder, us, vs, angle)
    return builder.roads


def _motorways(b: _Builder) -> None:
    outline = b.plan.outline
    count = sum(outline.radius_m >= size for size in MOTORWAYS_FROM_M)
    for i in range(count):
        # A bypass roughly along the long axis, off to one side of the centre.
        side = (1 if i == 0 else -1) * b.rng.uniform(0.25, 0.45) * outline.radius_m
        tilt = b.rng.uniform(-0.25, 0.25)
        dx = math.cos(tilt) * outline.cos_a - math.sin(tilt) * outline.sin_a
        dy = math.sin(tilt) * outline.cos_a + math.cos(tilt) * outline.sin_a
        bx, by = -outline.sin_a * side, outline.cos_a * side
        far = outline.radius_m * REACH * 1.05
        b.line(RoadKind.MOTORWAY, (bx - dx * far, by - dy * far), (bx + dx * far, by + dy * far))


def _rings_and_radials(b: _Builder) -> None:
    outline = b.plan.outline
    levels = [lv for lv in RING_LEVELS if lv * outline.radius_m >= RING_MIN_M]
    for level in levels:
        step, wobble = SHAPE_OF[RoadKind.RING]
        count = max(12, round(2 * math.pi * level * outline.radius_m / step))
        start = b.rng.uniform(0, 2 * math.pi)
        points = []
        drift = 0.0
        for i in range(count):
            # The same smooth random walk as bent_line, in units of the outline's radius.
            drift = BEND_MEMORY * drift + b.rng.gauss(0.0, wobble / outline.radius_m)
            points.append(outline.point(start + 2 * math.pi * i / count, level + drift))
        b.add(RoadKind.RING, [*points, points[0]])
    if outline.radius_m < RADIALS_FROM_M:
        return
    count = 4 + round(outline.radius_m / 4_000)
    # Radials start just inside the inner ring, so that they meet it.
    inner = levels[0] - 0.03 if levels else 0.05
    for i in range(count):
        phi = 2 * math.pi * (i + b.rng.uniform(-0.25, 0.25)) / count
        bend = b.rng.uniform(-0.15, 0.15)
        b.line(RoadKind.ARTERIAL, outline.point(phi, inner), outline.point(phi + bend, 1.05))


def _grid(b: _Builder) -> tuple[list[float], list[float], float]:
    outline = b.plan.outline
    angle = math.atan2(outline.sin_a, outline.cos_a) + b.rng.uniform(-0.1, 0.1)
    reach = outline.radius_m * REACH
    spacing = b.plan.collector_m
    positions = []
    for _ in range(2):
        phase = b.rng.uniform(0, spacing)
        count = math.ceil(reach / spacing) + 1
        positions.append(
            [
                k * spacing + phase + b.rng.uniform(-0.12, 0.12) * spacing
                for k in range(-count, count + 1)
            ]
        )
    us, vs = positions
    arterial_at = b.rng.randrange(ARTERIAL_EVERY)
    for axis, lines in enumerate((us, vs)):
        for k, at in enumerate(lines):
            kind = RoadKind.ARTERIAL if k % ARTERIAL_EVERY == arterial_at else RoadKind.COLLECTOR
            ends = [(at, -reach), (at, reach)] if axis == 0 else [(-reach, at), (reach, at)]
            start, end = (_rotate(u, v, angle) for u, v in ends)
            b.line(kind, start, end)
    return us, vs, angle


def _estates(b: _Builder, us: list[float], vs: list[float], angle: float) -> None:
    outline = b.plan.outline
    for i in range(len(us) - 1):
        # Serpentine: alternate rows run back, so consecutive blocks touch.
        columns = range(len(vs) - 1) if i % 2 == 0 else range(len(vs) - 2, -1, -1)
        for j in columns:
            centre = _rotate((us[i] + us[i + 1]) / 2, (vs[j] + vs[j + 1]) / 2, angle)
            key = outline.key(*centre)
            empty = EMPTY_BLOCK[0] + (EMPTY_BLOCK[1] - EMPTY_BLOCK[0]) * min(1.0, key)
            if key > BLOCK_REACH or b.rng.random() < empty:
                continue
            _block(b, (us[i], us[i + 1]), (vs[j], vs[j + 1]), angle, key)


def _block(
    b: _Builder, u: tuple[float, float], v: tuple[float, float], angle: float, key: float
) -> None:
    # Estate streets run one way per block, picked at random like the estates were.
    along_v = bool(b.rng.getrandbits(1))
    across, along = (u, v) if along_v else (v, u)
    width = across[1] - across[0]
    spacing = min(b.rng.uniform(0.85, 1.15) * b.plan.local_m, width / 2)
    count = max(1, round(width / spacing) - 1)
    names = b.namer.estate(count)
    lo, hi = along[0] + LOCAL_INSET_M, along[1] - LOCAL_INSET_M
    for n, name in enumerate(names):
        at = across[0] + width * (n + 1) / (count + 1)
        start, end = (lo, hi) if n % 2 == 0 else (hi, lo)
        if b.rng.random() < CUL_DE_SAC:
            end = start + (end - start) * b.rng.uniform(0.45, 0.8)
        ends = [(at, start), (at, end)] if along_v else [(start, at), (end, at)]
        b.line(RoadKind.LOCAL, _rotate(*ends[0], angle), _rotate(*ends[1], angle), name)
    if key < PEDESTRIAN_BLOCK[1] and b.rng.random() < PEDESTRIAN_BLOCK[0]:
        # A lit footpath through the middle of the block, between two estate streets.
        at = across[0] + width / (2 * (count + 1))
        start = lo + (hi - lo) * b.rng.uniform(0.1, 0.4)
        end = start + (hi - lo) * b.rng.uniform(0.3, 0.5)
        ends = [(at, start), (at, end)] if along_v else [(start, at), (end, at)]
        b.line(RoadKind.PEDESTRIAN, _rotate(*ends[0], angle), _rotate(*ends[1], angle))


def _rotate(u: float, v: float, angle: float) -> Point:
    c, s = math.cos(angle), math.sin(angle)
    return u * c - v * s, u * s + v * c
