"""The notification API: admins manage subscriptions, operators read the delivery log."""

from __future__ import annotations

from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from signalight.container import Container
from signalight.domain.alarms import EventKind
from signalight.domain.cities import City
from signalight.domain.users import Role
from tests.conftest import bearer, make_city, make_token
from tests.receivers import webhook_receiver
from tests.services.notify_rig import OWNER, T0, make_alarm


def base(city: City) -> str:
    return f"/api/v1/cities/{city.slug}/subscriptions"


def hook(url: str = "https://hooks.example.org/signalight", **fields: object) -> dict[str, object]:
    return {"channel": "webhook", "target": url, **fields}


def test_an_admin_creates_a_webhook_and_sees_its_secret_once(
    client: TestClient, container: Container, city: City
) -> None:
    headers = bearer(make_token(container, city, Role.ADMIN))
    created = client.post(
        base(city), json=hook(min_severity="major", level=2, label="night shift"), headers=headers
    )
    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert len(body["secret"]) > 40
    assert body | {"secret": None} == {
        "id": body["id"],
        "channel": "webhook",
        "target": "https://hooks.example.org/signalight",
        "min_severity": "major",
        "level": 2,
        "label": "night shift",
        "enabled": True,
        "created_at": body["created_at"],
        "last_sent_at": None,
        "secret": None,
    }
    listed = client.get(base(city), headers=headers).json()
    assert [s["id"] for s in listed] == [body["id"]]
    assert "secret" not in listed[0]
    one = client.get(f"{base(city)}/{body['id']}", headers=headers).json()
    assert "secret" not in one
    assert body["secret"] not in client.get(base(city), headers=headers).text


def test_change_rotate_and_delete(client: TestClient, container: Container, city: City) -> None:
    headers = bearer(make_token(container, city, Role.ADMIN))
    created = client.post(base(city), json=hook(), headers=headers).json()
    url = f"{base(city)}/{created['id']}"

    changed = client.patch(
        url, json={"enabled": False, "min_severity": "critical"}, headers=headers
    )
    assert changed.status_code == 200
    assert (changed.json()["enabled"], changed.json()["min_severity"]) == (False, "critical")
    assert client.patch(url, json={"channel": "email"}, headers=headers).status_code == 422
    assert client.patch(url, json={"target": "ftp://x"}, headers=headers).status_code == 422

    rotated = client.post(f"{url}/secret", headers=headers)
    assert rotated.status_code == 200
    assert rotated.json()["secret"].startswith("whsec_")
    assert rotated.json()["secret"] != created["secret"]
    stored = container.db.notifications.get_subscription(city.pk, created["id"])
    assert stored.secret == rotated.json()["secret"]

    assert client.delete(url, headers=headers).status_code == 204
    assert client.get(url, headers=headers).status_code == 404
    assert client.delete(url, headers=headers).status_code == 404


@pytest.mark.parametrize(
    ("body", "fault"),
    [
        (hook("not a url"), "webhook needs an http"),
        (hook("https://user:pw@hooks.example.org/x"), "no user or password"),
        (hook(level=6), "level"),
        (hook(min_severity="urgent"), "min_severity"),
        ({"channel": "sms", "target": "+60123"}, "channel"),
        (hook(secret="mine"), "secret"),
    ],
)
def test_bad_subscriptions_are_refused(
    client: TestClient, container: Container, city: City, body: dict[str, object], fault: str
) -> None:
    headers = bearer(make_token(container, city, Role.ADMIN))
    response = client.post(base(city), json=body, headers=headers)
    assert response.status_code == 422
    assert fault in response.text


def test_email_needs_an_smtp_server(client: TestClient, container: Container, city: City) -> None:
    headers = bearer(make_token(container, city, Role.ADMIN))
    body = {"channel": "email", "target": "ops@city.example"}
    refused = client.post(base(city), json=body, headers=headers)
    assert refused.status_code == 422
    assert "SIGNALIGHT_SMTP_HOST" in refused.json()["message"]
    assert client.post(base(city), json={**body, "target": "a@b"}, headers=headers).status_code == (
        422
    )
    container.settings.smtp_host = "smtp.city.example"
    created = client.post(base(city), json=body, headers=headers)
    assert created.status_code == 201
    assert created.json()["secret"] is None


@pytest.mark.parametrize("role", [Role.VIEWER, Role.CREW, Role.OPERATOR])
def test_only_admins_touch_subscriptions(
    client: TestClient, container: Container, city: City, role: Role
) -> None:
    admin = bearer(make_token(container, city, Role.ADMIN))
    created = client.post(base(city), json=hook(), headers=admin).json()
    headers = bearer(make_token(container, city, role))
    url = f"{base(city)}/{created['id']}"
    assert client.get(base(city), headers=headers).status_code == 403
    assert client.post(base(city), json=hook(), headers=headers).status_code == 403
    assert client.get(url, headers=headers).status_code == 403
    assert client.patch(url, json={"enabled": False}, headers=headers).status_code == 403
    assert client.post(f"{url}/secret", headers=headers).status_code == 403
    assert client.delete(url, headers=headers).status_code == 403


def test_another_citys_subscriptions_are_out_of_reach(
    client: TestClient, container: Container, city: City
) -> None:
    other = make_city(container.db, name="Other")
    theirs = client.post(
        base(other), json=hook(), headers=bearer(make_token(container, other, Role.ADMIN))
    ).json()
    mine = bearer(make_token(container, city, Role.ADMIN))
    assert client.get(base(other), headers=mine).status_code == 403
    assert client.get(f"{base(other)}/{theirs['id']}", headers=mine).status_code == 403
    # Its id under my own city is simply not there.
    assert client.get(f"{base(city)}/{theirs['id']}", headers=mine).status_code == 404
    assert client.patch(
        f"{base(city)}/{theirs['id']}", json={"enabled": False}, headers=mine
    ).status_code == (404)
    assert client.delete(f"{base(city)}/{theirs['id']}", headers=mine).status_code == 404
    assert client.get(f"/api/v1/cities/{other.slug}/deliveries", headers=mine).status_code == 403


def test_operators_read_the_delivery_log(
    client: TestClient, container: Container, city: City
) -> None:
    admin = bearer(make_token(container, city, Role.ADMIN))
    operator = bearer(make_token(container, city, Role.OPERATOR))
    viewer = bearer(make_token(container, city, Role.VIEWER))
    with webhook_receiver() as receiver:
        created = client.post(base(city), json=hook(receiver.url("/ops")), headers=admin).json()
        receiver.secrets["/ops"] = created["secret"]
        receiver.fail_next = 1
        alarms = [make_alarm(city) for _ in range(3)]
        container.db.alarms.record([(a, EventKind.RAISED, T0) for a in alarms])
        container.settings.notify_webhook_private = True  # the receiver is on 127.0.0.1
        container.settings.notify_webhook_concurrency = 1
        notifier = container.notifier
        notifier.owner = OWNER
        notifier.run_once(T0)
        notifier.run_once(T0 + 30)
        try:
            url = f"/api/v1/cities/{city.slug}/deliveries"
            assert client.get(url, headers=viewer).status_code == 403
            page = client.get(url, params={"limit": 2}, headers=operator)
            assert page.status_code == 200
            first = page.json()
            rest = client.get(
                url, params={"limit": 2, "cursor": first["next_cursor"]}, headers=operator
            ).json()
            sent = client.get(url, params={"status": "sent"}, headers=operator).json()
            one = client.get(url, params={"alarm": alarms[0].pk}, headers=operator).json()
        finally:
            container.db.notifications.update_subscription(
                replace(
                    container.db.notifications.get_subscription(city.pk, created["id"]),
                    enabled=False,
                )
            )

    items = first["items"] + rest["items"]
    assert rest["next_cursor"] is None
    assert [d["alarm_id"] for d in items] == [a.pk for a in reversed(alarms)]
    assert {d["status"] for d in sent["items"]} == {"sent"}
    assert len(sent["items"]) == 3
    [retried] = [d for d in items if d["attempts"] == 2]
    assert retried["response_code"] == 204
    assert retried["delivered_at"] == "2027-01-15T08:00:30Z"
    assert retried["payload"]["alarm"]["id"] == retried["alarm_id"]
    assert [d["alarm_id"] for d in one["items"]] == [alarms[0].pk]
    assert items[0]["event_kind"] == "raised"
    assert items[0]["channel"] == "webhook"
