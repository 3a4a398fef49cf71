"""Users, roles and API token hashes in SQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, delete, insert, or_, select

from signalight.adapters.sql.errors import translated
from signalight.adapters.sql.tables import api_tokens, memberships, users
from signalight.domain.errors import ConflictError, NotFoundError
from signalight.domain.users import Role, User


class SqlUserRepository:
    """Users in ``users``, their roles in ``memberships`` and tokens in ``api_tokens``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add_user(self, username: str, password_hash: str | None) -> User:
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
                    created_at=datetime.now(UTC),
                )
                .returning(users.c.id)
            ).scalar_one()
        return User(id=new_id, username=username)

    def get_user(self, username: str) -> tuple[User, str | None]:
        """A user with roles and the stored password hash; NotFoundError if none."""
        with translated("get user"), self._engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.username == username)).first()
            if row is None:
                raise NotFoundError(f"no user {username!r}")
            roles = self._roles(conn, row.id)
        return User(row.id, row.username, roles, row.disabled), row.password_hash

    def set_role(self, user_id: int, city_id: int, role: Role | None) -> None:
        """Give the user a role in a city, or take it away with None."""
        with translated("set role"), self._engine.begin() as conn:
            conn.execute(
                delete(memberships).where(
                    memberships.c.user_id == user_id, memberships.c.city_id == city_id
                )
            )
            if role is not None:
                conn.execute(
                    insert(memberships).values(user_id=user_id, city_id=city_id, role=role)
                )

    def add_token(
        self, user_id: int, token_hash: str, label: str, expires_at: datetime | None
    ) -> None:
        """Store a new API token's hash."""
        with translated("add token"), self._engine.begin() as conn:
            conn.execute(
                insert(api_tokens).values(
                    user_id=user_id,
                    token_hash=token_hash,
                    label=label,
                    created_at=datetime.now(UTC),
                    expires_at=expires_at,
                )
            )

    def user_for_token(self, token_hash: str, now: datetime) -> User | None:
        """The enabled user whose unexpired token has that hash, else None."""
        query = (
            select(users.c.id, users.c.username)
            .join(api_tokens, api_tokens.c.user_id == users.c.id)
            .where(
                api_tokens.c.token_hash == token_hash,
                users.c.disabled.is_(False),
                or_(api_tokens.c.expires_at.is_(None), api_tokens.c.expires_at > now),
            )
        )
        with translated("check token"), self._engine.connect() as conn:
            row = conn.execute(query).first()
            if row is None:
                return None
            return User(row.id, row.username, self._roles(conn, row.id))

    @staticmethod
    def _roles(conn: Connection, user_id: int) -> dict[int, Role]:
        rows = conn.execute(
            select(memberships.c.city_id, memberships.c.role).where(
                memberships.c.user_id == user_id
            )
        )
        return {city_id: Role(role) for city_id, role in rows}
