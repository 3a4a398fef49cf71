"""Authentication and authorisation: passwords, API tokens and roles per city."""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from signalight.domain.cities import City
from signalight.domain.errors import (
    AuthenticationError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from signalight.domain.users import SESSION_LABEL, SYSTEM_ACTOR, Role, User, role_allows
from signalight.ports import Clock, UserRepository
from signalight.services.login_guard import LoginGuard

log = logging.getLogger(__name__)

TOKEN_PREFIX = "slt_"  # noqa: S105 (a prefix, not a secret); makes a leaked token easy to recognise in secret scanners
MIN_PASSWORD = 12
USERNAME_MAX = 64
# The key of a session's CSRF token: a fixed context string, as the secret is
# the session token itself, which a page of another site cannot read.
_CSRF_CONTEXT = b"signalight browser session csrf"


def hash_token(token: str) -> str:
    """The stored form of an API token."""
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(session_token: str) -> str:
    """The CSRF token of a browser session: HMAC-SHA256 (hex) of its session token."""
    return hmac.new(_CSRF_CONTEXT, session_token.encode(), hashlib.sha256).hexdigest()


def csrf_matches(session_token: str, given: str | None) -> bool:
    """Whether ``given`` is the session's CSRF token, compared in constant time."""
    if given is None:
        return False
    return hmac.compare_digest(csrf_token(session_token).encode(), given.encode())


class AuthService:
    """Issues and checks credentials; decides what a user may do in a city."""

    def __init__(
        self,
        users: UserRepository,
        clock: Clock,
        token_ttl_days: int,
        *,
        guard: LoginGuard | None = None,
        hasher: PasswordHasher | None = None,
    ) -> None:
        self._users = users
        self._clock = clock
        self._ttl = timedelta(days=token_ttl_days) if token_ttl_days else None
        self._guard = guard or LoginGuard(clock)
        self._hasher = hasher or PasswordHasher()

    @functools.cached_property
    def dummy_hash(self) -> str:
        """A hash of nobody's password with this hasher's parameters, checked in its place.

        Made on first use, not at start: every command builds this service,
        few of them log anyone in.
        """
        return self._hasher.hash(secrets.token_urlsafe(24))

    def add_user(self, username: str, password: str | None, actor: str = SYSTEM_ACTOR) -> User:
        """Create a user, with an argon2 password hash if a password is given."""
        if (
            not username
            or len(username) > USERNAME_MAX
            or not username.isprintable()
            or " " in username
        ):
            raise InvalidInputError(
                f"username must be 1-{USERNAME_MAX} printable characters, no spaces"
            )
        password_hash = self._password_hash(password) if password is not None else None
        return self._users.add_user(username, password_hash, actor=actor, at=self._clock.now())

    def set_password(self, username: str, password: str, actor: str = SYSTEM_ACTOR) -> int:
        """Give a user a new password; their browser sessions end. Answers how many ended.

        API tokens stay: they are not the password's, and are revoked on their own.
        """
        user, _ = self._users.get_user(username)
        password_hash = self._password_hash(password)
        return self._users.set_password(user.id, password_hash, actor=actor, at=self._clock.now())

    def _password_hash(self, password: str) -> str:
        if len(password) < MIN_PASSWORD:
            raise InvalidInputError(f"password must have at least {MIN_PASSWORD} characters")
        return self._hasher.hash(password)

    def grant(
        self, username: str, city: City, role: Role | None, actor: str = SYSTEM_ACTOR
    ) -> User:
        """Give ``username`` a role in ``city`` (None takes it away)."""
        user, _ = self._users.get_user(username)
        self._users.set_role(user.id, city.pk, role, actor=actor, at=self._clock.now())
        return self._users.get_user(username)[0]

    def issue_token(
        self,
        username: str,
        label: str = "",
        actor: str = SYSTEM_ACTOR,
        *,
        lifetime: timedelta | None = None,
    ) -> str:
        """A new API token for the user. Only its hash is stored; show it once.

        Args:
            username: Whose token.
            label: What it is for, as the user's token list shows it.
            actor: Who issued it, for the audit log.
            lifetime: How long it lives; None: the service's token lifetime.
        """
        user, _ = self._users.get_user(username)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self._clock.now()
        ttl = lifetime if lifetime is not None else self._ttl
        expires = now + ttl if ttl else None
        self._users.add_token(user.id, hash_token(token), label, expires, actor=actor, at=now)
        return token

    def login(self, username: str, password: str, address: str = "") -> str:
        """Check a password (see :meth:`check_password`) and issue an API token."""
        self.check_password(username, password, address)
        return self.issue_token(username, label="login", actor=username)

    def start_session(
        self,
        username: str,
        password: str,
        address: str,
        *,
        lifetime: timedelta,
        replaces: str | None = None,
    ) -> str:
        """Check a password (see :meth:`check_password`) and issue a browser session's token.

        Args:
            username: The name given.
            password: The password given.
            address: The client's address, for the per-address back-off.
            lifetime: How long the session lives.
            replaces: The token of a session the browser still held, if any:
                revoked once the password is right, so every login has a new
                session (no session fixation).
        """
        self.check_password(username, password, address)
        if replaces:
            self.end_session(replaces, actor=username)
        return self.issue_token(username, label=SESSION_LABEL, actor=username, lifetime=lifetime)

    def end_session(self, token: str, actor: str) -> bool:
        """Revoke the token a session holds; False if no token has that value."""
        found = self._users.find_token(hash_token(token))
        if found is None:
            return False
        self._users.revoke_token(found.user_id, found.id, actor=actor, at=self._clock.now())
        log.info("session token %s of user id %s ended", found.id, found.user_id)
        return True

    def check_password(self, username: str, password: str, address: str = "") -> None:
        """Check a password behind the login guard, or raise.

        Every outcome costs one argon2 verification, against the user's hash
        or against :attr:`dummy_hash` for an unknown user, a user without a
        password or a disabled one, so that the time taken does not tell them
        apart.

        Args:
            username: The name given.
            password: The password given.
            address: The client's address, for the per-address back-off.

        Raises:
            TooManyAttemptsError: Too many failures lately for the name or the address.
            BusyError: As many hashes as allowed are running already.
            AuthenticationError: The name and password do not match an enabled user.
        """
        self._guard.check(username, address)
        # Made before any branch, so the first login of a process is slower
        # whoever it is for, not only for the unknown.
        dummy = self.dummy_hash
        with self._guard.hashing():
            try:
                user, stored = self._users.get_user(username)
            except NotFoundError:
                user, stored = None, None
            matches = self._verify(stored or dummy, password)
        if user is None or stored is None or user.disabled or not matches:
            self._guard.failed(username, address)
            if user is not None:
                log.info("failed login for user id %s", user.id)
            raise AuthenticationError("wrong username or password")
        self._guard.succeeded(username)

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    def authenticate(self, token: str | None) -> User:
        """The user a bearer token belongs to; AuthenticationError if none."""
        if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:  # noqa: PLR2004
            raise AuthenticationError("a valid bearer token is required")
        user = self._users.user_for_token(hash_token(token), self._clock.now())
        if user is None:
            raise AuthenticationError("the token is unknown, expired or revoked")
        return user


def require_role(user: User, city: City, needed: Role) -> Role:
    """The user's role in ``city`` if it allows ``needed``, else PermissionDeniedError."""
    role = user.role_in(city.pk)
    if role is None:
        raise PermissionDeniedError(f"you have no role in city {city.slug!r}")
    if not role_allows(role, needed):
        raise PermissionDeniedError(
            f"this needs the {needed} role in {city.slug!r}; you are {role}"
        )
    return role
