"""HTTP ingest: a device posts SenML with its own credentials; stored, refused, counted."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Iterator

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete

from signalight.adapters.mosquitto import hash_password, verify_device_secret
from signalight.adapters.sql.tables import devices
from signalight.container import Container
from signalight.domain.assets import AssetKind, AssetRecord
from signalight.domain.cities import City
from signalight.domain.users import Role
from signalight.services.credentials import CredentialService
from signalight.services.telemetry import DeviceAuthenticator
from tests.conftest import bearer, make_city, make_token

URL = "/api/v1/ingest"
SENML = {"Content-Type": "application/senml+json"}


def add_devices(container: Container, city: City, *uids: str) -> dict[str, str]:
    """Streetlights with these device ids, and each device's new secret."""
    records = [
        AssetRecord(kind=AssetKind.STREETLIGHT, code=f"SL-{uid}", lat=5.38, lon=100.40, device=uid)
        for uid in uids
    ]
    container.db.assets.upsert_assets(city.pk, records)
    issued = credentials(container).issue(city).issued
    return {c.device: c.password for c in issued if c.device in uids}


def credentials(container: Container) -> CredentialService:
    return CredentialService(container.db.assets, container.db.credentials, hash_password)


def basic(username: str, secret: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}", **SENML}


def pack(at: float | None = None, **values: object) -> bytes:
    """A streetlight's pack at one time: energy in kWh, the rest as given."""
    records: list[dict[str, object]] = [{"bt": at or time.time() - 60}]
    for name, value in values.items():
        if name == "energy_kwh":
            records.append({"n": "energy", "u": "kWh", "v": value})
        elif isinstance(value, bool):
            records.append({"n": name, "vb": value})
        else:
            records.append({"n": name, "v": value})
    return orjson.dumps(records)


def counter(client: TestClient, name: str, label: str) -> float:
    text = client.get("/metrics").text
    labels = f"{{{label}}}" if label else ""
    found = re.search(rf"^{name}_total{re.escape(labels)} (\S+)$", text, re.MULTILINE)
    assert found, text
    return float(found.group(1))


@pytest.fixture
def node(container: Container, city: City) -> tuple[str, str]:
    """A streetlight node with credentials: its username and secret."""
    secrets = add_devices(container, city, "n-1", "n-2")
    return f"{city.slug}/n-1", secrets["n-1"]


def test_a_posted_pack_is_stored_in_canonical_units_and_counted(
    client: TestClient, container: Container, city: City, node: tuple[str, str]
) -> None:
    at = float(int(time.time()) - 120)
    body = pack(at, on=True, power=61.5, energy_kwh=1.25)
    response = client.post(URL, content=body, headers=basic(*node))
    assert response.status_code == 200, response.text
    assert response.json() == {"readings": 3, "stored": 3}
    # Resent (the answer was lost): idempotent, nothing new.
    again = client.post(URL, content=body, headers=basic(*node))
    assert again.json() == {"readings": 3, "stored": 0}

    viewer = bearer(make_token(container, city, Role.VIEWER))
    state = client.get(f"/api/v1/cities/{city.slug}/devices/n-1/state", headers=viewer).json()
    assert state["uid"] == "n-1"
    assert state["kind"] == "streetlight_node"
    assert state["last_seen"] is not None
    assert state["values"]["energy"]["value"] == 1250.0  # kWh -> Wh
    assert state["values"]["on"]["value"] is True
    readings = client.get(f"/api/v1/cities/{city.slug}/devices/n-1/readings", headers=viewer).json()
    assert [(r["name"], r["value"]) for r in readings["items"]] == [
        ("energy", 1250.0),
        ("on", True),
        ("power", 61.5),
    ]
    assert {r["time"] for r in readings["items"]} == {
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))
    }
    assert counter(client, "signalight_ingest_messages", 'transport="http"') == 2
    assert counter(client, "signalight_ingest_readings_stored", "") == 3


def test_json_and_a_missing_content_type_are_accepted_other_types_are_not(
    client: TestClient, node: tuple[str, str]
) -> None:
    headers = basic(*node)
    for media_type in ("application/json", "application/senml+json; charset=utf-8", None):
        if media_type is None:
            headers.pop("Content-Type")
        else:
            headers["Content-Type"] = media_type
        response = client.post(URL, content=pack(power=10.0), headers=headers)
        assert response.status_code == 200, (media_type, response.text)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    response = client.post(URL, content=pack(power=10.0), headers=headers)
    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer slt_whatever",
        "Basic !!!not-base64",
        "Basic " + base64.b64encode(b"no-colon").decode(),
    ],
)
def test_no_or_malformed_credentials_are_401(
    client: TestClient, node: tuple[str, str], header: str | None
) -> None:
    headers = dict(SENML)
    if header:
        headers["Authorization"] = header
    response = client.post(URL, content=pack(power=1.0), headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic ")
    assert response.json()["error"] == "unauthenticated"


def test_wrong_credentials_are_401_and_do_not_say_whether_the_device_exists(
    client: TestClient, container: Container, city: City, node: tuple[str, str]
) -> None:
    username, secret = node
    other = make_city(container.db)
    container.db.assets.upsert_assets(
        other.pk,
        [AssetRecord(kind=AssetKind.STREETLIGHT, code="L", lat=5.38, lon=100.40, device="bare")],
    )
    attempts = [
        (username, secret[:-1] + ("x" if secret[-1] != "x" else "y")),  # wrong secret
        (username, ""),
        (f"{city.slug}/no-such-device", secret),
        ("no-such-city/n-1", secret),
        ("n-1", secret),  # no city
        (f"{city.slug}/n-1/extra", secret),
        (f"{other.slug}/bare", secret),  # a device without credentials
        (f"{city.slug}/n-2", secret),  # another device's username with this one's secret
    ]
    bodies = set()
    for name, password in attempts:
        response = client.post(URL, content=pack(power=1.0), headers=basic(name, password))
        assert response.status_code == 401, name
        assert response.headers["WWW-Authenticate"] == (
            'Basic realm="signalight-ingest", charset="UTF-8"'
        )
        bodies.add(response.content)
    assert len(bodies) == 1  # one answer for every wrong credential
    assert counter(client, "signalight_ingest_messages", 'transport="http"') == 0
    assert container.db.telemetry.dead_letter_counts(city.pk) == {}


def test_a_device_cannot_report_for_another(
    client: TestClient, container: Container, city: City, node: tuple[str, str]
) -> None:
    body = orjson.dumps([{"bn": "n-2/", "bt": time.time() - 10, "n": "power", "v": 5.0}])
    response = client.post(URL, content=body, headers=basic(*node))
    assert response.status_code == 422
    refused = response.json()
    assert refused["error"] == "invalid"
    assert refused["reason"] == "foreign_base_name"
    assert "n-2" in refused["message"]
    n2 = container.db.telemetry.find_device(city.slug, "n-2")
    assert n2 is not None
    assert container.db.telemetry.device_state(city.pk, n2.id) is None
    operator = bearer(make_token(container, city, Role.OPERATOR))
    letters = client.get(f"/api/v1/cities/{city.slug}/deadletters", headers=operator).json()
    [letter] = letters["items"]
    assert letter["device"] == "n-1"  # filed under the device that sent it
    assert letter["reason"] == "foreign_base_name"
    assert letter["topic"] == "http:/api/v1/ingest"


def test_a_refused_pack_is_422_with_its_reason_and_kept_as_a_dead_letter(
    client: TestClient, container: Container, city: City, node: tuple[str, str]
) -> None:
    cases = [
        (b"{not json", "malformed"),
        (b"", "malformed"),
        (pack(power=99_999.0), "out_of_range"),
        (orjson.dumps([{"n": "colour", "vs": "red"}]), "unknown_name"),
        (orjson.dumps([{"n": "power", "u": "V", "v": 3}]), "wrong_unit"),
        (pack(time.time() - 30 * 86_400, power=1.0), "bad_time"),
    ]
    for body, reason in cases:
        response = client.post(URL, content=body, headers=basic(*node))
        assert response.status_code == 422, body
        assert response.json()["reason"] == reason
        assert response.json()["message"]
    operator = bearer(make_token(container, city, Role.OPERATOR))
    letters = client.get(f"/api/v1/cities/{city.slug}/deadletters", headers=operator).json()
    assert [item["reason"] for item in letters["items"]] == [r for _, r in reversed(cases)]
    assert letters["counts"] == {
        "malformed": 2,
        "out_of_range": 1,
        "unknown_name": 1,
        "wrong_unit": 1,
        "bad_time": 1,
    }
    assert letters["items"][-1]["payload"] == "{not json"
    assert counter(client, "signalight_ingest_rejected", 'reason="malformed"') == 2
    assert counter(client, "signalight_ingest_messages", 'transport="http"') == len(cases)


def test_an_oversized_pack_is_413_and_kept_as_too_large(
    client: TestClient, container: Container, city: City, node: tuple[str, str]
) -> None:
    limit = container.ingest.limits.max_bytes
    big = b"[" + b" " * (limit + 10) + b"]"
    response = client.post(URL, content=big, headers=basic(*node))  # declares its length
    assert response.status_code == 413
    assert response.json()["reason"] == "too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked, stopped at the limit
        for _ in range(40):
            yield b" " * 1024

    response = client.post(URL, content=chunks(), headers=basic(*node))
    assert response.status_code == 413
    operator = bearer(make_token(container, city, Role.OPERATOR))
    letters = client.get(f"/api/v1/cities/{city.slug}/deadletters", headers=operator).json()
    streamed, declared = letters["items"]
    assert declared["reason"] == streamed["reason"] == "too_large"
    assert declared["size"] == len(big)
    assert declared["payload"] == ""
    assert declared["payload_truncated"] is True
    assert limit < streamed["size"] <= 40 * 1024
    assert streamed["payload_truncated"] is True
    assert counter(client, "signalight_ingest_rejected", 'reason="too_large"') == 2
    assert counter(client, "signalight_ingest_messages", 'transport="http"') == 2


def test_a_rotated_secret_works_at_once_and_the_old_one_stops_within_the_ttl(
    client: TestClient, container: Container, city: City, node: tuple[str, str]
) -> None:
    now = [1000.0]
    client.app.state.device_authenticator = DeviceAuthenticator(  # type: ignore[attr-defined]
        container.ingest.directory.get,
        container.db.credentials,
        verify_device_secret,
        decoy_hash=hash_password("decoy"),
        clock=lambda: now[0],
    )
    username, old = node
    assert client.post(URL, content=pack(power=1.0), headers=basic(username, old)).is_success
    [issued] = credentials(container).issue(city, "n-1", rotate=True).issued
    now[0] += DeviceAuthenticator.RETRY
    new = client.post(URL, content=pack(power=2.0), headers=basic(username, issued.password))
    assert new.is_success
    stale = client.post(URL, content=pack(power=3.0), headers=basic(username, old))
    assert stale.status_code == 401  # the hashes were read again for the new secret
    credentials(container).revoke(city, "n-1")
    cached = client.post(URL, content=pack(power=4.0), headers=basic(username, issued.password))
    assert cached.is_success  # the kept hashes are at most TTL seconds old
    now[0] += DeviceAuthenticator.TTL
    revoked = client.post(URL, content=pack(power=5.0), headers=basic(username, issued.password))
    assert revoked.status_code == 401


def test_metrics_need_no_token_and_show_prometheus_text(client: TestClient) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'signalight_ingest_messages_total{transport="http"} 0.0' in response.text


def test_a_pack_the_database_refuses_is_a_dead_letter_and_the_next_device_is_stored(
    client: TestClient, container: Container, city: City
) -> None:
    secrets = add_devices(container, city, "n-gone", "n-ok")
    gone, ok = (f"{city.slug}/n-gone", secrets["n-gone"]), (f"{city.slug}/n-ok", secrets["n-ok"])
    assert client.post(URL, content=pack(power=10.0), headers=basic(*gone)).status_code == 200
    # The device leaves the database while ingest still knows it.
    with container.db.engine.begin() as conn:
        conn.execute(delete(devices).where(devices.c.city_id == city.pk, devices.c.uid == "n-gone"))
    refused = client.post(URL, content=pack(power=11.0), headers=basic(*gone))
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"] == "not_stored"
    assert refused.json()["reason"] == "not_stored"
    [letter] = container.db.telemetry.dead_letters(city.pk, 5)
    assert letter.device_uid == "n-gone"
    assert b'"v":11.0' in letter.payload
    assert client.post(URL, content=pack(power=12.0), headers=basic(*ok)).status_code == 200
