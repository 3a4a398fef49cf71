"""The SQL asset repository on SQLite and PostgreSQL alike."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from signalight.adapters.sql.database import SqlDatabase
from signalight.domain.assets import (
    AssetKind,
    AssetQuery,
    AssetRecord,
    AssetStatus,
    DeviceKind,
    LuminaireType,
)
from signalight.domain.cities import City
from signalight.domain.errors import ConflictError, NotFoundError
from tests.conftest import make_city


def cabinet(code: str = "CB-1", **overrides: object) -> AssetRecord:
    return AssetRecord(kind=AssetKind.CABINET, code=code, lat=5.38, lon=100.4, **overrides)  # type: ignore[arg-type]


def light(code: str, **overrides: object) -> AssetRecord:
    values: dict[str, object] = {"lat": 5.381, "lon": 100.401, "cabinet": "CB-1"}
    values.update(overrides)
    return AssetRecord(kind=AssetKind.STREETLIGHT, code=code, **values)  # type: ignore[arg-type]


def test_upsert_inserts_then_updates_by_code(database: SqlDatabase, city: City) -> None:
    first = database.assets.upsert_assets(
        city.pk, [light("SL-1", rated_watts=70.0), cabinet(device="m-1")]
    )
    assert (first.inserted, first.updated, first.devices) == (2, 0, 1)
    second = database.assets.upsert_assets(
        city.pk, [light("SL-1", rated_watts=100.0, luminaire=LuminaireType.LED)]
    )
    assert (second.inserted, second.updated) == (0, 1)
    stored = database.assets.query_assets(city.pk, AssetQuery(code="SL-1")).items[0]
    assert stored.rated_watts == 100.0
    assert stored.luminaire is LuminaireType.LED
    assert stored.cabinet == "CB-1"
    assert stored.updated_at is not None
    assert stored.updated_at.tzinfo is not None


def test_a_new_device_replaces_the_old_binding(database: SqlDatabase, city: City) -> None:
    database.assets.upsert_assets(city.pk, [cabinet(), light("SL-1", device="n-old")])
    database.assets.upsert_assets(city.pk, [light("SL-1", device="n-new", device_firmware="3.1")])
    devices = database.assets.existing_devices(city.pk)
    assert devices["n-old"].asset_code is None  # kept, unbound, for its history
    assert devices["n-new"].asset_code == "SL-1"
    assert devices["n-new"].kind is DeviceKind.STREETLIGHT_NODE
    assert database.assets.get_device(city.pk, "n-new").firmware == "3.1"
    # Leaving the device out keeps the binding.
    database.assets.upsert_assets(city.pk, [light("SL-1")])
    assert database.assets.existing_assets(city.pk)["SL-1"].device == "n-new"


def test_failed_upsert_writes_nothing(database: SqlDatabase, city: City) -> None:
    with pytest.raises(ConflictError, match="CB-404"):
        # SL-2 points at a cabinet that exists nowhere: the write must roll back whole.
        database.assets.upsert_assets(
            city.pk, [cabinet(), light("SL-1"), light("SL-2", cabinet="CB-404")]
        )
    assert database.assets.existing_assets(city.pk) == {}


def test_queries_are_scoped_to_one_city(database: SqlDatabase, city: City) -> None:
    other = make_city(database)
    database.assets.upsert_assets(city.pk, [cabinet(), light("SL-1", device="n-1")])
    database.assets.upsert_assets(other.pk, [cabinet(), light("SL-1", device="n-1")])
    mine = database.assets.query_assets(city.pk, AssetQuery())
    assert {a.city_id for a in mine.items} == {city.pk}
    theirs_id = database.assets.query_assets(other.pk, AssetQuery(code="SL-1")).items[0].id
    with pytest.raises(NotFoundError):
        database.assets.get_asset(city.pk, theirs_id)
    with pytest.raises(NotFoundError):
        database.assets.delete_asset(city.pk, theirs_id)
    assert database.assets.get_device(city.pk, "n-1").asset_code == "SL-1"
    assert database.assets.count_assets(other.pk)[AssetKind.STREETLIGHT] == 1


def test_delete_refuses_a_cabinet_that_feeds_lights(database: SqlDatabase, city: City) -> None:
    database.assets.upsert_assets(city.pk, [cabinet(), light("SL-1")])
    refs = {a.code: a.id for a in database.assets.query_assets(city.pk, AssetQuery()).items}
    with pytest.raises(ConflictError, match="feeds 1"):
        database.assets.delete_asset(city.pk, refs["CB-1"])
    database.assets.delete_asset(city.pk, refs["SL-1"])
    database.assets.delete_asset(city.pk, refs["CB-1"])
    assert database.assets.count_assets(city.pk)[AssetKind.CABINET] == 0


def test_export_order_puts_cabinets_first(database: SqlDatabase, city: City) -> None:
    database.assets.upsert_assets(
        city.pk, [light("SL-1"), cabinet(), light("SL-2", status=AssetStatus.PLANNED)]
    )
    database.assets.upsert_assets(city.pk, [cabinet("CB-2")])
    kinds = [a.kind for a in database.assets.iter_assets(city.pk)]
    assert kinds == [
        AssetKind.CABINET,
        AssetKind.CABINET,
        AssetKind.STREETLIGHT,
        AssetKind.STREETLIGHT,
    ]
    planned = database.assets.query_assets(city.pk, AssetQuery(status=AssetStatus.PLANNED))
    assert [a.code for a in planned.items] == ["SL-2"]


def test_cities_and_users(database: SqlDatabase) -> None:
    city = make_city(database, tariff_per_kwh=0.2)
    with pytest.raises(ConflictError):
        database.cities.add_city(city.with_changes(id=None))
    assert database.cities.get_city(city.slug) == city
    changed = database.cities.update_city(city.with_changes(co2_kg_per_kwh=0.6))
    assert database.cities.get_city(city.slug).co2_kg_per_kwh == 0.6
    assert changed.slug == city.slug
    with pytest.raises(NotFoundError):
        database.cities.get_city("no-such-city")
    assert city.slug in [c.slug for c in database.cities.list_cities([city.pk])]


def test_bulk_written_values_read_back_as_written(database: SqlDatabase, city: City) -> None:
    crossing = AssetRecord(
        kind=AssetKind.INTERSECTION,
        code="TS-1",
        lat=5.38,
        lon=100.4,
        installed_on=date(2011, 2, 28),
        controller_id="CTL-1",
        controller_vendor="Econolite",
        phases=(2, 4, 6, 8),
        device="s-1",
    )
    before = datetime.now(UTC)
    database.assets.upsert_assets(
        city.pk, [crossing, light("SL-1", lamp_changed_on=date(2024, 5, 1)), cabinet()]
    )
    stored = {a.code: a for a in database.assets.iter_assets(city.pk)}
    assert stored["TS-1"].phases == (2, 4, 6, 8)
    assert stored["TS-1"].installed_on == date(2011, 2, 28)
    assert stored["SL-1"].lamp_changed_on == date(2024, 5, 1)
    updated = stored["TS-1"].updated_at
    assert updated is not None
    assert before - timedelta(seconds=1) <= updated <= datetime.now(UTC) + timedelta(seconds=1)
    # An update through the same path keeps the types.
    database.assets.upsert_assets(city.pk, [replace(crossing, phases=(2, 6))])
    assert database.assets.get_device(city.pk, "s-1").kind is DeviceKind.SIGNAL_MONITOR
    assert database.assets.query_assets(city.pk, AssetQuery(code="TS-1")).items[0].phases == (2, 6)


def test_existing_lookups_can_be_narrowed(database: SqlDatabase, city: City) -> None:
    database.assets.upsert_assets(
        city.pk, [cabinet(device="m-1"), light("SL-1", device="n-1"), light("SL-2")]
    )
    assert set(database.assets.existing_assets(city.pk, ["SL-2", "CB-1", "NOPE"])) == {
        "SL-2",
        "CB-1",
    }
    assert database.assets.existing_assets(city.pk, []) == {}
    assert set(database.assets.existing_devices(city.pk, ["n-1"])) == {"n-1"}
    assert set(database.assets.existing_devices(city.pk)) == {"m-1", "n-1"}
