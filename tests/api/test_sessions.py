"""Browser sessions: a password login sets an HttpOnly cookie; changes need the CSRF token."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie

import httpx2 as httpx
import orjson
import pytest
from fastapi.testclient import TestClient

from signalight.adapters.clock import ManualClock
from signalight.adapters.sql.database import SqlDatabase
from signalight.api.app import create_app
from signalight.container import Container
from signalight.domain.alarms import AlarmType
from signalight.domain.cities import City
from signalight.domain.users import Role
from signalight.settings import Settings
from tests.api.test_alarms import Stream, record
from tests.api.test_alarms import server as alarm_server
from tests.conftest import bearer, unique

PASSWORD = "correct horse battery"
SESSION = "/api/v1/auth/session"
COOKIE = "signalight_session"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 1, 1, tzinfo=UTC))


@pytest.fixture
def clocked(settings: Settings, database: SqlDatabase, clock: ManualClock) -> Container:
    return Container(settings, database, clock=clock)


@pytest.fixture
def browser(clocked: Container) -> Iterator[TestClient]:
    with TestClient(create_app(clocked)) as client:
        yield client


@pytest.fixture
def admin(clocked: Container, city: City) -> str:
    """A user with a password, admin of ``city``."""
    name = unique("admin")
    clocked.auth.add_user(name, PASSWORD)
    clocked.auth.grant(name, city, Role.ADMIN)
    return name


def _login(client: TestClient, name: str, password: str = PASSWORD) -> tuple[str, str]:
    """Sign in; the session token from the cookie and the CSRF token from the body."""
    response = client.post(SESSION, json={"username": name, "password": password})
    assert response.status_code == 200, response.text
    return response.cookies[COOKIE], response.json()["csrf_token"]


def _cookie(token: str) -> dict[str, str]:
    return {"Cookie": f"{COOKIE}={token}"}


def _status(client: TestClient, token: str) -> int:
    client.cookies.clear()
    return client.get(SESSION, headers=_cookie(token)).status_code


def test_login_sets_an_http_only_strict_cookie_and_keeps_the_token_out_of_the_body(
    browser: TestClient, admin: str, city: City
) -> None:
    response = browser.post(SESSION, json={"username": admin, "password": PASSWORD})
    assert response.status_code == 200
    [header] = response.headers.get_list("set-cookie")
    morsel = SimpleCookie(header)[COOKIE]
    token = morsel.value
    assert token.startswith("slt_")
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "strict"
    assert morsel["path"] == "/"
    assert morsel["max-age"] == str(12 * 3600)
    assert not morsel["secure"]
    body = response.json()
    assert token not in response.text
    assert body["username"] == admin
    assert body["roles"] == [{"city": city.slug, "role": "admin"}]
    assert len(body["csrf_token"]) == 64

    again = browser.get(SESSION)
    assert again.status_code == 200
    assert again.json() == body
    # The session is a token like any other, labelled as what it is.
    listed = browser.get("/api/v1/me/tokens").json()
    assert [t["label"] for t in listed] == ["browser session"]


def test_the_cookie_is_secure_when_set_and_lives_as_configured(
    settings: Settings, database: SqlDatabase, clock: ManualClock, city: City
) -> None:
    configured = settings.model_copy(update={"cookie_secure": True, "session_hours": 2})
    container = Container(configured, database, clock=clock)
    name = unique("admin")
    container.auth.add_user(name, PASSWORD)
    with TestClient(create_app(container)) as client:
        response = client.post(SESSION, json={"username": name, "password": PASSWORD})
        morsel = SimpleCookie(response.headers["set-cookie"])[COOKIE]
        assert morsel["secure"] is True
        assert morsel["max-age"] == "7200"
        token = morsel.value
        clock.advance(timedelta(hours=2) - timedelta(seconds=1))
        assert _status(client, token) == 200
        clock.advance(timedelta(seconds=1))
        assert _status(client, token) == 401


def test_a_cookie_request_that_changes_something_needs_the_csrf_token(
    browser: TestClient, admin: str, city: City
) -> None:
    _, csrf = _login(browser, admin)
    path = f"/api/v1/cities/{city.slug}"
    assert browser.get(path).status_code == 200

    missing = browser.patch(path, json={"name": "Renamed"})
    assert missing.status_code == 403
    assert missing.json() == {"error": "forbidden", "message": "missing or wrong CSRF token"}
    wrong = browser.patch(path, json={"name": "Renamed"}, headers={"X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 403
    assert browser.get(path).json()["name"] == "Test City"

    right = browser.patch(path, json={"name": "Renamed"}, headers={"X-CSRF-Token": csrf})
    assert right.status_code == 200
    assert right.json()["name"] == "Renamed"


def test_a_bearer_request_needs_no_csrf_token_even_beside_a_cookie(
    browser: TestClient, clocked: Container, admin: str, city: City
) -> None:
    _login(browser, admin)
    token = clocked.auth.issue_token(admin, "script")
    path = f"/api/v1/cities/{city.slug}"
    response = browser.patch(path, json={"name": "By script"}, headers=bearer(token))
    assert response.status_code == 200
    # A bad bearer token is judged alone: the valid cookie beside it does not help.
    response = browser.patch(path, json={"name": "No"}, headers=bearer("slt_nothing"))
    assert response.status_code == 401
    # The session endpoints are the cookie's: a bearer token is no session.
    browser.cookies.clear()
    assert browser.get(SESSION, headers=bearer(token)).status_code == 401


def test_logout_revokes_the_session_and_clears_the_cookie(browser: TestClient, admin: str) -> None:
    token, csrf = _login(browser, admin)
    assert browser.delete(SESSION).status_code == 403
    assert _status(browser, token) == 200

    response = browser.delete(SESSION, headers={**_cookie(token), "X-CSRF-Token": csrf})
    assert response.status_code == 204
    cleared = SimpleCookie(response.headers["set-cookie"])[COOKIE]
    assert cleared.value in ("", '""')
    assert cleared["max-age"] == "0"
    assert _status(browser, token) == 401
    # Replayed by hand, the old cookie is refused everywhere.
    assert browser.get("/api/v1/me", headers=_cookie(token)).status_code == 401


def test_a_login_revokes_the_session_the_browser_still_held(
    browser: TestClient, admin: str
) -> None:
    first, _ = _login(browser, admin)
    second, _ = _login(browser, admin)  # the client sends the first cookie along
    assert second != first
    assert _status(browser, first) == 401
    assert _status(browser, second) == 200

    # A failed login leaves the held session alone.
    response = browser.post(
        SESSION, json={"username": admin, "password": "wrong password!"}, headers=_cookie(second)
    )
    assert response.status_code == 401
    assert _status(browser, second) == 200


def test_wrong_passwords_are_refused_and_held_back_as_for_tokens(
    browser: TestClient, admin: str, clock: ManualClock
) -> None:
    statuses = [
        browser.post(SESSION, json={"username": admin, "password": "wrong password!"}).status_code
        for _ in range(8)
    ]
    assert statuses[:6] == [401] * 6
    assert set(statuses[6:]) == {429}
    assert COOKIE not in browser.cookies
    # The guard is the one POST /auth/token uses: it is held back there too.
    token = browser.post("/api/v1/auth/token", json={"username": admin, "password": PASSWORD})
    assert token.status_code == 429
    held = browser.post(SESSION, json={"username": admin, "password": PASSWORD})
    assert held.status_code == 429
    assert held.headers["retry-after"] == "1"

    clock.advance(timedelta(seconds=1))
    _login(browser, admin)


def test_the_session_expires_after_twelve_hours_by_default(
    browser: TestClient, admin: str, clock: ManualClock
) -> None:
    token, _ = _login(browser, admin)
    clock.advance(timedelta(hours=11, minutes=59))
    assert _status(browser, token) == 200
    clock.advance(timedelta(minutes=1))
    assert _status(browser, token) == 401


def test_a_disabled_users_session_stops(
    browser: TestClient, clocked: Container, admin: str
) -> None:
    token, _ = _login(browser, admin)
    clocked.accounts.set_disabled(admin, "root", disabled=True)
    assert _status(browser, token) == 401
    assert browser.get("/api/v1/me", headers=_cookie(token)).status_code == 401
    clocked.accounts.set_disabled(admin, "root", disabled=False)
    assert _status(browser, token) == 200


def test_without_a_cookie_there_is_no_session(browser: TestClient) -> None:
    response = browser.get(SESSION)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthenticated"
    assert browser.get(SESSION, headers=_cookie("slt_forged")).status_code == 401
    assert browser.delete(SESSION, headers=_cookie("slt_forged")).status_code == 401


server = alarm_server  # uvicorn serving the app, as the stream's own tests use it


def test_the_alarm_stream_reads_the_cookie_and_ends_with_the_session(
    server: str, container: Container, city: City
) -> None:
    name = unique("watcher")
    container.auth.add_user(name, PASSWORD)
    container.auth.grant(name, city, Role.VIEWER)
    url = f"{server}/api/v1/cities/{city.slug}/alarms/stream"
    with httpx.Client(base_url=server, timeout=5.0) as http:
        login = http.post(SESSION, json={"username": name, "password": PASSWORD})
        headers = {"X-CSRF-Token": login.json()["csrf_token"]}
        with http.stream("GET", url) as response:
            stream = Stream(response)
            assert stream.next() == {"retry": "3000"}
            alarm = record(container, city)
            assert stream.next_event()["alarm"]["id"] == alarm.id
            # The stream checks the caller again every heartbeat (0.5 s here):
            # by the cookie's token, it is still allowed two checks later.
            time.sleep(1.2)
            later = record(container, city, type=AlarmType.LOW_VOLTAGE)
            assert stream.next_event()["alarm"]["id"] == later.id
            assert http.delete(SESSION, headers=headers).status_code == 204
            record(container, city, type=AlarmType.HIGH_POWER)  # sent if before the next check
            rest = stream.rest()  # returns: the server ended the stream
    assert all(block.get("event") in ("alarm", None) for block in rest)


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
def test_a_form_from_another_site_cannot_sign_anyone_in(
    browser: TestClient, admin: str, content_type: str
) -> None:
    # Login CSRF: a page elsewhere may post a form (these content types need no
    # CORS preflight) to sign the victim's browser in as the attacker. Only JSON
    # is taken, and JSON from another origin needs a preflight nobody answers.
    body = orjson.dumps({"username": admin, "password": PASSWORD})
    answer = browser.post(
        "/api/v1/auth/session",
        content=body,
        headers={"Content-Type": content_type, "Origin": "https://elsewhere.example"},
    )
    assert answer.status_code == 422
    assert "set-cookie" not in answer.headers
