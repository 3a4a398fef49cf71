"""Migration 0008 on SQLite and PostgreSQL: revocable tokens and the audit log, and back."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text

from signalight.adapters.sql.engine import make_engine
from signalight.adapters.sql.migrate import alembic_config, current_revision
from tests.conftest import POSTGRES_URL

NOW = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A database of its own on the test server, dropped afterwards."""
    base = POSTGRES_URL.rpartition("/")[0]
    name = f"signalight_migrate_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(f"{base}/postgres", autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at {base}: {exc}")
    yield f"{base}/{name}"
    with psycopg.connect(f"{base}/postgres", autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'migrate.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    yield engine
    engine.dispose()


def _tokens(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, label FROM api_tokens ORDER BY id"))
        return [tuple(row) for row in rows]


def test_tokens_gain_revocation_and_the_audit_log_comes_and_goes(engine: Engine) -> None:
    config = alembic_config(engine)
    command.upgrade(config, "0007")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (id, username, password_hash, disabled, created_at)"
                " VALUES (1, 'ops', NULL, false, :now)"
            ),
            {"now": NOW},
        )
        for token_id, label in ((1, "kept"), (2, "to revoke")):
            conn.execute(
                text(
                    "INSERT INTO api_tokens (id, user_id, token_hash, label, created_at)"
                    " VALUES (:id, 1, :hash, :label, :now)"
                ),
                {"id": token_id, "hash": f"{token_id:064x}", "label": label, "now": NOW},
            )

    command.upgrade(config, "0008")

    assert current_revision(engine) == "0008"
    schema = inspect(engine)
    assert "revoked_at" in {c["name"] for c in schema.get_columns("api_tokens")}
    assert {"audit_log", "audit_cities"} <= set(schema.get_table_names())
    keys = schema.get_pk_constraint("audit_cities")["constrained_columns"]
    assert keys == ["city_id", "audit_id"]
    # Tokens issued before are all still valid.
    assert _tokens(engine) == [(1, "kept"), (2, "to revoke")]
    with engine.begin() as conn:
        conn.execute(text("UPDATE api_tokens SET revoked_at = :now WHERE id = 2"), {"now": NOW})
        conn.execute(
            text(
                "INSERT INTO audit_log (at, actor, action, target, detail)"
                " VALUES (:now, 'cli:root', 'token.revoked', 'ops', 'token 2')"
            ),
            {"now": NOW},
        )

    command.downgrade(config, "0007")

    schema = inspect(engine)
    assert "revoked_at" not in {c["name"] for c in schema.get_columns("api_tokens")}
    assert not {"audit_log", "audit_cities"} & set(schema.get_table_names())
    # Without the column a revoked token would be accepted again: it is gone.
    assert _tokens(engine) == [(1, "kept")]
