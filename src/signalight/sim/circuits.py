"""Lighting circuits: which consecutive poles each control cabinet feeds."""

from __future__ import annotations

import heapq
import math
import random
from collections import defaultdict

from signalight.sim.lines import Point

CIRCUIT_MIN = 20
CIRCUIT_MAX = 60
CELL_M = 400.0  # poles are first grouped by square cells this wide
# Circuits are cut from groups of poles no wider than this corner to corner, so no
# light is farther than this from its cabinet (which stands by one of them).
SPREAD_M = 1_300.0

Cell = tuple[int, int]
Box = tuple[float, float, float, float]  # west, south, east, north in metres


def circuits(poles: list[Point], rng: random.Random) -> list[list[int]]:
    """Split poles (in order along their streets) into circuits of 20 to 60 lights.

    Each circuit is a run of consecutive poles along one street, or along
    streets next to each other, all close together. Returns the index lists
    in the order of their first pole. Fewer than 20 poles in all make one circuit.
    """
    cells: defaultdict[Cell, list[int]] = defaultdict(list)
    for n, (x, y) in enumerate(poles):
        cells[math.floor(x / CELL_M), math.floor(y / CELL_M)].append(n)
    out: list[list[int]] = []
    for members in _Grouping(cells, poles).merge_small():
        members.sort()
        start = 0
        for size in _sizes(len(members), rng):
            out.append(members[start : start + size])
            start += size
    out.sort(key=lambda circuit: circuit[0])
    return out


class _Grouping:
    """Cells of poles gathered into groups of at least ``CIRCUIT_MIN`` poles.

    Each group is keyed by one of its cells; ``group_of`` maps every cell to it.
    """

    def __init__(self, cells: dict[Cell, list[int]], poles: list[Point]) -> None:
        self.cells = cells
        self.cell_box = {cell: _box([poles[n] for n in ns]) for cell, ns in cells.items()}
        self.group_of = {cell: cell for cell in cells}
        self.members = {cell: [cell] for cell in cells}
        self.count = {cell: len(ns) for cell, ns in cells.items()}
        self.box = dict(self.cell_box)

    def merge_small(self) -> list[list[int]]:
        """Fold groups with too few poles into neighbours, smallest first.

        A merge must keep the group within ``SPREAD_M`` corner to corner, and goes
        to a group that is already big enough where it can, so that small cells
        do not pair up and box each other in. A group that still cannot grow is
        broken up cell by cell; a cell with no room anywhere (on the ragged fringe
        of a tiny town) joins the group it widens least.
        """
        heap = [(n, cell) for cell, n in self.count.items() if n < CIRCUIT_MIN]
        heapq.heapify(heap)
        while heap and len(self.members) > 1:
            n, group = heapq.heappop(heap)
            if self.count.get(group) != n:
                continue  # stale: merged away or grown since
            touched = {group}
            target = self._best(self.members[group], group, strict=True)
            if target is not None:
                touched.add(self._move(list(self.members[group]), group, target))
            else:
                for cell in list(self.members[group]):
                    strict = len(self.members[group]) > 1
                    target = self._best([cell], group, strict=strict)
                    if target is not None:
                        touched.add(self._move([cell], group, target))
            for g in touched:
                if self.count.get(g, CIRCUIT_MIN) < CIRCUIT_MIN:
                    heapq.heappush(heap, (self.count[g], g))
        return [[n for cell in cells for n in self.cells[cell]] for cells in self.members.values()]

    def _best(self, moving: list[Cell], group: Cell, *, strict: bool) -> Cell | None:
        """The group ``moving`` cells should join: a fitting neighbour, big ones first.

        Unless ``strict``, a cell with no fitting neighbour gets the group it widens least.
        """
        near = {
            self.group_of[cx + dx, cy + dy]
            for cx, cy in moving
            for dx in (-1, 0, 1)
            for dy in (-1, 0, 1)
            if (cx + dx, cy + dy) in self.group_of
        } - {group}
        if not near and not strict:
            near = set(self.members) - {group}
        grown = _union(*(self.cell_box[cell] for cell in moving))
        spread = {g: _spread(_union(self.box[g], grown)) for g in near}
        fitting = [g for g in near if spread[g] <= SPREAD_M]
        if fitting:
            return min(fitting, key=lambda g: (self.count[g] < CIRCUIT_MIN, self.count[g], g))
        return None if strict or not near else min(near, key=lambda g: (spread[g], g))

    def _move(self, moving: list[Cell], source: Cell, target: Cell) -> Cell:
        for cell in moving:
            self.group_of[cell] = target
            self.members[source].remove(cell)
            self.members[target].append(cell)
            self.count[source] -= len(self.cells[cell])
            self.count[target] += len(self.cells[cell])
            self.box[target] = _union(self.box[target], self.cell_box[cell])
        if self.members[source]:
            self.box[source] = _union(*(self.cell_box[cell] for cell in self.members[source]))
        else:
            del self.members[source], self.count[source], self.box[source]
        return target


def _box(points: list[Point]) -> Box:
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    return min(xs), min(ys), max(xs), max(ys)


def _union(*boxes: Box) -> Box:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def _spread(box: Box) -> float:
    return math.hypot(box[2] - box[0], box[3] - box[1])


def _sizes(total: int, rng: random.Random) -> list[int]:
    """Circuit sizes of 20 to 60 that add up to ``total``, never leaving a short last one."""
    sizes: list[int] = []
    while total > CIRCUIT_MAX:
        size = rng.randint(CIRCUIT_MIN, min(CIRCUIT_MAX, total - CIRCUIT_MIN))
        sizes.append(size)
        total -= size
    if total:
        sizes.append(total)
    return sizes
