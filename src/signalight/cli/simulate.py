"""`signalight simulate`: a city's fleet reporting over MQTT on a simulated clock, with faults."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer
from rich.progress import BarColumn, Progress, TextColumn

from signalight.adapters.mqtt_publisher import MqttPublisher
from signalight.adapters.tls import client_context
from signalight.cli.context import console, err_console, friendly, load_settings, opened
from signalight.cli.users import acting_user
from signalight.codecs.profiles import profile_from_json
from signalight.domain.errors import InvalidInputError, SignalightError
from signalight.domain.faults import DetectionSettings
from signalight.sim import telemetry
from signalight.sim.crews import Windows
from signalight.sim.faults import parse_injection, parse_span, parse_time
from signalight.sim.fleet_model import SimConfig
from signalight.sim.telemetry import Simulator, Sink
from signalight.sim.truth import TruthLog

if TYPE_CHECKING:
    from signalight.container import Container
    from signalight.domain.cities import City

DEFAULT_USER = "signalight-sim"
MQTT_PORT = 1883
MQTTS_PORT = 8883  # MQTT over TLS


def parse_speed(text: str) -> float:
    """Simulated seconds per wall-clock second; 0 for ``max`` (flat out)."""
    if text.strip().lower() == "max":
        return 0.0
    try:
        speed = float(text)
    except ValueError:
        raise InvalidInputError(f"speed {text!r} is not a number nor 'max'") from None
    if not speed >= 0:
        raise InvalidInputError("speed must not be negative")
    return speed


def parse_broker(text: str, default_port: int = MQTT_PORT) -> tuple[str, int]:
    """``host`` or ``host:port`` (``default_port`` unless given)."""
    host, colon, port = text.rpartition(":")
    if not colon or not port.isdigit():
        return text, default_port
    return host, int(port)


def tls_context(
    on: bool, ca: Path | None, cert: Path | None, key: Path | None
) -> ssl.SSLContext | None:
    """The TLS client context the options ask for (any file turns TLS on); None: plain MQTT.

    The broker's certificate is always verified.
    """
    if not (on or ca or cert or key):
        return None
    return client_context(ca, cert, key)


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S")


@contextlib.contextmanager
def _sink(
    broker: str | None, username: str, password: str | None, tls: ssl.SSLContext | None
) -> Iterator[Sink]:
    if broker is None:
        yield lambda _topic, _payload: None
        return
    if not password:
        raise InvalidInputError(
            "give the MQTT password with --password or SIGNALIGHT_MQTT_PASSWORD"
        )
    host, port = parse_broker(broker, MQTTS_PORT if tls is not None else MQTT_PORT)
    with MqttPublisher(host, port, username, password, tls=tls) as publisher:
        yield publisher


@friendly
def simulate(
    city: Annotated[str, typer.Option(help="City slug")],
    speed: Annotated[
        str, typer.Option(help="Simulated seconds per real second, or 'max' (flat out)")
    ] = "1",
    start: Annotated[
        str | None,
        typer.Option(help="ISO 8601 time (UTC unless zoned) or -SPAN before now, e.g. -7d"),
    ] = None,
    duration: Annotated[
        str | None, typer.Option(help="Simulated span, e.g. 90m, 12h, 7d (default: until stopped)")
    ] = None,
    seed: Annotated[int, typer.Option(help="Same seed, same telemetry and faults")] = 0,
    truth: Annotated[
        Path | None,
        typer.Option(
            help="Ground-truth JSON lines, appended (default: DATA_DIR/sim/CITY-truth.jsonl)"
        ),
    ] = None,
    broker: Annotated[
        str | None, typer.Option(help="MQTT broker host[:port]; without it nothing is sent")
    ] = None,
    username: Annotated[str, typer.Option(help="MQTT account that may publish the fleet")] = (
        DEFAULT_USER
    ),
    password: Annotated[
        str | None, typer.Option(envvar="SIGNALIGHT_MQTT_PASSWORD", show_default=False)
    ] = None,
    tls: Annotated[
        bool,
        typer.Option(
            "--tls", help="MQTT over TLS (port 8883 unless given), trusting the system's CAs"
        ),
    ] = False,
    tls_ca: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="TLS, trusting the CA certificates in this PEM file for the broker's",
        ),
    ] = None,
    tls_cert: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="TLS client certificate (PEM), if the broker wants one",
        ),
    ] = None,
    tls_key: Annotated[
        Path | None,
        typer.Option(
            exists=True, dir_okay=False, help="Its private key (PEM, unencrypted), if not in it"
        ),
    ] = None,
    fault_rate_scale: Annotated[
        float, typer.Option(min=0.0, help="Multiplies every fault rate; 0: only --inject")
    ] = 1.0,
    inject: Annotated[
        list[str] | None,
        # Help text is rich markup: the backslash keeps "[/DURATION]" from reading as a
        # closing tag, which made `simulate --help` crash with a MarkupError.
        typer.Option(help=r"TYPE:ASSET@WHEN\[/DURATION], e.g. lampFailure:SL-000012@+10m/2h"),
    ] = None,
    night_dim: Annotated[
        float, typer.Option(min=0.0, max=100.0, help="Dim level 00:00-05:00 local; 100: none")
    ] = 50.0,
    profile: Annotated[
        Path | None,
        typer.Option(
            help="A dimming profile (JSON, as in docs/energy.md) every node runs instead of"
            " its photocell and --night-dim",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    crew: Annotated[
        str | None,
        typer.Option(
            help="A crew user of the city: its cabinet visits book maintenance windows"
            " (without it every door opening is a break-in)"
        ),
    ] = None,
) -> None:
    """Publish realistic telemetry of a city's fleet, inject faults, and log the ground truth.

    Lights follow sunset and sunrise at each pole, cabinets meter them, signal
    monitors cycle their phases. Faults start at realistic rates and where
    --inject says; each is written to the ground truth as it starts and ends.
    With --crew, crews' cabinet visits book maintenance windows first, so the
    rules find those openings authorised. See docs/simulator.md.
    """
    settings = load_settings()
    if broker is None and (tls or tls_ca or tls_cert or tls_key):
        raise InvalidInputError("the --tls options need --broker")
    context = tls_context(tls, tls_ca, tls_cert, tls_key)  # a wrong file stops it here
    pace = parse_speed(speed)
    origin = parse_time(start, datetime.now(UTC)) if start else datetime.now(UTC)
    span = parse_span(duration) if duration else None
    run_profile = profile_from_json(orjson.loads(profile.read_bytes())) if profile else None
    config = SimConfig(
        seed=seed, fault_rate_scale=fault_rate_scale, night_dim=night_dim, profile=run_profile
    )
    truth_path = truth or settings.data_dir / "sim" / f"{city}-truth.jsonl"
    with opened(settings) as container:
        target = container.cities.get(city)
        injections = [parse_injection(text, origin) for text in inject or ()]
        overrides = container.db.alarms.detection_overrides().get(target.pk, {})
        log = TruthLog.open(truth_path, target.slug)
        try:
            sim = Simulator.from_store(
                container.db.assets,
                target,
                config,
                start=origin,
                truth=log,
                settings=DetectionSettings().merged(overrides),
                windows=crew_windows(container, target, crew) if crew else None,
            )
            for injection in injections:
                sim.inject(injection)
            err_console.print(
                f"{sim.devices} devices of {target.name} from {_iso(sim.start)} UTC, "
                f"speed {'max' if pace == 0 else f'{pace:g}x'}; ground truth: {truth_path}",
                highlight=False,
            )
            if broker is None:
                err_console.print("[yellow]no --broker: messages are generated, not sent[/]")
            with _sink(broker, username, password, context) as sink:
                _run(sim, sink, span, pace)
        finally:
            log.close()


def crew_windows(container: Container, city: City, crew: str, *, say: bool = True) -> Windows:
    """Book a crew's visits as maintenance windows of the city, made by the command line.

    A window the service refuses (one already over, in a run of the past; a
    crew without a role in the city) is not booked: that opening is then a
    break-in, for the rules and in the ground truth alike (said unless not ``say``).
    """
    container.db.users.get_user(crew)  # NotFoundError: no such user, said at once
    actor = acting_user(container, city, None)

    def book(asset: str, start: float, until: float) -> bool:
        try:
            container.windows.open(
                city,
                actor,
                asset,
                datetime.fromtimestamp(start, UTC),
                datetime.fromtimestamp(until, UTC),
                who=crew,
                why="simulated cabinet visit",
            )
        except SignalightError as exc:
            if say:
                err_console.print(f"[yellow]no window for {asset}: {exc}[/]", highlight=False)
            return False
        return True

    return book


def _run(sim: Simulator, sink: Sink, span: float | None, pace: float) -> None:
    until = sim.start + span if span is not None else float("inf")
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[info]}"),
    )
    with Progress(*columns, console=err_console) as bar:
        task = bar.add_task("simulating", total=span, info="")

        def show(where: telemetry.Progress) -> None:
            info = (
                f"{_iso(where.time)}  {where.messages:,} messages  "
                f"{where.active_faults} faults active ({where.faults_started} started)"
            )
            bar.update(task, completed=where.time - sim.start, info=info)

        try:
            stats = sim.run(sink, until=until, speed=pace, on_progress=show)
        except KeyboardInterrupt:
            console.print("stopped")
            return
    console.print(
        f"{stats.messages:,} messages ({stats.bytes / 1e6:,.1f} MB) over "
        f"{stats.simulated_s / 3600:,.1f} simulated hours in {stats.wall_s:,.1f} s "
        f"({stats.rate:,.0f} messages/s); {sim.faults_started} faults started",
        highlight=False,
    )
