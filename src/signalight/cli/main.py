"""The `signalight` command: the demo, the server, and the admin jobs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer
import uvicorn

from signalight import __version__
from signalight.adapters.sql.migrate import current_revision
from signalight.api.app import create_app
from signalight.cli import (
    cities,
    commands,
    demo_fleet,
    demo_people,
    devices,
    energy,
    faults,
    inventory,
    maintenance,
    networks,
    notify,
    schedules,
    signals,
    telemetry,
    users,
    windows,
)
from signalight.cli.context import console, err_console, friendly, load_settings, opened
from signalight.cli.simulate import simulate
from signalight.consumers.mqtt import MqttIngest
from signalight.container import Container
from signalight.domain.cities import City
from signalight.domain.errors import NotFoundError
from signalight.gcpause import settle_for_streaming
from signalight.services.cities import CityRequest
from signalight.sim.orders import Orders

app = typer.Typer(
    help="Signalight: a city's streetlights and traffic signals, watched and run.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(cities.app, name="city")
app.add_typer(users.app, name="user")
app.add_typer(devices.app, name="device")
app.add_typer(networks.app, name="network")
app.add_typer(maintenance.app, name="workorder")
app.add_typer(windows.app, name="window")
app.add_typer(signals.app, name="signals")
app.add_typer(commands.app, name="command")
app.add_typer(schedules.app, name="schedule")
app.add_typer(energy.app, name="energy")
app.command("import")(inventory.import_)
app.command("export")(inventory.export)
app.command("imports")(inventory.imports)
app.command("generate")(inventory.generate)
app.command("simulate")(simulate)
app.command("ingest")(telemetry.ingest)
app.command("detect")(telemetry.detect)
app.command("deadletters")(telemetry.deadletters)
app.command("notify")(notify.notify)
app.command("score")(faults.score)

DEMO_CITY = "Seberang Perai"
DEMO_COUNTRY = "MY"
DEMO_ADMIN = "admin"


@app.command()
@friendly
def info() -> None:
    """Show the version, data directory, database and schema revision."""
    settings = load_settings()
    with opened(settings) as container:
        revision = current_revision(container.db.engine)
        console.print(f"signalight {__version__}")
        console.print(f"data directory: {settings.data_dir}")
        console.print(f"database: {container.db.url} (schema {revision})")


@app.command()
@friendly
def serve(
    host: Annotated[str | None, typer.Option(help="Default: SIGNALIGHT_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="Default: SIGNALIGHT_PORT")] = None,
) -> None:
    """Serve the API and web pages (migrating the database first)."""
    settings = load_settings()
    with opened(settings) as container:
        detection = container.watch_ingest(every_device=False)  # what devices post over HTTP
        stop_notifier = notify.start_in_process(container)
        try:
            _serve(container, host or settings.host, port or settings.port)
        finally:
            stop_notifier()
            if detection is not None:
                detection.stop()


@app.command()
@friendly
def demo(
    lights: Annotated[int, typer.Option(min=0, max=200_000)] = 20_000,
    intersections: Annotated[int, typer.Option(min=0, max=5_000)] = 150,
    port: Annotated[int | None, typer.Option()] = None,
    no_serve: Annotated[bool, typer.Option(help="Set up, print the token, and stop")] = False,
) -> None:
    """Run the demo city: on first run create Seberang Perai and its fleet, then serve."""
    settings = load_settings()
    with opened(settings) as container:
        console.print(f"data directory: {settings.data_dir}")
        console.print(f"database: {container.db.url}")
        try:
            city = container.cities.get("seberang-perai")
        except NotFoundError:
            added = container.cities.add(CityRequest(DEMO_CITY, DEMO_COUNTRY))
            city = added.city
            console.print(
                f"added {city.name}: centre from the gazetteer, {added.matched}", soft_wrap=True
            )
            inventory.generate_into(container, city, lights, intersections, seed=2016)
        people = demo_people.ensure(container, city)
        token = container.auth.issue_token(DEMO_ADMIN, label="demo")
        url = f"http://{settings.host}:{port or settings.port}"
        # Plain lines, never wrapped, so that the token and the command copy whole.
        lines = (
            f"\nadmin token (shown once): {token}",
            f"try: curl -H 'Authorization: Bearer {token}' {url}/api/v1/cities/{city.slug}",
            f"console: {url}/  (passwords kept in {settings.data_dir}/demo-passwords)",
            *(f"  {name:<9} {password}  ({role})" for name, role, password in people),
            f"API docs: {url}/docs\n",
        )
        for line in lines:
            console.print(line, soft_wrap=True, highlight=False, markup=False)
        if not no_serve:
            detection = container.watch_ingest()
            stop_notifier = notify.start_in_process(container)
            orders = Orders()  # commands the in-process nodes ran, for their lamps to obey
            stop = _live_fleet(container, city, orders)
            stop_commands = commands.start_in_process(container, city, orders)
            try:
                _serve(container, settings.host, port or settings.port)
            finally:
                stop_commands()
                stop()
                stop_notifier()
                if detection is not None:
                    detection.stop()


def _live_fleet(container: Container, city: City, orders: Orders) -> Callable[[], None]:
    """Start the city's fleet reporting; returns what stops it.

    With no broker configured the simulator feeds ingest in this process
    (the embedded path); with one, ingest reads the broker here and the fleet
    is left to `signalight simulate --broker`.
    """
    settings = container.settings
    if settings.mqtt_host:
        mqtt = telemetry.mqtt_settings(container, None)
        worker = MqttIngest(container.ingest, mqtt)
        worker.start()
        console.print(
            f"ingest: reading {mqtt.url}; run `signalight simulate --broker ...` for traffic",
            soft_wrap=True,
        )
        return worker.stop
    settle_for_streaming()  # a long-running process from here on
    return demo_fleet.run_in_process(container, city, orders)


def _serve(container: Container, host: str, port: int) -> None:
    if host not in ("127.0.0.1", "localhost", "::1"):
        err_console.print(f"[yellow]serving on {host}: put TLS in front of it[/]")
    uvicorn.run(
        create_app(container),
        host=host,
        port=port,
        log_level=container.settings.log_level.lower(),
        access_log=False,
    )


def run() -> None:
    """Entry point of the `signalight` script."""
    app()
