"""The schedules of 100,000 streetlights for a day, through ``Schedules.plans``.

A fleet spread over about 30 km around Seberang Perai, four profiles,
assignments by street class and by group, a calendar entry and a few
overrides, planned for one local day (the morning of one night, the evening
of the next). The city's schedules and lights come from in-memory stores,
so this measures the planning, not the database.

Reference from the same run: plain astral sunsets, one per light (what a
naive planner pays before any profile is applied), and the ungrouped plan
of a sample of lights, one plan each, scaled to the fleet.

Floor: under 2 s for 100,000 lights.

Usage: python bench/schedules_day.py [--lights 100000] [--quick]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from astral import Observer
from astral.sun import sunset

from signalight.adapters.clock import ManualClock
from signalight.codecs.profiles import profile_from_json
from signalight.domain.assets import LuminaireType
from signalight.domain.assignments import (
    Assignment,
    CalendarEntry,
    CitySchedules,
    LightKeys,
    Override,
    Scope,
)
from signalight.domain.cities import City
from signalight.domain.faults import DetectionSettings
from signalight.domain.schedule_days import ScheduledLight, day_plan
from signalight.domain.schedules import Profile
from signalight.domain.sun import LocalDays, SunTable
from signalight.services.schedules import Schedules

FLOOR_S = 2.0
DAY = date(2026, 3, 4)
ZONE = "Asia/Kuala_Lumpur"
CLASSES = ("arterial", "collector", "local", "pedestrian")


def _profile(name: str, steps: list[tuple[str, object, float]]) -> Profile:
    doc = [
        {"anchor": a, "at": w, "level": lv}
        if a == "clock"
        else {"anchor": a, "offset_min": w, "level": lv}
        for a, w, lv in steps
    ]
    return profile_from_json({"name": name, "steps": doc})


PROFILES = {
    1: _profile(
        "residential",
        [
            ("sunset", 5, 100),
            ("clock", "23:00", 60),
            ("clock", "01:00", 30),
            ("clock", "05:00", 80),
            ("sunrise", -10, 0),
        ],
    ),
    2: _profile("arterial", [("sunset", 0, 100), ("clock", "00:00", 70), ("sunrise", 0, 0)]),
    3: _profile(
        "park", [("dusk", 0, 80), ("clock", "22:00", 0), ("clock", "05:30", 50), ("dawn", 0, 0)]
    ),
    4: _profile("festival", [("sunset", -15, 100), ("sunrise", 15, 0)]),
}


class MemoryStore:
    """The parts of ``ScheduleStore`` that planning reads."""

    def __init__(self, schedules: CitySchedules) -> None:
        self._schedules = schedules

    def city_schedules(self, city_id: int, default: Profile, *, since: float) -> CitySchedules:
        del city_id, since
        self._schedules.default = default
        return self._schedules


class MemoryLights:
    """The parts of ``LightDirectory`` that planning reads."""

    def __init__(self, lights: list[ScheduledLight]) -> None:
        self._lights = lights

    def lights(self, city_id: int) -> list[ScheduledLight]:
        del city_id
        return self._lights


def fleet(n: int, seed: int = 7) -> list[ScheduledLight]:
    """``n`` lights over about 30 km, 2,000 groups, 1,000 cabinets."""
    rng = random.Random(seed)
    return [
        ScheduledLight(
            i,
            LightKeys(
                f"P-{i:06d}",
                f"g{rng.randrange(2000)}",
                f"C-{rng.randrange(1000)}",
                rng.choice(CLASSES),
            ),
            5.25 + rng.random() * 0.27,
            100.35 + rng.random() * 0.27,
            LuminaireType.LED,
            rng.choice((60.0, 90.0, 150.0)),
        )
        for i in range(1, n + 1)
    ]


def schedules() -> CitySchedules:
    t0 = datetime(2026, 3, 4, 12, tzinfo=UTC).timestamp()
    assignments = [
        Assignment(1, Scope.CITY, "", 1),
        Assignment(2, Scope.STREET_CLASS, "arterial", 2),
        Assignment(3, Scope.STREET_CLASS, "collector", 2, frozenset({4, 5})),
        *(Assignment(10 + g, Scope.GROUP, f"g{g}", 3) for g in range(0, 2000, 40)),
    ]
    calendar = [CalendarEntry(1, "Chap Goh Mei", DAY, DAY, Scope.CABINET, "C-7", 4)]
    overrides = [
        Override(1, Scope.ASSET, "P-000042", 0, t0, t0 + 7200, "cable works", "ops"),
        Override(2, Scope.CABINET, "C-9", 100, t0, t0 + 3600, "accident", "ops"),
    ]
    return CitySchedules(PROFILES, assignments, calendar, overrides, PROFILES[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lights", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="10,000 lights: a smoke run")
    args = parser.parse_args()
    n = 10_000 if args.quick else args.lights
    lights = fleet(n)
    city = City(
        slug="bench",
        name="Bench",
        country="MY",
        timezone=ZONE,
        lat=5.38,
        lon=100.4,
        currency="MYR",
        id=1,
    )
    service = Schedules(
        MemoryStore(schedules()),  # type: ignore[arg-type]
        MemoryLights(lights),  # type: ignore[arg-type]
        lambda _city: DetectionSettings(),
        ManualClock(datetime(2026, 3, 4, tzinfo=UTC)),
    )
    started = time.perf_counter()
    plans = service.plans(city, DAY)
    plans_s = time.perf_counter() - started
    distinct = len({id(p) for p in plans.values()})

    # Reference 1: one plain astral sunset per light.
    zone = ZoneInfo(ZONE)
    started = time.perf_counter()
    for light in lights:
        sunset(Observer(light.lat, light.lon), DAY, zone)
    sunsets_s = time.perf_counter() - started

    # Reference 2: the ungrouped plan of a sample, one plan each, scaled to the fleet.
    sample = lights[: min(2000, n)]
    whole = schedules()
    started = time.perf_counter()
    for light in sample:
        table = SunTable(zone)
        before, after = whole.choose(light.keys, date(2026, 3, 3)), whole.choose(light.keys, DAY)
        day_plan(
            (before.profile, after.profile),
            DAY,
            table,
            table.cell(light.lat, light.lon),
            LocalDays(zone),
        )
    ungrouped_s = (time.perf_counter() - started) * n / len(sample)

    lit = sum(p.lit_hours() for p in plans.values()) / n
    print(f"lights {n:,}, distinct plans {distinct:,}, mean lit {lit:.2f} h")
    print(f"Schedules.plans: {plans_s:.3f} s ({n / plans_s:,.0f} lights/s)  floor < {FLOOR_S} s")
    print(
        f"reference: {n:,} astral sunsets {sunsets_s:.3f} s;"
        f" ungrouped plans (from {len(sample):,}) {ungrouped_s:.3f} s"
    )
    ok = plans_s < FLOOR_S * n / 100_000 if n < 100_000 else plans_s < FLOOR_S
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
