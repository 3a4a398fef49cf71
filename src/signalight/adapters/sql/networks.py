"""Networks of cities, their members and their roles, in SQL (migration 0010)."""

from __future__ import annotations

from sqlalchemy import Engine, delete, insert, select, update

from signalight.adapters.sql.errors import translated
from signalight.adapters.sql.network_tables import network_cities, network_roles, networks
from signalight.domain.errors import ConflictError, NotFoundError
from signalight.domain.networks import Network, NetworkRole

__all__ = ["SqlNetworkStore"]


class SqlNetworkStore:
    """Implements ``NetworkStore`` over one engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add_network(self, network: Network) -> Network:
        """Store a new network; ConflictError if the slug is taken."""
        with translated("add network"), self._engine.begin() as conn:
            if conn.execute(select(networks.c.id).where(networks.c.slug == network.slug)).first():
                raise ConflictError(f"a network with slug {network.slug!r} exists already")
            new_id = conn.execute(
                insert(networks)
                .values(slug=network.slug, name=network.name)
                .returning(networks.c.id)
            ).scalar_one()
        return Network(slug=network.slug, name=network.name, id=new_id)

    def get_network(self, slug: str) -> Network:
        """One network by slug; NotFoundError if none."""
        with translated("get network"), self._engine.connect() as conn:
            row = conn.execute(
                select(networks.c.id, networks.c.slug, networks.c.name).where(
                    networks.c.slug == slug
                )
            ).first()
        if row is None:
            raise NotFoundError(f"no network {slug!r}")
        return Network(id=row.id, slug=row.slug, name=row.name)

    def list_networks(self) -> list[tuple[Network, list[int]]]:
        """Every network with its member cities' ids, by slug."""
        with translated("list networks"), self._engine.connect() as conn:
            found = [
                Network(id=row.id, slug=row.slug, name=row.name)
                for row in conn.execute(select(networks).order_by(networks.c.slug))
            ]
            members: dict[int, list[int]] = {}
            for network_id, city_id in conn.execute(
                select(network_cities.c.network_id, network_cities.c.city_id).order_by(
                    network_cities.c.city_id
                )
            ):
                members.setdefault(network_id, []).append(city_id)
        return [(network, members.get(network.pk, [])) for network in found]

    def add_city(self, network_id: int, city_id: int) -> bool:
        """Make the city a member; False if it already was."""
        with translated("add city to network"), self._engine.begin() as conn:
            if conn.execute(
                select(network_cities.c.city_id).where(
                    network_cities.c.network_id == network_id, network_cities.c.city_id == city_id
                )
            ).first():
                return False
            conn.execute(insert(network_cities).values(network_id=network_id, city_id=city_id))
        return True

    def member_cities(self, network_id: int) -> list[int]:
        """The member cities' ids."""
        with translated("read network cities"), self._engine.connect() as conn:
            return list(
                conn.execute(
                    select(network_cities.c.city_id)
                    .where(network_cities.c.network_id == network_id)
                    .order_by(network_cities.c.city_id)
                ).scalars()
            )

    def set_role(self, network_id: int, user_id: int, role: NetworkRole | None) -> None:
        """Give a user a role in the network, or (None) take it away."""
        key = (network_roles.c.network_id == network_id) & (network_roles.c.user_id == user_id)
        with translated("set network role"), self._engine.begin() as conn:
            if role is None:
                conn.execute(delete(network_roles).where(key))
            elif not conn.execute(
                update(network_roles).where(key).values(role=role.value)
            ).rowcount:
                conn.execute(
                    insert(network_roles).values(
                        network_id=network_id, user_id=user_id, role=role.value
                    )
                )

    def roles_of(self, user_id: int) -> list[tuple[Network, NetworkRole]]:
        """The networks the user has a role in, by slug."""
        statement = (
            select(networks.c.id, networks.c.slug, networks.c.name, network_roles.c.role)
            .join(network_roles, network_roles.c.network_id == networks.c.id)
            .where(network_roles.c.user_id == user_id)
            .order_by(networks.c.slug)
        )
        with translated("read network roles"), self._engine.connect() as conn:
            return [
                (Network(id=row.id, slug=row.slug, name=row.name), NetworkRole(row.role))
                for row in conn.execute(statement)
            ]
