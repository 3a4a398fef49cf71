"""The work-order API: a repair from alarm to confirmed fix, roles, conflicts, photos, settings."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from signalight.adapters.sql.database import SqlDatabase
from signalight.api.app import create_app
from signalight.container import Container
from signalight.domain.alarms import Severity
from signalight.domain.cities import City
from signalight.domain.users import Role
from signalight.services.photos import MAX_PHOTO_BYTES
from signalight.settings import Settings
from tests.conftest import bearer, make_city
from tests.services.maintenance_rig import (
    START,
    clear_alarm,
    container_at,
    jpeg_with_exif,
    make_asset,
    make_user,
    raise_alarm,
)


@pytest.fixture
def rig(settings: Settings, database: SqlDatabase) -> Iterator[tuple[Container, TestClient]]:
    container, _ = container_at(settings, database)
    with TestClient(create_app(container)) as client:
        yield container, client


def _headers(container: Container, city: City, role: Role) -> tuple[str, dict[str, str]]:
    user = make_user(container, city, role)
    return user.username, bearer(container.auth.issue_token(user.username))


def _base(city: City) -> str:
    return f"/api/v1/cities/{city.slug}/work-orders"


def test_a_repair_from_alarm_to_confirmed_fix(
    rig: tuple[Container, TestClient], city: City
) -> None:
    container, client = rig
    light = make_asset(container, city)
    alarm = raise_alarm(container, city, light, severity=Severity.MAJOR)
    _, operator = _headers(container, city, Role.OPERATOR)
    crew_name, crew = _headers(container, city, Role.CREW)

    made = client.post(_base(city), json={"alarm": alarm.pk}, headers=operator)
    assert made.status_code == 201, made.text
    order: dict[str, Any] = made.json()
    assert order["state"] == "open"
    assert order["priority"] == "major"
    assert order["asset"] == light.code
    assert order["alarm_ids"] == [alarm.pk]
    assert order["due_at"] == "2026-01-06T08:00:00Z"  # 24 h for major
    assert order["confirmation"] is None
    assert order["past_due"] is False
    url = f"{_base(city)}/{order['id']}"

    assigned = client.post(f"{url}/assign", json={"crew": crew_name}, headers=operator)
    assert assigned.json()["state"] == "assigned"
    mine = client.get(_base(city), params={"mine": "true"}, headers=crew).json()
    assert [o["id"] for o in mine["items"]] == [order["id"]]
    assert client.post(f"{url}/start", headers=crew).json()["state"] == "in_progress"
    noted = client.post(f"{url}/notes", json={"note": "lamp blackened"}, headers=crew)
    assert noted.status_code == 201
    assert noted.json()["author"] == crew_name
    clear_alarm(container, alarm)

    finished = client.post(
        f"{url}/finish",
        json={"parts": [{"part": "lamp", "quantity": 1}], "note": "replaced"},
        headers=crew,
    )
    assert finished.status_code == 200, finished.text
    body = finished.json()
    assert body["state"] == "done"
    assert body["confirmation"] == "confirmed"
    assert body["parts"] == [{"part": "lamp", "quantity": 1}]
    alarm_now = client.get(f"/api/v1/cities/{city.slug}/alarms/{alarm.pk}", headers=crew).json()
    assert alarm_now["state"] == "closed"
    assert alarm_now["closed_by"] == f"work-order {order['id']}"
    detail = client.get(url, headers=crew).json()
    assert [n["text"] for n in detail["notes"]] == ["lamp blackened", "replaced"]
    assert container.inventory.asset(city, light.id).lamp_changed_on == START.date()

    incident = client.get(
        f"/api/v1/cities/{city.slug}/incidents/{order['incident_id']}", headers=crew
    ).json()
    assert incident["state"] == "closed"
    assert [o["id"] for o in incident["work_orders"]] == [order["id"]]
    open_ones = client.get(f"/api/v1/cities/{city.slug}/incidents", headers=crew).json()
    assert order["incident_id"] not in [i["id"] for i in open_ones["items"]]


def test_roles_conflicts_and_other_cities(
    rig: tuple[Container, TestClient], city: City, database: SqlDatabase
) -> None:
    container, client = rig
    light = make_asset(container, city)
    _, operator = _headers(container, city, Role.OPERATOR)
    crew_name, crew = _headers(container, city, Role.CREW)
    other_name, other_crew = _headers(container, city, Role.CREW)
    _, viewer = _headers(container, city, Role.VIEWER)
    hand = {"asset": light.id, "title": "leaning pole", "priority": "minor", "crew": crew_name}
    order = client.post(_base(city), json=hand, headers=operator).json()
    url = f"{_base(city)}/{order['id']}"

    assert client.post(_base(city), json=hand, headers=crew).status_code == 403
    assert client.post(f"{url}/start", headers=other_crew).status_code == 403
    assert client.get(url, headers=other_crew).status_code == 403
    assert client.post(f"{url}/start", headers=viewer).status_code == 403
    assert client.post(f"{url}/cancel", headers=crew).status_code == 403
    assert client.get(url, headers=viewer).status_code == 200
    listed = client.get(_base(city), headers=other_crew).json()
    assert listed["items"] == []
    assert (
        client.get(_base(city), params={"crew": crew_name}, headers=other_crew).status_code == 403
    )

    finish_early = client.post(f"{url}/finish", headers=crew)
    assert finish_early.status_code == 409
    assert "start it first" in finish_early.json()["message"]
    assert (
        client.post(f"{url}/assign", json={"crew": "nobody-at-all"}, headers=operator).status_code
        == 422
    )
    assert (
        client.post(f"{url}/assign", json={"crew": other_name}, headers=operator).status_code == 200
    )
    assert (
        client.post(f"{url}/cancel", json={"note": "duplicate"}, headers=operator).json()["state"]
        == "cancelled"
    )
    assert client.post(f"{url}/cancel", headers=operator).status_code == 409

    both = {"alarm": 1, "asset": light.id, "title": "x", "priority": "minor"}
    assert client.post(_base(city), json=both, headers=operator).status_code == 422
    assert client.post(_base(city), json={"asset": light.id}, headers=operator).status_code == 422

    other = make_city(database)
    container.auth.grant(crew_name, other, Role.OPERATOR)
    assert client.get(f"{_base(other)}/{order['id']}", headers=crew).status_code == 404
    there = client.post(
        _base(other), json={"asset": light.id, "title": "x", "priority": "minor"}, headers=crew
    )
    assert there.status_code == 404


def test_photos_are_stored_without_exif_and_bad_ones_refused(
    rig: tuple[Container, TestClient], city: City
) -> None:
    container, client = rig
    light = make_asset(container, city)
    crew_name, crew = _headers(container, city, Role.CREW)
    _, operator = _headers(container, city, Role.OPERATOR)
    body = {"asset": light.id, "title": "photo", "priority": "warning", "crew": crew_name}
    order = client.post(_base(city), json=body, headers=operator).json()
    url = f"{_base(city)}/{order['id']}/photos"

    sent = client.post(
        url, content=jpeg_with_exif(), headers={**crew, "Content-Type": "image/jpeg"}
    )
    assert sent.status_code == 201, sent.text
    photo = sent.json()
    assert (photo["media_type"], photo["width"], photo["height"]) == ("image/jpeg", 64, 48)
    got = client.get(f"{url}/{photo['id']}", headers=crew)
    assert got.status_code == 200
    assert got.headers["content-type"] == "image/jpeg"
    assert b"SpyPhone" not in got.content
    with Image.open(io.BytesIO(got.content)) as image:
        assert dict(image.getexif()) == {}
    detail = client.get(f"{_base(city)}/{order['id']}", headers=crew).json()
    assert [p["id"] for p in detail["photos"]] == [photo["id"]]

    not_image = client.post(url, content=b"%PDF-1.7", headers={**crew, "Content-Type": "image/png"})
    assert not_image.status_code == 422
    assert "not a JPEG, PNG or WebP image" in not_image.json()["message"]
    wrong_type = client.post(
        url, content=b"{}", headers={**crew, "Content-Type": "application/json"}
    )
    assert wrong_type.status_code == 415
    huge = client.post(
        url, content=bytes(MAX_PHOTO_BYTES + 1), headers={**crew, "Content-Type": "image/jpeg"}
    )
    assert huge.status_code == 413
    assert client.get(f"{url}/{photo['id'] + 999}", headers=crew).status_code == 404
    # Whoever may not work the order is refused before the body is read: a
    # viewer's or another crew's 9 MB is 403, not 413.
    for role in (Role.VIEWER, Role.CREW):
        _, other = _headers(container, city, role)
        refused = client.post(
            url, content=bytes(MAX_PHOTO_BYTES + 1), headers={**other, "Content-Type": "image/jpeg"}
        )
        assert refused.status_code == 403, refused.text


def test_maintenance_settings_are_read_by_viewers_and_set_by_admins(
    rig: tuple[Container, TestClient], city: City
) -> None:
    container, client = rig
    _, viewer = _headers(container, city, Role.VIEWER)
    _, admin = _headers(container, city, Role.ADMIN)
    _, operator = _headers(container, city, Role.OPERATOR)
    url = f"/api/v1/cities/{city.slug}/maintenance-settings"
    read = client.get(url, headers=viewer).json()
    assert read == {
        "service_hours": {"critical": 4.0, "major": 24.0, "minor": 72.0, "warning": 168.0},
        "overrides": {},
    }
    change = {"service_hours": {"critical": 2}}
    assert client.put(url, json=change, headers=operator).status_code == 403
    put = client.put(url, json=change, headers=admin)
    assert put.status_code == 200
    assert put.json()["service_hours"]["critical"] == 2.0
    assert put.json()["overrides"] == {"critical": 2.0}
    assert client.put(url, json={"service_hours": {"urgent": 1}}, headers=admin).status_code == 422
    assert client.put(url, json={"service_hours": {"minor": 0}}, headers=admin).status_code == 422
    light = make_asset(container, city)
    made = client.post(
        _base(city), json={"asset": light.id, "title": "x", "priority": "critical"}, headers=admin
    ).json()
    assert made["due_at"] == "2026-01-05T10:00:00Z"


def test_the_crew_list_names_who_may_be_assigned_to_operators_only(
    rig: tuple[Container, TestClient], city: City
) -> None:
    container, client = rig
    names = {role: _headers(container, city, role) for role in Role}
    off_name, _ = _headers(container, city, Role.CREW)
    container.accounts.set_disabled(off_name, "test", disabled=True)
    elsewhere = make_city(container.db)
    _headers(container, elsewhere, Role.CREW)
    url = f"/api/v1/cities/{city.slug}/crew"

    listed = client.get(url, headers=names[Role.OPERATOR][1])
    assert listed.status_code == 200, listed.text
    assert listed.json() == sorted(
        (
            {"username": names[role][0], "role": role.value}
            for role in (Role.CREW, Role.OPERATOR, Role.ADMIN)
        ),
        key=lambda member: member["username"],
    )
    for role in (Role.VIEWER, Role.CREW):
        assert client.get(url, headers=names[role][1]).status_code == 403
