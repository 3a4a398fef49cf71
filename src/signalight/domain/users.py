"""Users, their roles in cities, and what each role may do."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
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


def may_manage(actor: User, target: User, city_id: int) -> bool:
    """Whether ``actor``, acting as an admin of ``city_id``, may manage ``target``'s account.

    The target must hold a role in that city, and the actor must be an admin
    of every city the target holds a role in: an account reaches into each of
    its cities, so disabling it or revoking its tokens acts in all of them,
    and an admin of one city must not act in another through it.
    """
    if target.role_in(city_id) is None or actor.role_in(city_id) is not Role.ADMIN:
        return False
    return all(actor.role_in(city) is Role.ADMIN for city in target.roles)


class TokenState(StrEnum):
    """Whether an API token still lets its user in (if the user is enabled)."""

    ACTIVE = "active"  # accepted
    EXPIRED = "expired"  # past its lifetime
    REVOKED = "revoked"  # taken away before its time


@dataclass(frozen=True, slots=True)
class ApiToken:
    """One API token of a user, as listed: never the token, nor its hash."""

    id: int
    user_id: int
    label: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def state(self, now: datetime) -> TokenState:
        """The token's state at ``now``."""
        if self.revoked_at is not None:
            return TokenState.REVOKED
        if self.expires_at is not None and self.expires_at <= now:
            return TokenState.EXPIRED
        return TokenState.ACTIVE


class AuditAction(StrEnum):
    """What was done to an account, or the access given to one."""

    USER_ADDED = "user.added"
    ROLE_SET = "role.set"  # a role given, changed or taken away
    TOKEN_ISSUED = "token.issued"  # noqa: S105 (an action); by the CLI, or a password login
    TOKEN_REVOKED = "token.revoked"  # noqa: S105 (an action, not a secret)
    USER_DISABLED = "user.disabled"  # every token stops at once
    USER_ENABLED = "user.enabled"
    USER_REMOVED = "user.removed"  # with its roles and tokens
    PASSWORD_SET = "password.set"  # noqa: S105 (an action); sessions of before go with it
    WINDOW_OPENED = "window.opened"  # a maintenance window: the user may open a cabinet door
    WINDOW_ENDED = "window.ended"  # a maintenance window ended early
    COMMAND_REQUESTED = "command.requested"  # commands to devices, one entry a batch
    # Lighting schedules (the target names the profile or what an entry applies to).
    PROFILE_ADDED = "schedule.profile.added"
    PROFILE_CHANGED = "schedule.profile.changed"
    PROFILE_REMOVED = "schedule.profile.removed"
    ASSIGNMENT_ADDED = "schedule.assignment.added"
    ASSIGNMENT_REMOVED = "schedule.assignment.removed"
    CALENDAR_ADDED = "schedule.calendar.added"
    CALENDAR_REMOVED = "schedule.calendar.removed"
    OVERRIDE_ADDED = "schedule.override.added"
    OVERRIDE_ENDED = "schedule.override.ended"


# The label of the tokens that browser sessions hold (the console's cookie).
SESSION_LABEL = "browser session"

SYSTEM_ACTOR = "system"  # a change no person asked for by name (the demo's set-up)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """Who did what to which account, and when; kept in the same transaction as the change."""

    action: AuditAction
    actor: str  # a username, or "cli:<os user>" for the command line
    target: str  # the account's username (kept after the account is removed)
    detail: str = ""
    at: datetime | None = None  # set when stored
    id: int = 0  # set when stored
