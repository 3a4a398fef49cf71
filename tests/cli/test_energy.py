"""`signalight energy report|deviations`: a table, CSV, and a bad range refused with its reason."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from signalight.adapters.sql.database import SqlDatabase
from signalight.domain.assets import AssetKind, AssetRecord
from signalight.domain.readings import Reading
from signalight.domain.telemetry import Accepted
from tests.cli.cli_rig import run

DAY1 = 1_714_492_800.0  # 2024-05-01 00:00 in Kuala Lumpur


def test_a_report_as_a_table_and_as_csv(env: Path) -> None:
    add = ("city", "add", "Ipoh", "--country", "MY", "--lat", "4.6", "--lon", "101.1")
    assert run(*add, "--timezone", "Asia/Kuala_Lumpur", "--tariff", "0.5")[0] == 0
    db = SqlDatabase.connect(f"sqlite:///{env / 'data' / 'signalight.db'}")
    try:
        city = db.cities.get_city("ipoh")
        light = AssetRecord(
            kind=AssetKind.STREETLIGHT, code="SL-1", lat=4.6, lon=101.1, device="N-1",
            rated_watts=100.0,
        )  # fmt: skip
        db.assets.upsert_assets(city.pk, [light])
        device = db.telemetry.find_device("ipoh", "N-1")
        assert device is not None
        readings = [Reading(DAY1 + 72_000 + 600 * i, "energy", 10.0 * i) for i in range(7)]
        db.telemetry.write([Accepted(device, [r], r.time) for r in readings], [])
    finally:
        db.close()
    code, out, err = run("energy", "report", "ipoh", "--from", "2024-05-01", "--to", "2024-05-01")
    assert code == 0, err
    assert "2024-05-01" in out
    assert "no grid CO2 factor" in out
    code, out, err = run(
        "energy", "report", "ipoh", "--from", "2024-05-01", "--to", "2024-05-01",
        "--by", "light", "--csv",
    )  # fmt: skip
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [row["key"] for row in rows] == ["SL-1", "total"]
    assert float(rows[0]["actual_kwh"]) == pytest.approx(0.06)
    assert rows[0]["saved_money"] != ""
    assert rows[0]["saved_co2_kg"] == ""
    code, out, err = run(
        "energy", "deviations", "ipoh", "--from", "2024-05-01", "--to", "2024-05-01"
    )
    assert code == 0, err
    assert "SL-1" in out  # 60 Wh on a night planned at about 1 kWh


def test_a_bad_range_is_refused_with_its_reason(env: Path) -> None:
    add = ("city", "add", "Ipoh", "--country", "MY", "--lat", "4.6", "--lon", "101.1")
    assert run(*add)[0] == 0
    code, _, err = run("energy", "report", "ipoh", "--from", "2024-01-01", "--to", "2025-06-01")
    assert code == 1
    assert "at most 400 days" in err
    code, _, err = run("energy", "report", "ipoh", "--from", "May", "--to", "2025-06-01")
    assert code != 0
    assert "not a day" in err
