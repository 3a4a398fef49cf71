"""The intersections API: live state in words, lamps, open alarms, the controller's events."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from fastapi.testclient import TestClient

from signalight.container import Container
from signalight.domain.alarms import Alarm, AlarmState, AlarmType, EventKind, Severity
from signalight.domain.assets import AssetKind, AssetRecord
from signalight.domain.cities import City
from signalight.domain.telemetry import DeadLetter, DeviceRef
from signalight.domain.users import Role
from tests.conftest import bearer, make_city, make_token, unique


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


@pytest.fixture
def monitor(container: Container, city: City) -> DeviceRef:
    container.db.assets.upsert_assets(
        city.pk,
        [
            AssetRecord(
                kind=AssetKind.INTERSECTION,
                code="X-1",
                name="Jalan Baru / Jalan Raja Uda",
                lat=5.382,
                lon=100.40,
                phases=(2, 4, 6, 8),
                controller_id="10.0.0.7",
                controller_vendor="Econolite",
                device="sm-1",
            ),
            AssetRecord(kind=AssetKind.INTERSECTION, code="X-2", lat=5.383, lon=100.40),
        ],
    )
    found = container.db.telemetry.find_device(city.slug, "sm-1")
    assert found is not None
    return found


def send(container: Container, device: DeviceRef, records: list[dict[str, object]]) -> None:
    outcome = container.ingest.check_from(
        device, orjson.dumps(records), time.time(), "http:/api/v1/ingest"
    )
    assert not isinstance(outcome, DeadLetter), outcome
    container.ingest.write([outcome], [])


@pytest.fixture
def viewer(container: Container, city: City) -> dict[str, str]:
    return bearer(make_token(container, city, Role.VIEWER))


def test_a_running_intersection_says_which_phases_are_green_and_its_events(
    client: TestClient, container: Container, city: City, monitor: DeviceRef, viewer: dict[str, str]
) -> None:
    at = time.time() - 30
    send(
        container,
        monitor,
        [
            {"bn": "sm-1/", "bt": at, "n": "mode", "vs": "normal"},
            {"n": "door", "vs": "closed"},
            {"n": "mmu", "vs": "ok"},
            {"n": "mains", "vb": True},
            {"n": "battery", "v": 27.1},
            {"n": "lamp/2/green", "v": 0.36},
            {"n": "lamp/6/green", "v": 0.24},
            {"n": "lamp/4/red", "v": 0.3},
            {"n": "lamp/8/red", "v": 0.0},
            {"n": "event", "t": -5, "v": 1, "vs": "2"},
            {"n": "event", "t": -5, "v": 1, "vs": "6"},  # the same instant: both kept
            {"n": "event", "t": -12, "v": 10, "vs": "4"},
        ],
    )
    listed = client.get(f"/api/v1/cities/{city.slug}/intersections", headers=viewer).json()
    assert [i["code"] for i in listed] == ["X-1", "X-2"]
    first, second = listed
    assert first["now"] == "normal: phases 2 and 6 green"
    assert first["green"] == [2, 6]
    assert (first["mode"], first["door"], first["mains"], first["battery"]) == (
        "normal",
        "closed",
        True,
        27.1,
    )
    assert {lamp["phase"]: lamp["lit"] for lamp in first["lamps"]} == {
        2: "green",
        4: "red",
        6: "green",
        8: None,  # its red draws nothing
    }
    assert (second["device"], second["now"], second["lamps"]) == (None, "no report yet", [])
    detail = client.get(f"/api/v1/cities/{city.slug}/intersections/X-1", headers=viewer).json()
    assert detail["controller_vendor"] == "Econolite"
    assert [(e["code"], e["param"], e["meaning"]) for e in detail["events"]][:2] == [
        (1, 6, "phase 6 green"),
        (1, 2, "phase 2 green"),
    ]
    assert len(detail["events"]) == 3
    events = client.get(
        f"/api/v1/cities/{city.slug}/intersections/X-1/events",
        params={"from": iso(at - 60), "to": iso(at + 1), "code": 10},
        headers=viewer,
    ).json()
    assert [(e["code"], e["param"]) for e in events] == [(10, 4)]


def test_flash_an_open_door_on_battery_and_a_silent_monitor_are_said(
    client: TestClient, container: Container, city: City, monitor: DeviceRef, viewer: dict[str, str]
) -> None:
    at = time.time() - 600  # ten minutes: more than three reporting intervals
    send(
        container,
        monitor,
        [
            {"bn": "sm-1/", "bt": at, "n": "mode", "vs": "flash"},
            {"n": "door", "vs": "open"},
            {"n": "mmu", "vs": "conflict"},
            {"n": "mains", "vb": False},
            {"n": "lamp/2/red", "v": 0.18},
        ],
    )
    asset = container.db.assets.get_device(city.pk, "sm-1").asset_id
    alarm = Alarm(
        city_id=city.pk,
        type=AlarmType.HIGH_VOLTAGE,  # any open alarm of the intersection is listed with it
        severity=Severity.CRITICAL,
        asset_id=asset,
        raised_at=at,
        observed_at=at,
        updated_at=at,
        message="controller in flash",
        detail={},
    )
    container.db.alarms.record([(alarm, EventKind.RAISED, at)])
    got = client.get(f"/api/v1/cities/{city.slug}/intersections/X-1", headers=viewer).json()
    assert got["now"].startswith("in flash, door open, on battery, MMU conflict; no report for ")
    assert got["green"] == []
    assert got["silent_s"] == pytest.approx(600, abs=30)
    assert [(a["severity"], a["state"], a["message"]) for a in got["alarms"]] == [
        ("critical", AlarmState.RAISED.value, "controller in flash")
    ]
    assert got["door_authorised"] is None  # no window, no work order: a break-in
    # A crew member's window over now: the same open door is authorised, and says by what.
    carl, olga = unique("carl"), unique("olga")
    container.auth.add_user(carl, None)
    container.auth.grant(carl, city, Role.CREW)
    container.auth.add_user(olga, None)
    container.auth.grant(olga, city, Role.OPERATOR)
    boss = container.db.users.get_user(olga)[0]
    now = datetime.now(UTC)
    container.windows.open(
        city, boss, "X-1", now - timedelta(minutes=5), now + timedelta(hours=1), who=carl, why="fan"
    )
    again = client.get(f"/api/v1/cities/{city.slug}/intersections", headers=viewer).json()
    assert again[0]["door_authorised"].startswith("maintenance window ")
    assert carl in again[0]["door_authorised"]
    assert again[0]["cabinet"] is None
    assert again[0]["id"] == asset


def test_unknown_intersections_other_cities_and_bad_spans_are_refused(
    client: TestClient, container: Container, city: City, monitor: DeviceRef, viewer: dict[str, str]
) -> None:
    url = f"/api/v1/cities/{city.slug}/intersections"
    assert client.get(f"{url}/NOPE", headers=viewer).status_code == 404
    now = time.time()
    bad = {"from": iso(now), "to": iso(now - 60)}
    assert client.get(f"{url}/X-1/events", params=bad, headers=viewer).status_code == 422
    long = {"from": iso(now - 40 * 86_400), "to": iso(now)}
    assert client.get(f"{url}/X-1/events", params=long, headers=viewer).status_code == 422
    other = make_city(container.db)
    stranger = bearer(make_token(container, other, Role.ADMIN))
    assert client.get(url, headers=stranger).status_code in (403, 404)
    assert client.get(f"{url}/X-1", headers=stranger).status_code in (403, 404)
    assert client.get(url).status_code == 401


def test_a_burst_of_events_at_one_instant_pages_through_the_readings_once_each(
    client: TestClient, container: Container, city: City, monitor: DeviceRef, viewer: dict[str, str]
) -> None:
    at = float(int(time.time()) - 120)
    burst: list[dict[str, object]] = [
        {"n": "event", "v": code, "vs": str(phase)} for code in (8, 10) for phase in range(1, 9)
    ]
    send(container, monitor, [{"bn": "sm-1/", "bt": at, "n": "mode", "vs": "normal"}, *burst])
    url = f"/api/v1/cities/{city.slug}/devices/sm-1/readings"
    params: dict[str, str | int] = {"from": iso(at - 1), "to": iso(at + 1), "limit": 5}
    seen: list[tuple[str, object]] = []
    while True:
        body = client.get(url, params=params, headers=viewer).json()
        seen += [(r["name"], str(r["value"])) for r in body["items"]]
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    assert len(seen) == 1 + 16
    assert len(set(seen)) == len(seen)  # every event of the instant once, none twice
