"""Networks of cities: made and joined from the CLI, seen side by side by their members."""

from __future__ import annotations

from dataclasses import dataclass

from signalight.domain.cities import City
from signalight.domain.errors import NotFoundError
from signalight.domain.networks import Network, NetworkRole, validate_network
from signalight.domain.users import User
from signalight.ports import CityRepository, UserRepository
from signalight.ports.networks import NetworkStore
from signalight.services.city_status import CityFigures, CityStatus

__all__ = ["MemberCity", "NetworkView", "Networks"]


@dataclass(frozen=True, slots=True)
class MemberCity:
    """One member city's headline figures, and whether the viewer may open the city itself."""

    city: City
    figures: CityFigures
    may_open: bool


@dataclass(frozen=True, slots=True)
class NetworkView:
    """A network as one of its members sees it."""

    network: Network
    role: NetworkRole
    cities: list[MemberCity]


class Networks:
    """Networks, their member cities and roles, and the side-by-side view."""

    def __init__(
        self,
        store: NetworkStore,
        cities: CityRepository,
        users: UserRepository,
        status: CityStatus,
    ) -> None:
        self._store = store
        self._cities = cities
        self._users = users
        self._status = status

    def add(self, slug: str, name: str) -> Network:
        """Store a new network (ConflictError if the slug is taken)."""
        network = Network(slug=slug, name=name.strip())
        validate_network(network)
        return self._store.add_network(network)

    def join(self, slug: str, city_slug: str) -> bool:
        """Make a city a member of the network; False if it already was."""
        network = self._store.get_network(slug)
        return self._store.add_city(network.pk, self._cities.get_city(city_slug).pk)

    def grant(self, slug: str, username: str, role: NetworkRole | None) -> None:
        """Give a user a role in the network, or (None) take it away."""
        network = self._store.get_network(slug)
        user, _ = self._users.get_user(username)
        self._store.set_role(network.pk, user.id, role)

    def all(self) -> list[tuple[Network, list[City]]]:
        """Every network with its member cities."""
        listed = self._store.list_networks()
        ids = sorted({city for _, members in listed for city in members})
        by_id = {city.pk: city for city in self._cities.list_cities(ids)} if ids else {}
        return [(network, [by_id[c] for c in members if c in by_id]) for network, members in listed]

    def of(self, user: User) -> list[tuple[Network, NetworkRole]]:
        """The networks ``user`` has a role in."""
        return self._store.roles_of(user.id)

    def view(self, user: User, slug: str) -> NetworkView:
        """The network's member cities side by side, for a user with a role in it.

        Raises:
            NotFoundError: No such network, or the user has no role in it: the
                two look alike, so that a network's name is not given away.
        """
        found = {network.slug: (network, role) for network, role in self.of(user)}
        if slug not in found:
            raise NotFoundError(f"no network {slug!r}")
        network, role = found[slug]
        ids = self._store.member_cities(network.pk)
        members = self._cities.list_cities(ids) if ids else []
        return NetworkView(
            network,
            role,
            [
                MemberCity(
                    city,
                    self._status.figures(city, work_orders=False),
                    user.role_in(city.pk) is not None,
                )
                for city in members
            ],
        )
