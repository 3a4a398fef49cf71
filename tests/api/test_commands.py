"""The command API: batches asked for by role, their progress, commands, answers and strays."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi.testclient import TestClient

from signalight.container import Container
from signalight.domain.cities import City
from signalight.domain.commands import AckStatus, encode_ack
from signalight.domain.topics import Channel, device_topic
from signalight.domain.users import Role
from tests.conftest import bearer, make_city, make_token
from tests.services.command_rig import add_lights


def _post(client: TestClient, city: City, token: str, body: Mapping[str, Any]) -> dict[str, Any]:
    response = client.post(f"/api/v1/cities/{city.slug}/commands", json=body, headers=bearer(token))
    return {"status": response.status_code, **response.json()}


def test_an_operator_asks_and_follows_a_batch(
    client: TestClient, container: Container, city: City
) -> None:
    add_lights(container.db, city, 6)
    token = make_token(container, city, Role.OPERATOR)
    made = _post(
        client, city, token,
        {"kind": "dim", "args": {"level": 30}, "target": {"group": "east"}, "why": "test"},
    )  # fmt: skip
    assert made["status"] == 201, made
    assert (made["total"], made["target"], made["done"]) == (3, "group east", False)
    assert made["progress"] == {
        "queued": 3, "sent": 0, "acknowledged": 0, "failed": 0, "expired": 0,
    }  # fmt: skip
    base = f"/api/v1/cities/{city.slug}"
    viewer = bearer(make_token(container, city, Role.VIEWER))
    page = client.get(f"{base}/commands", params={"batch": made["id"], "limit": 2}, headers=viewer)
    assert page.status_code == 200
    body = page.json()
    assert len(body["items"]) == 2
    assert body["next_before"] is not None
    rest = client.get(
        f"{base}/commands",
        params={"batch": made["id"], "before": body["next_before"], "after": body["next_after"]},
        headers=viewer,
    ).json()
    ids = {c["id"] for c in body["items"]} | {c["id"] for c in rest["items"]}
    assert len(ids) == 3
    assert rest["next_before"] is None
    one = body["items"][0]
    # The device answers (as the link would hand it over); another device's answer is a stray.
    container.commands.handle_answers(
        [
            (device_topic(city.slug, "N-0", Channel.ACK), encode_ack(one["id"], AckStatus.OK)),
            (device_topic(city.slug, one["device"], Channel.ACK), encode_ack(one["id"], "ok")),  # type: ignore[arg-type]
        ]
    )
    got = client.get(f"{base}/commands/{one['id']}", headers=viewer).json()
    assert got["state"] == "acknowledged"
    assert got["stray_acks"] == 1
    assert [(s["reason"], s["device"]) for s in got["strays"]] == [("wrong_device", "N-0")]
    batch = client.get(f"{base}/command-batches/{made['id']}", headers=viewer).json()
    assert batch["progress"]["acknowledged"] == 1
    strays = client.get(f"{base}/command-strays", headers=viewer).json()
    assert [s["reason"] for s in strays] == ["wrong_device"]


def test_roles_and_tenants(client: TestClient, container: Container, city: City) -> None:
    add_lights(container.db, city, 2)
    switch_one = {"kind": "switch", "args": {"on": False}, "target": {"assets": ["SL-1"]}}
    crew = make_token(container, city, Role.CREW)
    assert _post(client, city, crew, switch_one)["status"] == 201
    dim_one = {"kind": "dim", "args": {"level": 5}, "target": {"assets": ["SL-1"]}}
    assert _post(client, city, crew, dim_one)["status"] == 403
    viewer = make_token(container, city, Role.VIEWER)
    assert _post(client, city, viewer, switch_one)["status"] == 403
    other = make_city(container.db)
    stranger = make_token(container, other, Role.ADMIN)
    assert _post(client, city, stranger, switch_one)["status"] == 403
    made = _post(client, city, make_token(container, city), switch_one)
    command = client.get(f"/api/v1/cities/{city.slug}/commands", headers=bearer(crew)).json()[
        "items"
    ][0]
    # Another city's admin cannot read it through their own city either.
    assert (
        client.get(
            f"/api/v1/cities/{other.slug}/commands/{command['id']}", headers=bearer(stranger)
        ).status_code
        == 404
    )
    assert (
        client.get(
            f"/api/v1/cities/{other.slug}/command-batches/{made['id']}", headers=bearer(stranger)
        ).status_code
        == 404
    )


def test_bad_requests_are_422_with_the_reason(
    client: TestClient, container: Container, city: City
) -> None:
    add_lights(container.db, city, 1)
    token = make_token(container, city)
    for body, words in [
        ({"kind": "dim", "args": {"level": 500}, "target": {"city": True}}, "args.level"),
        ({"kind": "dim", "args": {"level": 5}, "target": {}}, "exactly one"),
        ({"kind": "dim", "args": {"level": 5}, "target": {"city": True, "group": "x"}}, "exactly"),
        ({"kind": "read", "target": {"assets": ["NOPE"]}}, "no asset 'NOPE'"),
        ({"kind": "read", "target": {"cabinet": "C-9"}}, "feeds no asset"),
        ({"kind": "blink", "target": {"city": True}}, "kind"),
        (
            {"kind": "read", "target": {"city": True}, "expires_at": "2001-01-01T00:00:00Z"},
            "expires_at",
        ),
    ]:
        made = _post(client, city, token, body)
        assert made["status"] == 422, (body, made)
        assert words in str(made), (body, made)
