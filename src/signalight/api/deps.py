"""Request dependencies: the container, the caller, and the city the caller may act in."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

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
        found = container.db.cities.get_city(city)
        require_role(user, found, needed)
        return found

    return Depends(dependency)


# A city the caller may read, or change, as a path dependency: tenant isolation
# is decided here once, not in each handler.
ReadableCity = Annotated[City, _city_with(Role.VIEWER)]
OperatorCity = Annotated[City, _city_with(Role.OPERATOR)]
AdminCity = Annotated[City, _city_with(Role.ADMIN)]
