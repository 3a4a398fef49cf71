from __future__ import annotations

from signalight.adapters.sql.database import SqlDatabase
from signalight.domain.cities import City
from signalight.domain.geo import offset
from signalight.services.inventory import PIECE_ROWS, InventoryFormat, import_inventory


def big_csv(city: City, lights: int, bad_line: int | None = None) -> bytes:
    lines = ["kind,code,lat,lon,cabinet,device", f"cabinet,CB-1,{city.lat},{city.lon},,m-1"]
    for i in range(lights):
        lat, lon = offset(city.lat, city.lon, 10.0 * (i % 100), 10.0 * (i // 100))
        lines.append(f"streetlight,SL-{i},{lat:.7f},{lon:.7f},CB-1,n-{i}")
    if bad_line is not None:
        lines[bad_line - 1] = lines[bad_line - 1].replace(",CB-1,", ",CB-404,")
    return ("\n".join(lines) + "\n").encode()


def run(database: SqlDatabase, city: City, data: bytes) -> tuple[bool, list[str]]:
    report = import_inventory(
        city,
        data,
        InventoryFormat.CSV,
        assets=database.assets,
        imports=database.imports,
        actor="test",
        source="big.csv",
        max_distance_m=100_000,
    )
    return report.run.accepted, report.errors


def test_a_bad_row_in_a_late_piece_rolls_back_the_pieces_already_written(
    database: SqlDatabase, city: City
) -> None:
    lights = 2 * PIECE_ROWS + 500
    bad = lights  # in the third piece, after two pieces were written
    accepted, errors = run(database, city, big_csv(city, lights, bad_line=bad))
    assert not accepted
    assert errors == [f"line {bad}: cabinet 'CB-404' is neither in this file nor in the city"]
    assert database.assets.existing_assets(city.pk) == {}
    assert database.assets.existing_devices(city.pk) == {}
    accepted, errors = run(database, city, big_csv(city, lights))
    assert accepted, errors[:3]
    assert len(database.assets.existing_assets(city.pk)) == lights + 1
    assert len(database.assets.existing_devices(city.pk)) == lights + 1
