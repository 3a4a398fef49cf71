"""When the sun's centre crosses an altitude: sunrise, sunset and civil twilight, found by search.

Astral's own ``sunrise``/``dusk`` solve the hour angle once from the
day's declination. That is within seconds in the tropics but minutes off
where the sun skims the horizon (beyond 60 degrees, near the polar day and
night), and its twilight adds refraction at 6 degrees below the horizon,
where none applies. Schedules anchored to the sun there would be minutes
out. So the crossings are searched for instead: the sun's geometric
altitude (astral's NOAA formulas, without refraction) is sampled every twenty
minutes through the local day, each change of side is narrowed to a second
by bisection, and a dip below (or rise above) the line between two samples
is caught at the extreme of a parabola through three. Standard altitudes:
-0.833 degrees for sunrise and sunset (refraction and the sun's radius, as
almanacs use) and -6 for civil twilight.

A day costs about 110 altitude evaluations (some 2 ms); callers cache
per grid cell and day.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Final, NamedTuple

from astral import Observer
from astral.sun import elevation

__all__ = ["CIVIL", "HORIZON", "Crossing", "altitude", "crossings"]

HORIZON: Final = -0.833  # degrees: sunrise and sunset (the upper limb on a refracted horizon)
CIVIL: Final = -6.0  # degrees: civil dawn and dusk
SAMPLE_S: Final = 1200.0
_PRECISION_S: Final = 1.0


class Crossing(NamedTuple):
    """The sun crosses an altitude at ``t``, rising or setting."""

    t: float
    rising: bool


def altitude(observer: Observer, t: float) -> float:
    """The sun's geometric altitude in degrees at epoch ``t``."""
    return float(elevation(observer, datetime.fromtimestamp(t, UTC), with_refraction=False))


def crossings(
    observer: Observer, start: float, end: float, levels: tuple[float, ...]
) -> dict[float, list[Crossing]]:
    """Every crossing of each altitude in ``levels`` within ``[start, end)``, in time order."""
    count = max(2, math.ceil((end - start) / SAMPLE_S) + 1)
    step = (end - start) / (count - 1)
    times = [start + i * step for i in range(count)]
    heights = [altitude(observer, t) for t in times]
    found: dict[float, list[Crossing]] = {level: [] for level in levels}
    for level in levels:
        out = found[level]
        for i in range(count - 1):
            a, b = heights[i] - level, heights[i + 1] - level
            if (a < 0) != (b < 0):
                t = _bisect(observer, level, times[i], times[i + 1], rising=a < 0)
                out.append(Crossing(t, a < 0))
            elif i > 0:
                out.extend(_grazing(observer, level, times, heights, i))
        out.sort()
        found[level] = [c for c in out if start <= c.t < end]
    return found


def _bisect(observer: Observer, level: float, low: float, high: float, *, rising: bool) -> float:
    """The crossing of ``level`` between ``low`` and ``high``, to a second."""
    while high - low > _PRECISION_S:
        middle = (low + high) / 2
        above = altitude(observer, middle) >= level
        if above == rising:
            high = middle
        else:
            low = middle
    return (low + high) / 2


def _grazing(
    observer: Observer, level: float, times: list[float], heights: list[float], i: int
) -> list[Crossing]:
    """Two crossings hidden between samples, where the sun turns near ``level`` (an extreme)."""
    h0, h1, h2 = heights[i - 1], heights[i], heights[i + 1]
    turning = (h1 > h0 and h1 > h2) or (h1 < h0 and h1 < h2)
    if not turning:
        return []
    curve = h0 - 2 * h1 + h2
    if curve == 0:
        return []
    offset = 0.5 * (h0 - h2) / curve  # the vertex, in steps from the middle sample
    step = times[i + 1] - times[i]
    t_top = times[i] + max(-1.0, min(1.0, offset)) * step
    top = altitude(observer, t_top)
    maximum = h1 > h0
    if (top - level > 0) == (h1 - level > 0):
        return []  # the extreme stays on the samples' side
    before = _bisect(observer, level, times[i - 1], t_top, rising=maximum)
    after = _bisect(observer, level, t_top, times[i + 1], rising=not maximum)
    return [Crossing(before, maximum), Crossing(after, not maximum)]
