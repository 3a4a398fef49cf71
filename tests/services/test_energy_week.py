"""The issue's check in small: a week of 200 lights on a two-step profile, stored through the batch
writer, reported, and the savings compared with a computation written here from the raw readings.

The lights burn from sunset to sunrise at their own pole (astral, not the sun table), at full
power until 23:00 and at 50 % until 05:00 local; each node reports its counter every 15 minutes.
One node resets in the night, one is silent for six night hours, and one counter rolls over at
2^16. The independent computation reads each node's stored `energy` readings back (the reports
table), counts them its own way, and works out the baseline with astral at each light's position.

Tolerance: the week's actual energy within 0.1 % (the two count the same readings; only the
reset's lost step could differ, and it does not), the baseline within 0.5 % (the report's sun
cells are 0.01 degrees wide: sunset moves by seconds), so the savings within 1 %. Per day, the
silent node's six hours are spread by the report and given to the day after the gap here: the
days agree within that node's night.
"""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from astral import Observer
from astral.sun import sunrise, sunset

from signalight.adapters.sql.database import SqlDatabase
from signalight.adapters.sql.energy import SqlEnergyReads
from signalight.adapters.sql.schedules import SqlScheduleStore
from signalight.domain.assets import AssetKind, AssetRecord, LuminaireType
from signalight.domain.assignments import Assignment, Scope
from signalight.domain.cities import City
from signalight.domain.energy_periods import Grouping, Period
from signalight.domain.readings import Reading
from signalight.domain.schedules import Anchor, Profile, Step
from signalight.domain.telemetry import Accepted
from signalight.services.energy import EnergyService
from tests.conftest import make_city, schedules_of

pytestmark = pytest.mark.slow

ZONE = ZoneInfo("Asia/Kuala_Lumpur")
FIRST, LAST = date(2024, 5, 6), date(2024, 5, 12)
LIGHTS = 200
STEP = 900.0  # a report every 15 minutes
RESET, SILENT, WRAP = 7, 9, 11  # the odd nodes out, by index


TWO_STEP = Profile(
    "two steps",
    (
        Step(Anchor.SUNSET, 100.0),
        Step(Anchor.CLOCK, 50.0, at=time(23)),
        Step(Anchor.CLOCK, 100.0, at=time(5)),
        Step(Anchor.SUNRISE, 0.0),
    ),
)


def _local(day: date, hour: int) -> float:
    return datetime.combine(day, time(hour), tzinfo=ZONE).timestamp()


def _sun(lat: float, lon: float, day: date) -> tuple[float, float]:
    observer = Observer(lat, lon)
    return sunrise(observer, day, ZONE).timestamp(), sunset(observer, day, ZONE).timestamp()


def _power(
    rated: float, lat: float, lon: float, t: float, days: dict[date, tuple[float, float]]
) -> float:
    """The profile: off by day, 100 % from sunset, 50 % from 23:00 to 05:00 (LED: 52.5 %)."""
    day = datetime.fromtimestamp(t, ZONE).date()
    rise, set_ = days[day]
    if rise <= t < set_:
        return 0.0
    clock = datetime.fromtimestamp(t, ZONE).time()
    dimmed = clock >= time(23) or clock < time(5)
    return rated * (0.05 + 0.95 * 0.5) if dimmed else rated


def _fleet(db: SqlDatabase, city: City) -> list[AssetRecord]:
    rng = random.Random(14)  # noqa: S311 - a fleet, not a secret
    records = [
        AssetRecord(
            kind=AssetKind.STREETLIGHT,
            code=f"SL-{i:03d}",
            lat=5.38 + rng.uniform(-0.05, 0.05),
            lon=100.40 + rng.uniform(-0.05, 0.05),
            device=f"N-{i:03d}",
            rated_watts=float(rng.choice([60, 90, 120, 150])),
            luminaire=LuminaireType.LED,
            group="east" if i % 2 else "west",
        )
        for i in range(LIGHTS)
    ]
    db.assets.upsert_assets(city.pk, records)
    return records


def _simulate(db: SqlDatabase, city: City, records: list[AssetRecord]) -> None:
    devices = [db.telemetry.find_device(city.slug, r.device or "") for r in records]
    start, end = _local(FIRST - timedelta(days=1), 12), _local(LAST + timedelta(days=1), 12)
    suns = [
        {
            FIRST + timedelta(days=d): _sun(r.lat, r.lon, FIRST + timedelta(days=d))
            for d in range(-1, 9)
        }
        for r in records
    ]
    counters = [1000.0 * i for i in range(LIGHTS)]
    counters[WRAP] = 65_536.0 - 100.0
    silent = (_local(FIRST + timedelta(days=1), 21), _local(FIRST + timedelta(days=2), 3))
    reset_at = _local(FIRST + timedelta(days=3), 2)
    t = start
    while t < end:
        batch: list[Accepted] = []
        for i, (record, device) in enumerate(zip(records, devices, strict=True)):
            assert device is not None
            if i == RESET and reset_at <= t < reset_at + STEP:
                counters[i] = 0.0  # restarted just now
            if not (i == SILENT and silent[0] <= t < silent[1]):
                power = _power(record.rated_watts or 0.0, record.lat, record.lon, t, suns[i])
                readings = [Reading(t, "energy", counters[i]), Reading(t, "power", power)]
                batch.append(Accepted(device, readings, t))
            power = _power(record.rated_watts or 0.0, record.lat, record.lon, t, suns[i])
            counters[i] = (
                (counters[i] + power * STEP / 3600.0) % 65_536.0
                if i == WRAP
                else counters[i] + power * STEP / 3600.0
            )
        db.telemetry.write(batch, [])
        t += STEP


def _independent(
    db: SqlDatabase, city: City, records: list[AssetRecord]
) -> tuple[dict[date, float], float]:
    """Per local day, the counters' rises from the stored readings; and the astral baseline."""
    lo, hi = _local(FIRST, 0), _local(LAST + timedelta(days=1), 0)
    per_day: dict[date, float] = defaultdict(float)
    baseline = 0.0
    for record in records:
        device = db.telemetry.find_device(city.slug, record.device or "")
        assert device is not None
        stored = db.telemetry.readings(
            city.pk, device.id, lo - 86_400, hi + 86_400, {"energy"}, 100_000
        )
        points = [(r.time, r.value or 0.0) for r in stored]
        for (_t0, v0), (t1, v1) in itertools.pairwise(points):
            if not lo <= t1 < hi:
                continue
            if v1 >= v0:
                rise = v1 - v0
            elif v0 > 60_000 and v1 < 1_000:
                rise = 65_536.0 - v0 + v1  # rolled over
            else:
                rise = v1  # restarted from 0
            per_day[datetime.fromtimestamp(t1, ZONE).date()] += rise
        day = FIRST
        while day <= LAST:
            day_start, day_end = _local(day, 0), _local(day + timedelta(days=1), 0)
            rise, set_ = _sun(record.lat, record.lon, day)
            baseline += (
                (record.rated_watts or 0.0) * ((rise - day_start) + (day_end - set_)) / 3600.0
            )
            day += timedelta(days=1)
    return per_day, baseline


def test_a_week_of_200_lights_saves_what_the_raw_readings_say(database: SqlDatabase) -> None:
    city = make_city(database, lat=5.38, lon=100.40, tariff_per_kwh=0.4, co2_kg_per_kwh=0.69)
    records = _fleet(database, city)
    _simulate(database, city, records)
    schedules = schedules_of(database)
    service = EnergyService(SqlEnergyReads(database.engine), schedules)
    default = service.report(city, FIRST, LAST, Grouping.CITY, Period.DAY)
    # The nodes' own profile, assigned city-wide: the plan is then what they did.
    store = SqlScheduleStore(database.engine)
    two_step = store.add_profile(city.pk, TWO_STEP, actor="test")
    store.add_assignment(city.pk, Assignment(0, Scope.CITY, "", two_step), actor="test")
    report = service.report(city, FIRST, LAST, Grouping.CITY, Period.DAY)
    per_day, baseline = _independent(database, city, records)

    actual = sum(per_day.values())
    assert report.total.actual_wh == pytest.approx(actual, rel=1e-3)
    assert report.total.baseline_wh == pytest.approx(baseline, rel=5e-3)
    saved = baseline - actual
    assert report.total.saved_wh == pytest.approx(saved, rel=1e-2)
    assert report.total.saved_money(report.tariff) == pytest.approx(saved / 1000 * 0.4, rel=1e-2)
    assert report.total.saved_co2_kg(report.tariff) == pytest.approx(saved / 1000 * 0.69, rel=1e-2)
    # The profile dims 6 of about 12 dark hours to 52.5 %: roughly a fifth saved.
    assert 0.18 < saved / baseline < 0.26
    # The city's default plan (50 % from 00:00 to 05:00) dims an hour less than the nodes did.
    assert default.total.planned_wh is not None
    assert actual < default.total.planned_wh < baseline
    # Their own profile plans what they drew, within the nodes' 15-minute steps: a node
    # lit at its first report after sunset (19:30 for 19:25) and off at its first after
    # sunrise (07:15 for 07:04) burns some six minutes a night more than the plan's edges.
    planned = report.total.planned_wh
    assert planned is not None
    assert planned == pytest.approx(actual, rel=2e-2)
    assert abs(planned - actual) < abs(default.total.planned_wh - actual) / 3
    # Day by day: the silent node's night is spread by the report, given to one day here.
    silent_night = 150.0 * 6
    for row in report.rows:
        assert row.figures.actual_wh == pytest.approx(
            per_day[date.fromisoformat(row.period)], abs=silent_night
        )
        assert row.lights == LIGHTS
        assert row.metered == LIGHTS
