"""Fixtures shared by every test: databases on both backends, cities, users, an API client."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from signalight.adapters.clock import SystemClock
from signalight.adapters.sql.database import SqlDatabase
from signalight.adapters.sql.schedule_lights import SqlLightDirectory
from signalight.adapters.sql.schedules import SqlScheduleStore
from signalight.api.app import create_app
from signalight.container import Container
from signalight.domain.cities import City
from signalight.domain.faults import DetectionSettings
from signalight.domain.users import Role
from signalight.services.schedules import Schedules
from signalight.settings import Settings

SHARED = Path(__file__).resolve().parents[2] / "shared"
POSTGRES_URL = os.environ.get(
    "SIGNALIGHT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/signalight_test"
)
_serial = itertools.count(1)


def unique(prefix: str) -> str:
    """A name no other test in this run uses, so tests never collide in a shared database."""
    return f"{prefix}-{os.getpid()}-{next(_serial)}"


def _fresh_postgres(url: str) -> None:
    """Drop and create the test database, so migrations run from empty once per run."""
    base, _, name = url.rpartition("/")
    try:
        with psycopg.connect(f"{base}/postgres", autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {base} ({exc}).\n"
            "Start it (`pg_ctlcluster --skip-systemctl-redirect 15 main start`) or point "
            "SIGNALIGHT_TEST_POSTGRES_URL at a server where the tests may create a database.",
            pytrace=False,
        )


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SqlDatabase]:
    """A migrated database of each backend, shared by the session."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'signalight.db'}"
    else:
        _fresh_postgres(POSTGRES_URL)
        url = POSTGRES_URL
    db = SqlDatabase.connect(url)
    db.migrate()
    yield db
    db.close()


@pytest.fixture
def settings(database: SqlDatabase, tmp_path: Path) -> Settings:
    """Settings pointing at the test database, with retention off.

    Tests store readings of 2001 in the shared database; an app's retention job
    (it starts with the app) would delete them under another test's feet.
    """
    url = database.engine.url.render_as_string(hide_password=False)
    return Settings(data_dir=tmp_path, database_url=url.replace("+psycopg", ""), retention_days=0)


@pytest.fixture
def container(settings: Settings, database: SqlDatabase) -> Container:
    """A container over the shared test database (not closed: the session owns it)."""
    return Container(settings, database)


def schedules_of(db: SqlDatabase) -> Schedules:
    """The schedules service over ``db`` with default detection settings, as energy plans by."""
    return Schedules(
        SqlScheduleStore(db.engine),
        SqlLightDirectory(db.engine),
        lambda _city_id: DetectionSettings(),
        SystemClock(),
    )


def make_city(db: SqlDatabase, **overrides: object) -> City:
    """Store a city with a unique slug near Seberang Perai; any field can be overridden."""
    values: dict[str, object] = {
        "slug": unique("city"),
        "name": "Test City",
        "country": "MY",
        "timezone": "Asia/Kuala_Lumpur",
        "lat": 5.38,
        "lon": 100.40,
        "currency": "MYR",
    }
    values.update(overrides)
    return db.cities.add_city(City(**values))  # type: ignore[arg-type]


@pytest.fixture
def city(database: SqlDatabase) -> City:
    """A fresh city of its own for this test."""
    return make_city(database)


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    """An HTTP client for the whole application."""
    with TestClient(create_app(container)) as test_client:
        yield test_client


def make_token(container: Container, city: City | None, role: Role = Role.ADMIN) -> str:
    """A new user with ``role`` in ``city``, and their API token."""
    username = unique("user")
    container.auth.add_user(username, None)
    if city is not None:
        container.auth.grant(username, city, role)
    return container.auth.issue_token(username)


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}
