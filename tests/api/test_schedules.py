"""The schedules API: roles, other cities, bad profiles with their reason, a light's day."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from signalight.adapters.clock import ManualClock
from signalight.adapters.sql.database import SqlDatabase
from signalight.api.app import create_app
from signalight.container import Container
from signalight.domain.assets import StreetClass
from signalight.domain.cities import City
from signalight.domain.users import Role
from signalight.settings import Settings
from tests.conftest import bearer, make_city
from tests.services.maintenance_rig import make_user
from tests.services.schedule_rig import EXAMPLE, FULL, NOW, add_lights


@pytest.fixture
def rig(settings: Settings, database: SqlDatabase) -> Iterator[tuple[Container, TestClient]]:
    container = Container(settings, database, clock=ManualClock(NOW))
    with TestClient(create_app(container)) as client:
        yield container, client


def _headers(container: Container, city: City, role: Role) -> dict[str, str]:
    user = make_user(container, city, role)
    return bearer(container.auth.issue_token(user.username))


def _base(city: City) -> str:
    return f"/api/v1/cities/{city.slug}/schedules"


def test_profiles_by_role_and_bad_ones_with_their_reason(
    rig: tuple[Container, TestClient], city: City
) -> None:
    container, client = rig
    admin = _headers(container, city, Role.ADMIN)
    operator = _headers(container, city, Role.OPERATOR)
    viewer = _headers(container, city, Role.VIEWER)
    base = _base(city)
    assert client.post(f"{base}/profiles", json=EXAMPLE, headers=operator).status_code == 403
    made = client.post(f"{base}/profiles", json=EXAMPLE, headers=admin)
    assert made.status_code == 201, made.text
    profile = made.json()
    assert profile["steps"] == EXAMPLE["steps"]
    assert profile["description"].startswith("sunset+5 min 100%, 23:00 60%")
    assert client.post(f"{base}/profiles", json=EXAMPLE, headers=admin).status_code == 409
    listed = client.get(f"{base}/profiles", headers=viewer).json()
    assert [p["id"] for p in listed] == [profile["id"]]
    wrong: dict[str, Any] = dict(EXAMPLE, name="wrong", steps=list(reversed(EXAMPLE["steps"])))
    refused = client.post(f"{base}/profiles", json=wrong, headers=admin)
    assert refused.status_code == 422
    assert "the first step switches the light on" in refused.json()["message"]
    bad_time = dict(
        EXAMPLE,
        name="t",
        steps=[*EXAMPLE["steps"][:1], {"anchor": "clock", "at": "24:30", "level": 0}],
    )
    refused = client.post(f"{base}/profiles", json=bad_time, headers=admin)
    assert refused.status_code == 422
    assert "steps[1].at" in refused.json()["message"]
    put = client.put(
        f"{base}/profiles/{profile['id']}", json=dict(FULL, name="full"), headers=admin
    )
    assert put.status_code == 200
    assert client.get(f"{base}/profiles/{profile['id']}", headers=viewer).json()["name"] == "full"
    assert client.delete(f"{base}/profiles/{profile['id']}", headers=admin).status_code == 204
    assert client.get(f"{base}/profiles/{profile['id']}", headers=viewer).status_code == 404


def test_another_citys_token_finds_nothing(
    rig: tuple[Container, TestClient], city: City, database: SqlDatabase
) -> None:
    container, client = rig
    admin = _headers(container, city, Role.ADMIN)
    pid = client.post(f"{_base(city)}/profiles", json=EXAMPLE, headers=admin).json()["id"]
    [(_, code)] = add_lights(database, city)
    other = make_city(database)
    stranger = _headers(container, other, Role.ADMIN)
    assert client.get(f"{_base(city)}/profiles", headers=stranger).status_code in (403, 404)
    # Through its own city, another city's profile and light are not found.
    assert client.get(f"{_base(other)}/profiles/{pid}", headers=stranger).status_code == 404
    day = client.get(f"/api/v1/cities/{other.slug}/assets/{code}/schedule", headers=stranger)
    assert day.status_code == 404
    taken = client.post(
        f"{_base(other)}/assignments", json={"scope": "city", "profile": pid}, headers=stranger
    )
    assert taken.status_code == 422


def test_entries_overrides_and_a_lights_day(
    rig: tuple[Container, TestClient], city: City, database: SqlDatabase
) -> None:
    container, client = rig
    admin = _headers(container, city, Role.ADMIN)
    operator = _headers(container, city, Role.OPERATOR)
    crew = _headers(container, city, Role.CREW)
    viewer = _headers(container, city, Role.VIEWER)
    base = _base(city)
    [(_, code)] = add_lights(database, city, street_class=StreetClass.LOCAL)
    pid = client.post(f"{base}/profiles", json=EXAMPLE, headers=admin).json()["id"]
    full = client.post(f"{base}/profiles", json=FULL, headers=admin).json()["id"]
    body = {"scope": "street_class", "key": "local", "profile": pid, "weekdays": [0, 1, 2, 3, 4]}
    assert client.post(f"{base}/assignments", json=body, headers=operator).status_code == 403
    made = client.post(f"{base}/assignments", json=body, headers=admin)
    assert made.status_code == 201, made.text
    bad = dict(body, key="residential")
    refused = client.post(f"{base}/assignments", json=bad, headers=admin)
    assert refused.status_code == 422
    assert "no street class 'residential'" in refused.json()["message"]
    entry = {"name": "Thaipusam", "first": "2026-03-04", "last": "2026-03-04", "profile": full}
    assert client.post(f"{base}/calendar", json=entry, headers=admin).status_code == 201
    assert client.delete(f"{base}/profiles/{pid}", headers=admin).status_code == 409
    override = {"scope": "asset", "key": code, "mode": "level", "level": 20,
                "duration_min": 120, "reason": "filming"}  # fmt: skip
    assert client.post(f"{base}/overrides", json=override, headers=crew).status_code == 403
    made = client.post(f"{base}/overrides", json=override, headers=operator)
    assert made.status_code == 201, made.text
    assert made.json()["active"] is True
    day = client.get(f"/api/v1/cities/{city.slug}/assets/{code}/schedule?date=2026-03-04",
                     headers=viewer).json()  # fmt: skip
    assert [n["source"] for n in day["nights"]] == [
        "assignment (street_class local)",
        "calendar 'Thaipusam' (city)",
    ]
    assert day["segments"][0]["level"] == 60.0
    assert day["segments"][0]["start"] == "2026-03-04T00:00:00+08:00"
    assert {"start": "2026-03-04T08:00:00+08:00", "end": "2026-03-04T10:00:00+08:00",
            "level": 20.0} in day["segments"]  # fmt: skip
    assert day["sun"]["sunset"].startswith("2026-03-04T19:3")  # Penang: about 19:30
    today = client.get(f"/api/v1/cities/{city.slug}/assets/{code}/schedule", headers=viewer)
    assert today.json()["date"] == "2026-03-04"  # 08:00 in Penang
    oid = made.json()["id"]
    ended = client.post(f"{base}/overrides/{oid}/end", headers=operator)
    assert ended.status_code == 200
    assert ended.json()["active"] is False
    assert client.post(f"{base}/overrides/{oid}/end", headers=operator).status_code == 409
    assert client.get(f"{base}/overrides", headers=viewer).json() == []
    missing = client.get(f"/api/v1/cities/{city.slug}/assets/NOPE/schedule", headers=viewer)
    assert missing.status_code == 404
