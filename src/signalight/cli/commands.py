"""`signalight command`: commands to devices, asked for, followed, and carried to the broker.

``send`` asks for a batch (the command line acts as an admin of the city,
``cli:<os user>``, or ``--as NAME``) and, with ``--wait``, shows its
progress until every command has ended. ``serve`` is the process that
carries them: each round it expires what ran out and publishes what is due,
and it reads the devices' answers through its own persistent MQTT session
(account ``signalight-commands``). It runs apart from ``signalight ingest``
because it has its own session and its own pace (and ingest's lean
subscriber only reads); run one ``serve`` per deployment.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from signalight.adapters.command_loopback import LoopbackLink
from signalight.adapters.mqtt_commands import COMMANDS_USER, MqttCommandLink
from signalight.cli.context import console, err_console, friendly, opened, stop_on_signals
from signalight.cli.telemetry import mqtt_settings, serve_metrics
from signalight.cli.users import acting_user
from signalight.domain.command_batches import CommandQuery, Target, TargetKind
from signalight.domain.commands import Command, CommandKind, CommandState
from signalight.domain.errors import InvalidInputError

if TYPE_CHECKING:
    from signalight.container import Container
    from signalight.domain.cities import City
from signalight.services.command_loop import CommandLoop
from signalight.services.commands import DISPATCH_LIMIT
from signalight.sim.command_nodes import Behaviour, NodeFleet
from signalight.sim.orders import Orders

app = typer.Typer(help="Commands to devices: send, follow, and carry them.", no_args_is_help=True)

CityArg = Annotated[str, typer.Argument(help="City slug")]


def _args(pairs: list[str], json_text: str | None) -> dict[str, Any]:
    """``--arg key=value`` (values read as JSON when they can be) and ``--args JSON``."""
    args: dict[str, Any] = {}
    if json_text:
        try:
            loaded = orjson.loads(json_text)
        except orjson.JSONDecodeError:
            raise InvalidInputError("--args: not JSON") from None
        if not isinstance(loaded, dict):
            raise InvalidInputError("--args: a JSON object, e.g. '{\"level\": 40}'")
        args.update(loaded)
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidInputError(f"--arg {pair!r}: write it as key=value")
        try:
            args[key] = orjson.loads(value)
        except orjson.JSONDecodeError:
            args[key] = value
    return args


def _target(assets: list[str], group: str | None, cabinet: str | None, city: bool) -> Target:
    given = [bool(assets), group is not None, cabinet is not None, city]
    if sum(given) != 1:
        raise InvalidInputError("name the devices with one of --asset, --group, --cabinet, --all")
    if assets:
        return Target(TargetKind.ASSETS, tuple(dict.fromkeys(assets)))
    if group is not None:
        return Target(TargetKind.GROUP, (group,))
    if cabinet is not None:
        return Target(TargetKind.CABINET, (cabinet,))
    return Target(TargetKind.CITY)


@app.command("send")
@friendly
def send(
    city: CityArg,
    kind: Annotated[CommandKind, typer.Argument(help="What to do")],
    arg: Annotated[
        list[str] | None, typer.Option("--arg", help="An argument, key=value (e.g. level=40)")
    ] = None,
    args_json: Annotated[str | None, typer.Option("--args", help="Arguments as JSON")] = None,
    asset: Annotated[list[str] | None, typer.Option(help="To this asset (repeat)")] = None,
    group: Annotated[str | None, typer.Option(help="To every asset of this group")] = None,
    cabinet: Annotated[str | None, typer.Option(help="To every asset this cabinet feeds")] = None,
    all_: Annotated[bool, typer.Option("--all", help="To every asset of the city")] = False,
    expires_in: Annotated[
        float, typer.Option(help="Hours until it is no longer run", min=0.01, max=336)
    ] = 24.0,
    why: Annotated[str, typer.Option(help="What it is for (kept in the audit log)")] = "",
    as_user: Annotated[str | None, typer.Option("--as", help="Act as this user")] = None,
    wait: Annotated[
        float, typer.Option(help="Seconds to follow its progress (0: don't)", min=0)
    ] = 0.0,
) -> None:
    """Ask for a command to devices; prints the batch, and follows it with --wait."""
    with opened() as container:
        target_city = container.cities.get(city)
        service = container.commands
        batch = service.request(
            target_city,
            acting_user(container, target_city, as_user),
            kind,
            _args(arg or [], args_json),
            _target(asset or [], group, cabinet, all_),
            expires_at=container.clock.now() + timedelta(hours=expires_in),
            why=why,
        )
        console.print(
            f"batch {batch.id}: {batch.kind} to {batch.total} devices"
            f" ({batch.target.describe()}); expires {batch.expires_at:%Y-%m-%d %H:%MZ}",
            highlight=False,
            markup=False,
        )
        if batch.skipped:
            err_console.print(f"{len(batch.skipped)} assets have no device", highlight=False)
        if wait:
            _follow(lambda: service.store.progress(batch.id), batch.total, wait)


def _follow(read: Any, total: int, seconds: float) -> None:  # noqa: ANN401 - () -> BatchProgress
    """A progress bar of the batch's ended commands until all have ended or time runs out."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[states]}"),
        TimeElapsedColumn(),
    )
    deadline = time.monotonic() + seconds
    with Progress(*columns, console=err_console) as bar:
        task = bar.add_task("ended", total=total, states="")
        while True:
            progress = read()
            states = ", ".join(f"{k} {v}" for k, v in progress.as_dict().items() if v)
            bar.update(task, completed=total - progress.open, states=states)
            if progress.done or time.monotonic() >= deadline:
                break
            time.sleep(0.5)
    console.print(", ".join(f"{k} {v}" for k, v in progress.as_dict().items()), highlight=False)


def _row(command: Command) -> list[str]:
    return [
        command.id,
        escape(command.device_uid),
        escape(command.asset_code or ""),
        str(command.kind),
        str(command.state),
        str(command.attempts),
        f"{command.created_at:%Y-%m-%d %H:%M:%SZ}",
        escape(command.reason),
    ]


@app.command("list")
@friendly
def list_(
    city: CityArg,
    state: Annotated[CommandState | None, typer.Option(help="In this state")] = None,
    device: Annotated[str | None, typer.Option(help="To this device")] = None,
    batch: Annotated[int | None, typer.Option(help="Of this batch", min=1)] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines")] = False,
) -> None:
    """List the city's commands, newest first."""
    with opened() as container:
        target = container.cities.get(city)
        query = CommandQuery(state=state, device_uid=device, batch_id=batch, limit=limit)
        found = container.commands.query(target, acting_user(container, target, None), query)
    if as_json:
        for command in found:
            body = {**_plain(command)}
            console.print(
                orjson.dumps(body).decode(), highlight=False, soft_wrap=True, markup=False
            )
        return
    table = Table("id", "device", "asset", "kind", "state", "sends", "created", "reason")
    for command in found:
        table.add_row(*_row(command))
    console.print(table)


def _plain(command: Command) -> dict[str, Any]:
    def when(value: datetime | None) -> str | None:
        return None if value is None else value.isoformat()

    return {
        "id": command.id,
        "batch": command.batch_id,
        "device": command.device_uid,
        "asset": command.asset_code,
        "kind": str(command.kind),
        "args": dict(command.args),
        "state": str(command.state),
        "attempts": command.attempts,
        "requested_by": command.requested_by,
        "created_at": when(command.created_at),
        "expires_at": when(command.expires_at),
        "done_at": when(command.done_at),
        "ack_status": None if command.ack_status is None else str(command.ack_status),
        "reason": command.reason,
        "stray_acks": command.stray_acks,
    }


@app.command("show")
@friendly
def show(
    city: CityArg,
    what: Annotated[str, typer.Argument(help="A batch's number, or a command's id")],
) -> None:
    """Show a batch and its progress, or one command with its stray answers (JSON)."""
    with opened() as container:
        target = container.cities.get(city)
        user = acting_user(container, target, None)
        if what.isdigit():
            batch, progress = container.commands.batch(target, user, int(what))
            body: dict[str, Any] = {
                "batch": batch.id,
                "kind": str(batch.kind),
                "args": dict(batch.args),
                "target": batch.target.describe(),
                "requested_by": batch.requested_by,
                "why": batch.why,
                "total": batch.total,
                "progress": progress.as_dict(),
                "done": progress.done,
            }
        else:
            command, strays = container.commands.command(target, user, what)
            body = _plain(command)
            body["strays"] = [
                {"reason": str(s.reason), "device": s.device_uid, "at": s.at.isoformat()}
                for s in strays
            ]
    console.print_json(orjson.dumps(body).decode())


@app.command("serve")
@friendly
def serve(
    interval: Annotated[
        float, typer.Option(help="Seconds between dispatcher rounds", min=0.05, max=60)
    ] = 1.0,
    username: Annotated[str, typer.Option(help="The MQTT account")] = COMMANDS_USER,
    metrics_port: Annotated[
        int, typer.Option(min=0, max=65535, help="Serve /metrics on this port (0: don't)")
    ] = 9465,
) -> None:
    """Carry commands to devices and read their answers, until stopped (Ctrl-C, SIGTERM).

    Signs in as `signalight-commands` with the ingest password (SIGNALIGHT_MQTT_PASSWORD,
    or the secret `signalight device broker-files` keeps); the broker's ACL lets
    it write every `down` topic and read every `ack`.
    """
    with opened() as container:
        broker = mqtt_settings(container, None, alone=True)
        if metrics_port:
            serve_metrics(container, metrics_port)
        service = container.commands
        link = MqttCommandLink(
            broker.host,
            broker.port,
            username,
            broker.password,
            service.router.filters(),
            client_id=username,
            tls=broker.tls,
        )
        console.print(f"commands: broker {broker.url} as {username}", soft_wrap=True)
        with stop_on_signals() as stop:
            link.start(service.handle_answers)
            while not stop.is_set():
                report = service.dispatch(link)
                if report.sent or report.expired or report.failed:
                    err_console.print(
                        f"{datetime.now(UTC):%H:%M:%S} sent {report.sent}, expired"
                        f" {report.expired}, failed {report.failed}",
                        highlight=False,
                    )
                if report.sent < DISPATCH_LIMIT:  # a full round may leave more: go on at once
                    stop.wait(interval)
            link.stop()


def start_in_process(
    container: Container, city: City, orders: Orders | None = None
) -> Callable[[], None]:
    """The demo's commands with no broker: the dispatcher and simulated nodes in this process.

    One node in a hundred fails its commands and one never answers, so the
    console shows every end a command can come to; ``orders`` tells the simulator's
    lamps what their nodes ran. With a broker configured,
    `signalight command serve` carries them instead. Returns what stops it.
    """
    if container.settings.mqtt_host:
        console.print("commands: run `signalight command serve` to carry them", soft_wrap=True)
        return lambda: None
    behaviours = {}
    for asset in container.db.assets.iter_assets(city.pk):
        if asset.device:
            match zlib.crc32(asset.device.encode()) % 100:
                case 0:
                    behaviours[asset.device] = Behaviour.FAIL
                case 1:
                    behaviours[asset.device] = Behaviour.SILENT
    loop = CommandLoop(container.commands, LoopbackLink(NodeFleet(behaviours, orders=orders)))
    loop.start()
    console.print(
        f"commands: carried in this process to simulated nodes ({len(behaviours)} of them"
        " fail or stay silent)",
        soft_wrap=True,
    )
    return loop.stop
