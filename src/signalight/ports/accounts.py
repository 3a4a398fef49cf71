"""Users, their roles and API tokens, and the audit log of what was done to them."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from signalight.domain.users import ApiToken, AuditEntry, Role, User

__all__ = ["UserRepository"]


class UserRepository(Protocol):
    """Users, their roles per city and their API tokens (stored as hashes only).

    Every change takes who made it and when, and keeps an audit entry of it
    in the same transaction.
    """

    def add_user(
        self, username: str, password_hash: str | None, *, actor: str, at: datetime
    ) -> User:
        """Create a user; ConflictError if the name is taken."""
        ...

    def get_user(self, username: str) -> tuple[User, str | None]:
        """A user and the stored password hash; NotFoundError if none."""
        ...

    def list_users(self, city_id: int | None) -> list[User]:
        """Every user, or those with a role in ``city_id``, by name."""
        ...

    def set_role(
        self, user_id: int, city_id: int, role: Role | None, *, actor: str, at: datetime
    ) -> None:
        """Give the user a role in a city, or take it away with None."""
        ...

    def add_token(
        self,
        user_id: int,
        token_hash: str,
        label: str,
        expires_at: datetime | None,
        *,
        actor: str,
        at: datetime,
    ) -> int:
        """Store a new API token's hash; returns the token's id."""
        ...

    def user_for_token(self, token_hash: str, now: datetime) -> User | None:
        """The enabled user whose unexpired, unrevoked token has that hash, else None."""
        ...

    def find_token(self, token_hash: str) -> ApiToken | None:
        """The token with that hash, whatever its state, else None."""
        ...

    def list_tokens(self, user_id: int) -> list[ApiToken]:
        """The user's tokens, newest first, revoked and expired ones too."""
        ...

    def revoke_token(self, user_id: int, token_id: int, *, actor: str, at: datetime) -> ApiToken:
        """Revoke one of the user's tokens; NotFoundError if it is not theirs."""
        ...

    def set_password(self, user_id: int, password_hash: str, *, actor: str, at: datetime) -> int:
        """Replace the user's password hash and revoke their browser sessions; how many."""
        ...

    def set_disabled(self, user_id: int, *, disabled: bool, actor: str, at: datetime) -> bool:
        """Disable or enable a user; True if that changed anything."""
        ...

    def remove_user(self, user_id: int, *, actor: str, at: datetime) -> None:
        """Delete a user with their roles and tokens."""
        ...

    def audit(self, city_id: int | None, limit: int, before: int | None = None) -> list[AuditEntry]:
        """Audit entries, newest first: a city's, or all with None; ``before`` an entry id."""
        ...
