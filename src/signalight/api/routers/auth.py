"""Logging in for a token or a browser session, and asking who the caller is."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, Final

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from signalight.api.deps import SESSION_COOKIE, ContainerDep, SessionDep, UserDep
from signalight.api.errors import error_body
from signalight.api.schemas import ErrorOut, MeOut, TokenIn, TokenOut
from signalight.api.session_schemas import SessionOut
from signalight.container import Container
from signalight.domain.errors import BusyError, TooManyAttemptsError
from signalight.domain.users import User
from signalight.services.auth import csrf_token

router = APIRouter(tags=["auth"])

_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "schema": {"type": "integer"},
    }
}


_LOGIN_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    401: {"model": ErrorOut},
    429: {
        "model": ErrorOut,
        "description": "Too many failed logins for the name or from the address",
        "headers": _RETRY_AFTER,
    },
    503: {
        "model": ErrorOut,
        "description": "Too many logins being checked at once",
        "headers": _RETRY_AFTER,
    },
}


def _guarded_login(request: Request, log_in: Callable[[str], str]) -> str | JSONResponse:
    """``log_in(address)``'s token, or the 429 or 503 answer of the login guard."""
    # Behind a reverse proxy this is the client only if uvicorn trusts the
    # proxy's X-Forwarded-For (it does for 127.0.0.1; docs/security.md).
    address = request.client.host if request.client else ""
    try:
        return log_in(address)
    except TooManyAttemptsError as exc:
        seconds = str(int(exc.retry_after_s))
        return JSONResponse(
            error_body("too_many_attempts", str(exc)),
            status_code=429,
            headers={"Retry-After": seconds},
        )
    except BusyError as exc:
        return JSONResponse(
            error_body("busy", str(exc)), status_code=503, headers={"Retry-After": "1"}
        )


@router.post("/auth/token", response_model=TokenOut, responses=_LOGIN_ERRORS)
def login(body: TokenIn, request: Request, container: ContainerDep) -> TokenOut | JSONResponse:
    """Exchange a username and password for a new API token.

    After five failures for a name (twenty from an address) each further
    failure doubles the wait before the next try, up to 15 minutes; a try
    within the wait is refused with 429, whatever the password.
    """
    token = _guarded_login(
        request, lambda address: container.auth.login(body.username, body.password, address)
    )
    return token if isinstance(token, JSONResponse) else TokenOut(token=token)


def _session_out(container: Container, user: User, token: str) -> SessionOut:
    return SessionOut.of(user, container.cities.all(list(user.roles)), csrf_token(token))


@router.post(
    "/auth/session",
    response_model=SessionOut,
    responses={
        200: {
            "headers": {
                "Set-Cookie": {
                    "description": f"`{SESSION_COOKIE}`: the session (HttpOnly, SameSite=Strict)",
                    "schema": {"type": "string"},
                }
            }
        },
        **_LOGIN_ERRORS,
    },
)
def start_session(
    body: TokenIn, request: Request, response: Response, container: ContainerDep
) -> SessionOut | JSONResponse:
    """Sign a browser in with a username and password: the session is set as a cookie.

    The same login and back-off as ``POST /auth/token``, but the token lives
    ``SIGNALIGHT_SESSION_HOURS`` and is only in the HttpOnly cookie; the
    body has the CSRF token to send as ``X-CSRF-Token``. A session cookie
    sent with the login is revoked: every login starts a new session.
    """
    settings = container.settings
    lifetime = timedelta(hours=settings.session_hours)
    old = request.cookies.get(SESSION_COOKIE) or None
    token = _guarded_login(
        request,
        lambda address: container.auth.start_session(
            body.username, body.password, address, lifetime=lifetime, replaces=old
        ),
    )
    if isinstance(token, JSONResponse):
        return token
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(lifetime.total_seconds()),
        path="/",
        secure=settings.cookie_secure,
        httponly=True,
        samesite="strict",
    )
    return _session_out(container, container.auth.authenticate(token), token)


@router.get("/auth/session", response_model=SessionOut, responses={401: {"model": ErrorOut}})
def read_session(session: SessionDep, container: ContainerDep) -> SessionOut:
    """The browser session's user, CSRF token and roles (401 without a valid session cookie)."""
    return _session_out(container, session.user, session.token)


@router.delete(
    "/auth/session",
    status_code=204,
    response_class=Response,
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}},
)
def end_session(session: SessionDep, container: ContainerDep) -> Response:
    """Sign out: the session's token is revoked and the cookie cleared (needs ``X-CSRF-Token``)."""
    container.auth.end_session(session.token, actor=session.user.username)
    response = Response(status_code=204)
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        secure=container.settings.cookie_secure,
        httponly=True,
        samesite="strict",
    )
    return response


@router.get("/me", response_model=MeOut, responses={401: {"model": ErrorOut}})
def me(user: UserDep, container: ContainerDep) -> MeOut:
    """The caller and the role they hold in each city."""
    cities = container.cities.all(list(user.roles))
    return MeOut(username=user.username, roles={c.slug: user.roles[c.id] for c in cities if c.id})
