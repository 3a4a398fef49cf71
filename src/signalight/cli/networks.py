"""`signalight network`: networks of cities, their member cities and who may see them."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Column, Table

from signalight.cli.context import console, friendly, opened
from signalight.domain.networks import NetworkRole

app = typer.Typer(help="Networks of cities seen side by side.", no_args_is_help=True)


@app.command("add")
@friendly
def add(
    slug: Annotated[str, typer.Argument(help="The network's slug, e.g. wego-pilot")],
    name: Annotated[str, typer.Option(help="The network's name, as pages show it")],
) -> None:
    """Create a network (no member city, no role yet)."""
    with opened() as container:
        network = container.networks.add(slug, name)
    console.print(f"added network {network.slug} ({network.name})")


@app.command("join")
@friendly
def join(
    slug: Annotated[str, typer.Argument(help="The network's slug")],
    city: Annotated[str, typer.Argument(help="The city's slug")],
) -> None:
    """Make a city a member of a network."""
    with opened() as container:
        added = container.networks.join(slug, city)
    console.print(f"{city} {'joined' if added else 'was already in'} {slug}")


@app.command("grant")
@friendly
def grant(
    slug: Annotated[str, typer.Argument(help="The network's slug")],
    username: Annotated[str, typer.Argument()],
    role: Annotated[
        NetworkRole | None, typer.Option(help="Leave out to take the role away")
    ] = None,
) -> None:
    """Give a user a role in a network (it shows the member cities' figures), or take it away."""
    with opened() as container:
        container.networks.grant(slug, username, role)
    console.print(f"{username}: {role or 'no role'} in network {slug}")


@app.command("list")
@friendly
def list_() -> None:
    """List the networks with their member cities."""
    with opened() as container:
        listed = container.networks.all()
    table = Table(Column("network", no_wrap=True), "name", "cities")
    for network, cities in listed:
        table.add_row(network.slug, network.name, ", ".join(c.slug for c in cities) or "-")
    console.print(table)
