"""Logging in for a token, and asking who the token belongs to."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from signalight.api.deps import ContainerDep, UserDep
from signalight.api.errors import error_body
from signalight.api.schemas import ErrorOut, MeOut, TokenIn, TokenOut
from signalight.domain.errors import BusyError, TooManyAttemptsError

router = APIRouter(tags=["auth"])

_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "schema": {"type": "integer"},
    }
}


@router.post(
    "/auth/token",
    response_model=TokenOut,
    responses={
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
    },
)
def login(body: TokenIn, request: Request, container: ContainerDep) -> TokenOut | JSONResponse:
    """Exchange a username and password for a new API token.

    After five failures for a name (twenty from an address) each further
    failure doubles the wait before the next try, up to 15 minutes; a try
    within the wait is refused with 429, whatever the password.
    """
    # Behind a reverse proxy this is the client only if uvicorn trusts the
    # proxy's X-Forwarded-For (it does for 127.0.0.1; docs/security.md).
    address = request.client.host if request.client else ""
    try:
        token = container.auth.login(body.username, body.password, address)
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
    return TokenOut(token=token)


@router.get("/me", response_model=MeOut, responses={401: {"model": ErrorOut}})
def me(user: UserDep, container: ContainerDep) -> MeOut:
    """The caller and the role they hold in each city."""
    cities = container.cities.all(list(user.roles))
    return MeOut(username=user.username, roles={c.slug: user.roles[c.id] for c in cities if c.id})
