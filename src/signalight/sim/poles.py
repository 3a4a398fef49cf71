"""Poles along synthetic streets, and trimming them from the outside in to an exact count."""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass, field
from itertools import pairwise

from signalight.domain.assets import StreetClass
from signalight.sim.lines import cumulative
from signalight.sim.streets import POLE_LAYOUT, SPACING_JITTER, Outline, Road

MAIN_ROADS = frozenset({StreetClass.MOTORWAY, StreetClass.ARTERIAL, StreetClass.COLLECTOR})
MAIN_ROAD_REACH = 1.1  # main roads stay lit this much farther out than estate streets


@dataclass(slots=True)
class RoadPoles:
    """The poles of one road in order along it; both kerbs alternate on two-sided roads."""

    xs: list[float] = field(default_factory=list)
    ys: list[float] = field(default_factory=list)
    along: list[float] = field(default_factory=list)  # distance from the road's start
    # The point on the centre line abreast of each pole: the two poles of a pair share it.
    cxs: list[float] = field(default_factory=list)
    cys: list[float] = field(default_factory=list)
    lo: int = 0  # the poles kept after trimming are [lo, hi)
    hi: int = 0
    reach: float = 1.0  # MAIN_ROAD_REACH for main roads


def place_poles(road: Road, rng: random.Random) -> RoadPoles:
    """Poles every ``road.spacing_m`` (give or take a little) along the road's kerbs."""
    layout = POLE_LAYOUT[road.street_class]
    points = road.points
    along = cumulative(points)
    total = along[-1]
    # Unit vectors per segment, and a normal per vertex halfway between its two
    # segments' normals; blending those along a segment sets poles on a smooth
    # kerb line, so the inside of a bend does not squeeze two poles together.
    units = [
        ((x1 - x0) / (b - a or 1.0), (y1 - y0) / (b - a or 1.0))
        for (x0, y0), (x1, y1), a, b in zip(points, points[1:], along, along[1:], strict=False)
    ]
    normals = [(-uy, ux) for ux, uy in units]
    bends = [_unit(ax + bx, ay + by) for (ax, ay), (bx, by) in pairwise(normals)]
    vertex_normals = [normals[0], *bends, normals[-1]]
    setback = layout.setback_m
    # A one-sided street has its poles on whichever kerb the contractor chose.
    sides = (-setback, setback) if road.two_sided else (rng.choice((-setback, setback)),)
    step_lo = road.spacing_m * (1 - SPACING_JITTER)
    step_hi = road.spacing_m * (1 + SPACING_JITTER)
    uniform = rng.uniform
    poles = RoadPoles(reach=MAIN_ROAD_REACH if road.street_class in MAIN_ROADS else 1.0)
    xs, ys, at, cxs, cys = poles.xs, poles.ys, poles.along, poles.cxs, poles.cys
    s = uniform(0.2, 0.6) * road.spacing_m
    seg = 0
    last = len(units) - 1
    while s < total:
        while seg < last and along[seg + 1] < s:
            seg += 1
        ux, uy = units[seg]
        into = s - along[seg]
        cx, cy = points[seg][0] + ux * into, points[seg][1] + uy * into
        t = into / (along[seg + 1] - along[seg] or 1.0)
        (ax, ay), (bx, by) = vertex_normals[seg], vertex_normals[seg + 1]
        nx, ny = _unit(ax + (bx - ax) * t, ay + (by - ay) * t)
        for side in sides:
            xs.append(cx + nx * side)
            ys.append(cy + ny * side)
            at.append(s)
            cxs.append(cx)
            cys.append(cy)
        s += uniform(step_lo, step_hi)
    poles.hi = len(xs)
    return poles


def _unit(x: float, y: float) -> tuple[float, float]:
    length = math.hypot(x, y) or 1.0
    return x / length, y / length


def trim(outline: Outline, roads: list[RoadPoles], keep: int) -> None:
    """Drop poles from the ends of roads, outermost first, until ``keep`` remain.

    Taking poles only from a road's ends keeps each road's lights in one
    unbroken stretch, and taking the outermost first rounds off the city along
    its outline. Main roads count as a little less far out, so they run on
    past the last estates as they do in a real town.
    """
    excess = sum(p.hi - p.lo for p in roads) - keep
    if excess < 0:
        raise ValueError(f"only {keep + excess} poles to keep {keep}")

    def entry(n: int, index: int) -> tuple[float, int, int]:
        poles = roads[n]
        return -outline.key(poles.xs[index], poles.ys[index]) / poles.reach, n, index

    heap = [entry(n, end) for n, p in enumerate(roads) if p.hi > p.lo for end in (p.lo, p.hi - 1)]
    heapq.heapify(heap)
    while excess > 0:
        _, n, index = heapq.heappop(heap)
        poles = roads[n]
        if index == poles.lo < poles.hi:
            poles.lo += 1
            nxt = poles.lo
        elif index == poles.hi - 1 >= poles.lo:
            poles.hi -= 1
            nxt = poles.hi - 1
        else:
            continue  # stale: this end has moved on, or the road is already empty
        excess -= 1
        if poles.lo < poles.hi:
            heapq.heappush(heap, entry(n, nxt))
