"""The browser session API's bodies: who is signed in, their CSRF token and roles."""

from __future__ import annotations

from pydantic import BaseModel, Field

from signalight.domain.cities import City
from signalight.domain.users import Role, User


class CityRoleOut(BaseModel):
    """The role the caller holds in one city."""

    city: str = Field(description="The city's slug")
    role: Role


class SessionOut(BaseModel):
    """A browser session: never its token, which only the HttpOnly cookie holds."""

    username: str
    csrf_token: str = Field(
        description="Send it as `X-CSRF-Token` with every request but GET, HEAD and OPTIONS"
    )
    roles: list[CityRoleOut] = Field(description="The caller's role in each city, by slug")

    @classmethod
    def of(cls, user: User, cities: list[City], csrf_token: str) -> SessionOut:
        """The body of a session of ``user``, whose cities are ``cities``."""
        roles = [
            CityRoleOut(city=c.slug, role=user.roles[c.pk]) for c in cities if c.pk in user.roles
        ]
        return cls(username=user.username, csrf_token=csrf_token, roles=roles)
