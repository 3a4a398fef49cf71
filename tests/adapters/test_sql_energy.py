"""Energy reports on SQLite and PostgreSQL: counters across hours and gaps, power-only lights."""

from __future__ import annotations

from datetime import date

import pytest

from signalight.adapters.sql.database import SqlDatabase
from signalight.adapters.sql.energy import SqlEnergyReads
from signalight.domain.assets import AssetKind, AssetRecord
from signalight.domain.cities import City
from signalight.domain.energy_periods import Grouping, Period
from signalight.domain.readings import Reading
from signalight.domain.telemetry import Accepted
from signalight.services.energy import EnergyService
from tests.conftest import make_city, schedules_of

# Kuala Lumpur time (UTC+8, no daylight saving): 2024-05-01 00:00 local.
DAY1 = 1_714_492_800.0
HOUR = 3600.0


def lights(db: SqlDatabase, city: City) -> None:
    cabinet = AssetRecord(kind=AssetKind.CABINET, code="CAB-1", lat=5.38, lon=100.4)

    def light(code: str, **more: object) -> AssetRecord:
        return AssetRecord(
            kind=AssetKind.STREETLIGHT,
            code=code,
            lat=5.38,
            lon=100.4,
            device=f"N-{code}",
            rated_watts=100.0,
            **more,  # type: ignore[arg-type]
        )

    db.assets.upsert_assets(city.pk, [cabinet])
    db.assets.upsert_assets(
        city.pk,
        [light("A", cabinet="CAB-1", group="g1"), light("B", group="g1"), light("C")],
    )


def write(db: SqlDatabase, city: City, uid: str, readings: list[Reading]) -> None:
    device = db.telemetry.find_device(city.slug, uid)
    assert device is not None
    db.telemetry.write([Accepted(device, [r], r.time) for r in readings], [])


def counter(start: float, end: float, wh_per_step: float, base: float = 1000.0) -> list[Reading]:
    """A counter read every 10 minutes, rising ``wh_per_step`` a reading."""
    steps = int((end - start) // 600)
    return [Reading(start + 600 * i, "energy", base + wh_per_step * i) for i in range(steps)]


@pytest.fixture(params=["settled", "counted"])
def service(database: SqlDatabase, request: pytest.FixtureRequest) -> EnergyService:
    """The service with every day of May 2024 settled when asked, or each still counted live."""
    now = 2e9 if request.param == "settled" else DAY1 + 5 * 86_400.0
    return EnergyService(SqlEnergyReads(database.engine), schedules_of(database), now=lambda: now)


def test_a_counter_light_counts_its_rises_across_hours_and_a_reset(
    database: SqlDatabase, city: City, service: EnergyService
) -> None:
    lights(database, city)
    # From 18:00 local on the 1st to 08:00 on the 2nd, 10 Wh every 10 minutes.
    series = counter(DAY1 + 18 * HOUR, DAY1 + 32 * HOUR, 10.0)
    # The node restarts at 03:00 on the 2nd: from then on it counts from 0.
    restart = DAY1 + 27 * HOUR
    series = [
        r if r.time < restart else Reading(r.time, "energy", (r.time - restart) / 60.0)
        for r in series
    ]
    write(database, city, "N-A", series)
    got = service.report(city, date(2024, 5, 1), date(2024, 5, 2), Grouping.LIGHT, Period.DAY)
    rows = {(row.key, row.period): row for row in got.rows}
    # The 1st: 18:00 to the last reading before midnight; the step across midnight is the 2nd's.
    assert rows[("A", "2024-05-01")].figures.actual_wh == pytest.approx(35 * 10.0)
    # The 2nd: 48 steps, but the one onto the restart reads 0 and counts 0 (lost to the reset).
    assert rows[("A", "2024-05-02")].figures.actual_wh == pytest.approx(47 * 10.0)
    assert rows[("A", "2024-05-02")].metered == 1
    assert rows[("B", "2024-05-01")].figures.actual_wh == 0.0
    assert rows[("B", "2024-05-01")].metered == 0
    # The baseline: 100 W over the dark hours of Kuala Lumpur, about 12 of them.
    baseline = rows[("A", "2024-05-01")].figures.baseline_wh
    assert 1_150.0 < baseline < 1_250.0
    assert rows[("A", "2024-05-01")].figures.planned_wh is not None
    assert rows[("A", "2024-05-01")].figures.planned_wh < baseline  # dimmed 00:00-05:00


def test_the_rise_after_a_gap_is_spread_over_the_gap_and_kept_whole(
    database: SqlDatabase, city: City, service: EnergyService
) -> None:
    lights(database, city)
    series = counter(DAY1 + 18 * HOUR, DAY1 + 32 * HOUR, 10.0)
    # Silent from 22:00 on the 1st to 02:00 on the 2nd: two gap hours a side of midnight.
    silent = [r for r in series if not DAY1 + 22 * HOUR <= r.time < DAY1 + 26 * HOUR]
    write(database, city, "N-A", silent)
    got = service.report(city, date(2024, 5, 1), date(2024, 5, 2), Grouping.LIGHT, Period.DAY)
    rows = {(row.key, row.period): row.figures.actual_wh for row in got.rows}
    total = series[-1].value - series[0].value  # type: ignore[operator]
    assert rows[("A", "2024-05-01")] + rows[("A", "2024-05-02")] == pytest.approx(total)
    # The gap is all night: it is shared by time, half of it before midnight.
    assert rows[("A", "2024-05-01")] == pytest.approx(35 * 10.0, abs=15.0)
    hourly = service.report(city, date(2024, 5, 1), date(2024, 5, 2), Grouping.LIGHT, Period.HOUR)
    by_hour = {row.period: row.figures.actual_wh for row in hourly.rows if row.key == "A"}
    assert by_hour["2024-05-01T23:00:00+08:00"] == pytest.approx(60.0, abs=1.0)
    assert sum(by_hour.values()) == pytest.approx(total)


def test_a_light_without_a_counter_counts_its_power(
    database: SqlDatabase, city: City, service: EnergyService
) -> None:
    lights(database, city)
    power = [Reading(DAY1 + 20 * HOUR + 600 * i, "power", 50.0) for i in range(18)]  # 3 hours
    write(database, city, "N-B", power)
    write(database, city, "N-A", counter(DAY1 + 20 * HOUR, DAY1 + 23 * HOUR, 12.0))
    got = service.report(city, date(2024, 5, 1), date(2024, 5, 1), Grouping.CABINET, Period.DAY)
    rows = {row.key: row for row in got.rows}
    assert rows[""].figures.actual_wh == pytest.approx(150.0)  # B and C: no cabinet
    assert rows[""].lights == 2
    assert rows[""].metered == 1
    assert rows["CAB-1"].figures.actual_wh == pytest.approx(17 * 12.0)
    by_group = service.report(city, date(2024, 5, 1), date(2024, 5, 1), Grouping.GROUP, Period.DAY)
    groups = {row.key: row.figures.actual_wh for row in by_group.rows}
    assert groups == pytest.approx({"g1": 150.0 + 17 * 12.0, "": 0.0})
    month = service.report(city, date(2024, 5, 1), date(2024, 5, 31), Grouping.CITY, Period.MONTH)
    assert [row.period for row in month.rows] == ["2024-05"]
    assert month.total.actual_wh == pytest.approx(150.0 + 17 * 12.0)
    assert month.rows[0].lights == 3


def test_another_citys_readings_are_not_counted(
    database: SqlDatabase, city: City, service: EnergyService
) -> None:
    lights(database, city)
    other = make_city(database)
    lights(database, other)
    write(database, other, "N-A", counter(DAY1 + 20 * HOUR, DAY1 + 23 * HOUR, 12.0))
    got = service.report(city, date(2024, 5, 1), date(2024, 5, 1), Grouping.CITY, Period.DAY)
    assert got.total.actual_wh == 0.0
    assert got.lights == 3
    assert got.notes[0].startswith("the city has no tariff")


def test_a_settled_day_is_read_as_settled_until_settled_again(
    database: SqlDatabase, city: City
) -> None:
    lights(database, city)
    reads = SqlEnergyReads(database.engine)
    service = EnergyService(reads, schedules_of(database), now=lambda: 2e9)
    write(database, city, "N-A", counter(DAY1 + 20 * HOUR, DAY1 + 23 * HOUR, 12.0))
    may = (date(2024, 5, 1), date(2024, 5, 1))
    assert service.report(city, *may, Grouping.CITY, Period.DAY).total.actual_wh == 17 * 12.0
    assert reads.settled_days(city.pk, DAY1, DAY1 + 86_400) == {DAY1}
    # A reading no ingest would take any more (weeks late) leaves the settled day as it was...
    write(database, city, "N-A", [Reading(DAY1 + 23 * HOUR + 600, "energy", 1000.0 + 17 * 12 + 30)])
    assert service.report(city, *may, Grouping.CITY, Period.DAY).total.actual_wh == 17 * 12.0
    # ...until the day is settled again on purpose.
    assert service.settle(city, *may) == 1
    assert service.report(city, *may, Grouping.CITY, Period.DAY).total.actual_wh == 17 * 12.0 + 30
    # Days not yet due are not settled.
    early = EnergyService(reads, schedules_of(database), now=lambda: DAY1 + 86_400)
    assert early.settle(city, date(2024, 5, 2), date(2024, 5, 3)) == 0
