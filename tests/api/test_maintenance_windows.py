"""The maintenance window API: roles, a crew's own windows, other cities, bad windows, ending."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from signalight.adapters.sql.database import SqlDatabase
from signalight.api.app import create_app
from signalight.container import Container
from signalight.domain.assets import AssetKind
from signalight.domain.cities import City
from signalight.domain.users import Role
from signalight.settings import Settings
from tests.conftest import bearer, make_city
from tests.services.maintenance_rig import container_at, make_asset, make_user


@pytest.fixture
def rig(settings: Settings, database: SqlDatabase) -> Iterator[tuple[Container, TestClient]]:
    container, _ = container_at(settings, database)  # the clock stands at 2026-01-05T08:00Z
    with TestClient(create_app(container)) as client:
        yield container, client


def _headers(container: Container, city: City, role: Role) -> tuple[str, dict[str, str]]:
    user = make_user(container, city, role)
    return user.username, bearer(container.auth.issue_token(user.username))


def _base(city: City) -> str:
    return f"/api/v1/cities/{city.slug}/maintenance-windows"


def _body(asset: str, who: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "asset": asset,
        "starts_at": "2026-01-05T07:30:00Z",
        "ends_at": "2026-01-05T17:30:00+08:00",
        "who": who,
        "why": "replace the red lamp of phase 2",
    }
    body.update(overrides)
    return body


def test_an_operator_opens_a_window_and_each_role_sees_what_it_may(
    rig: tuple[Container, TestClient], city: City
) -> None:
    container, client = rig
    junction = make_asset(container, city, AssetKind.INTERSECTION)
    _, operator = _headers(container, city, Role.OPERATOR)
    ali, ali_h = _headers(container, city, Role.CREW)
    bea, _ = _headers(container, city, Role.CREW)
    _, viewer = _headers(container, city, Role.VIEWER)

    made = client.post(_base(city), json=_body(junction.code, ali), headers=operator)
    assert made.status_code == 201, made.text
    window = made.json()
    assert window["asset"] == junction.code
    assert window["asset_id"] == junction.id
    assert window["ends_at"] == "2026-01-05T09:30:00Z"  # stored in UTC
    assert window["who"] == ali
    assert window["active"] is True
    assert window["ended_at"] is None
    other = client.post(_base(city), json=_body(junction.code, bea), headers=operator).json()

    def listed(headers: dict[str, str], **params: str) -> list[int]:
        answer = client.get(_base(city), params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        return [w["id"] for w in answer.json()["items"]]

    assert listed(viewer) == [other["id"], window["id"]]
    assert listed(ali_h) == [window["id"]]  # a crew member sees its own only
    assert listed(viewer, who=bea) == [other["id"]]
    assert listed(viewer, asset=junction.code) == [other["id"], window["id"]]
    assert listed(viewer, active_at="2026-01-05T09:30:00Z") == []
    assert listed(viewer, active_at="2026-01-05T07:30:00Z") == [other["id"], window["id"]]
    assert client.get(_base(city), params={"who": bea}, headers=ali_h).status_code == 403
    assert client.get(f"{_base(city)}/{other['id']}", headers=ali_h).status_code == 403
    assert client.get(f"{_base(city)}/{window['id']}", headers=ali_h).json()["who"] == ali

    for headers in (viewer, ali_h):  # neither may open one
        refused = client.post(_base(city), json=_body(junction.code, ali), headers=headers)
        assert refused.status_code == 403
    assert client.delete(f"{_base(city)}/{other['id']}", headers=ali_h).status_code == 403
    assert client.delete(f"{_base(city)}/{window['id']}", headers=viewer).status_code == 403

    ended = client.delete(f"{_base(city)}/{window['id']}", headers=ali_h)  # its own
    assert ended.status_code == 200, ended.text
    assert ended.json()["ended_at"] == "2026-01-05T08:00:00Z"
    assert ended.json()["active"] is False
    again = client.delete(f"{_base(city)}/{window['id']}", headers=operator)
    assert again.status_code == 409
    assert again.json()["error"] == "conflict"
    assert client.delete(f"{_base(city)}/{other['id']}", headers=operator).status_code == 200


def test_another_citys_window_is_not_found(rig: tuple[Container, TestClient], city: City) -> None:
    container, client = rig
    junction = make_asset(container, city, AssetKind.INTERSECTION)
    _, operator = _headers(container, city, Role.OPERATOR)
    ali, _ = _headers(container, city, Role.CREW)
    window = client.post(_base(city), json=_body(junction.code, ali), headers=operator).json()
    elsewhere = make_city(container.db)
    _, their_admin = _headers(container, elsewhere, Role.ADMIN)
    url = f"{_base(elsewhere)}/{window['id']}"
    assert client.get(url, headers=their_admin).status_code == 404
    assert client.delete(url, headers=their_admin).status_code == 404
    assert client.get(_base(elsewhere), headers=their_admin).json()["items"] == []
    # Their admin names our intersection: not theirs, so not one they can cover.
    refused = client.post(_base(elsewhere), json=_body(junction.code, ali), headers=their_admin)
    assert refused.status_code == 422
    # And our city's windows are not theirs to read.
    assert client.get(_base(city), headers=their_admin).status_code == 403


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ends_at": "2026-01-05T07:30:00Z"}, "ends_at: must be after starts_at"),
        ({"ends_at": "2026-01-12T07:30:01Z"}, "7 days at most"),
        ({"starts_at": "2026-01-04T07:30:00Z", "ends_at": "2026-01-05T07:59:59Z"}, "past"),
        ({"starts_at": "2026-01-05T07:30:00"}, "time zone"),
        ({"starts_at": "1767600000"}, "ISO 8601"),
        ({"why": " "}, "why"),
        ({"why": "x" * 501}, "why"),
        ({"who": "nobody-here"}, "who: no user"),
        ({"asset": "streetlight"}, "no intersection or cabinet"),
        ({"asset": ""}, "asset"),
        ({"colour": "red"}, "colour"),
        ({"work_order": 0}, "work_order"),
        ({"work_order": 123_456_789}, "work_order: no work order"),
    ],
)
def test_a_window_that_cannot_be_is_a_422_naming_the_field(
    rig: tuple[Container, TestClient], city: City, change: dict[str, Any], field: str
) -> None:
    container, client = rig
    codes = {
        "junction": make_asset(container, city, AssetKind.INTERSECTION).code,
        "streetlight": make_asset(container, city).code,
    }
    _, operator = _headers(container, city, Role.OPERATOR)
    ali, _ = _headers(container, city, Role.CREW)
    body = {**_body(codes["junction"], ali), **change}
    body["asset"] = codes.get(body["asset"], body["asset"])
    answer = client.post(_base(city), json=body, headers=operator)
    assert answer.status_code == 422, answer.text
    assert field in answer.text


def test_a_viewer_named_as_who_and_a_bad_filter_are_refused(
    rig: tuple[Container, TestClient], city: City
) -> None:
    container, client = rig
    junction = make_asset(container, city, AssetKind.INTERSECTION)
    _, operator = _headers(container, city, Role.OPERATOR)
    viewer_name, viewer = _headers(container, city, Role.VIEWER)
    named = client.post(_base(city), json=_body(junction.code, viewer_name), headers=operator)
    assert named.status_code == 422
    assert "has no crew role" in named.json()["message"]
    unknown = client.get(_base(city), params={"asset": "NO-SUCH"}, headers=viewer)
    assert unknown.status_code == 422
    assert client.get(f"{_base(city)}/0", headers=viewer).status_code == 422
    assert client.get(f"{_base(city)}/999999999", headers=viewer).status_code == 404
