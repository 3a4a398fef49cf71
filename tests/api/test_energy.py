"""The energy API: any role of the city reads it, no one else; JSON or CSV; ranges bounded."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

from signalight.container import Container
from signalight.domain.assets import AssetKind, AssetRecord
from signalight.domain.cities import City
from signalight.domain.readings import Reading
from signalight.domain.telemetry import Accepted
from signalight.domain.users import Role
from tests.conftest import bearer, make_city, make_token

DAY1 = 1_714_492_800.0  # 2024-05-01 00:00 in Kuala Lumpur
HOUR = 3600.0


def url(city: City, tail: str = "") -> str:
    return f"/api/v1/cities/{city.slug}/energy{tail}"


@pytest.fixture
def metered(container: Container) -> City:
    """A city with a tariff and one light that burned 12 Wh every 10 minutes for 3 hours."""
    db = container.db
    city = make_city(db, tariff_per_kwh=0.5, co2_kg_per_kwh=0.7)
    db.assets.upsert_assets(
        city.pk,
        [
            AssetRecord(
                kind=AssetKind.STREETLIGHT,
                code="SL-1",
                lat=5.38,
                lon=100.4,
                device="N-1",
                rated_watts=100.0,
            )
        ],
    )
    device = db.telemetry.find_device(city.slug, "N-1")
    assert device is not None
    readings = [Reading(DAY1 + 20 * HOUR + 600 * i, "energy", 500.0 + 12 * i) for i in range(19)]
    db.telemetry.write([Accepted(device, [r], r.time) for r in readings], [])
    return city


@pytest.mark.parametrize("role", list(Role))
def test_every_role_of_the_city_reads_the_report(
    client: TestClient, container: Container, metered: City, role: Role
) -> None:
    token = make_token(container, metered, role)
    got = client.get(
        url(metered), params={"from": "2024-05-01", "to": "2024-05-02"}, headers=bearer(token)
    )
    assert got.status_code == 200, got.text
    body = got.json()
    assert (body["by"], body["period"], body["from"], body["to"]) == (
        "city",
        "day",
        "2024-05-01",
        "2024-05-02",
    )
    assert body["currency"] == "MYR"
    first = body["rows"][0]
    assert first["period"] == "2024-05-01"
    assert first["actual_kwh"] == pytest.approx(0.216)
    assert first["saved_kwh"] == pytest.approx(first["baseline_kwh"] - 0.216)
    assert first["saved_money"] == pytest.approx(first["saved_kwh"] * 0.5, abs=1e-3)
    assert first["saved_co2_kg"] == pytest.approx(first["saved_kwh"] * 0.7, abs=1e-3)
    assert body["total"]["actual_kwh"] == pytest.approx(0.216)


def test_another_citys_user_and_no_user_are_refused(
    client: TestClient, container: Container, metered: City
) -> None:
    stranger = make_token(container, make_city(container.db), Role.ADMIN)
    params = {"from": "2024-05-01", "to": "2024-05-01"}
    assert client.get(url(metered), params=params, headers=bearer(stranger)).status_code in {
        403,
        404,
    }
    assert client.get(url(metered), params=params).status_code == 401
    assert client.get(
        url(metered, "/deviations"), params=params, headers=bearer(stranger)
    ).status_code in {403, 404}


def test_csv_by_format_or_accept(client: TestClient, container: Container, metered: City) -> None:
    token = make_token(container, metered, Role.VIEWER)
    params = {"from": "2024-05-01", "to": "2024-05-01", "by": "light"}
    for got in (
        client.get(url(metered), params={**params, "format": "csv"}, headers=bearer(token)),
        client.get(url(metered), params=params, headers={**bearer(token), "Accept": "text/csv"}),
    ):
        assert got.status_code == 200
        assert got.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(got.text)))
        assert [row["key"] for row in rows] == ["SL-1", "total"]
        assert float(rows[0]["actual_kwh"]) == pytest.approx(0.216)
        assert rows[0]["currency"] == "MYR"


def test_a_city_without_a_tariff_says_so(client: TestClient, container: Container) -> None:
    city = make_city(container.db)
    token = make_token(container, city, Role.VIEWER)
    body = client.get(
        url(city), params={"from": "2024-05-01", "to": "2024-05-01"}, headers=bearer(token)
    ).json()
    assert body["tariff_per_kwh"] is None
    assert body["total"]["saved_money"] is None
    assert any("no tariff" in note for note in body["notes"])


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"from": "2024-05-02", "to": "2024-05-01"}, "not be after"),
        ({"from": "2023-01-01", "to": "2024-05-01"}, "at most 400 days"),
        ({"from": "2024-03-01", "to": "2024-05-01", "period": "hour"}, "at most 31 days"),
    ],
)
def test_bad_ranges_are_refused_with_a_reason(
    client: TestClient, container: Container, metered: City, params: dict[str, str], words: str
) -> None:
    token = make_token(container, metered, Role.VIEWER)
    got = client.get(url(metered), params=params, headers=bearer(token))
    assert got.status_code == 422
    assert words in got.text


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2024-05-01"},
        {"from": "May", "to": "2024-05-01"},
        {"from": "2024-05-01", "to": "2024-05-01", "by": "street"},
    ],
)
def test_missing_or_malformed_parameters_are_422(
    client: TestClient, container: Container, metered: City, params: dict[str, str]
) -> None:
    token = make_token(container, metered, Role.VIEWER)
    assert client.get(url(metered), params=params, headers=bearer(token)).status_code == 422


def test_deviations_list_a_light_burning_far_from_its_plan(
    client: TestClient, container: Container, metered: City
) -> None:
    token = make_token(container, metered, Role.CREW)
    got = client.get(
        url(metered, "/deviations"),
        params={"from": "2024-05-01", "to": "2024-05-01"},
        headers=bearer(token),
    )
    assert got.status_code == 200, got.text
    body = got.json()
    # 0.216 kWh against a plan of about 1 kWh: dark most of the night.
    assert [(item["code"], item["day"]) for item in body["items"]] == [("SL-1", "2024-05-01")]
    assert body["items"][0]["planned_kwh"] > 0.8
    too_long = client.get(
        url(metered, "/deviations"),
        params={"from": "2024-05-01", "to": "2024-06-15"},
        headers=bearer(token),
    )
    assert too_long.status_code == 422
