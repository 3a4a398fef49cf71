"""GET /networks and /networks/{slug}: network roles, member cities side by side, may_open."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from signalight.adapters.sql.database import SqlDatabase
from signalight.container import Container
from signalight.domain.cities import City
from signalight.domain.errors import InvalidInputError, NotFoundError
from signalight.domain.networks import NetworkRole
from signalight.domain.users import Role
from tests.conftest import bearer, make_city, unique
from tests.status_rig import build


def _user(container: Container, *roles: tuple[City, Role]) -> tuple[str, str]:
    name = unique("user")
    container.auth.add_user(name, None)
    for city, role in roles:
        container.auth.grant(name, city, role)
    return name, container.auth.issue_token(name)


def test_a_network_shows_its_cities_to_its_members_only(
    client: TestClient, container: Container, database: SqlDatabase, city: City
) -> None:
    other = make_city(database, name="Other Town")
    build(database, city)
    slug = unique("net")
    container.networks.add(slug, "WeGO pilot")
    assert container.networks.join(slug, city.slug)
    assert container.networks.join(slug, other.slug)
    assert not container.networks.join(slug, other.slug)
    member, token = _user(container, (city, Role.VIEWER))
    container.networks.grant(slug, member, NetworkRole.VIEWER)
    _, stranger = _user(container, (city, Role.ADMIN))

    listed = client.get("/api/v1/networks", headers=bearer(token))
    assert listed.json() == [{"slug": slug, "name": "WeGO pilot", "role": "viewer"}]
    assert client.get("/api/v1/networks", headers=bearer(stranger)).json() == []

    body = client.get(f"/api/v1/networks/{slug}", headers=bearer(token)).json()
    assert (body["slug"], body["role"]) == (slug, "viewer")
    by_city = {c["city"]: c for c in body["cities"]}
    assert set(by_city) == {city.slug, other.slug}
    assert by_city[city.slug]["may_open"] is True
    assert by_city[other.slug]["may_open"] is False
    assert by_city[other.slug] == {
        "city": other.slug,
        "name": "Other Town",
        "lights": 0,
        "working_share": 0.0,
        "mttr_hours": None,
        "open_faults": 0,
        "may_open": False,
    }
    mine = by_city[city.slug]
    assert (mine["lights"], mine["open_faults"]) == (6, 3)

    # No role in the network: the same 404 as a network that does not exist.
    hidden = client.get(f"/api/v1/networks/{slug}", headers=bearer(stranger))
    missing = client.get("/api/v1/networks/no-such-net", headers=bearer(stranger))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["error"] == missing.json()["error"] == "not_found"
    assert client.get(f"/api/v1/networks/{slug}").status_code == 401

    # A role taken away closes the network again.
    container.networks.grant(slug, member, None)
    assert client.get(f"/api/v1/networks/{slug}", headers=bearer(token)).status_code == 404


def test_network_names_and_slugs_are_checked(container: Container) -> None:
    with pytest.raises(InvalidInputError):
        container.networks.add("Not A Slug", "x")
    with pytest.raises(InvalidInputError):
        container.networks.add(unique("net"), "  ")
    with pytest.raises(NotFoundError):
        container.networks.join("no-such-net", "no-such-city")
