"""`signalight window`: maintenance windows, who may open a signal cabinet's door and when.

Like ``signalight workorder``, the command line acts as an admin of the city
named ``cli:<os user>``; ``window end --as NAME`` acts as that user (a crew
member ending their own window). Times without a zone are the city's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import orjson
import typer
from rich.markup import escape
from rich.table import Column, Table

from signalight.cli.context import console, friendly, opened
from signalight.cli.users import acting_user
from signalight.domain.cities import City
from signalight.domain.errors import InvalidInputError
from signalight.domain.windows import MaintenanceWindow, WindowQuery

app = typer.Typer(
    help="Maintenance windows: who may open a signal cabinet's door, and when.",
    no_args_is_help=True,
)

CityArg = Annotated[str, typer.Argument(help="City slug")]
TIME_HELP = "ISO 8601, e.g. 2026-03-01T10:00 (the city's time) or 2026-03-01T02:00Z"


def _time(text: str, city: City, option: str) -> datetime:
    """An option's time; without a zone it is the city's local time."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(f"{option}: {text!r} is not a time: {TIME_HELP}") from None
    if value.utcoffset() is None:
        return value.replace(tzinfo=ZoneInfo(city.timezone))
    return value


def _local(value: datetime, city: City) -> str:
    return f"{value.astimezone(ZoneInfo(city.timezone)):%Y-%m-%d %H:%M}"


def _state(window: MaintenanceWindow, now: datetime) -> str:
    if window.ended_at is not None:
        return "ended"
    if window.over(now):
        return "over"
    return "active" if window.covers(now) else "to come"


def _line(window: MaintenanceWindow, city: City) -> str:
    return (
        f"maintenance window {window.id} on {window.asset_code} for {window.who}:"
        f" {_local(window.starts_at, city)} to {_local(window.closes_at, city)} ({city.timezone})"
    )


def _json(window: MaintenanceWindow, now: datetime) -> dict[str, object]:
    return {
        "id": window.id,
        "asset": window.asset_code,
        "starts_at": window.starts_at.isoformat(),
        "ends_at": window.ends_at.isoformat(),
        "who": window.who,
        "why": window.why,
        "work_order_id": window.work_order_id,
        "created_by": window.created_by,
        "ended_at": None if window.ended_at is None else window.ended_at.isoformat(),
        "state": _state(window, now),
    }


@app.command("add")
@friendly
def add(
    city: CityArg,
    asset: Annotated[str, typer.Argument(help="The intersection's (or cabinet's) code")],
    from_: Annotated[str, typer.Option("--from", help=f"From: {TIME_HELP}")],
    until: Annotated[str, typer.Option(help="Until, not included; 7 days after --from at most")],
    who: Annotated[str, typer.Option(help="The username who will open the door")],
    why: Annotated[str, typer.Option(help="What the visit is for (500 characters)")],
    work_order: Annotated[
        int | None, typer.Option(help="The work order the visit is for", min=1)
    ] = None,
) -> None:
    """Open a maintenance window on an intersection or cabinet; prints its id."""
    with opened() as container:
        target = container.cities.get(city)
        window = container.windows.open(
            target,
            acting_user(container, target, None),
            asset,
            _time(from_, target, "--from"),
            _time(until, target, "--until"),
            who=who,
            why=why,
            work_order_id=work_order,
        )
    console.print(_line(window, target), highlight=False, markup=False)


@app.command("list")
@friendly
def list_(
    city: CityArg,
    asset: Annotated[str | None, typer.Option(help="On this intersection or cabinet")] = None,
    who: Annotated[str | None, typer.Option(help="Naming this user")] = None,
    active_at: Annotated[
        str | None, typer.Option(help=f"Only those authorising the door then: {TIME_HELP}")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines")] = False,
) -> None:
    """List the city's maintenance windows, newest first (times in the city's zone)."""
    with opened() as container:
        target = container.cities.get(city)
        service = container.windows
        query = WindowQuery(
            asset_id=None if asset is None else service.asset_id(target, asset),
            who=who,
            active_at=None if active_at is None else _time(active_at, target, "--active-at"),
            limit=limit,
        )
        page = service.query(target, acting_user(container, target, None), query)
        now = container.clock.now()
    if as_json:
        for window in page.items:
            line = orjson.dumps(_json(window, now)).decode()
            console.print(line, highlight=False, soft_wrap=True, markup=False)
        return
    table = Table("id", Column("asset", no_wrap=True), "who", "from", "until", "state", "why")
    for window in page.items:
        table.add_row(
            str(window.id),
            escape(window.asset_code),
            escape(window.who),
            _local(window.starts_at, target),
            _local(window.closes_at, target),
            _state(window, now),
            escape(window.why),
        )
    console.print(table)


@app.command("end")
@friendly
def end(
    city: CityArg,
    window_id: Annotated[int, typer.Argument(help="The window's id", min=1)],
    as_user: Annotated[
        str | None, typer.Option("--as", help="Act as this user (default: admin)")
    ] = None,
) -> None:
    """End a maintenance window now: from then on it authorises no door."""
    with opened() as container:
        target = container.cities.get(city)
        window = container.windows.end(target, acting_user(container, target, as_user), window_id)
    console.print(f"{_line(window, target)}, ended", highlight=False, markup=False)
