"""Networks: groups of member cities seen side by side (a regional pilot, a utility's towns).

A network has its own roles, apart from the cities': a network role lets one
see each member city's headline figures, never the city itself. Opening a
city still needs a role in that city.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from signalight.domain.errors import InvalidInputError

__all__ = ["Network", "NetworkRole", "validate_network"]

_SLUG_RE: Final = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
_NAME_MAX: Final = 200


class NetworkRole(StrEnum):
    """A user's role in one network."""

    VIEWER = "viewer"  # sees the member cities' figures side by side
    ADMIN = "admin"  # a viewer who may also be asked to manage it (the CLI does so today)


@dataclass(frozen=True, slots=True, kw_only=True)
class Network:
    """A named group of cities."""

    slug: str
    name: str
    id: int | None = None

    @property
    def pk(self) -> int:
        """The stored network's id."""
        if self.id is None:
            raise ValueError("the network is not stored yet")
        return self.id


def validate_network(network: Network) -> None:
    """Raise InvalidInputError unless the slug and name are usable."""
    if not _SLUG_RE.match(network.slug):
        raise InvalidInputError(
            f"network slug {network.slug!r}: lower-case letters, digits and dashes, up to 64"
        )
    if not network.name.strip() or len(network.name) > _NAME_MAX:
        raise InvalidInputError(f"a network's name needs 1 to {_NAME_MAX} characters")
