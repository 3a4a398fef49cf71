"""Managing accounts: tokens listed and revoked, users disabled, enabled and removed, the audit."""

from __future__ import annotations

import logging

from signalight.domain.cities import City
from signalight.domain.errors import NotFoundError, PermissionDeniedError
from signalight.domain.users import ApiToken, AuditEntry, User, may_manage
from signalight.ports import Clock, UserRepository

log = logging.getLogger(__name__)

AUDIT_LIMIT = 1000


class AccountService:
    """What may be done to an account once it exists, each change kept in the audit log.

    The methods act on any account: the command line calls them directly, as
    whoever runs it holds the database anyway. The API first resolves the
    account through :meth:`managed`, which applies the role model.
    """

    def __init__(self, users: UserRepository, clock: Clock) -> None:
        self._users = users
        self._clock = clock

    def managed(self, actor: User, city: City, username: str) -> User:
        """The account ``actor``, an admin of ``city``, may manage there.

        Raises:
            NotFoundError: No such user holds a role in the city (the same
                answer as for no such user, so names elsewhere stay unknown).
            PermissionDeniedError: The user also holds a role in a city the
                actor is not an admin of.
        """
        try:
            target, _ = self._users.get_user(username)
        except NotFoundError:
            target = None
        if target is None or target.role_in(city.pk) is None:
            raise NotFoundError(f"no user {username!r} in city {city.slug!r}")
        if not may_manage(actor, target, city.pk):
            raise PermissionDeniedError(
                f"{username!r} also holds a role in a city you are not an admin of"
            )
        return target

    def users(self, city_id: int | None) -> list[User]:
        """Every user, or those holding a role in the city."""
        return self._users.list_users(city_id)

    def tokens(self, username: str) -> list[ApiToken]:
        """The user's tokens, newest first, revoked and expired ones too."""
        user, _ = self._users.get_user(username)
        return self._users.list_tokens(user.id)

    def revoke(self, username: str, token_id: int, actor: str) -> ApiToken:
        """Revoke one of the user's tokens at once; NotFoundError if it is not theirs."""
        user, _ = self._users.get_user(username)
        token = self._users.revoke_token(user.id, token_id, actor=actor, at=self._clock.now())
        log.info("token %s of user id %s revoked", token_id, user.id)
        return token

    def set_disabled(self, username: str, actor: str, *, disabled: bool) -> User:
        """Disable a user (every token stops at once, and password logins) or enable again."""
        user, _ = self._users.get_user(username)
        if disabled and user.username == actor:
            raise PermissionDeniedError("you cannot disable your own account")
        if self._users.set_disabled(user.id, disabled=disabled, actor=actor, at=self._clock.now()):
            log.info("user id %s %s", user.id, "disabled" if disabled else "enabled")
        return self._users.get_user(username)[0]

    def remove(self, username: str, actor: str) -> None:
        """Delete a user with their roles and tokens; the audit keeps the name."""
        user, _ = self._users.get_user(username)
        if user.username == actor:
            raise PermissionDeniedError("you cannot remove your own account")
        self._users.remove_user(user.id, actor=actor, at=self._clock.now())
        log.info("user id %s removed", user.id)

    def audit(
        self, city_id: int | None, limit: int = 100, before: int | None = None
    ) -> list[AuditEntry]:
        """Audit entries, newest first: a city's, or every one with None."""
        return self._users.audit(city_id, min(max(limit, 1), AUDIT_LIMIT), before)
