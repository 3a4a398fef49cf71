"""The account API's bodies: users of a city, API tokens (never the secret), audit entries."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from signalight.domain.users import ApiToken, AuditAction, AuditEntry, Role, TokenState, User


class CityUserOut(BaseModel):
    """A user holding a role in the city."""

    username: str
    role: Role = Field(description="The user's role in this city")
    disabled: bool = Field(description="A disabled user's tokens and password are refused")
    manageable: bool = Field(
        description="Whether you may manage the account: false when it also holds a role"
        " in a city you are not an admin of"
    )

    @classmethod
    def of(cls, user: User, city_id: int, *, manageable: bool) -> CityUserOut:
        """The body of a user as seen from one city."""
        role = user.role_in(city_id)
        assert role is not None  # noqa: S101 (listed because they hold a role here)
        return cls(username=user.username, role=role, disabled=user.disabled, manageable=manageable)


class TokenInfoOut(BaseModel):
    """An API token as listed: what it is for and its dates, never the token."""

    id: int
    label: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    state: TokenState

    @classmethod
    def of(cls, token: ApiToken, now: datetime) -> TokenInfoOut:
        """The body of a stored token at ``now``."""
        return cls(
            id=token.id,
            label=token.label,
            created_at=token.created_at,
            expires_at=token.expires_at,
            revoked_at=token.revoked_at,
            state=token.state(now),
        )


class AuditOut(BaseModel):
    """Who did what to which account, and when."""

    id: int = Field(description="Pass as `before` for the page of older entries")
    at: datetime
    actor: str = Field(description='A username, or "cli:<os user>" for the command line')
    action: AuditAction
    target: str = Field(description="The account's username")
    detail: str

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditOut:
        """The body of a stored entry."""
        assert entry.at is not None  # noqa: S101 (stored entries have their time)
        return cls(
            id=entry.id,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            target=entry.target,
            detail=entry.detail,
        )
