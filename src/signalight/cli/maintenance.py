"""`signalight workorder`: a city's work orders from the command line, as the API has them.

The command line runs with the database's own rights, so by default it acts
as an admin of the city named ``cli:<os user>``; ``--as NAME`` acts as that
user instead, with their role (a crew member finishing their own order).
"""

from __future__ import annotations

from typing import Annotated

import orjson
import typer
from rich.table import Column, Table

from signalight.cli.context import console, friendly, opened
from signalight.cli.users import acting_user
from signalight.domain.alarms import Severity
from signalight.domain.errors import InvalidInputError, NotFoundError
from signalight.domain.maintenance import Part, WorkOrder, WorkOrderQuery, WorkOrderState

app = typer.Typer(
    help="Work orders: list, show, create, assign, start, note, finish, cancel.",
    no_args_is_help=True,
)

CityOpt = Annotated[str, typer.Option("--city", help="City slug")]
OrderArg = Annotated[int, typer.Argument(help="The work order's id")]
AsOpt = Annotated[
    str | None, typer.Option("--as", help="Act as this user, with their role (default: admin)")
]


def _when(order: WorkOrder, field: str) -> str:
    value = getattr(order, field)
    return value.strftime("%Y-%m-%d %H:%MZ") if value else "-"


def _json(order: WorkOrder) -> dict[str, object]:
    return {
        "id": order.id,
        "incident_id": order.incident_id,
        "asset": order.asset_code,
        "title": order.title,
        "priority": order.priority,
        "crew": order.crew,
        "state": order.state,
        "due_at": order.due_at.isoformat(),
        "confirmation": order.confirmation,
        "parts": [{"part": p.part, "quantity": p.quantity} for p in order.parts],
        "alarm_ids": list(order.alarm_ids),
    }


def _line(order: WorkOrder) -> str:
    confirmation = f", {order.confirmation}" if order.confirmation else ""
    return f"work order {order.id}: {order.state}{confirmation} ({order.crew or 'no crew'})"


@app.command("list")
@friendly
def list_(
    city: CityOpt,
    state: Annotated[list[WorkOrderState] | None, typer.Option(help="Repeat for several")] = None,
    crew: Annotated[str | None, typer.Option(help="Assigned to this user")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines")] = False,
) -> None:
    """List the city's work orders, newest first."""
    with opened() as container:
        target = container.cities.get(city)
        query = WorkOrderQuery(states=frozenset(state or ()), crew=crew, limit=limit)
        page = container.maintenance.query(target, acting_user(container, target, None), query)
        now = container.clock.now()
    if as_json:
        for order in page.items:
            console.print(orjson.dumps(_json(order)).decode(), highlight=False, soft_wrap=True)
        return
    table = Table(
        "id",
        "state",
        "priority",
        Column("asset", no_wrap=True),
        "crew",
        "due",
        "confirmation",
        "title",
    )
    for order in page.items:
        due = _when(order, "due_at") + (" (past due)" if order.past_due(now) else "")
        table.add_row(
            str(order.id),
            order.state,
            order.priority,
            order.asset_code,
            order.crew or "-",
            due,
            order.confirmation or "-",
            order.title,
        )
    console.print(table)


@app.command("show")
@friendly
def show(city: CityOpt, order_id: OrderArg) -> None:
    """Show one work order with its alarms, parts, notes and photos."""
    with opened() as container:
        target = container.cities.get(city)
        detail = container.maintenance.detail(
            target, acting_user(container, target, None), order_id
        )
    order = detail.order
    console.print(_line(order), highlight=False)
    console.print(f"{order.title} on {order.asset_code}, {order.priority}", highlight=False)
    console.print(
        f"due {_when(order, 'due_at')}, made {_when(order, 'created_at')} by {order.created_by}",
        highlight=False,
    )
    console.print(f"alarms: {', '.join(map(str, order.alarm_ids)) or '-'}", highlight=False)
    parts = ", ".join(f"{p.part} x{p.quantity}" for p in order.parts)
    console.print(f"parts: {parts or '-'}", highlight=False)
    for note in detail.notes:
        console.print(
            f"  {note.at:%Y-%m-%d %H:%MZ} {note.author}: {note.text}", highlight=False, markup=False
        )
    for photo in detail.photos:
        console.print(f"  photo {photo.id}: {photo.media_type} {photo.width}x{photo.height}")


@app.command("create")
@friendly
def create(
    city: CityOpt,
    alarm: Annotated[int | None, typer.Option(help="Make it for this alarm's incident")] = None,
    asset: Annotated[str | None, typer.Option(help="Or by hand on this asset (its code)")] = None,
    title: Annotated[str | None, typer.Option(help="Needed by hand")] = None,
    priority: Annotated[Severity | None, typer.Option(help="Needed by hand")] = None,
    crew: Annotated[str | None, typer.Option(help="Assign it at once")] = None,
) -> None:
    """Make a work order from an alarm, or by hand on an asset; prints its id."""
    if (alarm is None) == (asset is None):
        raise InvalidInputError("give --alarm or --asset")
    with opened() as container:
        target = container.cities.get(city)
        user = acting_user(container, target, None)
        service = container.maintenance
        if alarm is not None:
            order = service.create_from_alarm(
                target, user, alarm, title=title, priority=priority, crew=crew
            )
        else:
            found = container.inventory.asset_by_code(target, asset or "")
            if found is None:
                raise NotFoundError(f"no asset {asset!r} in {city!r}")
            if title is None or priority is None:
                raise InvalidInputError("an order by hand needs --title and --priority")
            order = service.create_by_hand(
                target, user, found.id, title=title, priority=priority, crew=crew
            )
    console.print(f"{_line(order)}, due {_when(order, 'due_at')}", highlight=False)


@app.command("assign")
@friendly
def assign(
    city: CityOpt, order_id: OrderArg, crew: Annotated[str, typer.Argument(help="Username")]
) -> None:
    """Give a work order to a crew member."""
    with opened() as container:
        target = container.cities.get(city)
        user = acting_user(container, target, None)
        order = container.maintenance.assign(target, user, order_id, crew)
    console.print(_line(order), highlight=False)


@app.command("start")
@friendly
def start(city: CityOpt, order_id: OrderArg, as_user: AsOpt = None) -> None:
    """The crew is on site."""
    with opened() as container:
        target = container.cities.get(city)
        user = acting_user(container, target, as_user)
        order = container.maintenance.start(target, user, order_id)
    console.print(_line(order), highlight=False)


@app.command("note")
@friendly
def note(
    city: CityOpt,
    order_id: OrderArg,
    text: Annotated[str, typer.Argument(help="The note")],
    as_user: AsOpt = None,
) -> None:
    """Add a note to a work order."""
    with opened() as container:
        target = container.cities.get(city)
        user = acting_user(container, target, as_user)
        container.maintenance.add_note(target, user, order_id, text)
    console.print(f"work order {order_id}: note added")


def _part(text: str) -> Part:
    name, _, count = text.partition(":")
    try:
        return Part(name.strip(), int(count) if count else 1)
    except ValueError:
        raise InvalidInputError(f"--part {text!r}: write NAME or NAME:QUANTITY") from None


@app.command("finish")
@friendly
def finish(
    city: CityOpt,
    order_id: OrderArg,
    part: Annotated[
        list[str] | None, typer.Option(help="NAME or NAME:QUANTITY; repeat; lamp sets the date")
    ] = None,
    note_text: Annotated[str, typer.Option("--note", help="What was done")] = "",
    as_user: AsOpt = None,
) -> None:
    """The job is done; the order is confirmed once its alarms have cleared."""
    parts = [_part(p) for p in part or []]
    with opened() as container:
        target = container.cities.get(city)
        user = acting_user(container, target, as_user)
        order = container.maintenance.finish(target, user, order_id, parts, note_text)
    console.print(_line(order), highlight=False)


@app.command("cancel")
@friendly
def cancel(
    city: CityOpt,
    order_id: OrderArg,
    note_text: Annotated[str, typer.Option("--note", help="Why")] = "",
) -> None:
    """Drop a work order."""
    with opened() as container:
        target = container.cities.get(city)
        user = acting_user(container, target, None)
        order = container.maintenance.cancel(target, user, order_id, note_text)
    console.print(_line(order), highlight=False)
