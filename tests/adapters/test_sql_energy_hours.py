"""The hourly rollups count a counter through resets and wraps, however its batches arrive."""

from __future__ import annotations

import random

import pytest

from signalight.adapters.sql.database import SqlDatabase
from signalight.adapters.sql.telemetry_batch import gather
from signalight.domain.assets import AssetKind, AssetRecord, DeviceKind
from signalight.domain.cities import City
from signalight.domain.energy import counter_energy
from signalight.domain.readings import Reading
from signalight.domain.telemetry import Accepted, DeviceRef

# 2001-09-09 03:00 UTC, an hour's start far from the other tests' data.
T0 = 1_000_004_400.0
HOUR = 3600.0


def node(db: SqlDatabase, city: City, uid: str = "E-1") -> DeviceRef:
    db.assets.upsert_assets(
        city.pk,
        [
            AssetRecord(
                kind=AssetKind.STREETLIGHT, code=f"SL-{uid}", lat=5.38, lon=100.4, device=uid
            )
        ],
    )
    found = db.telemetry.find_device(city.slug, uid)
    assert found is not None
    return found


def counter(device: DeviceRef, time: float, value: float) -> Accepted:
    return Accepted(device, [Reading(time, "energy", value), Reading(time, "power", 50.0)], time)


# Within one hour: 1,000 to 1,010, a restart, 5 to 15 (25 Wh); into the next, 15 to 40.
SERIES = [
    (T0 + 60, 1000.0),
    (T0 + 600, 1004.0),
    (T0 + 1200, 1010.0),
    (T0 + 1800, 5.0),
    (T0 + 2400, 9.0),
    (T0 + 3000, 15.0),
    (T0 + HOUR + 60, 22.0),
    (T0 + HOUR + 1800, 40.0),
]


def test_a_reset_within_an_hour_counts_what_was_counted_before_and_after(
    database: SqlDatabase, city: City
) -> None:
    device = node(database, city)
    database.telemetry.write([counter(device, t, v) for t, v in SERIES], [])
    first, second = database.telemetry.hourly(city.pk, device.id, T0, T0 + 2 * HOUR)
    assert first.energy_wh == pytest.approx(25.0)
    assert second.energy_wh == pytest.approx(25.0)  # 15 at the end of the hour before, then 40


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_batches_in_any_order_and_size_count_what_one_batch_counts(
    database: SqlDatabase, city: City, seed: int
) -> None:
    device = node(database, city)
    packs = [counter(device, t, v) for t, v in SERIES]
    rng = random.Random(seed)  # noqa: S311 - an order to shuffle, not a secret
    rng.shuffle(packs)
    cut = sorted(rng.sample(range(1, len(packs)), 3))
    for lo, hi in zip([0, *cut], [*cut, len(packs)], strict=True):
        database.telemetry.write(packs[lo:hi], [])
    hours = database.telemetry.hourly(city.pk, device.id, T0, T0 + 2 * HOUR)
    # Batches of one hour arrive in any order: the rises of the hour still add up,
    # as long as the readings of two batches of one hour do not interleave.
    total = sum(hour.energy_wh or 0.0 for hour in hours)
    assert total == pytest.approx(counter_energy(SERIES), abs=15.0)
    assert total <= counter_energy(SERIES) + 1e-9


def test_batches_one_after_another_count_exactly(database: SqlDatabase, city: City) -> None:
    device = node(database, city)
    for t, v in SERIES:
        database.telemetry.write([counter(device, t, v)], [])
    first, second = database.telemetry.hourly(city.pk, device.id, T0, T0 + 2 * HOUR)
    assert (first.energy_wh, second.energy_wh) == pytest.approx((25.0, 25.0))


def test_an_earlier_batch_arriving_later_joins_the_front_of_the_hour(
    database: SqlDatabase, city: City
) -> None:
    device = node(database, city)
    database.telemetry.write([counter(device, t, v) for t, v in SERIES[3:6]], [])
    database.telemetry.write([counter(device, t, v) for t, v in SERIES[:3]], [])
    (hour,) = database.telemetry.hourly(city.pk, device.id, T0, T0 + HOUR)
    assert hour.energy_wh == pytest.approx(25.0)


def test_a_wrap_at_the_boundary_of_two_batches_counts_through_the_modulus(
    database: SqlDatabase, city: City
) -> None:
    device = node(database, city)
    database.telemetry.write([counter(device, T0 + 60, 65_500.0)], [])
    database.telemetry.write([counter(device, T0 + 360, 65_530.0)], [])
    database.telemetry.write([counter(device, T0 + 660, 20.0)], [])  # through 65,536
    (hour,) = database.telemetry.hourly(city.pk, device.id, T0, T0 + HOUR)
    assert hour.energy_wh == pytest.approx(30.0 + 26.0)


def test_a_tally_counts_as_the_domain_does() -> None:
    device = DeviceRef(1, 1, "c", "E-1", DeviceKind.STREETLIGHT_NODE)
    points = [(T0 + 10.0 * i, v) for i, v in enumerate([10.0, 20.0, 3.0, 65_530.0, 1.0, 2.0])]
    batch = gather([counter(device, t, v) for t, v in reversed(points)])
    (row,) = batch.hours
    # Backwards, every reading comes before the first: each joins the front.
    assert row[-1] == pytest.approx(counter_energy(points))
