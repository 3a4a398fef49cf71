"""SunTable's sunrise, sunset, civil dawn and dusk against PyEphem, from the equator to 78 N.

Every fifth day of 2026 in eight cities, each event within a minute of
PyEphem's (an independent computation: the VSOP87 sun and a full
refraction model, here with the standard 34' horizon and no atmosphere, so
both answer the same question), and no time exactly where PyEphem finds
none that local day. SunTable answers for a cell of a millionth of a
degree, as ``Schedules.day`` asks at a light's own coordinates.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import ephem  # type: ignore[import-untyped]
import pytest

from signalight.domain.sun import SunTable

TOLERANCE_S = 60.0
DAYS = [date(2026, 1, 1) + timedelta(days=n) for n in range(0, 365, 5)]


class Place(NamedTuple):
    name: str
    lat: float
    lon: float
    zone: str


PLACES = [
    pytest.param(Place("Quito", -0.1807, -78.4678, "America/Guayaquil"), id="Quito"),
    pytest.param(Place("Singapore", 1.3521, 103.8198, "Asia/Singapore"), id="Singapore"),
    pytest.param(Place("Penang", 5.4164, 100.3327, "Asia/Kuala_Lumpur"), id="Penang"),
    pytest.param(Place("Seoul", 37.5665, 126.9780, "Asia/Seoul"), id="Seoul"),
    pytest.param(Place("Oslo", 59.9139, 10.7522, "Europe/Oslo"), id="Oslo"),
    pytest.param(Place("Tromso", 69.6496, 18.9560, "Europe/Oslo"), id="Tromso"),
    pytest.param(Place("Longyearbyen", 78.2232, 15.6267, "Arctic/Longyearbyen"), id="Longyearbyen"),
    pytest.param(Place("Ushuaia", -54.8019, -68.3030, "America/Argentina/Ushuaia"), id="Ushuaia"),
]
# (event, PyEphem's horizon, use_center, rising)
EVENTS = [
    ("sunrise", "-0:34", False, True),
    ("sunset", "-0:34", False, False),
    ("dawn", "-6", True, True),
    ("dusk", "-6", True, False),
]


def ephem_event(place: Place, day: date, horizon: str, use_center: bool, rising: bool) -> float:
    """PyEphem's time of the event on local ``day``, or +-inf where it has none that day.

    An event searched from local midnight that falls after the next
    midnight did not happen that day; without one the sun stays above the
    line all day (a rise at ``-inf``, a set at ``inf``) or below it (the reverse).
    """
    zone = ZoneInfo(place.zone)
    start = datetime.combine(day, time(0), zone)
    end = datetime.combine(day + timedelta(days=1), time(0), zone)
    observer = ephem.Observer()
    observer.lat, observer.lon = str(place.lat), str(place.lon)
    observer.pressure, observer.horizon, observer.elevation = 0, horizon, 0
    observer.date = ephem.Date(start.astimezone(UTC).replace(tzinfo=None))
    sun = ephem.Sun()
    search: Any = observer.next_rising if rising else observer.next_setting
    try:
        found = search(sun, use_center=use_center).datetime().replace(tzinfo=UTC)
    except (ephem.AlwaysUpError, ephem.NeverUpError):
        found = None
    if found is not None and found < end:
        return float(found.timestamp())
    observer.date = ephem.Date(
        (start + (end - start) / 2).astimezone(UTC).replace(tzinfo=None)
    )  # local noon
    sun.compute(observer)
    limb = 0.0 if use_center else sun.radius
    up = sun.alt + limb > ephem.degrees(horizon)
    return -math.inf if up == rising else math.inf


@pytest.mark.parametrize("place", PLACES)
def test_the_suns_events_agree_with_pyephem(place: Place) -> None:
    table = SunTable(ZoneInfo(place.zone), 1e-6)
    cell = table.cell(place.lat, place.lon)
    wrong = []
    for day in DAYS:
        ours = table.twilight(cell, day)
        for name, horizon, use_center, rising in EVENTS:
            theirs = ephem_event(place, day, horizon, use_center, rising)
            mine = getattr(ours, name)
            if math.isinf(theirs) or math.isinf(mine):
                skims = _skims(place, mine, horizon, use_center=use_center)
                if mine != theirs and not _at_midnight(mine, theirs, day, place) and not skims:
                    wrong.append(f"{day} {name}: ours {mine}, ephem {theirs}")
            elif abs(mine - theirs) > TOLERANCE_S:
                wrong.append(f"{day} {name}: ours {_utc(mine)}, ephem {_utc(theirs)}")
    assert wrong == []


def _utc(t: float) -> str:
    return f"{datetime.fromtimestamp(t, UTC):%Y-%m-%d %H:%M:%S}"


def _at_midnight(mine: float, theirs: float, day: date, place: Place) -> bool:
    """One has the event just before a midnight, the other just after: within the tolerance.

    Where the sun skims the line near midnight, which side of it the event
    falls on is within the models' error (Longyearbyen's dusk of 8 September).
    """
    zone = ZoneInfo(place.zone)
    edges = (
        datetime.combine(day, time(0), zone).timestamp(),
        datetime.combine(day + timedelta(days=1), time(0), zone).timestamp(),
    )
    finite = mine if math.isfinite(mine) else theirs
    return any(abs(finite - edge) <= TOLERANCE_S for edge in edges)


def _skims(place: Place, t: float, horizon: str, *, use_center: bool) -> bool:
    """Our event where PyEphem has none, the sun then within 0.05 degrees of the line.

    A sun that grazes the line at its lowest (or highest) is on one side or
    the other within the models' error: Longyearbyen's civil dusk of
    8 September, the sun a hundredth of a degree below -6 for minutes.
    """
    if not math.isfinite(t):
        return False
    observer = ephem.Observer()
    observer.lat, observer.lon = str(place.lat), str(place.lon)
    observer.pressure, observer.elevation = 0, 0
    observer.date = ephem.Date(datetime.fromtimestamp(t, UTC).replace(tzinfo=None))
    sun = ephem.Sun()
    sun.compute(observer)
    limb = 0.0 if use_center else float(sun.radius)
    return abs(float(sun.alt) + limb - float(ephem.degrees(horizon))) < math.radians(0.05)
