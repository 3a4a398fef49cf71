"""Networks of cities and who may see them."""

from __future__ import annotations

from typing import Protocol

from signalight.domain.networks import Network, NetworkRole

__all__ = ["NetworkStore"]


class NetworkStore(Protocol):
    """Networks, their member cities and their roles."""

    def add_network(self, network: Network) -> Network:
        """Store a new network; ConflictError if the slug is taken."""
        ...

    def get_network(self, slug: str) -> Network:
        """One network by slug; NotFoundError if none."""
        ...

    def list_networks(self) -> list[tuple[Network, list[int]]]:
        """Every network with its member cities' ids, by slug."""
        ...

    def add_city(self, network_id: int, city_id: int) -> bool:
        """Make the city a member; False if it already was."""
        ...

    def member_cities(self, network_id: int) -> list[int]:
        """The member cities' ids."""
        ...

    def set_role(self, network_id: int, user_id: int, role: NetworkRole | None) -> None:
        """Give a user a role in the network, or (None) take it away."""
        ...

    def roles_of(self, user_id: int) -> list[tuple[Network, NetworkRole]]:
        """The networks the user has a role in, by slug."""
        ...
