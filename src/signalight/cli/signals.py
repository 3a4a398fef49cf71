"""`signalight signals`: controller event logs imported, watched for, and what came of each."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape
from rich.table import Table

from signalight.api.signal_report_schemas import WatchdogOut
from signalight.cli.context import console, err_console, friendly, opened, stop_on_signals
from signalight.container import Container
from signalight.domain.cities import City
from signalight.domain.errors import InvalidInputError
from signalight.domain.signals import LogFile, LogStatus
from signalight.domain.watchdog import Check, Finding
from signalight.services.signal_drop import DropDirectory
from signalight.services.signal_watchdog import WatchdogReport

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


@app.command()
@friendly
def watchdog(
    city: CityArg,
    day: Annotated[
        str | None,
        typer.Option("--date", help="The local day, YYYY-MM-DD (default: yesterday in the city)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON body")] = False,
) -> None:
    """The watchdog report of a day: ATSPM's checks of each intersection and its detector faults.

    Missing records (500 events or fewer in the day), low detector hits
    (fewer than 50 detector-on events 17:00-18:00), max-outs and force-offs
    (over 90% of more than 50 terminations 01:00-05:00) and stuck pedestrian
    buttons (over 200 walks and don't walks 01:00-05:00), in the city's time;
    docs/faults.md, Watchdog report, gives their sources.
    """
    try:
        wanted = date.fromisoformat(day) if day is not None else None
    except ValueError:
        raise InvalidInputError(f"--date: {day!r} is not YYYY-MM-DD") from None
    with opened() as container:
        found = container.cities.get(city)
        report = container.signal_watchdog.report(found, wanted)
    if as_json:
        console.print_json(WatchdogOut.of(report).model_dump_json())
        return
    _watchdog_tables(report)


def _figure(finding: Finding) -> str:
    share = finding.check in {Check.MAX_OUT, Check.FORCE_OFF}
    return f"{finding.figure:.1%}" if share else f"{finding.figure:,.0f}"


def _watchdog_tables(report: WatchdogReport) -> None:
    findings = Table("intersection", "check", "phase", "detector", "figure", "what")
    for day in report.intersections:
        for f in day.findings:
            findings.add_row(
                escape(day.intersection),
                f.check.value,
                "" if f.phase is None else str(f.phase),
                "" if f.detector is None else str(f.detector),
                _figure(f),
                escape(f.words),
            )
    if findings.row_count:
        console.print(findings)
    faults = [(day.intersection, fault) for day in report.intersections for fault in day.faults]
    if faults:
        table = Table("intersection", "detector", "faults", "restored", "last fault", "now")
        zone = ZoneInfo(report.timezone)
        for code, fault in faults:
            table.add_row(
                escape(code),
                f"{fault.kind.value} {fault.channel}",
                ", ".join(f"{n} {name}" for name, n in sorted(fault.faults.items())),
                str(fault.restorations),
                f"{datetime.fromtimestamp(fault.last_fault, zone):%H:%M:%S}",
                "restored" if fault.restored else "[red]faulted[/]",
            )
        console.print(table)
    totals = report.totals
    console.print(
        f"{report.city} {report.day} ({report.timezone}): {totals.intersections} intersections,"
        f" {totals.flagged} with findings; detectors faulted {totals.detectors_faulted},"
        f" still faulted {totals.still_faulted}"
    )
