"""Users, roles, API token hashes and the accounts' audit log in SQL."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, or_, select, update

from signalight.adapters.sql.errors import translated
from signalight.adapters.sql.tables import api_tokens, audit_cities, audit_log, memberships, users
from signalight.domain.errors import ConflictError, NotFoundError
from signalight.domain.users import SESSION_LABEL, ApiToken, AuditAction, AuditEntry, Role, User

DETAIL_MAX = 500


class SqlUserRepository:
    """Users in ``users``, roles in ``memberships``, tokens in ``api_tokens``, ``audit_log``.

    Every change takes who made it (``actor``) and when (``at``), and writes its
    audit entry in the same transaction: a change is never stored without its
    entry, nor an entry without its change.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add_user(
        self, username: str, password_hash: str | None, *, actor: str, at: datetime
    ) -> User:
        """Create a user; ConflictError if the name is taken."""
        with translated("add user"), self._engine.begin() as conn:
            if conn.execute(select(users.c.id).where(users.c.username == username)).first():
                raise ConflictError(f"user {username!r} exists already")
            new_id = conn.execute(
                insert(users)
                .values(
                    username=username,
                    password_hash=password_hash,
                    disabled=False,
                    created_at=at,
                )
                .returning(users.c.id)
            ).scalar_one()
            detail = "with a password" if password_hash else "without a password"
            _audit(conn, AuditEntry(AuditAction.USER_ADDED, actor, username, detail, at), [])
        return User(id=new_id, username=username)

    def get_user(self, username: str) -> tuple[User, str | None]:
        """A user with roles and the stored password hash; NotFoundError if none."""
        with translated("get user"), self._engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.username == username)).first()
            if row is None:
                raise NotFoundError(f"no user {username!r}")
            roles = _roles(conn, row.id)
        return User(row.id, row.username, roles, row.disabled), row.password_hash

    def list_users(self, city_id: int | None) -> list[User]:
        """Every user, or those with a role in ``city_id``, by name."""
        query = select(users.c.id, users.c.username, users.c.disabled).order_by(users.c.username)
        if city_id is not None:
            query = query.join(memberships, memberships.c.user_id == users.c.id).where(
                memberships.c.city_id == city_id
            )
        with translated("list users"), self._engine.connect() as conn:
            rows = conn.execute(query).all()
            roles: dict[int, dict[int, Role]] = {row.id: {} for row in rows}
            for user_id, city, role in conn.execute(
                select(memberships.c.user_id, memberships.c.city_id, memberships.c.role).where(
                    memberships.c.user_id.in_(list(roles))
                )
            ):
                roles[user_id][city] = Role(role)
        return [User(row.id, row.username, roles[row.id], row.disabled) for row in rows]

    def set_role(
        self, user_id: int, city_id: int, role: Role | None, *, actor: str, at: datetime
    ) -> None:
        """Give the user a role in a city, or take it away with None."""
        with translated("set role"), self._engine.begin() as conn:
            username = _username(conn, user_id)
            conn.execute(
                delete(memberships).where(
                    memberships.c.user_id == user_id, memberships.c.city_id == city_id
                )
            )
            if role is not None:
                conn.execute(
                    insert(memberships).values(user_id=user_id, city_id=city_id, role=role)
                )
            # Only that city's admins see it: the other cities' roles are not theirs to read.
            entry = AuditEntry(AuditAction.ROLE_SET, actor, username, role or "no role", at)
            _audit(conn, entry, [city_id])

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
        with translated("add token"), self._engine.begin() as conn:
            username = _username(conn, user_id)
            token_id = conn.execute(
                insert(api_tokens)
                .values(
                    user_id=user_id,
                    token_hash=token_hash,
                    label=label,
                    created_at=at,
                    expires_at=expires_at,
                )
                .returning(api_tokens.c.id)
            ).scalar_one()
            entry = AuditEntry(
                AuditAction.TOKEN_ISSUED, actor, username, _token(token_id, label), at
            )
            _audit(conn, entry, _roles(conn, user_id))
        return int(token_id)

    def user_for_token(self, token_hash: str, now: datetime) -> User | None:
        """The enabled user whose unexpired, unrevoked token has that hash, else None."""
        query = (
            select(users.c.id, users.c.username)
            .join(api_tokens, api_tokens.c.user_id == users.c.id)
            .where(
                api_tokens.c.token_hash == token_hash,
                users.c.disabled.is_(False),
                api_tokens.c.revoked_at.is_(None),
                or_(api_tokens.c.expires_at.is_(None), api_tokens.c.expires_at > now),
            )
        )
        with translated("check token"), self._engine.connect() as conn:
            row = conn.execute(query).first()
            if row is None:
                return None
            return User(row.id, row.username, _roles(conn, row.id))

    def find_token(self, token_hash: str) -> ApiToken | None:
        """The token with that hash, whatever its state, else None."""
        query = select(*_TOKEN_COLUMNS).where(api_tokens.c.token_hash == token_hash)
        with translated("find token"), self._engine.connect() as conn:
            row = conn.execute(query).first()
        return _api_token(row) if row is not None else None

    def list_tokens(self, user_id: int) -> list[ApiToken]:
        """The user's tokens, newest first, revoked and expired ones too."""
        query = (
            select(*_TOKEN_COLUMNS)
            .where(api_tokens.c.user_id == user_id)
            .order_by(api_tokens.c.id.desc())
        )
        with translated("list tokens"), self._engine.connect() as conn:
            return [_api_token(row) for row in conn.execute(query)]

    def revoke_token(self, user_id: int, token_id: int, *, actor: str, at: datetime) -> ApiToken:
        """Revoke one of the user's tokens (a revoked one stays so); NotFoundError if not theirs."""
        with translated("revoke token"), self._engine.begin() as conn:
            row = conn.execute(
                select(*_TOKEN_COLUMNS).where(
                    api_tokens.c.id == token_id, api_tokens.c.user_id == user_id
                )
            ).first()
            if row is None:
                raise NotFoundError(f"the user has no token {token_id}")
            token = _api_token(row)
            if token.revoked_at is not None:
                return token
            conn.execute(
                update(api_tokens).where(api_tokens.c.id == token_id).values(revoked_at=at)
            )
            entry = AuditEntry(
                AuditAction.TOKEN_REVOKED,
                actor,
                _username(conn, user_id),
                _token(token_id, token.label),
                at,
            )
            _audit(conn, entry, _roles(conn, user_id))
        return ApiToken(token.id, user_id, token.label, token.created_at, token.expires_at, at)

    def set_password(self, user_id: int, password_hash: str, *, actor: str, at: datetime) -> int:
        """Replace the user's password hash and revoke their browser sessions; how many."""
        with translated("set password"), self._engine.begin() as conn:
            conn.execute(
                update(users).where(users.c.id == user_id).values(password_hash=password_hash)
            )
            ended = conn.execute(
                update(api_tokens)
                .where(
                    api_tokens.c.user_id == user_id,
                    api_tokens.c.label == SESSION_LABEL,
                    api_tokens.c.revoked_at.is_(None),
                )
                .values(revoked_at=at)
            ).rowcount
            detail = f"{ended} browser session(s) ended"
            entry = AuditEntry(
                AuditAction.PASSWORD_SET, actor, _username(conn, user_id), detail, at
            )
            _audit(conn, entry, _roles(conn, user_id))
        return int(ended)

    def set_disabled(self, user_id: int, *, disabled: bool, actor: str, at: datetime) -> bool:
        """Disable or enable a user; True if that changed anything."""
        with translated("disable user"), self._engine.begin() as conn:
            changed = conn.execute(
                update(users)
                .where(users.c.id == user_id, users.c.disabled.is_(not disabled))
                .values(disabled=disabled)
            ).rowcount
            if changed:
                action = AuditAction.USER_DISABLED if disabled else AuditAction.USER_ENABLED
                entry = AuditEntry(action, actor, _username(conn, user_id), "", at)
                _audit(conn, entry, _roles(conn, user_id))
        return bool(changed)

    def remove_user(self, user_id: int, *, actor: str, at: datetime) -> None:
        """Delete a user with their roles and tokens."""
        with translated("remove user"), self._engine.begin() as conn:
            username = _username(conn, user_id)
            cities = _roles(conn, user_id)
            tokens = conn.execute(
                select(api_tokens.c.id).where(api_tokens.c.user_id == user_id)
            ).all()
            detail = f"with its roles and {len(tokens)} token(s)"
            _audit(conn, AuditEntry(AuditAction.USER_REMOVED, actor, username, detail, at), cities)
            # Roles and tokens go with the row (ON DELETE CASCADE).
            conn.execute(delete(users).where(users.c.id == user_id))

    def audit(self, city_id: int | None, limit: int, before: int | None = None) -> list[AuditEntry]:
        """Audit entries, newest first: a city's, or all with None; ``before`` an entry id."""
        query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if city_id is not None:
            query = query.join(audit_cities, audit_cities.c.audit_id == audit_log.c.id).where(
                audit_cities.c.city_id == city_id
            )
        if before is not None:
            query = query.where(audit_log.c.id < before)
        with translated("read audit log"), self._engine.connect() as conn:
            return [
                AuditEntry(
                    AuditAction(row.action), row.actor, row.target, row.detail, row.at, row.id
                )
                for row in conn.execute(query)
            ]


_TOKEN_COLUMNS = (
    api_tokens.c.id,
    api_tokens.c.user_id,
    api_tokens.c.label,
    api_tokens.c.created_at,
    api_tokens.c.expires_at,
    api_tokens.c.revoked_at,
)


def _api_token(row: Any) -> ApiToken:  # noqa: ANN401 (a row of _TOKEN_COLUMNS)
    return ApiToken(row.id, row.user_id, row.label, row.created_at, row.expires_at, row.revoked_at)


def _token(token_id: int, label: str) -> str:
    return f"token {token_id}" + (f" ({label})" if label else "")


def _username(conn: Connection, user_id: int) -> str:
    name = conn.execute(select(users.c.username).where(users.c.id == user_id)).scalar()
    if name is None:
        raise NotFoundError(f"no user with id {user_id}")
    return str(name)


def _roles(conn: Connection, user_id: int) -> dict[int, Role]:
    rows = conn.execute(
        select(memberships.c.city_id, memberships.c.role).where(memberships.c.user_id == user_id)
    )
    return {city_id: Role(role) for city_id, role in rows}


def _audit(conn: Connection, entry: AuditEntry, cities: Iterable[int]) -> None:
    """Write an entry, linked to the cities it concerns, in the caller's transaction."""
    audit_id = conn.execute(
        insert(audit_log)
        .values(
            at=entry.at,
            actor=entry.actor[:100],
            action=entry.action,
            target=entry.target,
            detail=entry.detail[:DETAIL_MAX],
        )
        .returning(audit_log.c.id)
    ).scalar_one()
    links = [{"audit_id": audit_id, "city_id": city} for city in cities]
    if links:
        conn.execute(insert(audit_cities), links)
