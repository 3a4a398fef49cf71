"""Authentication, roles and tenant isolation across the whole API surface."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from signalight.adapters.sql.tables import api_tokens
from signalight.container import Container
from signalight.domain.assets import AssetKind, AssetQuery, AssetRecord
from signalight.domain.cities import City
from signalight.domain.users import Role
from tests.conftest import bearer, make_city, make_token


@pytest.fixture
def two_cities(container: Container, city: City) -> tuple[City, City, int]:
    other = make_city(container.db, name="Other")
    container.db.assets.upsert_assets(
        other.pk,
        [AssetRecord(kind=AssetKind.STREETLIGHT, code="X-1", lat=5.38, lon=100.40, device="n-x")],
    )
    other_asset = container.db.assets.query_assets(other.pk, AssetQuery()).items[0]
    return city, other, other_asset.id


def test_health_needs_no_token(client: TestClient) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


@pytest.mark.parametrize("header", [None, "Bearer nonsense", "Bearer slt_unknown", "Basic abc"])
def test_missing_or_bad_token_is_401(client: TestClient, city: City, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = client.get(f"/api/v1/cities/{city.slug}/assets", headers=headers)
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "unauthenticated"
    assert body["message"]


def test_other_citys_token_cannot_reach_anything(
    client: TestClient, container: Container, two_cities: tuple[City, City, int]
) -> None:
    mine, other, other_asset = two_cities
    token = make_token(container, mine, Role.ADMIN)
    headers = bearer(token)
    base = f"/api/v1/cities/{other.slug}"
    attempts = [
        ("GET", base, None),
        ("PATCH", base, {"tariff_per_kwh": 0.1}),
        ("GET", f"{base}/assets", None),
        ("GET", f"{base}/assets?format=geojson", None),
        ("GET", f"{base}/assets/{other_asset}", None),
        ("PATCH", f"{base}/assets/{other_asset}", {"name": "mine now"}),
        ("DELETE", f"{base}/assets/{other_asset}", None),
        ("POST", f"{base}/assets", {"kind": "cabinet", "code": "C", "lat": 5.4, "lon": 100.4}),
        ("GET", f"{base}/devices", None),
        ("GET", f"{base}/devices/n-x", None),
        ("GET", f"{base}/export", None),
        ("GET", f"{base}/imports", None),
    ]
    for method, url, body in attempts:
        response = client.request(method, url, json=body, headers=headers)
        assert response.status_code in (403, 404), (method, url, response.status_code)
    # Through its own city's path, the other city's asset id is simply not there.
    response = client.get(f"/api/v1/cities/{mine.slug}/assets/{other_asset}", headers=headers)
    assert response.status_code == 404
    listed = client.get("/api/v1/cities", headers=headers).json()
    assert [c["slug"] for c in listed] == [mine.slug]
    # Nothing changed in the other city.
    assert container.db.assets.get_asset(other.pk, other_asset).name == ""
    assert container.db.cities.get_city(other.slug).tariff_per_kwh is None


@pytest.mark.parametrize("role", [Role.VIEWER, Role.CREW, Role.OPERATOR])
def test_only_admins_change_the_inventory(
    client: TestClient, container: Container, city: City, role: Role
) -> None:
    headers = bearer(make_token(container, city, role))
    base = f"/api/v1/cities/{city.slug}"
    assert client.get(f"{base}/assets", headers=headers).status_code == 200
    created = client.post(
        f"{base}/assets",
        json={"kind": "cabinet", "code": "C1", "lat": 5.38, "lon": 100.4},
        headers=headers,
    )
    assert created.status_code == 403
    assert "admin" in created.json()["message"]
    assert client.patch(base, json={"tariff_per_kwh": 0.2}, headers=headers).status_code == 403
    imported = client.post(f"{base}/imports", content=b"kind,code,lat,lon\n", headers=headers)
    assert imported.status_code == 403


def test_password_login_issues_a_working_token(
    client: TestClient, container: Container, city: City
) -> None:
    container.auth.add_user("operator-ana", "correct horse battery")
    container.auth.grant("operator-ana", city, Role.OPERATOR)
    wrong = client.post("/api/v1/auth/token", json={"username": "operator-ana", "password": "nope"})
    assert wrong.status_code == 401
    unknown = client.post("/api/v1/auth/token", json={"username": "ghost", "password": "x" * 12})
    assert unknown.status_code == 401
    assert wrong.json()["message"] == unknown.json()["message"]
    ok = client.post(
        "/api/v1/auth/token", json={"username": "operator-ana", "password": "correct horse battery"}
    )
    assert ok.status_code == 200
    me = client.get("/api/v1/me", headers=bearer(ok.json()["token"]))
    assert me.json() == {"username": "operator-ana", "roles": {city.slug: "operator"}}


def test_tokens_are_stored_as_hashes_only(container: Container, city: City) -> None:
    token = make_token(container, city)
    with container.db.engine.connect() as conn:
        stored = [row.token_hash for row in conn.execute(select(api_tokens.c.token_hash))]
    assert token not in stored
    assert all(token[4:] not in h for h in stored)


def test_revoked_role_takes_effect_at_once(
    client: TestClient, container: Container, city: City
) -> None:
    container.auth.add_user("temp-viewer", None)
    container.auth.grant("temp-viewer", city, Role.VIEWER)
    headers = bearer(container.auth.issue_token("temp-viewer"))
    assert client.get(f"/api/v1/cities/{city.slug}", headers=headers).status_code == 200
    container.auth.grant("temp-viewer", city, None)
    assert client.get(f"/api/v1/cities/{city.slug}", headers=headers).status_code == 403


def test_pages_carry_security_headers_and_docs_need_no_cdn(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "cdn" not in docs.text.lower()
    assert "/static/swagger/swagger-ui-bundle.js" in docs.text
    assert client.get("/static/swagger/swagger-ui-bundle.js").status_code == 200
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/cities/{city}/assets" in spec["paths"]
