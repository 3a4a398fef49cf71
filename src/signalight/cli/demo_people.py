"""The demo city's people: one user of each role who signs in to the console, and its network.

Their passwords are made once and kept in the demo's data directory (mode
0600, one file per user), so that a demo run again keeps the browser signed
in; they are printed at every start, as the admin's token is.
"""

from __future__ import annotations

import contextlib
import secrets
from pathlib import Path

from signalight.adapters.files import read_or_create_secret
from signalight.container import Container
from signalight.domain.cities import City
from signalight.domain.errors import ConflictError
from signalight.domain.networks import NetworkRole
from signalight.domain.users import Role

DEMO_CREW = "crew"  # the demo's repair crew: the simulated cabinet visits book its windows
# username -> role in the demo city; "admin" is the demo's admin of before.
DEMO_PEOPLE = {
    "admin": Role.ADMIN,
    "operator": Role.OPERATOR,
    DEMO_CREW: Role.CREW,
    "viewer": Role.VIEWER,
}
DEMO_NETWORK = ("wego", "WeGO pilot network")


def ensure(container: Container, city: City) -> list[tuple[str, Role, str]]:
    """Make the demo's users (once) with roles and passwords; answers (name, role, password)."""
    folder = Path(container.settings.data_dir) / "demo-passwords"
    people = []
    for username, role in DEMO_PEOPLE.items():
        password, made = read_or_create_secret(folder / username, lambda: secrets.token_urlsafe(12))
        with contextlib.suppress(ConflictError):
            container.auth.add_user(username, password)
        if made:  # a user of an older demo had no password, or another one
            container.auth.set_password(username, password)
        container.auth.grant(username, city, role)
        people.append((username, role, password))
    slug, name = DEMO_NETWORK
    with contextlib.suppress(ConflictError):
        container.networks.add(slug, name)
    container.networks.join(slug, city.slug)
    container.networks.grant(slug, "admin", NetworkRole.VIEWER)
    return people
