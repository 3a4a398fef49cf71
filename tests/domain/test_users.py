"""Who may manage an account, and a token's state, from plain values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from signalight.domain.users import ApiToken, Role, TokenState, User, may_manage

NORTH, SOUTH = 1, 2
NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _user(**roles: Role) -> User:
    return User(0, "u", {NORTH if c == "north" else SOUTH: r for c, r in roles.items()})


def test_an_admin_manages_accounts_held_only_in_cities_they_administer() -> None:
    admin = _user(north=Role.ADMIN)
    assert may_manage(admin, _user(north=Role.VIEWER), NORTH)
    assert may_manage(admin, _user(north=Role.ADMIN), NORTH)
    assert not may_manage(admin, _user(north=Role.VIEWER, south=Role.VIEWER), NORTH)
    assert not may_manage(admin, _user(south=Role.VIEWER), NORTH)
    assert not may_manage(admin, _user(south=Role.VIEWER), SOUTH)
    both = _user(north=Role.ADMIN, south=Role.ADMIN)
    assert may_manage(both, _user(north=Role.VIEWER, south=Role.CREW), SOUTH)
    assert not may_manage(_user(north=Role.OPERATOR), _user(north=Role.VIEWER), NORTH)


def test_a_token_is_revoked_before_it_is_expired() -> None:
    token = ApiToken(1, 1, "", NOW, NOW + timedelta(days=1), None)
    assert token.state(NOW) is TokenState.ACTIVE
    assert token.state(NOW + timedelta(days=1)) is TokenState.EXPIRED
    revoked = ApiToken(1, 1, "", NOW, NOW + timedelta(days=1), NOW)
    assert revoked.state(NOW + timedelta(days=2)) is TokenState.REVOKED
    assert (
        ApiToken(1, 1, "", NOW, None, None).state(NOW + timedelta(days=9999)) is TokenState.ACTIVE
    )
