"""Bad input is answered with 4xx and our error body, never a 500; the schema says so."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from signalight.api.params import MAX_ID
from signalight.container import Container
from signalight.domain.assets import AssetKind, AssetQuery, AssetRecord
from signalight.domain.cities import City
from tests.conftest import bearer, make_token

TOO_BIG = MAX_ID + 1  # 2**63: no SQL BIGINT, and the drivers cannot bind it


@pytest.fixture
def admin(container: Container, city: City) -> dict[str, str]:
    container.db.assets.upsert_assets(
        city.pk,
        [
            AssetRecord(kind=AssetKind.CABINET, code="CB-1", lat=city.lat, lon=city.lon),
            AssetRecord(
                kind=AssetKind.STREETLIGHT,
                code="SL-1",
                lat=city.lat,
                lon=city.lon,
                name="Jalan 1 #1",
                cabinet="CB-1",
                device="n-1",
            ),
        ],
    )
    return bearer(make_token(container, city))


def asset_id(container: Container, city: City, code: str) -> int:
    return container.db.assets.query_assets(city.pk, AssetQuery(code=code)).items[0].id


def assert_error(response: Any, status: int, *fragments: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) <= {"error", "message", "details"}
    text = body["message"] + " ".join(body.get("details", []))
    for fragment in fragments:
        assert fragment in text, text


@pytest.mark.parametrize(
    "path",
    [
        "assets/{big}",
        "alarms/{big}",
        "alarms/{big}/events",
        "subscriptions/{big}",
        "assets?cabinet={big}",
        "alarms?before={big}",
        "alarms?parent={big}",
        "alarms/stream?after={big}",
        "deadletters?before={big}",
        "deliveries?alarm={big}",
        "deliveries?subscription={big}",
    ],
)
def test_ids_past_a_bigint_are_invalid_not_a_crash(
    client: TestClient, city: City, admin: dict[str, str], path: str
) -> None:
    url = f"/api/v1/cities/{city.slug}/{path.format(big=TOO_BIG)}"
    assert_error(client.get(url, headers=admin), 422, "less than or equal to")


def test_deleting_an_asset_id_past_a_bigint_is_invalid_not_a_crash(
    client: TestClient, city: City, admin: dict[str, str]
) -> None:
    url = f"/api/v1/cities/{city.slug}/assets/{TOO_BIG}"
    assert_error(client.delete(url, headers=admin), 422, "less than or equal to")


def test_a_cursor_past_a_bigint_is_one_this_api_never_gave(
    client: TestClient, city: City, admin: dict[str, str]
) -> None:
    cursor = base64.urlsafe_b64encode(f"after:{TOO_BIG}".encode()).decode().rstrip("=")
    for what in ("assets", "devices", "deliveries"):
        response = client.get(f"/api/v1/cities/{city.slug}/{what}?cursor={cursor}", headers=admin)
        assert_error(response, 422, "cursor")


def test_a_last_event_id_past_a_bigint_is_refused(
    client: TestClient, city: City, admin: dict[str, str]
) -> None:
    url = f"/api/v1/cities/{city.slug}/alarms/stream"
    response = client.get(url, headers={**admin, "Last-Event-ID": str(TOO_BIG)})
    assert_error(response, 422, "Last-Event-ID")


@pytest.mark.parametrize("field", ["lat", "lon", "status"])
def test_null_is_refused_for_an_asset_field_that_is_always_set(
    client: TestClient, container: Container, city: City, admin: dict[str, str], field: str
) -> None:
    url = f"/api/v1/cities/{city.slug}/assets/{asset_id(container, city, 'SL-1')}"
    response = client.patch(url, json={field: None}, headers=admin)
    assert_error(response, 422, f"{field} cannot be null")


def test_null_clears_an_asset_field_that_may_be_unset(
    client: TestClient, container: Container, city: City, admin: dict[str, str]
) -> None:
    url = f"/api/v1/cities/{city.slug}/assets/{asset_id(container, city, 'SL-1')}"
    response = client.patch(
        url, json={"name": None, "street": None, "cabinet": None, "device": "n-1"}, headers=admin
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["name"], body["street"], body["cabinet"], body["device"]) == (
        None,
        None,
        None,
        "n-1",
    )
    stored = container.db.assets.get_asset(city.pk, body["id"])
    assert (stored.name, stored.cabinet) == ("", None)


def test_null_device_cannot_unbind_but_may_restate_none(
    client: TestClient, container: Container, city: City, admin: dict[str, str]
) -> None:
    light = f"/api/v1/cities/{city.slug}/assets/{asset_id(container, city, 'SL-1')}"
    assert_error(client.patch(light, json={"device": None}, headers=admin), 422, "unbind 'n-1'")
    cabinet = f"/api/v1/cities/{city.slug}/assets/{asset_id(container, city, 'CB-1')}"
    assert client.patch(cabinet, json={"device": None}, headers=admin).status_code == 200


@pytest.mark.parametrize("field", ["name", "timezone", "lat", "lon", "currency"])
def test_null_is_refused_for_a_city_setting_it_always_has(
    client: TestClient, city: City, admin: dict[str, str], field: str
) -> None:
    response = client.patch(f"/api/v1/cities/{city.slug}", json={field: None}, headers=admin)
    assert_error(response, 422, f"{field} cannot be null")


def test_null_clears_a_citys_tariff(client: TestClient, city: City, admin: dict[str, str]) -> None:
    url = f"/api/v1/cities/{city.slug}"
    assert client.patch(url, json={"tariff_per_kwh": 0.1}, headers=admin).json()["tariff_per_kwh"]
    assert client.patch(url, json={"tariff_per_kwh": None}, headers=admin).json() | {
        "tariff_per_kwh": None
    } == client.get(url, headers=admin).json() | {"assets": None}


@pytest.mark.parametrize("uid", ["n\n2", "n\r2", "n\t2", "n:2"])
def test_a_device_id_no_mqtt_username_can_hold_is_refused_on_every_path(
    client: TestClient, container: Container, city: City, admin: dict[str, str], uid: str
) -> None:
    base = f"/api/v1/cities/{city.slug}"
    light = {"kind": "streetlight", "code": "SL-2", "lat": city.lat, "lon": city.lon}
    created = client.post(f"{base}/assets", json={**light, "device": uid}, headers=admin)
    assert_error(created, 422, "device id cannot contain")
    patched = client.patch(
        f"{base}/assets/{asset_id(container, city, 'SL-1')}", json={"device": uid}, headers=admin
    )
    assert_error(patched, 422, "device id cannot contain")
    cell = '"' + uid.replace('"', '""') + '"'
    csv = f"kind,code,lat,lon,device\nstreetlight,SL-2,{city.lat},{city.lon},{cell}\n"
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [city.lon, city.lat]},
        "properties": {"kind": "streetlight", "code": "SL-2", "device": uid},
    }
    geojson = json.dumps({"type": "FeatureCollection", "features": [feature]})
    for fmt, body in (("csv", csv), ("geojson", geojson)):
        imported = client.post(f"{base}/imports?format={fmt}", content=body, headers=admin)
        assert imported.status_code == 422, imported.text
        assert imported.json()["accepted"] is False
        assert any("device id cannot contain" in e for e in imported.json()["errors"])
    assert container.db.assets.query_assets(city.pk, AssetQuery(code="SL-2")).items == []


def test_unset_fields_are_null_in_json_as_in_geojson(
    client: TestClient, city: City, admin: dict[str, str]
) -> None:
    url = f"/api/v1/cities/{city.slug}/assets?kind=cabinet"
    item = client.get(url, headers=admin).json()["items"][0]
    feature = client.get(f"{url}&format=geojson", headers=admin).json()["features"][0]
    unset = {"name", "street", "group", "controller_id", "controller_vendor", "phases"}
    assert {name: item[name] for name in unset} == dict.fromkeys(unset)
    for name, value in feature["properties"].items():
        assert item[name] == value, name


@pytest.mark.parametrize("until", ["0.5", "1700000000", "nan"])
def test_a_time_is_iso_8601_not_a_bare_number(
    client: TestClient, city: City, admin: dict[str, str], until: str
) -> None:
    url = f"/api/v1/cities/{city.slug}/alarms?until={until}"
    assert_error(client.get(url, headers=admin), 422, "ISO 8601")
    readings = f"/api/v1/cities/{city.slug}/devices/n-1/readings?from={until}"
    assert_error(client.get(readings, headers=admin), 422, "ISO 8601")


def test_a_time_needs_its_zone(client: TestClient, city: City, admin: dict[str, str]) -> None:
    url = f"/api/v1/cities/{city.slug}/alarms"
    assert_error(client.get(f"{url}?since=2024-05-01T00:00:00", headers=admin), 422, "time zone")
    assert client.get(f"{url}?since=2024-05-01T00:00:00Z", headers=admin).status_code == 200


def test_a_body_that_is_not_utf8_is_invalid(
    client: TestClient, container: Container, city: City, admin: dict[str, str]
) -> None:
    url = f"/api/v1/cities/{city.slug}/assets/{asset_id(container, city, 'SL-1')}"
    response = client.patch(
        url, content=b'{"name": "\xff"}', headers={**admin, "Content-Type": "application/json"}
    )
    assert_error(response, 422, "UTF-8")


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("", "GET, PATCH"),
        ("/assets/1", "DELETE, GET, PATCH"),
        ("/detection-settings", "GET, PUT"),
        ("/subscriptions", "GET, POST"),
    ],
)
def test_a_wrong_method_is_told_every_method_the_path_takes(
    client: TestClient, city: City, admin: dict[str, str], path: str, allowed: str
) -> None:
    response = client.request("OPTIONS", f"/api/v1/cities/{city.slug}{path}", headers=admin)
    assert_error(response, 405)
    assert response.headers["Allow"] == allowed


def test_an_import_refused_before_reading_says_so_in_the_documented_shape(
    client: TestClient, city: City, admin: dict[str, str]
) -> None:
    response = client.post(f"/api/v1/cities/{city.slug}/imports", headers=admin)
    assert_error(response, 422, "empty")
    documented = client.get("/api/v1/openapi.json").json()["paths"][
        "/api/v1/cities/{city}/imports"
    ]["post"]["responses"]["422"]["content"]["application/json"]["schema"]["anyOf"]
    assert {"$ref": "#/components/schemas/ErrorOut"} in documented
    assert {"$ref": "#/components/schemas/ImportOut"} in documented
