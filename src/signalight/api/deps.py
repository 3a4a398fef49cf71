"""Request dependencies: the container, the caller, and the city the caller may act in."""

from __future__ import annotations

from typing import Annotated, Any, Final, NamedTuple

from fastapi import Depends, Path, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from signalight.api.schemas import ErrorOut
from signalight.container import Container
from signalight.domain.cities import City
from signalight.domain.errors import AuthenticationError, PermissionDeniedError
from signalight.domain.users import Role, User
from signalight.services.auth import csrf_matches, require_role

SESSION_COOKIE: Final = "signalight_session"
CSRF_HEADER: Final = "X-CSRF-Token"
# Methods that change nothing: a cookie alone may make them. Any other needs
# the session's CSRF token in CSRF_HEADER, which another site's page cannot know.
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})

bearer = HTTPBearer(auto_error=False, description="An API token from `signalight user add`")
session_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    description=(
        f"A browser session from `POST /auth/session`; a request other than GET, HEAD or"
        f" OPTIONS also needs its CSRF token in `{CSRF_HEADER}`"
    ),
)
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
CookieDep = Annotated[str | None, Depends(session_cookie)]


def get_container(request: Request) -> Container:
    """The application's container."""
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


class BrowserSession(NamedTuple):
    """A caller signed in by the session cookie, and the cookie's token."""

    user: User
    token: str


def browser_session(request: Request, container: ContainerDep, cookie: CookieDep) -> BrowserSession:
    """The caller by the session cookie alone.

    401 without a valid cookie; 403 for a method other than GET, HEAD or
    OPTIONS without the session's CSRF token in ``X-CSRF-Token``.
    """
    if not cookie:
        raise AuthenticationError("no browser session: sign in")
    user = container.auth.authenticate(cookie)
    if request.method not in SAFE_METHODS and not csrf_matches(
        cookie, request.headers.get(CSRF_HEADER)
    ):
        raise PermissionDeniedError("missing or wrong CSRF token")
    return BrowserSession(user, cookie)


def current_user(
    request: Request, container: ContainerDep, credentials: BearerDep, cookie: CookieDep
) -> User:
    """The authenticated caller: by the bearer token if one is sent, else by the session cookie.

    A bearer request is judged by its token alone (no CSRF token needed);
    see :func:`browser_session` for the cookie. 401 with neither.
    """
    if credentials is not None or not cookie:
        return container.auth.authenticate(credentials.credentials if credentials else None)
    return browser_session(request, container, cookie).user


def caller_token(credentials: BearerDep, cookie: CookieDep) -> str | None:
    """The token the caller sent, as :func:`current_user` chose it (for re-checks in a stream)."""
    if credentials is not None:
        return credentials.credentials
    return cookie or None


UserDep = Annotated[User, Depends(current_user)]
SessionDep = Annotated[BrowserSession, Depends(browser_session)]
CitySlug = Annotated[str, Path(description="The city's slug", max_length=64)]


def _city_with(needed: Role) -> object:
    def dependency(container: ContainerDep, user: UserDep, city: CitySlug) -> City:
        found = container.cities.get(city)
        require_role(user, found, needed)
        return found

    return Depends(dependency)


# A city the caller may read, or change, as a path dependency: tenant isolation
# is decided here once, not in each handler.
ReadableCity = Annotated[City, _city_with(Role.VIEWER)]
OperatorCity = Annotated[City, _city_with(Role.OPERATOR)]
AdminCity = Annotated[City, _city_with(Role.ADMIN)]

# What a route under /cities/{city} may answer before its handler runs: no
# valid token (401), no role in the city (403), no such city (404), a
# parameter that is not valid (422). Each such router declares them.
CITY_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    status: {"model": ErrorOut} for status in (401, 403, 404, 422)
}
