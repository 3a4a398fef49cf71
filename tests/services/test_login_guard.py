"""Password logins: back-off per user and per address, a bound on hashes, one hash per attempt."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Literal

import pytest
from argon2 import PasswordHasher
from sqlalchemy import update

from signalight.adapters.clock import ManualClock
from signalight.adapters.sql.database import SqlDatabase
from signalight.adapters.sql.tables import users
from signalight.domain.errors import AuthenticationError, BusyError, TooManyAttemptsError
from signalight.services.auth import AuthService
from signalight.services.login_guard import LoginGuard
from tests.conftest import unique

PASSWORD = "correct horse battery"


class CountingHasher(PasswordHasher):
    """argon2 with cheap parameters that counts its verifications, and can hold one open."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verified = 0
        self.running = 0
        self.most_running = 0
        self.gate: threading.Event | None = None
        self._lock = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:  # noqa: A002 (argon2's name)
        with self._lock:
            self.verified += 1
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        try:
            if self.gate is not None:
                self.gate.wait(10)
            return super().verify(hash, password)
        finally:
            with self._lock:
                self.running -= 1


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 1, 1, tzinfo=UTC))


@pytest.fixture
def hasher() -> CountingHasher:
    return CountingHasher()


def _auth(
    database: SqlDatabase, clock: ManualClock, hasher: PasswordHasher, hashes: int = 1
) -> AuthService:
    guard = LoginGuard(clock, concurrent_hashes=hashes)
    return AuthService(database.users, clock, token_ttl_days=0, guard=guard, hasher=hasher)


def _user(auth: AuthService, password: str | None = PASSWORD) -> str:
    name = unique("login")
    auth.add_user(name, password)
    return name


def _fails(auth: AuthService, name: str, password: str, address: str = "10.0.0.1") -> str:
    """How an attempt ends: 'ok', 'wrong' or 'throttled'."""
    try:
        auth.login(name, password, address)
    except AuthenticationError:
        return "wrong"
    except TooManyAttemptsError:
        return "throttled"
    return "ok"


def test_the_41st_attempt_waits_for_the_back_off_even_with_the_right_password(
    database: SqlDatabase, clock: ManualClock, hasher: CountingHasher
) -> None:
    auth = _auth(database, clock, hasher)
    name = _user(auth)
    outcomes = [_fails(auth, name, "wrong password!") for _ in range(40)]
    # A few tries are free, then each failure makes the next one wait.
    assert outcomes[: LoginGuard.PER_USER.free_failures + 1] == ["wrong"] * 6
    assert set(outcomes[6:]) == {"throttled"}
    with pytest.raises(TooManyAttemptsError) as refused:
        auth.login(name, PASSWORD, "10.0.0.1")
    assert refused.value.retry_after_s == pytest.approx(1.0)
    # Refused attempts are not checked at all, so they cost no hash.
    assert hasher.verified == 6

    clock.advance(timedelta(seconds=1))
    assert auth.login(name, PASSWORD, "10.0.0.1").startswith("slt_")


def test_the_wait_doubles_with_each_failure_up_to_a_ceiling(
    database: SqlDatabase, clock: ManualClock, hasher: CountingHasher
) -> None:
    auth = _auth(database, clock, hasher)
    name = _user(auth)
    for _ in range(LoginGuard.PER_USER.free_failures + 1):
        assert _fails(auth, name, "wrong password!") == "wrong"
    waits = []
    for _ in range(15):
        with pytest.raises(TooManyAttemptsError) as refused:
            auth.login(name, "wrong password!", "10.0.0.1")
        waits.append(refused.value.retry_after_s)
        clock.advance(timedelta(seconds=refused.value.retry_after_s))
        assert _fails(auth, name, "wrong password!") == "wrong"
    assert waits[:4] == [1.0, 2.0, 4.0, 8.0]
    assert waits == sorted(waits)
    assert waits[-1] == LoginGuard.PER_USER.max_wait_s


def test_a_success_clears_the_users_failures(
    database: SqlDatabase, clock: ManualClock, hasher: CountingHasher
) -> None:
    auth = _auth(database, clock, hasher)
    name = _user(auth)
    for _ in range(5):
        assert _fails(auth, name, "wrong password!") == "wrong"
    assert _fails(auth, name, PASSWORD) == "ok"
    for _ in range(6):
        assert _fails(auth, name, "wrong password!") == "wrong"


def test_failures_are_forgotten_after_an_hour_of_quiet(
    database: SqlDatabase, clock: ManualClock, hasher: CountingHasher
) -> None:
    auth = _auth(database, clock, hasher)
    name = _user(auth)
    for _ in range(6):
        _fails(auth, name, "wrong password!")
    assert _fails(auth, name, PASSWORD) == "throttled"
    clock.advance(timedelta(hours=1))
    for _ in range(6):
        assert _fails(auth, name, "wrong password!") == "wrong"


def test_one_address_guessing_many_names_is_held_back_alone(
    database: SqlDatabase, clock: ManualClock, hasher: CountingHasher
) -> None:
    auth = _auth(database, clock, hasher)
    victim = _user(auth)
    free = LoginGuard.PER_ADDRESS.free_failures
    # One failure per name: no name reaches its own limit.
    for _ in range(free + 1):
        assert _fails(auth, unique("nobody"), "wrong password!", "203.0.113.9") == "wrong"
    assert _fails(auth, victim, PASSWORD, "203.0.113.9") == "throttled"
    # Another address is not held back, nor is the user.
    assert _fails(auth, victim, PASSWORD, "198.51.100.7") == "ok"


@pytest.mark.parametrize("branch", ["unknown", "no password", "disabled", "wrong", "right"])
def test_every_branch_costs_exactly_one_hash(
    database: SqlDatabase, clock: ManualClock, hasher: CountingHasher, branch: str
) -> None:
    auth = _auth(database, clock, hasher)
    name = {
        "unknown": unique("nobody"),
        "no password": _user(auth, None),
        "disabled": _user(auth),
        "wrong": _user(auth),
        "right": _user(auth),
    }[branch]
    if branch == "disabled":
        with database.engine.begin() as conn:
            conn.execute(update(users).where(users.c.username == name).values(disabled=True))
    password = "wrong password!" if branch == "wrong" else PASSWORD
    assert _fails(auth, name, password) == ("ok" if branch == "right" else "wrong")
    assert hasher.verified == 1


def test_the_dummy_hash_has_the_stored_hashes_parameters(
    database: SqlDatabase, clock: ManualClock
) -> None:
    from argon2 import extract_parameters

    auth = AuthService(database.users, clock, token_ttl_days=0)
    name = _user(auth)
    stored = database.users.get_user(name)[1]
    assert stored is not None
    assert extract_parameters(auth.dummy_hash) == extract_parameters(stored)


@pytest.fixture
def gate(hasher: CountingHasher) -> Iterator[threading.Event]:
    hasher.gate = threading.Event()
    yield hasher.gate
    hasher.gate.set()


def _wait_until(condition: object, what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.005)


@pytest.mark.parametrize("bound", [1, 2])
def test_at_most_the_bound_of_hashes_run_at_once_and_the_rest_are_turned_away(
    database: SqlDatabase,
    clock: ManualClock,
    hasher: CountingHasher,
    gate: threading.Event,
    bound: int,
) -> None:
    auth = _auth(database, clock, hasher, hashes=bound)
    names = [_user(auth) for _ in range(bound)]
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda n=n: results.append(_fails(auth, n, PASSWORD, n)))
        for n in names
    ]
    for thread in threads:
        thread.start()
    _wait_until(lambda: hasher.running == bound, "the first logins never started hashing")
    # Every slot is taken: the next login is answered at once, unhashed.
    with pytest.raises(BusyError):
        auth.login(_user(auth), PASSWORD, "192.0.2.1")
    assert hasher.verified == bound
    gate.set()
    for thread in threads:
        thread.join(10)
    assert results == ["ok"] * bound
    assert hasher.most_running == bound
    # Slots come back once the hashes end.
    assert _fails(auth, names[0], PASSWORD, "192.0.2.1") == "ok"
