"""Logging in for a token, and asking who the token belongs to."""

from __future__ import annotations

from fastapi import APIRouter

from signalight.api.deps import ContainerDep, UserDep
from signalight.api.schemas import ErrorOut, MeOut, TokenIn, TokenOut

router = APIRouter(tags=["auth"])


@router.post("/auth/token", response_model=TokenOut, responses={401: {"model": ErrorOut}})
def login(body: TokenIn, container: ContainerDep) -> TokenOut:
    """Exchange a username and password for a new API token."""
    return TokenOut(token=container.auth.login(body.username, body.password))


@router.get("/me", response_model=MeOut, responses={401: {"model": ErrorOut}})
def me(user: UserDep, container: ContainerDep) -> MeOut:
    """The caller and the role they hold in each city."""
    cities = container.db.cities.list_cities(list(user.roles))
    return MeOut(username=user.username, roles={c.slug: user.roles[c.id] for c in cities if c.id})
