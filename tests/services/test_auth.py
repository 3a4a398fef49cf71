from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from signalight.adapters.clock import ManualClock
from signalight.adapters.sql.database import SqlDatabase
from signalight.domain.cities import City
from signalight.domain.errors import AuthenticationError, InvalidInputError, PermissionDeniedError
from signalight.domain.users import Role
from signalight.services.auth import AuthService, require_role
from tests.conftest import unique


def test_tokens_expire(database: SqlDatabase, city: City) -> None:
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    auth = AuthService(database.users, clock, token_ttl_days=30)
    name = unique("u")
    auth.add_user(name, None)
    auth.grant(name, city, Role.CREW)
    token = auth.issue_token(name)
    assert auth.authenticate(token).roles == {city.pk: Role.CREW}
    clock.advance(timedelta(days=31))
    with pytest.raises(AuthenticationError, match="expired"):
        auth.authenticate(token)


def test_roles_are_ordered(database: SqlDatabase, city: City) -> None:
    auth = AuthService(database.users, ManualClock(datetime.now(UTC)), token_ttl_days=0)
    name = unique("u")
    auth.add_user(name, "long enough password")
    user = auth.grant(name, city, Role.OPERATOR)
    assert require_role(user, city, Role.CREW) is Role.OPERATOR
    with pytest.raises(PermissionDeniedError, match="admin"):
        require_role(user, city, Role.ADMIN)


def test_weak_inputs_are_refused(database: SqlDatabase) -> None:
    auth = AuthService(database.users, ManualClock(datetime.now(UTC)), token_ttl_days=0)
    with pytest.raises(InvalidInputError, match="at least 12"):
        auth.add_user(unique("u"), "short")
    with pytest.raises(InvalidInputError, match="username"):
        auth.add_user("has space", None)
