"""The alarm API: roles, filters, the operator's steps, counts, detection settings, the stream."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx2 as httpx
import orjson
import pytest
import uvicorn
from fastapi.testclient import TestClient

from signalight.api.app import create_app
from signalight.container import Container
from signalight.domain.alarms import Alarm, AlarmState, AlarmType, EventKind, Severity
from signalight.domain.assets import AssetKind, AssetQuery, AssetRecord
from signalight.domain.cities import City
from signalight.domain.errors import StorageError
from signalight.domain.users import Role
from tests.conftest import bearer, make_city, make_token, unique

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def record(container: Container, city: City, **overrides: Any) -> Alarm:
    """Raise (or hold) an alarm the way the detector does."""
    values: dict[str, Any] = {
        "city_id": city.pk,
        "type": AlarmType.LAMP_FAILURE,
        "severity": Severity.MINOR,
        "raised_at": T0,
        "observed_at": T0 - 30,
        "updated_at": T0,
        "message": "draws 3 W of the 60 W expected",
        "detail": {"power": 3.0},
    }
    values.update(overrides)
    alarm = Alarm(**values)
    kind = EventKind.HELD if alarm.held else EventKind.RAISED
    container.db.alarms.record([(alarm, kind, alarm.raised_at)])
    return alarm


def clear(container: Container, alarm: Alarm, at: float = T0 + 60) -> None:
    container.db.alarms.record([(alarm, EventKind.CLEARED, at)])


def headers_for(container: Container, city: City, role: Role) -> dict[str, str]:
    return bearer(make_token(container, city, role))


@pytest.fixture
def viewer(container: Container, city: City) -> dict[str, str]:
    return headers_for(container, city, Role.VIEWER)


@pytest.fixture
def operator(container: Container, city: City) -> dict[str, str]:
    return headers_for(container, city, Role.OPERATOR)


@pytest.fixture
def lights(container: Container, city: City) -> dict[str, int]:
    container.db.assets.upsert_assets(
        city.pk,
        [
            AssetRecord(kind=AssetKind.STREETLIGHT, code="SL-W", lat=5.380, lon=100.400),
            AssetRecord(kind=AssetKind.STREETLIGHT, code="SL-E", lat=5.380, lon=100.410),
        ],
    )
    return {a.code: a.id for a in container.db.assets.query_assets(city.pk, AssetQuery()).items}


def ids(response: httpx.Response) -> list[int]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_viewers_list_alarms_with_filters_newest_first(
    client: TestClient,
    container: Container,
    city: City,
    lights: dict[str, int],
    viewer: dict[str, str],
) -> None:
    west = record(container, city, asset_id=lights["SL-W"], asset_code="SL-W")
    east = record(
        container,
        city,
        asset_id=lights["SL-E"],
        asset_code="SL-E",
        type=AlarmType.HIGH_VOLTAGE,
        severity=Severity.MAJOR,
        raised_at=T0 + 100,
    )
    incident = record(
        container, city, type=AlarmType.SUPPLY_LOSS, severity=Severity.CRITICAL, raised_at=T0 + 200
    )
    held = record(container, city, held=True, parent_id=incident.id, raised_at=T0 + 210)
    done = record(container, city, raised_at=T0 + 300)
    clear(container, done, T0 + 310)
    container.db.alarms.act(city.pk, done.pk, EventKind.CLOSED, "ana", T0 + 320, "")
    url = f"/api/v1/cities/{city.slug}/alarms"

    def listed(params: Any = None) -> list[int]:
        return ids(client.get(url, params=params, headers=viewer))

    assert listed() == [incident.id, east.id, west.id]  # open ones; not held, not closed
    assert listed({"state": ["closed", "raised"]}) == [done.id, incident.id, east.id, west.id]
    assert listed({"type": ["highVoltage", "supplyLoss"]}) == [incident.id, east.id]
    assert listed({"severity": "major"}) == [east.id]
    assert listed({"asset": "SL-W"}) == [west.id]
    assert listed({"bbox": "100.395,5.375,100.405,5.385"}) == [west.id]
    assert listed({"since": iso(T0 + 100), "until": "2023-11-14T22:16:40+00:00"}) == [east.id]
    assert listed({"held": "true"}) == [held.id, incident.id, east.id, west.id]
    assert listed({"parent": incident.id}) == [held.id]
    first = client.get(url, params={"limit": 2}, headers=viewer).json()
    assert [a["id"] for a in first["items"]] == [incident.id, east.id]
    rest = client.get(url, params={"limit": 2, "before": first["next_before"]}, headers=viewer)
    assert ids(rest) == [west.id]
    assert rest.json()["next_before"] is None
    body = client.get(url, params={"asset": "SL-E"}, headers=viewer).json()["items"][0]
    assert body == {
        "id": east.id,
        "type": "highVoltage",
        "severity": "major",
        "state": "raised",
        "asset_id": lights["SL-E"],
        "asset": "SL-E",
        "device": None,
        "raised_at": iso(T0 + 100),
        "observed_at": iso(T0 - 30),
        "updated_at": iso(T0 + 100),
        "message": "draws 3 W of the 60 W expected",
        "detail": {"power": 3.0},
        "occurrences": 1,
        "held": False,
        "parent_id": None,
        "acknowledged_at": None,
        "acknowledged_by": None,
        "cleared_at": None,
        "closed_at": None,
        "closed_by": None,
    }


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({"asset": "NOPE"}, 404, "no asset"),
        ({"bbox": "100.4,5.3"}, 422, "bbox"),
        ({"bbox": "101,5,100,6"}, 422, "west<=east"),
        ({"since": "2024-05-01T00:00:00"}, 422, "time zone"),
        ({"type": "lampOut"}, 422, "request is not valid"),
        ({"state": "open"}, 422, "request is not valid"),
        ({"limit": 0}, 422, "request is not valid"),
    ],
)
def test_bad_filters_are_refused(
    client: TestClient,
    city: City,
    viewer: dict[str, str],
    params: dict[str, Any],
    status: int,
    words: str,
) -> None:
    response = client.get(f"/api/v1/cities/{city.slug}/alarms", params=params, headers=viewer)
    assert response.status_code == status
    assert words in response.json()["message"]


def test_one_alarm_comes_with_its_history(
    client: TestClient, container: Container, city: City, viewer: dict[str, str]
) -> None:
    alarm = record(container, city)
    container.db.alarms.act(city.pk, alarm.pk, EventKind.ACKNOWLEDGED, "ana", T0 + 10, "crew sent")
    url = f"/api/v1/cities/{city.slug}/alarms/{alarm.id}"
    body = client.get(url, headers=viewer).json()
    assert (body["state"], body["acknowledged_by"], body["acknowledged_at"]) == (
        "acknowledged",
        "ana",
        iso(T0 + 10),
    )
    events = [{k: e[k] for k in ("kind", "state", "actor", "note", "at")} for e in body["events"]]
    assert events == [
        {"kind": "raised", "state": "raised", "actor": None, "note": "", "at": iso(T0)},
        {
            "kind": "acknowledged",
            "state": "acknowledged",
            "actor": "ana",
            "note": "crew sent",
            "at": iso(T0 + 10),
        },
    ]
    assert client.get(f"{url}/events", headers=viewer).json() == body["events"]
    assert client.get(f"/api/v1/cities/{city.slug}/alarms/999999", headers=viewer).status_code == (
        404
    )


def test_other_citys_users_reach_no_alarm(
    client: TestClient, container: Container, city: City
) -> None:
    alarm = record(container, city)
    other = make_city(container.db)
    stranger = headers_for(container, other, Role.ADMIN)
    base = f"/api/v1/cities/{city.slug}"
    attempts = [
        ("GET", f"{base}/alarms", None),
        ("GET", f"{base}/alarms/counts", None),
        ("GET", f"{base}/alarms/stream", None),
        ("GET", f"{base}/alarms/{alarm.id}", None),
        ("GET", f"{base}/alarms/{alarm.id}/events", None),
        ("POST", f"{base}/alarms/{alarm.id}/acknowledge", {}),
        ("POST", f"{base}/alarms/{alarm.id}/notes", {"note": "mine now"}),
        ("POST", f"{base}/alarms/{alarm.id}/close", {}),
        ("GET", f"{base}/detection-settings", None),
        ("PUT", f"{base}/detection-settings", {"confirm_reports": 5}),
    ]
    for method, url, body in attempts:
        response = client.request(method, url, json=body, headers=stranger)
        assert response.status_code in (403, 404), (method, url, response.status_code)
    # Through their own city's path, this city's alarm id is simply not there.
    for path in (f"alarms/{alarm.id}", f"alarms/{alarm.id}/events"):
        response = client.get(f"/api/v1/cities/{other.slug}/{path}", headers=stranger)
        assert response.status_code == 404
    response = client.post(
        f"/api/v1/cities/{other.slug}/alarms/{alarm.id}/acknowledge", headers=stranger
    )
    assert response.status_code == 404
    assert container.db.alarms.get_alarm(city.pk, alarm.pk).state is AlarmState.RAISED
    assert container.db.alarms.detection_overrides().get(city.pk) is None


@pytest.mark.parametrize("role", [Role.VIEWER, Role.CREW])
def test_only_operators_and_up_act_on_alarms(
    client: TestClient, container: Container, city: City, role: Role
) -> None:
    alarm = record(container, city)
    headers = headers_for(container, city, role)
    base = f"/api/v1/cities/{city.slug}/alarms/{alarm.id}"
    for step, body in (("acknowledge", {}), ("notes", {"note": "hello"}), ("close", {})):
        response = client.post(f"{base}/{step}", json=body, headers=headers)
        assert response.status_code == 403
        assert "operator" in response.json()["message"]
    assert len(container.db.alarms.history(city.pk, alarm.pk)) == 1


def test_operators_acknowledge_note_and_close_an_alarm(
    client: TestClient, container: Container, city: City
) -> None:
    container.auth.add_user("op-ana", None)
    container.auth.grant("op-ana", city, Role.OPERATOR)
    ana = bearer(container.auth.issue_token("op-ana"))
    alarm = record(container, city)
    base = f"/api/v1/cities/{city.slug}/alarms/{alarm.id}"
    acked = client.post(f"{base}/acknowledge", json={"note": " crew sent "}, headers=ana)
    assert acked.status_code == 200
    assert (acked.json()["state"], acked.json()["acknowledged_by"]) == ("acknowledged", "op-ana")
    again = client.post(f"{base}/acknowledge", headers=ana)  # no body at all
    assert again.status_code == 409
    assert again.json()["error"] == "conflict"
    early = client.post(f"{base}/close", json={"note": "fixed?"}, headers=ana)
    assert early.status_code == 409
    assert "only a cleared alarm" in early.json()["message"]
    noted = client.post(f"{base}/notes", json={"note": "ladder needed"}, headers=ana)
    assert noted.status_code == 201
    for blank in ({"note": ""}, {"note": "   "}, {}):
        assert client.post(f"{base}/notes", json=blank, headers=ana).status_code == 422
    too_long = client.post(f"{base}/notes", json={"note": "x" * 2001}, headers=ana)
    assert too_long.status_code == 422
    clear(container, alarm)
    closed = client.post(f"{base}/close", json={"note": "lamp replaced"}, headers=ana)
    assert closed.status_code == 200
    assert (closed.json()["state"], closed.json()["closed_by"]) == ("closed", "op-ana")
    events = client.get(f"{base}/events", headers=ana).json()
    assert [(e["kind"], e["actor"], e["note"]) for e in events] == [
        ("raised", None, ""),
        ("acknowledged", "op-ana", "crew sent"),
        ("noted", "op-ana", "ladder needed"),
        ("cleared", None, ""),
        ("closed", "op-ana", "lamp replaced"),
    ]
    # The clock of operators' steps is the container's.
    assert datetime.fromisoformat(events[1]["at"]) <= datetime.now(UTC)
    missing = client.post(f"/api/v1/cities/{city.slug}/alarms/999999/acknowledge", headers=ana)
    assert missing.status_code == 404


def test_counts_by_type_and_severity_for_dashboards(
    client: TestClient, container: Container, city: City, viewer: dict[str, str]
) -> None:
    incident = record(container, city, type=AlarmType.SUPPLY_LOSS, severity=Severity.CRITICAL)
    record(container, city)
    acked = record(container, city)
    container.db.alarms.act(city.pk, acked.pk, EventKind.ACKNOWLEDGED, "ana", T0 + 1, "")
    record(container, city, held=True, parent_id=incident.id)
    clear(container, record(container, city, type=AlarmType.HIGH_POWER))
    url = f"/api/v1/cities/{city.slug}/alarms/counts"
    body = client.get(url, headers=viewer).json()
    assert body["states"] == ["acknowledged", "raised"]
    assert body["total"] == 3
    assert body["by_severity"] == {"critical": 1, "major": 0, "minor": 2, "warning": 0}
    assert list(body["by_severity"]) == ["critical", "major", "minor", "warning"]
    assert body["by_type"]["lampFailure"] == 2
    assert body["by_type"]["supplyLoss"] == 1
    assert body["by_type"]["highPower"] == 0
    assert len(body["by_type"]) == len(AlarmType)
    assert sorted((i["type"], i["severity"], i["count"]) for i in body["items"]) == [
        ("lampFailure", "minor", 2),
        ("supplyLoss", "critical", 1),
    ]
    cleared = client.get(url, params={"state": "cleared"}, headers=viewer).json()
    assert (cleared["states"], cleared["total"], cleared["by_type"]["highPower"]) == (
        ["cleared"],
        1,
        1,
    )


def test_detection_settings_are_read_by_viewers_and_set_by_admins(
    client: TestClient, container: Container, city: City, viewer: dict[str, str]
) -> None:
    url = f"/api/v1/cities/{city.slug}/detection-settings"
    defaults = client.get(url, headers=viewer).json()
    assert defaults["overrides"] == {}
    effective = defaults["effective"]
    assert (effective["confirm_reports"], effective["dim_from"]) == (2, "00:00")
    assert effective["severities"]["supplyLoss"] == "critical"
    assert effective["curves"]["led"] == [[0.0, 0.05], [100.0, 1.0]]
    operator = headers_for(container, city, Role.OPERATOR)
    assert client.put(url, json={"confirm_reports": 3}, headers=operator).status_code == 403
    admin = headers_for(container, city, Role.ADMIN)
    changes = {
        "confirm_reports": 3.0,
        "dim_from": "23:30:00",
        "severities": {"lampFailure": "major"},
    }
    saved = client.put(url, json=changes, headers=admin)
    assert saved.status_code == 200, saved.text
    overrides = {"confirm_reports": 3, "dim_from": "23:30", "severities": {"lampFailure": "major"}}
    assert saved.json()["overrides"] == overrides
    assert saved.json()["effective"]["severities"]["lampFailure"] == "major"
    assert saved.json()["effective"]["severities"]["supplyLoss"] == "critical"
    assert client.get(url, headers=viewer).json() == saved.json()
    assert container.db.alarms.detection_overrides()[city.pk] == overrides
    for bad, words in (
        ({"lamp_low_ratio": 0.9}, "lamp_low_ratio < lamp_ok_ratio"),
        ({"no_such_thing": 1}, "'no_such_thing' is not a detection setting"),
        ({"confirm_reports": "three"}, "confirm_reports: 'three' is not a valid value"),
        ({"confirm_reports": 2.5}, "confirm_reports"),
        ({"severities": {"lampFailure": "urgent"}}, "severities"),
    ):
        refused = client.put(url, json=bad, headers=admin)
        assert refused.status_code == 422, bad
        assert words in refused.json()["message"]
    assert client.put(url, json=[1, 2], headers=admin).status_code == 422
    assert client.get(url, headers=viewer).json()["overrides"] == overrides
    reset = client.put(url, json={}, headers=admin)
    assert reset.json() == defaults


# The live stream, served by a real uvicorn on a free port and read with httpx.


@pytest.fixture
def server(container: Container) -> Iterator[str]:
    """The application served on a free local port, its stream polling every 50 ms."""
    container.alarms.poll_interval_s = 0.05
    container.alarms.heartbeat_s = 0.5
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(container),
        lifespan="off",
        log_level="warning",
        ws="none",
        timeout_graceful_shutdown=5,
    )
    served = uvicorn.Server(config)
    thread = threading.Thread(target=served.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not served.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    served.should_exit = True
    thread.join(timeout=10)
    sock.close()
    assert not thread.is_alive()


class Stream:
    """Server-sent events read one at a time from an open response."""

    def __init__(self, response: httpx.Response) -> None:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        self._lines = response.iter_lines()

    def next(self) -> dict[str, str]:
        """The next event or comment block, as field -> value (a comment is field ``:``)."""
        block: dict[str, str] = {}
        for line in self._lines:
            if not line:
                if block:
                    return block
                continue
            if line.startswith(":"):
                block[":"] = line[1:].strip()
                continue
            name, _, value = line.partition(":")
            block[name] = value.removeprefix(" ")
        raise EOFError

    def rest(self) -> list[dict[str, str]]:
        """Every block until the server ends the stream."""
        blocks: list[dict[str, str]] = []
        while True:
            try:
                blocks.append(self.next())
            except EOFError:
                return blocks

    def next_event(self) -> dict[str, Any]:
        """The next alarm event, skipping keep-alives; its data parsed."""
        while True:
            block = self.next()
            if block.get("event") == "alarm":
                data: dict[str, Any] = orjson.loads(block["data"])
                assert block["id"] == str(data["id"])
                return data


def test_the_stream_sends_new_events_of_its_city_and_resumes_after_last_event_id(
    server: str, container: Container, city: City, viewer: dict[str, str]
) -> None:
    record(container, city)  # stored before connecting: not sent
    other = make_city(container.db)
    url = f"{server}/api/v1/cities/{city.slug}/alarms/stream"
    with httpx.Client(timeout=5.0) as http:
        with http.stream("GET", url, headers=viewer) as response:
            stream = Stream(response)
            assert stream.next() == {"retry": "3000"}
            alarm = record(container, city, raised_at=T0 + 100)
            record(container, other)  # another city's: never sent here
            container.db.alarms.act(city.pk, alarm.pk, EventKind.ACKNOWLEDGED, "ana", T0 + 5, "")
            raised = stream.next_event()
            assert (raised["kind"], raised["alarm_id"], raised["state"]) == (
                "raised",
                alarm.id,
                "raised",
            )
            # The alarm as it is when sent; the event keeps the state after its own step.
            assert raised["alarm"]["id"] == alarm.id
            assert raised["alarm"]["raised_at"] == iso(T0 + 100)
            acked = stream.next_event()
            assert (acked["kind"], acked["actor"], acked["alarm"]["state"]) == (
                "acknowledged",
                "ana",
                "acknowledged",
            )
            assert acked["id"] > raised["id"]
        # A reconnecting client says where it was; the header wins over ?after=.
        clear(container, alarm)
        resume = {**viewer, "Last-Event-ID": str(raised["id"])}
        with http.stream("GET", f"{url}?after={acked['id']}", headers=resume) as response:
            stream = Stream(response)
            assert [stream.next_event()["kind"] for _ in range(2)] == ["acknowledged", "cleared"]
        with http.stream("GET", f"{url}?after={raised['id']}", headers=viewer) as response:
            stream = Stream(response)
            assert stream.next_event()["id"] == acked["id"]
        with http.stream("GET", url, headers={**viewer, "Last-Event-ID": "x"}) as response:
            assert response.status_code == 422


def test_the_stream_says_it_is_alive_when_quiet_and_stops_with_the_client(
    server: str, container: Container, city: City, viewer: dict[str, str], monkeypatch: Any
) -> None:
    polls: list[float] = []
    events_after = container.db.alarms.events_after

    def counted(*args: Any) -> Any:
        polls.append(time.monotonic())
        return events_after(*args)

    monkeypatch.setattr(container.db.alarms, "events_after", counted)
    url = f"{server}/api/v1/cities/{city.slug}/alarms/stream"
    with httpx.Client(timeout=5.0) as http, http.stream("GET", url, headers=viewer) as response:
        stream = Stream(response)
        assert stream.next() == {"retry": "3000"}
        assert stream.next() == {":": "keep-alive"}
    assert polls
    # Once the server has seen the client go, the polls stop (at 50 ms they would go on).
    time.sleep(0.5)
    settled = len(polls)
    time.sleep(0.5)
    assert len(polls) == settled


def test_the_stream_ends_when_the_caller_loses_the_city(
    server: str, container: Container, city: City
) -> None:
    name = unique("watcher")
    container.auth.add_user(name, None)
    container.auth.grant(name, city, Role.VIEWER)
    headers = bearer(container.auth.issue_token(name))
    url = f"{server}/api/v1/cities/{city.slug}/alarms/stream"
    with httpx.Client(timeout=5.0) as http, http.stream("GET", url, headers=headers) as response:
        stream = Stream(response)
        assert stream.next() == {"retry": "3000"}
        container.auth.grant(name, city, None)
        record(container, city)  # sent, if it comes before the next check
        rest = stream.rest()  # returns: the server ended the stream
    assert all(block.get("event") in ("alarm", None) for block in rest)


def test_the_stream_ends_when_the_store_fails_so_that_the_client_reconnects(
    server: str, container: Container, city: City, viewer: dict[str, str], monkeypatch: Any
) -> None:
    url = f"{server}/api/v1/cities/{city.slug}/alarms/stream"
    with httpx.Client(timeout=5.0) as http, http.stream("GET", url, headers=viewer) as response:
        stream = Stream(response)
        assert stream.next() == {"retry": "3000"}

        def down(*_args: Any) -> Any:
            raise StorageError("read alarm events: database unavailable")

        monkeypatch.setattr(container.db.alarms, "events_after", down)
        assert stream.rest() == []
