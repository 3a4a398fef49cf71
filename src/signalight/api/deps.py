"""Request dependencies: the container, the caller, and the city the caller may act in."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from signalight.api.schemas import ErrorOut
from signalight.container import Container
from signalight.domain.cities import City
from signalight.domain.users import Role, User
from signalight.services.auth import require_role

bearer = HTTPBearer(auto_error=False, description="An API token from `signalight user add`")


def get_container(request: Request) -> Container:
    """The application's container."""
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


def current_user(
    container: ContainerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User:
    """The authenticated caller (401 without a valid bearer token)."""
    return container.auth.authenticate(credentials.credentials if credentials else None)


UserDep = Annotated[User, Depends(current_user)]
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
