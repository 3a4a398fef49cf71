"""The account API: admins manage their city's users, users their own tokens, all audited."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from signalight.container import Container
from signalight.domain.cities import City
from signalight.domain.users import Role
from tests.conftest import bearer, make_city, unique


def _member(container: Container, *grants: tuple[City, Role]) -> tuple[str, str]:
    """A new user with those roles, and a token of theirs."""
    name = unique("member")
    container.auth.add_user(name, None)
    for city, role in grants:
        container.auth.grant(name, city, role)
    return name, container.auth.issue_token(name, "test")


def _alive(client: TestClient, token: str) -> bool:
    status = client.get("/api/v1/me", headers=bearer(token)).status_code
    assert status in (200, 401)
    return status == 200


@pytest.fixture
def other(container: Container) -> City:
    return make_city(container.db, name="Other")


def test_a_user_lists_and_revokes_their_own_tokens(
    client: TestClient, container: Container, city: City
) -> None:
    name, first = _member(container, (city, Role.VIEWER))
    second = container.auth.issue_token(name, "script")
    listed = client.get("/api/v1/me/tokens", headers=bearer(first)).json()
    assert [(t["label"], t["state"]) for t in listed] == [("script", "active"), ("test", "active")]
    assert all(first not in str(t) and second not in str(t) for t in listed)

    response = client.delete(f"/api/v1/me/tokens/{listed[0]['id']}", headers=bearer(first))
    assert response.status_code == 204
    assert not _alive(client, second)
    assert _alive(client, first)
    # Someone else's token id is not theirs to revoke.
    _, stranger = _member(container, (city, Role.VIEWER))
    response = client.delete(f"/api/v1/me/tokens/{listed[1]['id']}", headers=bearer(stranger))
    assert response.status_code == 404
    assert _alive(client, first)


def test_a_city_admin_revokes_disables_enables_and_removes_a_user_of_the_city(
    client: TestClient, container: Container, city: City
) -> None:
    admin_name, admin = _member(container, (city, Role.ADMIN))
    name, token = _member(container, (city, Role.CREW))
    base = f"/api/v1/cities/{city.slug}/users"
    headers = bearer(admin)

    listed = {u["username"]: u for u in client.get(base, headers=headers).json()}
    assert listed[name] == {"username": name, "role": "crew", "disabled": False, "manageable": True}

    tokens = client.get(f"{base}/{name}/tokens", headers=headers).json()
    assert (
        client.delete(f"{base}/{name}/tokens/{tokens[0]['id']}", headers=headers).status_code == 204
    )
    assert not _alive(client, token)

    token = container.auth.issue_token(name)
    response = client.post(f"{base}/{name}/disable", headers=headers)
    assert response.status_code == 200
    assert response.json()["disabled"] is True
    assert not _alive(client, token)
    assert client.post(f"{base}/{name}/enable", headers=headers).json()["disabled"] is False
    assert _alive(client, token)

    assert client.delete(f"{base}/{name}", headers=headers).status_code == 204
    assert not _alive(client, token)
    assert client.get(f"{base}/{name}/tokens", headers=headers).status_code == 404

    audit = client.get(f"/api/v1/cities/{city.slug}/audit", headers=headers).json()
    mine = [(e["action"], e["actor"]) for e in audit if e["target"] == name]
    assert mine[:5] == [
        ("user.removed", admin_name),
        ("user.enabled", admin_name),
        ("user.disabled", admin_name),
        ("token.issued", "system"),
        ("token.revoked", admin_name),
    ]
    page = client.get(f"/api/v1/cities/{city.slug}/audit?limit=2", headers=headers).json()
    older = client.get(
        f"/api/v1/cities/{city.slug}/audit?limit=2&before={page[-1]['id']}", headers=headers
    ).json()
    assert [e["id"] for e in page + older] == [e["id"] for e in audit[:4]]


def test_no_one_escalates_or_reaches_past_their_city(
    client: TestClient, container: Container, city: City, other: City
) -> None:
    _, admin = _member(container, (city, Role.ADMIN))
    _, operator = _member(container, (city, Role.OPERATOR))
    straddler, straddler_token = _member(container, (city, Role.VIEWER), (other, Role.VIEWER))
    outsider, outsider_token = _member(container, (other, Role.CREW))
    base = f"/api/v1/cities/{city.slug}"
    # Below admin, nothing here is reachable.
    for method, path in [
        ("GET", f"{base}/users"),
        ("GET", f"{base}/audit"),
        ("POST", f"{base}/users/{straddler}/disable"),
    ]:
        assert client.request(method, path, headers=bearer(operator)).status_code == 403
    # Through another city's path: no role there.
    response = client.get(f"/api/v1/cities/{other.slug}/users", headers=bearer(admin))
    assert response.status_code == 403
    # A user of another city is not found through this one.
    for method, path in [
        ("GET", f"{base}/users/{outsider}/tokens"),
        ("POST", f"{base}/users/{outsider}/disable"),
        ("DELETE", f"{base}/users/{outsider}"),
    ]:
        assert client.request(method, path, headers=bearer(admin)).status_code == 404
    # An account that also holds a role elsewhere is that city's business too.
    listed = {u["username"]: u for u in client.get(f"{base}/users", headers=bearer(admin)).json()}
    assert listed[straddler]["manageable"] is False
    for method, path in [
        ("GET", f"{base}/users/{straddler}/tokens"),
        ("POST", f"{base}/users/{straddler}/disable"),
        ("DELETE", f"{base}/users/{straddler}"),
    ]:
        assert client.request(method, path, headers=bearer(admin)).status_code == 403
    assert _alive(client, straddler_token)
    assert _alive(client, outsider_token)


def test_an_admin_cannot_disable_or_remove_themselves(
    client: TestClient, container: Container, city: City
) -> None:
    name, admin = _member(container, (city, Role.ADMIN))
    base = f"/api/v1/cities/{city.slug}/users/{name}"
    assert client.post(f"{base}/disable", headers=bearer(admin)).status_code == 403
    assert client.delete(base, headers=bearer(admin)).status_code == 403
    assert _alive(client, admin)
    audit = client.get(f"/api/v1/cities/{city.slug}/audit", headers=bearer(admin))
    assert all(e["action"] != "user.disabled" for e in audit.json())
