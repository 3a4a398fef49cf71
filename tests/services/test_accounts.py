"""Accounts: tokens revoked, users disabled, enabled and removed, each change audited with it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from signalight.adapters.clock import ManualClock
from signalight.adapters.sql.database import SqlDatabase
from signalight.domain.cities import City
from signalight.domain.errors import AuthenticationError, NotFoundError, PermissionDeniedError
from signalight.domain.users import AuditAction, Role, TokenState
from signalight.services.accounts import AccountService
from signalight.services.auth import AuthService
from tests.conftest import make_city, unique

PASSWORD = "correct horse battery"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 1, tzinfo=UTC))


@pytest.fixture
def auth(database: SqlDatabase, clock: ManualClock) -> AuthService:
    return AuthService(database.users, clock, token_ttl_days=30)


@pytest.fixture
def accounts(database: SqlDatabase, clock: ManualClock) -> AccountService:
    return AccountService(database.users, clock)


def _member(auth: AuthService, city: City, role: Role = Role.OPERATOR) -> str:
    name = unique("acct")
    auth.add_user(name, PASSWORD, actor="cli:root")
    auth.grant(name, city, role, actor="cli:root")
    return name


def test_a_revoked_token_stops_at_once_and_stays_listed(
    auth: AuthService, accounts: AccountService, city: City, clock: ManualClock
) -> None:
    name = _member(auth, city)
    kept, revoked = auth.issue_token(name, "laptop"), auth.issue_token(name, "phone")
    listed = accounts.tokens(name)
    assert [t.label for t in listed] == ["phone", "laptop"]
    phone = listed[0]

    clock.advance(timedelta(minutes=5))
    accounts.revoke(name, phone.id, actor="cli:root")

    with pytest.raises(AuthenticationError):
        auth.authenticate(revoked)
    assert auth.authenticate(kept).username == name
    states = {t.label: t.state(clock.now()) for t in accounts.tokens(name)}
    assert states == {"phone": TokenState.REVOKED, "laptop": TokenState.ACTIVE}
    assert accounts.tokens(name)[0].revoked_at == clock.now()
    clock.advance(timedelta(days=31))
    assert accounts.tokens(name)[1].state(clock.now()) is TokenState.EXPIRED


def test_another_users_token_cannot_be_revoked_through_a_name(
    auth: AuthService, accounts: AccountService, city: City
) -> None:
    mine, theirs = _member(auth, city), _member(auth, city)
    token = auth.issue_token(theirs)
    their_id = accounts.tokens(theirs)[0].id
    before = accounts.audit(city.pk)
    with pytest.raises(NotFoundError):
        accounts.revoke(mine, their_id, actor="cli:root")
    assert auth.authenticate(token).username == theirs
    # Nothing changed, so nothing was written to the audit either.
    assert accounts.audit(city.pk) == before


def test_disabling_stops_every_token_and_the_password_and_enabling_restores_them(
    auth: AuthService, accounts: AccountService, city: City
) -> None:
    name = _member(auth, city)
    tokens = [auth.issue_token(name) for _ in range(3)]
    user = accounts.set_disabled(name, "cli:root", disabled=True)
    assert user.disabled
    for token in tokens:
        with pytest.raises(AuthenticationError):
            auth.authenticate(token)
    with pytest.raises(AuthenticationError):
        auth.login(name, PASSWORD, "10.0.0.1")

    assert not accounts.set_disabled(name, "cli:root", disabled=False).disabled
    assert all(auth.authenticate(t).username == name for t in tokens)
    assert auth.login(name, PASSWORD, "10.0.0.1").startswith("slt_")


def test_a_removed_user_is_gone_with_roles_and_tokens_and_the_audit_keeps_the_name(
    auth: AuthService, accounts: AccountService, city: City
) -> None:
    name = _member(auth, city)
    token = auth.issue_token(name)
    accounts.remove(name, actor="cli:root")
    with pytest.raises(AuthenticationError):
        auth.authenticate(token)
    with pytest.raises(NotFoundError):
        accounts.tokens(name)
    assert name not in {u.username for u in accounts.users(city.pk)}
    last = accounts.audit(city.pk, limit=1)[0]
    assert (last.action, last.target, last.actor) == (AuditAction.USER_REMOVED, name, "cli:root")


def test_the_audit_says_who_did_what_to_whom_in_each_city(
    auth: AuthService, accounts: AccountService, database: SqlDatabase, clock: ManualClock
) -> None:
    north, south = make_city(database), make_city(database)
    name = _member(auth, north)
    auth.grant(name, south, Role.VIEWER, actor="alice")
    auth.issue_token(name, "ci", actor="alice")
    token_id = accounts.tokens(name)[0].id
    accounts.revoke(name, token_id, actor="bob")
    accounts.set_disabled(name, "bob", disabled=True)
    accounts.set_disabled(name, "bob", disabled=True)  # no change: no entry
    accounts.set_disabled(name, "carol", disabled=False)

    north_log = [(e.action, e.actor, e.detail) for e in reversed(accounts.audit(north.pk))]
    assert north_log == [
        (AuditAction.ROLE_SET, "cli:root", "operator"),
        (AuditAction.TOKEN_ISSUED, "alice", f"token {token_id} (ci)"),
        (AuditAction.TOKEN_REVOKED, "bob", f"token {token_id} (ci)"),
        (AuditAction.USER_DISABLED, "bob", ""),
        (AuditAction.USER_ENABLED, "carol", ""),
    ]
    # The south sees its own role change and what touched the account since,
    # not the north's role.
    south_actions = [e.action for e in reversed(accounts.audit(south.pk))]
    assert south_actions == [
        AuditAction.ROLE_SET,
        AuditAction.TOKEN_ISSUED,
        AuditAction.TOKEN_REVOKED,
        AuditAction.USER_DISABLED,
        AuditAction.USER_ENABLED,
    ]
    everything = accounts.audit(None, limit=1000)
    added = [e for e in everything if e.target == name and e.action is AuditAction.USER_ADDED]
    assert len(added) == 1
    assert all(e.at == clock.now() for e in everything if e.target == name)
    # Paging back from an entry gives the ones before it.
    newest = accounts.audit(north.pk, limit=2)
    older = accounts.audit(north.pk, limit=2, before=newest[-1].id)
    assert [e.action for e in older] == [AuditAction.TOKEN_REVOKED, AuditAction.TOKEN_ISSUED]


def test_an_account_cannot_disable_or_remove_itself(
    auth: AuthService, accounts: AccountService, city: City
) -> None:
    name = _member(auth, city, Role.ADMIN)
    with pytest.raises(PermissionDeniedError):
        accounts.set_disabled(name, name, disabled=True)
    with pytest.raises(PermissionDeniedError):
        accounts.remove(name, name)


def test_a_city_admin_manages_only_accounts_wholly_within_their_cities(
    auth: AuthService, accounts: AccountService, database: SqlDatabase
) -> None:
    mine, other = make_city(database), make_city(database)
    admin = auth.grant(_member(auth, mine, Role.ADMIN), other, Role.VIEWER)
    local = _member(auth, mine, Role.CREW)
    peer = _member(auth, mine, Role.ADMIN)
    straddling = _member(auth, mine, Role.VIEWER)
    auth.grant(straddling, other, Role.VIEWER)
    outsider = _member(auth, other, Role.ADMIN)

    assert accounts.managed(admin, mine, local).username == local
    assert accounts.managed(admin, mine, peer).username == peer
    with pytest.raises(PermissionDeniedError, match="not an admin of"):
        accounts.managed(admin, mine, straddling)
    # Another city's user, or nobody at all: the same answer.
    for name in (outsider, unique("nobody")):
        with pytest.raises(NotFoundError, match=f"no user {name!r} in city"):
            accounts.managed(admin, mine, name)
    # A viewer of the other city cannot manage there, even its viewers.
    with pytest.raises(NotFoundError):
        accounts.managed(admin, other, local)
    with pytest.raises(PermissionDeniedError):
        accounts.managed(admin, other, straddling)
