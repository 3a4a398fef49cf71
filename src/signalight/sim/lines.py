"""Polylines in metres east and north of a city centre: bends, clipping, cutting, crossings."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Callable
from itertools import pairwise

Point = tuple[float, float]  # metres east, metres north of the centre

# Each bend keeps most of the previous one so a street curves instead of zig-zagging.
BEND_MEMORY = 0.6


def bent_line(
    start: Point, end: Point, step_m: float, wobble_m: float, rng: random.Random
) -> list[Point]:
    """A line from ``start`` to ``end`` with a vertex every ``step_m`` and gentle bends.

    Each vertex is pushed sideways by a smooth random walk of about ``wobble_m``.
    """
    (x0, y0), (x1, y1) = start, end
    dx, dy = x1 - x0, y1 - y0
    length = math.hypot(dx, dy) or 1.0
    nx, ny = -dy / length, dx / length
    steps = max(1, math.ceil(length / step_m))
    side = rng.gauss(0.0, wobble_m) * 0.5
    points: list[Point] = []
    for i in range(steps + 1):
        t = i / steps
        points.append((x0 + dx * t + nx * side, y0 + dy * t + ny * side))
        side = BEND_MEMORY * side + rng.gauss(0.0, wobble_m)
    return points


def clip(points: list[Point], key: Callable[[float, float], float]) -> list[list[Point]]:
    """The pieces of a polyline where ``key`` is at most 1 (inside an outline)."""
    pieces: list[list[Point]] = []
    current: list[Point] = []
    previous: Point | None = None
    previous_key = 0.0
    for point in points:
        point_key = key(*point)
        if previous is not None and (previous_key <= 1) != (point_key <= 1):
            # Where the outline crosses this segment, by linear interpolation of the key.
            t = (1 - previous_key) / (point_key - previous_key)
            edge = (
                previous[0] + (point[0] - previous[0]) * t,
                previous[1] + (point[1] - previous[1]) * t,
            )
            if previous_key <= 1:
                current.append(edge)
                pieces.append(current)
                current = []
            else:
                current = [edge]
        if point_key <= 1:
            current.append(point)
        previous, previous_key = point, point_key
    if current:
        pieces.append(current)
    return [piece for piece in pieces if len(piece) > 1]


def cumulative(points: list[Point]) -> list[float]:
    """The distance along the polyline to each of its vertices."""
    total = 0.0
    out = [0.0]
    for (x0, y0), (x1, y1) in pairwise(points):
        total += math.hypot(x1 - x0, y1 - y0)
        out.append(total)
    return out


def cut(points: list[Point], start_m: float, end_m: float) -> list[Point]:
    """The part of a polyline between two distances along it."""
    along = cumulative(points)
    start_m = max(0.0, start_m)
    end_m = min(along[-1], end_m)
    out = [_at(points, along, start_m)]
    out.extend(p for p, s in zip(points, along, strict=True) if start_m < s < end_m)
    out.append(_at(points, along, end_m))
    return out


def _at(points: list[Point], along: list[float], distance: float) -> Point:
    for i in range(1, len(points)):
        if along[i] >= distance:
            span = along[i] - along[i - 1] or 1.0
            t = (distance - along[i - 1]) / span
            (x0, y0), (x1, y1) = points[i - 1], points[i]
            return x0 + (x1 - x0) * t, y0 + (y1 - y0) * t
    return points[-1]


def crossings(lines: list[list[Point]], cell_m: float = 250.0) -> list[tuple[int, int, Point]]:
    """Where the polylines cross each other, as (line, other line, point) with line < other.

    Segments are bucketed on a grid first so that only neighbours are compared,
    which keeps this near-linear in the number of segments.
    """
    buckets: defaultdict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    for line_no, line in enumerate(lines):
        for seg_no in range(len(line) - 1):
            (x0, y0), (x1, y1) = line[seg_no], line[seg_no + 1]
            for cx in range(math.floor(min(x0, x1) / cell_m), math.floor(max(x0, x1) / cell_m) + 1):
                for cy in range(
                    math.floor(min(y0, y1) / cell_m), math.floor(max(y0, y1) / cell_m) + 1
                ):
                    buckets[cx, cy].append((line_no, seg_no))
    seen: set[tuple[int, int, int, int]] = set()
    found: list[tuple[int, int, Point]] = []
    for members in buckets.values():
        for i, (line_a, seg_a) in enumerate(members):
            for line_b, seg_b in members[i + 1 :]:
                if line_a == line_b or (line_a, seg_a, line_b, seg_b) in seen:
                    continue
                seen.add((line_a, seg_a, line_b, seg_b))
                a, b = lines[line_a], lines[line_b]
                point = _segment_crossing(a[seg_a], a[seg_a + 1], b[seg_b], b[seg_b + 1])
                if point is not None:
                    # Buckets fill in line order, so line_a < line_b here.
                    found.append((line_a, line_b, point))
    return found


def _segment_crossing(a0: Point, a1: Point, b0: Point, b1: Point) -> Point | None:
    ax, ay = a1[0] - a0[0], a1[1] - a0[1]
    bx, by = b1[0] - b0[0], b1[1] - b0[1]
    denominator = ax * by - ay * bx
    if abs(denominator) < 1e-9:  # noqa: PLR2004 (parallel segments never cross at one point)
        return None
    cx, cy = b0[0] - a0[0], b0[1] - a0[1]
    t = (cx * by - cy * bx) / denominator
    u = (cx * ay - cy * ax) / denominator
    if 0 <= t <= 1 and 0 <= u <= 1:
        return a0[0] + ax * t, a0[1] + ay * t
    return None
