"""POST /auth/token under attack: 429 with Retry-After per user and per address, then back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from signalight.adapters.clock import ManualClock
from signalight.adapters.sql.database import SqlDatabase
from signalight.api.app import create_app
from signalight.container import Container
from signalight.settings import Settings
from tests.conftest import unique

PASSWORD = "correct horse battery"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 1, 1, tzinfo=UTC))


@pytest.fixture
def clocked(settings: Settings, database: SqlDatabase, clock: ManualClock) -> Container:
    return Container(settings, database, clock=clock)


def _client(container: Container, address: str) -> TestClient:
    return TestClient(create_app(container), client=(address, 40000))


@pytest.fixture
def attacker(clocked: Container) -> Iterator[TestClient]:
    with _client(clocked, "203.0.113.9") as client:
        yield client


def _login(client: TestClient, name: str, password: str) -> tuple[int, dict[str, str]]:
    response = client.post("/api/v1/auth/token", json={"username": name, "password": password})
    return response.status_code, dict(response.headers)


def test_forty_wrong_passwords_hold_back_the_right_one(
    attacker: TestClient, clocked: Container, clock: ManualClock
) -> None:
    name = unique("victim")
    clocked.auth.add_user(name, PASSWORD)
    statuses = [_login(attacker, name, "wrong password!")[0] for _ in range(40)]
    assert statuses.count(401) == 6
    assert set(statuses[6:]) == {429}

    status, headers = _login(attacker, name, PASSWORD)
    assert status == 429
    assert headers["retry-after"] == "1"
    body = attacker.post("/api/v1/auth/token", json={"username": name, "password": PASSWORD}).json()
    assert body["error"] == "too_many_attempts"

    clock.advance(timedelta(seconds=1))
    status, _ = _login(attacker, name, PASSWORD)
    assert status == 200


def test_the_limit_is_per_address_too(
    attacker: TestClient, clocked: Container, clock: ManualClock
) -> None:
    name = unique("victim")
    clocked.auth.add_user(name, PASSWORD)
    for _ in range(21):
        assert _login(attacker, unique("nobody"), "wrong password!")[0] == 401
    assert _login(attacker, name, PASSWORD)[0] == 429
    with _client(clocked, "198.51.100.7") as neighbour:
        assert _login(neighbour, name, PASSWORD)[0] == 200
