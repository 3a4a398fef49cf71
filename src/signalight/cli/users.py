"""`signalight user`: accounts, roles, API tokens, and the audit of what was done to them."""

from __future__ import annotations

import getpass
import sys
from datetime import datetime
from typing import Annotated

import typer
from rich.table import Column, Table

from signalight.cli.context import console, err_console, friendly, opened
from signalight.container import Container
from signalight.domain.cities import City
from signalight.domain.errors import InvalidInputError, NotFoundError
from signalight.domain.users import Role, User

app = typer.Typer(help="Users, roles, API tokens and the audit log.", no_args_is_help=True)


def cli_actor() -> str:
    """Who the audit log says made a change from the command line: ``cli:<os user>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name, no passwd entry (a bare container)
        return "cli"


def acting_user(container: Container, city: City, name: str | None) -> User:
    """Whom a command acts as: the named user with their roles, or an admin of the city."""
    if name is None:
        return User(id=0, username=cli_actor(), roles={city.pk: Role.ADMIN})
    try:
        return container.db.users.get_user(name)[0]
    except NotFoundError:
        raise InvalidInputError(f"--as: no user {name!r}") from None


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%SZ") if moment else "-"


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
    actor = cli_actor()
    with opened() as container:
        container.auth.add_user(username, password, actor=actor)
        for slug in city or []:
            container.auth.grant(username, container.cities.get(slug), role, actor=actor)
        token = container.auth.issue_token(username, label="cli", actor=actor)
    err_console.print(f"added {username} as {role} in {', '.join(city or []) or 'no city yet'}")
    err_console.print("API token (shown once, stored only as a hash):")
    console.print(token, highlight=False)


@app.command("password")
@friendly
def password(username: Annotated[str, typer.Argument()]) -> None:
    """Set a user's password, read from stdin (one line); their browser sessions end."""
    new = sys.stdin.readline().rstrip("\n")
    with opened() as container:
        ended = container.auth.set_password(username, new, actor=cli_actor())
    err_console.print(f"password of {username} set; {ended} browser session(s) ended")


@app.command("grant")
@friendly
def grant(
    username: Annotated[str, typer.Argument()],
    city: Annotated[str, typer.Argument(help="City slug")],
    role: Annotated[Role | None, typer.Argument(help="Leave out to take the role away")] = None,
) -> None:
    """Give a user a role in a city, or take it away."""
    with opened() as container:
        container.auth.grant(username, container.cities.get(city), role, cli_actor())
    console.print(f"{username}: {role or 'no role'} in {city}")


@app.command("token")
@friendly
def token(
    username: Annotated[str, typer.Argument()],
    label: Annotated[str, typer.Option(help="What the token is for")] = "cli",
) -> None:
    """Issue another API token for a user and print it once."""
    with opened() as container:
        new = container.auth.issue_token(username, label=label, actor=cli_actor())
    console.print(new, highlight=False)


@app.command("list")
@friendly
def list_(
    city: Annotated[str | None, typer.Option(help="Only users with a role here")] = None,
) -> None:
    """List users with their roles, and whether each is disabled."""
    with opened() as container:
        cities = {c.pk: c.slug for c in container.cities.all()}
        city_id = container.cities.get(city).pk if city else None
        users = container.accounts.users(city_id)
    table = Table(Column("user", no_wrap=True), "state", "roles")
    for user in users:
        roles = ", ".join(f"{role} in {cities.get(c, c)}" for c, role in sorted(user.roles.items()))
        table.add_row(user.username, "disabled" if user.disabled else "enabled", roles or "-")
    console.print(table)


@app.command("tokens")
@friendly
def tokens(username: Annotated[str, typer.Argument()]) -> None:
    """List a user's API tokens (never the tokens themselves): id, label, dates, state."""
    with opened() as container:
        listed = container.accounts.tokens(username)
        now = container.clock.now()
    table = Table("id", "label", "created", "expires", "revoked", "state")
    for item in listed:
        table.add_row(
            str(item.id),
            item.label,
            _when(item.created_at),
            _when(item.expires_at),
            _when(item.revoked_at),
            item.state(now),
        )
    console.print(table)


@app.command("revoke")
@friendly
def revoke(
    username: Annotated[str, typer.Argument()],
    token_id: Annotated[int, typer.Argument(help="From `signalight user tokens NAME`")],
) -> None:
    """Revoke one of a user's API tokens; it is refused from the next request on."""
    with opened() as container:
        container.accounts.revoke(username, token_id, cli_actor())
    console.print(f"{username}: token {token_id} revoked")


@app.command("disable")
@friendly
def disable(username: Annotated[str, typer.Argument()]) -> None:
    """Disable a user: every token and the password stop at once, until `enable`."""
    with opened() as container:
        container.accounts.set_disabled(username, cli_actor(), disabled=True)
    console.print(f"{username}: disabled")


@app.command("enable")
@friendly
def enable(username: Annotated[str, typer.Argument()]) -> None:
    """Enable a disabled user again: their unrevoked, unexpired tokens work again."""
    with opened() as container:
        container.accounts.set_disabled(username, cli_actor(), disabled=False)
    console.print(f"{username}: enabled")


@app.command("remove")
@friendly
def remove(
    username: Annotated[str, typer.Argument()],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
) -> None:
    """Delete a user with their roles and tokens (the audit log keeps the name)."""
    if not yes:
        typer.confirm(f"remove {username} with their roles and tokens?", abort=True)
    with opened() as container:
        container.accounts.remove(username, cli_actor())
    console.print(f"{username}: removed")


@app.command("audit")
@friendly
def audit(
    city: Annotated[str | None, typer.Option(help="Only entries concerning this city")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """Who did what to which account, newest first."""
    with opened() as container:
        city_id = container.cities.get(city).pk if city else None
        entries = container.accounts.audit(city_id, limit)
    table = Table("id", "at", "actor", "action", Column("user", no_wrap=True), "detail")
    for entry in entries:
        table.add_row(
            str(entry.id), _when(entry.at), entry.actor, entry.action, entry.target, entry.detail
        )
    console.print(table)
