"""The status reads on SQLite and PostgreSQL: whole-city reads, one city's rows only, repairs."""

from __future__ import annotations

import pytest

from signalight.adapters.sql.database import SqlDatabase
from signalight.adapters.sql.status_reads import SqlStatusReads
from signalight.domain.alarms import Severity
from signalight.domain.assets import AssetKind
from signalight.domain.cities import City
from signalight.domain.status import AlarmMark
from tests.conftest import make_city
from tests.status_rig import DAY, HOUR, T, build


def test_map_assets_join_cabinet_device_and_last_message(database: SqlDatabase, city: City) -> None:
    rig = build(database, city)
    reads = SqlStatusReads(database.engine)
    found = {a.code: a for a in reads.map_assets(city.pk)}
    assert set(found) == set(rig.ids)
    ok = found["SL-OK"]
    assert (ok.id, ok.kind, ok.cabinet, ok.street_class) == (
        rig.ids["SL-OK"],
        "streetlight",
        "CAB-1",
        "local",
    )
    assert ok.device_kind == "streetlight_node"
    assert ok.last_seen == pytest.approx(T - 60)
    assert (found["SL-NEVER"].device_kind, found["SL-NEVER"].last_seen) == (
        "streetlight_node",
        None,
    )
    assert found["SL-NODEV"].device_kind is None
    assert found["SL-GONE"].device_kind is None  # retired: its device unbound
    assert found["CAB-1"].device_kind == "cabinet_meter"
    assert [a.id for a in reads.map_assets(city.pk)] == sorted(rig.ids.values())
    cabinets = reads.map_assets(city.pk, kind=AssetKind.CABINET)
    assert [a.code for a in cabinets] == ["CAB-1"]
    west = reads.map_assets(city.pk, bbox=(100.0, 5.0, 100.4005, 6.0))
    assert [a.code for a in west] == ["CAB-1"]


def test_open_alarms_by_asset_count_held_ones_and_leave_cleared_ones(
    database: SqlDatabase, city: City
) -> None:
    rig = build(database, city)
    found = SqlStatusReads(database.engine).open_alarms(city.pk)
    assert {asset: sorted(marks) for asset, marks in found.items()} == {
        rig.ids["CAB-1"]: [AlarmMark("supplyLoss", Severity.CRITICAL)],
        rig.ids["SL-ALARM"]: [
            AlarmMark("lampFailure", Severity.MINOR),
            AlarmMark("orientationChanged", Severity.MAJOR),
        ],
        rig.ids["SL-HELD"]: [AlarmMark("lampFailure", Severity.MINOR, held=True)],
    }


def test_repairs_are_clearings_in_the_window_from_the_start_of_their_occurrence(
    database: SqlDatabase, city: City
) -> None:
    build(database, city)
    repairs = SqlStatusReads(database.engine).repairs(city.pk, T - 30 * DAY, T)
    hours = sorted(round((end - start) / HOUR, 6) for start, end in repairs)
    assert hours == [1.0, 2.0, 3.0]


def test_another_citys_assets_and_alarms_never_show(database: SqlDatabase, city: City) -> None:
    build(database, city)
    other = make_city(database)
    build(database, other)
    reads = SqlStatusReads(database.engine)
    mine = {a.id for a in reads.map_assets(city.pk)}
    theirs = {a.id for a in reads.map_assets(other.pk)}
    assert len(mine) == len(theirs) == 9
    assert not mine & theirs
    assert set(reads.open_alarms(city.pk)) <= mine
    assert set(reads.open_alarms(other.pk)) <= theirs
    assert len(reads.repairs(other.pk, T - 30 * DAY, T)) == 3
