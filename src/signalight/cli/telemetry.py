"""`signalight ingest` (the MQTT ingest worker) and `signalight deadletters`."""

from __future__ import annotations

import errno
import threading
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from prometheus_client import start_http_server
from rich.table import Table

from signalight.adapters.tls import client_context
from signalight.cli.context import console, err_console, friendly, opened, stop_on_signals
from signalight.cli.devices import INGEST_SECRET_FILE
from signalight.consumers.mqtt import SHARE_GROUP, MqttIngest, MqttSettings
from signalight.domain.errors import InvalidInputError
from signalight.domain.topics import ingest_username
from signalight.gcpause import settle_for_streaming

if TYPE_CHECKING:
    from signalight.container import Container

STATUS_EVERY_S = 60.0
METRICS_HOST = "127.0.0.1"


def mqtt_settings(
    container: Container, share_group: str | None, worker: int = 1, *, alone: bool = False
) -> MqttSettings:
    """Where ingest connects, how, and as whom, from the settings and the data directory.

    The password is SIGNALIGHT_MQTT_PASSWORD or, failing that, the secret
    `signalight device broker-files` keeps in the data directory. The TLS
    files are read here, so that a wrong one stops the command at once.
    """
    settings = container.settings
    if not settings.mqtt_host:
        raise InvalidInputError("no broker is configured: set SIGNALIGHT_MQTT_HOST")
    password = settings.mqtt_password.get_secret_value() or None
    secret_file = settings.data_dir / INGEST_SECRET_FILE
    if password is None and secret_file.exists():
        password = secret_file.read_text(encoding="utf-8").strip()
    username = ingest_username(settings.mqtt_username, worker)
    group = None if alone else share_group or settings.mqtt_share_group or None
    if worker > 1 and group is None and not alone:
        raise InvalidInputError(
            "several workers share the topics through a group: set SIGNALIGHT_MQTT_SHARE_GROUP"
            f" (e.g. {SHARE_GROUP}) for every worker, the first one too"
        )
    tls = None
    if settings.mqtt_tls_on:
        tls = client_context(settings.mqtt_tls_ca, settings.mqtt_tls_cert, settings.mqtt_tls_key)
    return MqttSettings(
        host=settings.mqtt_host,
        port=settings.mqtt_effective_port,
        tls=tls,
        username=username,
        password=password,
        client_id=username,
        share_group=group,
        lorawan=settings.mqtt_lorawan,
    )


def serve_metrics(container: Container, port: int) -> None:
    """Serve the process's Prometheus metrics at http://127.0.0.1:PORT/metrics, on a thread.

    Raises:
        InvalidInputError: the port is taken (another worker's, often) or cannot be bound.
    """
    try:
        start_http_server(port, addr=METRICS_HOST, registry=container.metrics.registry)
    except OSError as exc:
        why = "is in use" if exc.errno == errno.EADDRINUSE else f"cannot be used ({exc.strerror})"
        raise InvalidInputError(
            f"metrics port {METRICS_HOST}:{port} {why}: choose another with --metrics-port N"
            " (each worker its own), or --metrics-port 0 for no metrics"
        ) from None


@friendly
def ingest(
    metrics_port: Annotated[
        int, typer.Option(min=0, max=65535, help="Serve /metrics on this port (0: don't)")
    ] = 9464,
    share_group: Annotated[
        str | None,
        typer.Option(help="The workers' shared subscription group (every worker the same)"),
    ] = None,
    worker: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="This worker's number when several share the load: worker N > 1 signs in"
            " as signalight-ingest-N",
        ),
    ] = 1,
) -> None:
    """Read device messages from the MQTT broker and store them, until stopped.

    Each message is acknowledged to the broker only once it is stored, so a
    stop, a crash or a database outage loses nothing: the broker keeps and
    redelivers what was not acknowledged. Stop with Ctrl-C or SIGTERM.
    """
    with opened() as container:
        settings = container.settings
        mqtt = mqtt_settings(container, share_group, worker)
        if metrics_port:  # first, so that a taken port stops it before any work
            serve_metrics(container, metrics_port)
        service = container.ingest
        settle_for_streaming()  # after the device directory is loaded
        consumer = MqttIngest(
            service,
            mqtt,
            max_messages=settings.ingest_batch,
            max_wait=settings.ingest_wait_ms / 1000,
        )
        console.print(
            f"ingest: {len(service.directory)} devices; broker {mqtt.url}"
            f" as {mqtt.username}; database {container.db.url}"
            + (f"; metrics http://{METRICS_HOST}:{metrics_port}/metrics" if metrics_port else ""),
            soft_wrap=True,
        )
        detection = None
        if mqtt.share_group:
            err_console.print(
                "ingest: fault detection is off in shared-subscription workers (each sees only"
                " part of a device's reports); see docs/faults.md",
                soft_wrap=True,
            )
        else:
            detection = container.watch_ingest()
        # The handlers stay through the orderly stop, so that a second Ctrl-C does not
        # cut short the storing of what has arrived.
        with stop_on_signals() as stop:
            container.retention.start()
            consumer.start()
            _report_until(stop, consumer)
            err_console.print("ingest: storing what has arrived, then stopping")
            consumer.stop()
            container.retention.stop()
            if detection is not None:
                detection.stop()


@friendly
def detect(
    worker: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="The ingest account N it signs in with (signalight-ingest-N): one no worker uses",
        ),
    ],
) -> None:
    """Run the fault rules on every device message, beside ingest workers that share the topics.

    Workers of a shared subscription each see only part of a device's reports,
    so they do not judge faults; this process reads every message through its
    own persistent session (not shared), checks it as ingest does, stores
    nothing but alarms. Give it an ingest account of its own: `signalight
    device broker-files --ingest-workers 3` for two workers and this.
    """
    with opened() as container:
        mqtt = mqtt_settings(container, None, worker, alone=True)
        service = container.judging
        settle_for_streaming()
        detection = container.watch_ingest(service)
        if detection is None:
            raise InvalidInputError("SIGNALIGHT_DETECT is false: there is nothing to run")
        consumer = MqttIngest(service, mqtt)
        console.print(
            f"detect: {len(service.directory)} devices; broker {mqtt.url}"
            f" as {mqtt.username}; alarms in {container.db.url}",
            soft_wrap=True,
        )
        with stop_on_signals() as stop:
            consumer.start()
            while not stop.wait(1.0):
                pass
            consumer.stop()
            detection.stop()


def _report_until(stop: threading.Event, worker: MqttIngest) -> None:
    """Print the message rate every minute until ``stop`` is set."""
    last_status = time.monotonic()
    received = 0
    while not stop.wait(1.0):
        now = time.monotonic()
        if now - last_status >= STATUS_EVERY_S:
            rate = (worker.received - received) / (now - last_status)
            received, last_status = worker.received, now
            err_console.print(
                f"ingest: {rate:,.0f} messages/s, {worker.pending()} waiting to be stored",
                soft_wrap=True,
            )


@friendly
def deadletters(
    city: Annotated[
        str | None, typer.Option(help="One city's (default: every city's, and those of no city)")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 20,
    payload: Annotated[bool, typer.Option(help="Show each payload (first 200 bytes)")] = False,
) -> None:
    """The messages ingest refused, newest first, with the reason for each."""
    with opened() as container:
        city_id = container.cities.get(city).pk if city else None
        store = container.db.telemetry
        letters = store.dead_letters(city_id, limit)
        counts = store.dead_letter_counts(city_id)
    table = Table("id", "received (UTC)", "reason", "topic", "device", "why", title="dead letters")
    for letter in letters:
        when = datetime.fromtimestamp(letter.received_at, UTC).strftime("%Y-%m-%d %H:%M:%S")
        why = letter.message
        if payload:
            why += "\n" + repr(letter.payload[:200])
        table.add_row(
            str(letter.id), when, str(letter.reason), letter.topic, letter.device_uid or "-", why
        )
    console.print(table)
    summary = ", ".join(f"{reason}: {count:,}" for reason, count in sorted(counts.items()))
    console.print(f"{sum(counts.values()):,} in all" + (f" ({summary})" if summary else ""))
