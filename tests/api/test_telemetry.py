"""The telemetry read API: live state, readings paged by time, hourly rollups, dead letters."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import orjson
import pytest
from fastapi.testclient import TestClient

from signalight.container import Container
from signalight.domain.assets import AssetKind, AssetRecord
from signalight.domain.cities import City
from signalight.domain.readings import RejectReason
from signalight.domain.telemetry import DeadLetter, DeviceRef
from signalight.domain.users import Role
from tests.conftest import bearer, make_city, make_token

HOUR = 3600.0


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture
def fleet(container: Container, city: City) -> dict[str, DeviceRef]:
    """A streetlight node, a cabinet meter and a signal monitor, none reported yet."""
    container.db.assets.upsert_assets(
        city.pk,
        [
            AssetRecord(kind=AssetKind.CABINET, code="CB", lat=5.38, lon=100.40, device="m-1"),
            AssetRecord(kind=AssetKind.STREETLIGHT, code="SL", lat=5.381, lon=100.40, device="n-1"),
            AssetRecord(
                kind=AssetKind.INTERSECTION,
                code="X",
                lat=5.382,
                lon=100.40,
                phases=(1, 2),
                device="sm-1",
            ),
        ],
    )
    found = {uid: container.db.telemetry.find_device(city.slug, uid) for uid in ("m-1", "n-1")}
    found["sm-1"] = container.db.telemetry.find_device(city.slug, "sm-1")
    assert all(found.values())
    return {uid: ref for uid, ref in found.items() if ref is not None}


def send(container: Container, device: DeviceRef, records: list[dict[str, object]]) -> None:
    """Decode and store a pack the way HTTP ingest does."""
    outcome = container.ingest.check_from(
        device, orjson.dumps(records), time.time(), "http:/api/v1/ingest"
    )
    assert not isinstance(outcome, DeadLetter), outcome
    container.ingest.write([outcome], [])


@pytest.fixture
def viewer(container: Container, city: City) -> dict[str, str]:
    return bearer(make_token(container, city, Role.VIEWER))


def test_state_of_a_device_that_never_reported_is_empty(
    client: TestClient, city: City, fleet: dict[str, DeviceRef], viewer: dict[str, str]
) -> None:
    response = client.get(f"/api/v1/cities/{city.slug}/devices/n-1/state", headers=viewer)
    assert response.status_code == 200
    assert response.json() == {
        "uid": "n-1",
        "kind": "streetlight_node",
        "last_seen": None,
        "observed_at": None,
        "values": {},
    }
    missing = client.get(f"/api/v1/cities/{city.slug}/devices/nope/state", headers=viewer)
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"


def test_state_holds_the_newest_value_of_each_name(
    client: TestClient,
    container: Container,
    city: City,
    fleet: dict[str, DeviceRef],
    viewer: dict[str, str],
) -> None:
    t0 = float(int(time.time()) - 600)
    send(container, fleet["m-1"], [{"bt": t0, "n": "power", "u": "kW", "v": 1.5}])
    send(container, fleet["m-1"], [{"bt": t0 + 60, "n": "mains", "vb": True}])
    send(container, fleet["m-1"], [{"bt": t0 - 60, "n": "power", "v": 99.0}])  # late, older
    state = client.get(f"/api/v1/cities/{city.slug}/devices/m-1/state", headers=viewer).json()
    assert state["kind"] == "cabinet_meter"
    assert state["observed_at"] == iso(t0 + 60)
    assert state["values"] == {
        "mains": {"time": iso(t0 + 60), "value": True},
        "power": {"time": iso(t0), "value": 1500.0},
    }
    assert datetime.fromisoformat(state["last_seen"]).timestamp() > t0


def test_readings_page_through_a_range_once_each_even_within_one_instant(
    client: TestClient,
    container: Container,
    city: City,
    fleet: dict[str, DeviceRef],
    viewer: dict[str, str],
) -> None:
    t0 = float(int(time.time()) - 3000)
    lamps = [f"lamp/{phase}/{colour}" for phase in (1, 2) for colour in ("red", "yellow", "green")]
    for step in range(4):  # four instants of six lamp currents and one event each
        records: list[dict[str, object]] = [{"bt": t0 + 60 * step, "bu": "A"}]
        records += [{"n": name, "v": 0.1 * (i + 1)} for i, name in enumerate(lamps)]
        records.append({"n": "event", "v": 82, "vs": str(step + 1)})
        send(container, fleet["sm-1"], records)
    url = f"/api/v1/cities/{city.slug}/devices/sm-1/readings"
    params: dict[str, str | int] = {"from": iso(t0), "to": iso(t0 + 3600), "limit": 5}
    seen: list[tuple[str, str]] = []
    pages = 0
    while True:
        body = client.get(url, params=params, headers=viewer).json()
        seen += [(r["time"], r["name"]) for r in body["items"]]
        pages += 1
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    assert len(seen) == 4 * 7
    assert len(set(seen)) == len(seen)
    assert seen == sorted(seen, key=lambda pair: pair[0])
    assert pages == 6
    events = client.get(url, params={"from": iso(t0), "names": "event"}, headers=viewer).json()[
        "items"
    ]
    assert [r["value"] for r in events] == [{"code": 82, "parameter": n} for n in (1, 2, 3, 4)]


def test_readings_filter_by_name_and_check_their_parameters(
    client: TestClient,
    container: Container,
    city: City,
    fleet: dict[str, DeviceRef],
    viewer: dict[str, str],
) -> None:
    t0 = float(int(time.time()) - 7200)
    for step in range(3):
        send(
            container,
            fleet["n-1"],
            [{"bt": t0 + 1800 * step, "n": "power", "v": 60.0}, {"n": "voltage", "v": 230.0}],
        )
    url = f"/api/v1/cities/{city.slug}/devices/n-1/readings"
    power = client.get(url, params={"names": "power, on"}, headers=viewer).json()
    assert [(r["name"], r["value"]) for r in power["items"]] == [("power", 60.0)] * 3
    assert power["uid"] == "n-1"
    assert power["next_cursor"] is None
    # The range is half open and defaults to the last 24 hours.
    window = {"from": iso(t0), "to": iso(t0 + 1800)}
    assert len(client.get(url, params=window, headers=viewer).json()["items"]) == 2
    old = {"to": iso(t0 - 86_400)}
    assert client.get(url, params=old, headers=viewer).json()["items"] == []
    bad: list[dict[str, str | int]] = [
        {"names": "power,lamp/1/red"},  # a signal monitor's name, not a node's
        {"names": "colour"},
        {"from": "2024-05-01T00:00:00"},  # no zone
        {"from": iso(t0), "to": iso(t0)},
        {"from": "yesterday"},
        {"limit": 10_001},
        {"limit": 0},
        {"cursor": "bm9uc2Vuc2U"},
    ]
    for params in bad:
        response = client.get(url, params=params, headers=viewer)
        assert response.status_code == 422, params
        assert response.json()["error"] == "invalid"
    status = client.get(url, params={"names": "status"}, headers=viewer)
    assert status.status_code == 200


def test_hourly_rollups_sum_energy_and_power(
    client: TestClient,
    container: Container,
    city: City,
    fleet: dict[str, DeviceRef],
    viewer: dict[str, str],
) -> None:
    hour = (time.time() // HOUR - 3) * HOUR
    send(container, fleet["n-1"], [{"bt": hour + 60, "n": "energy", "u": "kWh", "v": 10.0}])
    send(container, fleet["n-1"], [{"bt": hour + 3000, "n": "energy", "u": "kWh", "v": 10.05}])
    send(container, fleet["n-1"], [{"bt": hour + 3000, "n": "power", "v": 50.0}])
    send(container, fleet["n-1"], [{"bt": hour + HOUR + 60, "n": "energy", "v": 10_080.0}])
    url = f"/api/v1/cities/{city.slug}/devices/n-1/hourly"
    body = client.get(url, params={"from": iso(hour), "to": iso(hour + 2 * HOUR)}, headers=viewer)
    assert body.status_code == 200
    first, second = body.json()["items"]
    assert first["hour"] == iso(hour)
    assert first["samples"] == 3
    assert first["energy_wh"] == pytest.approx(50.0)
    assert first["power_mean"] == 50.0
    assert second["energy_wh"] == pytest.approx(30.0)
    assert second["power_mean"] is None
    default = client.get(url, headers=viewer).json()["items"]
    assert [item["hour"] for item in default] == [iso(hour), iso(hour + HOUR)]
    too_long = client.get(url, params={"from": "2020-01-01T00:00:00Z"}, headers=viewer)
    assert too_long.status_code == 422


def letter(city: City | None, reason: RejectReason, payload: bytes, n: int) -> DeadLetter:
    return DeadLetter.of(
        received_at=time.time() - 100 + n,
        topic=f"signalight/x/d-{n}/up",
        reason=reason,
        message=f"problem {n}",
        payload=payload,
        city_id=city.pk if city else None,
        device_uid=f"d-{n}",
    )


def test_dead_letters_are_paged_newest_first_with_counts_for_operators_only(
    client: TestClient, container: Container, city: City
) -> None:
    other = make_city(container.db)
    letters = [letter(city, RejectReason.MALFORMED, b"{bad", n) for n in range(5)]
    letters.append(letter(city, RejectReason.OUT_OF_RANGE, bytes([0xFF, 0x00, 0x01]), 5))
    letters.append(letter(city, RejectReason.TOO_LARGE, b"x" * 10_000, 6))
    letters.append(letter(other, RejectReason.MALFORMED, b"theirs", 7))
    letters.append(letter(None, RejectReason.BAD_TOPIC, b"no city", 8))
    container.ingest.write([], letters)
    url = f"/api/v1/cities/{city.slug}/deadletters"
    operator = bearer(make_token(container, city, Role.OPERATOR))
    first = client.get(url, params={"limit": 3}, headers=operator).json()
    assert [item["device"] for item in first["items"]] == ["d-6", "d-5", "d-4"]
    assert first["counts"] == {"malformed": 5, "out_of_range": 1, "too_large": 1}
    big, binary, text = first["items"]
    assert big["payload_truncated"] is True
    assert big["size"] == 10_000
    assert len(big["payload"]) == 4096
    assert binary["payload_encoding"] == "base64"
    assert binary["payload"] == "/wAB"
    assert text == {
        "id": text["id"],
        "received_at": text["received_at"],
        "topic": "signalight/x/d-4/up",
        "reason": "malformed",
        "message": "problem 4",
        "size": 4,
        "device": "d-4",
        "payload": "{bad",
        "payload_encoding": "utf-8",
        "payload_truncated": False,
    }
    rest = client.get(
        url, params={"limit": 3, "before": first["next_before"]}, headers=operator
    ).json()
    assert [item["device"] for item in rest["items"]] == ["d-3", "d-2", "d-1"]
    last = client.get(url, params={"before": rest["next_before"]}, headers=operator).json()
    assert [item["device"] for item in last["items"]] == ["d-0"]
    assert last["next_before"] is None
    for role in (Role.VIEWER, Role.CREW):
        lower = bearer(make_token(container, city, role))
        assert client.get(url, headers=lower).status_code == 403
    admin = bearer(make_token(container, city, Role.ADMIN))
    assert client.get(url, headers=admin).status_code == 200


def test_another_citys_token_reaches_no_telemetry(
    client: TestClient,
    container: Container,
    city: City,
    fleet: dict[str, DeviceRef],
) -> None:
    send(container, fleet["n-1"], [{"bt": time.time() - 60, "n": "power", "v": 1.0}])
    container.ingest.write([], [letter(city, RejectReason.MALFORMED, b"x", 1)])
    other = make_city(container.db)
    stranger = bearer(make_token(container, other, Role.ADMIN))
    base = f"/api/v1/cities/{city.slug}"
    for path in (
        "/devices/n-1/state",
        "/devices/n-1/readings",
        "/devices/n-1/hourly",
        "/deadletters",
    ):
        response = client.get(base + path, headers=stranger)
        assert response.status_code in (403, 404), path
        assert "power" not in response.text
    # Through the stranger's own city, the device is simply not there.
    for path in ("state", "readings", "hourly"):
        response = client.get(f"/api/v1/cities/{other.slug}/devices/n-1/{path}", headers=stranger)
        assert response.status_code == 404, path
    own = client.get(f"/api/v1/cities/{other.slug}/deadletters", headers=stranger).json()
    assert own["items"] == []
    assert own["counts"] == {}
    assert client.get(f"{base}/devices/n-1/state").status_code == 401
