"""`signalight signals watchdog`: the daily report printed, as a table and as the API's JSON."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.cli.cli_rig import run

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "atspm_samples"
HIRES = SAMPLES / "shawnstrasser-atspm" / "hires_test_data.parquet"
pytestmark = pytest.mark.skipif(not HIRES.is_file(), reason="no parquet sample")


def test_the_report_of_imported_logs(env: Path) -> None:
    code, _, err = run(
        "city", "add", "Salt Lake", "--slug", "slc", "--country", "US",
        "--lat", "40.76", "--lon", "-111.89", "--timezone", "America/Denver",
    )  # fmt: skip
    assert code == 0, err
    inventory = env / "junctions.csv"
    inventory.write_text(
        "kind,code,lat,lon,controller_id\n"
        "intersection,INT-227,40.70,-111.90,227\n"
        "intersection,INT-454,40.71,-111.90,454\n"
    )
    assert run("import", "slc", str(inventory))[0] == 0
    code, out, err = run("signals", "import", "slc", str(HIRES))
    assert code == 0, err
    code, out, err = run("signals", "watchdog", "slc", "--date", "2024-05-13")
    assert code == 0, err
    assert "lowDetectorHits" in out
    assert "detector 63: 0 hits 17:00-18:00, fewer than 50" in out
    assert "vehicle 4" in out
    assert "slc 2024-05-13 (America/Denver): 2 intersections, 2 with findings;" in out
    assert "detectors faulted 7, still faulted 4" in out

    code, out, err = run("signals", "watchdog", "slc", "--date", "2024-05-13", "--json")
    assert code == 0, err
    body = orjson.loads(out)
    assert [d["intersection"] for d in body["intersections"]] == ["INT-227", "INT-454"]
    faults = body["intersections"][0]["detector_faults"]
    assert [(f["channel"], f["faults"], f["restored"]) for f in faults] == [
        (63, {"shortedLoop": 8}, False),
        (64, {"shortedLoop": 8}, False),
    ]

    code, _, err = run("signals", "watchdog", "slc", "--date", "13/05/2024")
    assert (code, err.strip()) == (1, "error: --date: '13/05/2024' is not YYYY-MM-DD")
