"""`signalight user`: accounts, roles and API tokens."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from signalight.cli.context import console, err_console, friendly, opened
from signalight.domain.users import Role

app = typer.Typer(help="Users, roles and API tokens.", no_args_is_help=True)


@app.command("add")
@friendly
def add(
    username: Annotated[str, typer.Argument()],
    city: Annotated[list[str] | None, typer.Option(help="City slug to grant the role in")] = None,
    role: Annotated[Role, typer.Option()] = Role.VIEWER,
    password_stdin: Annotated[
        bool, typer.Option(help="Read a password from stdin (for /auth/token logins)")
    ] = False,
) -> None:
    """Create a user with a role in some cities, and print a new API token once."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    with opened() as container:
        container.auth.add_user(username, password)
        for slug in city or []:
            container.auth.grant(username, container.db.cities.get_city(slug), role)
        token = container.auth.issue_token(username, label="cli")
    err_console.print(f"added {username} as {role} in {', '.join(city or []) or 'no city yet'}")
    err_console.print("API token (shown once, stored only as a hash):")
    console.print(token, highlight=False)


@app.command("grant")
@friendly
def grant(
    username: Annotated[str, typer.Argument()],
    city: Annotated[str, typer.Argument(help="City slug")],
    role: Annotated[Role | None, typer.Argument(help="Leave out to take the role away")] = None,
) -> None:
    """Give a user a role in a city, or take it away."""
    with opened() as container:
        container.auth.grant(username, container.db.cities.get_city(city), role)
    console.print(f"{username}: {role or 'no role'} in {city}")


@app.command("token")
@friendly
def token(
    username: Annotated[str, typer.Argument()],
    label: Annotated[str, typer.Option(help="What the token is for")] = "cli",
) -> None:
    """Issue another API token for a user and print it once."""
    with opened() as container:
        new = container.auth.issue_token(username, label=label)
    console.print(new, highlight=False)
