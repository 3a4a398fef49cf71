"""Users, their roles in cities, and what each role may do."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    """A user's role in one city. Each role may do all that the roles below it may."""

    VIEWER = "viewer"  # reads the inventory, alarms and reports
    CREW = "crew"  # a viewer who also works orders in the field
    OPERATOR = "operator"  # a crew member who also handles alarms and commands
    ADMIN = "admin"  # an operator who also changes the inventory and the city's settings


ROLE_RANK = {Role.VIEWER: 0, Role.CREW: 1, Role.OPERATOR: 2, Role.ADMIN: 3}


def role_allows(role: Role, needed: Role) -> bool:
    """Whether ``role`` covers what ``needed`` may do."""
    return ROLE_RANK[role] >= ROLE_RANK[needed]


@dataclass(frozen=True, slots=True)
class User:
    """A person or a system account, with a role per city."""

    id: int
    username: str
    roles: dict[int, Role] = field(default_factory=dict)  # city id -> role
    disabled: bool = False

    def role_in(self, city_id: int) -> Role | None:
        """The user's role in that city, or None when the user has none there."""
        return self.roles.get(city_id)
