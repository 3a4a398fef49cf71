"""GET /cities/{city}/signals/watchdog: the daily watchdog report over HTTP, tenants apart."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from signalight.adapters.sql.database import SqlDatabase
from signalight.container import Container
from signalight.domain.assets import AssetKind, AssetRecord
from signalight.domain.cities import City
from signalight.domain.users import Role
from tests.conftest import bearer, make_city, make_token

TERMINATIONS = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "atspm_samples"
    / "udot-atspm"
    / "7115TerminationData.csv"
)

pytestmark = pytest.mark.skipif(not TERMINATIONS.is_file(), reason="no ATSPM samples")


@pytest.fixture
def denver(database: SqlDatabase, container: Container) -> City:
    """A city with two intersections in service: 7115, whose log is imported, and a quiet one."""
    city = make_city(database, timezone="America/Denver", country="US", lat=40.76, lon=-111.89)
    database.assets.upsert_assets(
        city.pk,
        [
            AssetRecord(
                kind=AssetKind.INTERSECTION, code=code, lat=40.7, lon=-111.9, controller_id=ctl
            )
            for code, ctl in (("INT-7115", "7115"), ("INT-QUIET", ""))
        ],
    )
    assert container.signal_logs.take_path(city, TERMINATIONS).new == 1611
    return city


def test_a_viewer_reads_the_report_of_a_day(
    client: TestClient, container: Container, denver: City
) -> None:
    token = make_token(container, denver, Role.VIEWER)
    url = f"/api/v1/cities/{denver.slug}/signals/watchdog"
    response = client.get(url, params={"date": "2023-04-17"}, headers=bearer(token))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["city"], body["date"], body["timezone"]) == (
        denver.slug,
        "2023-04-17",
        "America/Denver",
    )
    assert body["day"] == {"start": "2023-04-17T06:00:00Z", "end": "2023-04-18T06:00:00Z"}
    assert body["night"] == {"start": "2023-04-17T07:00:00Z", "end": "2023-04-17T11:00:00Z"}
    assert body["peak"]["start"] == "2023-04-17T23:00:00Z"
    assert body["thresholds"] == {
        "minimum_records": 500,
        "low_hit_threshold": 50,
        "peak_hours": [17, 18],
        "night_hours": [1, 5],
        "percent_threshold": 0.9,
        "min_phase_terminations": 50,
        "maximum_pedestrian_events": 200,
    }
    busy, quiet = body["intersections"]
    # 7115's log is an evening: enough records, no detectors, no night to judge.
    assert (busy["intersection"], busy["records"], busy["findings"], busy["phases"]) == (
        "INT-7115",
        1611,
        [],
        [],
    )
    assert busy["detector_faults"] == []
    assert quiet["intersection"] == "INT-QUIET"
    assert quiet["findings"] == [
        {
            "check": "missingRecords",
            "phase": None,
            "detector": None,
            "figure": 0.0,
            "threshold": 500.0,
            "words": "no events in the day (more than 500 expected)",
        }
    ]
    assert body["totals"] == {
        "intersections": 2,
        "flagged": 1,
        "findings": {
            "missingRecords": 1,
            "lowDetectorHits": 0,
            "maxOut": 0,
            "forceOff": 0,
            "stuckPed": 0,
        },
        "detectors_faulted": 0,
        "still_faulted": 0,
    }


def test_the_default_day_is_yesterday_there_and_a_later_day_is_refused(
    client: TestClient, container: Container, denver: City
) -> None:
    token = make_token(container, denver, Role.VIEWER)
    url = f"/api/v1/cities/{denver.slug}/signals/watchdog"
    today = datetime.now(ZoneInfo(denver.timezone)).date()
    response = client.get(url, headers=bearer(token))
    assert response.status_code == 200, response.text
    assert date.fromisoformat(response.json()["date"]) in {today - timedelta(days=1), today}
    later = (today + timedelta(days=2)).isoformat()
    for bad in (later, "2023-13-01", "yesterday", "0", "20230417"):
        refused = client.get(url, params={"date": bad}, headers=bearer(token))
        assert refused.status_code == 422, bad
        assert refused.json()["error"] == "invalid"


def test_the_report_is_the_citys_own(
    client: TestClient, container: Container, database: SqlDatabase, denver: City
) -> None:
    other = make_city(database)
    stranger = make_token(container, other, Role.ADMIN)
    url = f"/api/v1/cities/{denver.slug}/signals/watchdog"
    assert client.get(url, headers=bearer(stranger)).status_code == 403
    assert client.get(url).status_code == 401
    missing = f"/api/v1/cities/{denver.slug}-gone/signals/watchdog"
    assert client.get(missing, headers=bearer(stranger)).status_code == 404
