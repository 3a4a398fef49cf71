"""`signalight signals`: controller event logs imported, watched for, and what came of each."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from signalight.cli.context import console, err_console, friendly, opened, stop_on_signals
from signalight.container import Container
from signalight.domain.cities import City
from signalight.domain.signals import LogFile, LogStatus
from signalight.services.signal_drop import DropDirectory

app = typer.Typer(
    help="Traffic-signal controller event logs: import files, watch a drop directory.",
    no_args_is_help=True,
)

CityArg = Annotated[str, typer.Argument(help="City slug")]


def _said(log: LogFile) -> str:
    if log.status is LogStatus.REFUSED:
        return f"[red]refused[/] {escape(log.reason)}"
    where = ", ".join(log.intersections)
    line = (
        f"{log.events:,} events, {log.new:,} new, {log.duplicates:,} stored already"
        f" ({log.format}; {escape(where)})"
    )
    if log.status is LogStatus.PARTIAL:
        line += f"\n  [yellow]partly:[/] {escape(log.reason)}"
    return line


@app.command("import")
@friendly
def import_(
    city: CityArg,
    files: Annotated[
        list[Path], typer.Argument(help="Log files (.dat, .datZ, .xml, .csv, .parquet)")
    ],
    intersection: Annotated[
        str | None,
        typer.Option(help="Intersection code the events go to (a log naming no controller)"),
    ] = None,
) -> None:
    """Import controller event logs: each event stored once, whatever was stored before.

    Exits 1 if any file was refused (each is recorded with its reason).
    """
    refused = 0
    with opened() as container:
        found = container.cities.get(city)
        for path in files:
            if not path.is_file():
                err_console.print(f"[red]error:[/] {escape(str(path))}: no such file")
                refused += 1
                continue
            log = container.signal_logs.take_path(found, path, intersection=intersection)
            refused += log.status is LogStatus.REFUSED
            console.print(f"{escape(path.name)}: {_said(log)}", soft_wrap=True)
    if refused:
        raise typer.Exit(1)


@app.command()
@friendly
def watch(
    directory: Annotated[Path, typer.Argument(help="The drop directory", file_okay=False)],
    city: Annotated[
        str | None,
        typer.Option(help="The city of every file; without it, a folder per city slug"),
    ] = None,
    every: Annotated[float, typer.Option(help="Seconds between looks", min=0.2)] = 2.0,
) -> None:
    """Watch a drop directory: take each log once whole, then move it to done/ or refused/."""
    directory.mkdir(parents=True, exist_ok=True)
    with opened() as container:
        if city is not None:
            container.cities.get(city)  # NotFoundError now rather than at the first file

        def report(found: City, log: LogFile) -> None:
            console.print(f"{found.slug}/{escape(log.name)}: {_said(log)}", soft_wrap=True)

        drop = DropDirectory(
            container.signal_logs,
            directory,
            container.cities.get,
            city=city,
            report=report,
        )
        console.print(f"watching {escape(str(directory))} (Ctrl-C to stop)")
        with stop_on_signals() as stop:
            drop.run(stop, every)
        console.print(f"stopped: {drop.taken} files taken, {drop.refused} refused")


@app.command()
@friendly
def files(
    city: CityArg,
    refused: Annotated[bool, typer.Option("--refused", help="Only refused files")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
) -> None:
    """The log files the city took, newest first, with what came of each."""
    with opened() as container:
        _files_table(container, container.cities.get(city), refused=refused, limit=limit)


def _files_table(container: Container, city: City, *, refused: bool, limit: int) -> None:
    status = LogStatus.REFUSED if refused else None
    found = container.db.signal_logs.files(city.pk, status=status, limit=limit)
    counts = container.db.signal_logs.counts(city.pk)
    table = Table("taken (UTC)", "file", "status", "events", "new", "why")
    for log in found:
        table.add_row(
            f"{datetime.fromtimestamp(log.at, UTC):%Y-%m-%d %H:%M:%S}",
            escape(log.name),
            log.status.value,
            f"{log.events:,}",
            f"{log.new:,}",
            escape(log.reason),
        )
    console.print(table)
    summary = ", ".join(f"{counts.get(s, 0)} {s.value}" for s in LogStatus)
    console.print(f"{city.slug}: {summary}")
