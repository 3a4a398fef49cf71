"""`signalight import`, `export`, `imports` and `generate`: the inventory in bulk."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from signalight.cli.context import console, err_console, friendly, opened
from signalight.codecs.inventory_fields import parse_mapping
from signalight.container import Container
from signalight.domain.cities import City
from signalight.services.inventory import (
    ImportReport,
    InventoryFormat,
)
from signalight.sim.generator import generate_fleet

SHOWN_ERRORS = 50


@friendly
def import_(
    city: Annotated[str, typer.Argument(help="City slug")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or GeoJSON file")],
    format: Annotated[  # noqa: A002
        InventoryFormat | None, typer.Option(help="Default: from the file name")
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="Rename a column: SOURCE=COLUMN, or SOURCE=- to drop it"),
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Check only; write nothing")] = False,
) -> None:
    """Import an inventory file: every row, or (if any row is bad) none."""
    mapping = parse_mapping(map_ or [])
    fmt = format or InventoryFormat.from_name(file.name)
    with opened() as container:
        target = container.cities.get(city)
        report = container.inventory.import_file(
            target,
            file.read_bytes(),
            fmt,
            actor="cli",
            source=file.name,
            mapping=mapping,
            dry_run=dry_run,
        )
    _print_report(report)
    if report.errors:
        raise typer.Exit(1)


def _print_report(report: ImportReport) -> None:
    if report.errors:
        for error in report.errors[:SHOWN_ERRORS]:
            err_console.print(f"[red]{error}[/]", markup=True, highlight=False)
        more = len(report.errors) - SHOWN_ERRORS
        if more > 0:
            err_console.print(f"… and {more} more (all kept in `signalight imports`)")
        err_console.print(
            f"[red]refused:[/] {len(report.errors)} problems in {report.run.rows} rows; "
            "nothing was imported"
        )
    elif report.dry_run:
        console.print(f"[green]ok:[/] {report.run.rows} rows would import (dry run)")
    elif report.result is not None:
        r = report.result
        console.print(
            f"[green]imported[/] {report.run.rows} rows: {r.inserted} new, {r.updated} updated, "
            f"{r.devices} device bindings"
        )


@friendly
def export(
    city: Annotated[str, typer.Argument(help="City slug")],
    format: Annotated[InventoryFormat, typer.Option()] = InventoryFormat.CSV,  # noqa: A002
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Default: stdout")] = None,
) -> None:
    """Export a city's inventory; the file imports back unchanged."""
    with opened() as container:
        target = container.cities.get(city)
        chunks = container.inventory.export(target, format)
        if output is None:
            for chunk in chunks:
                sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
            return
        with output.open("wb") as out:
            for chunk in chunks:
                out.write(chunk)
    err_console.print(f"wrote {output}")


@friendly
def imports(
    city: Annotated[str, typer.Argument(help="City slug")],
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
) -> None:
    """List the latest import attempts, refused ones with their first errors."""
    with opened() as container:
        runs = container.db.imports.list_imports(container.cities.get(city).pk, limit)
    table = Table("id", "at (UTC)", "source", "actor", "rows", "errors", "result")
    for run in runs:
        table.add_row(
            str(run.id),
            run.at.strftime("%Y-%m-%d %H:%M:%S") if run.at else "",
            run.source,
            run.actor,
            str(run.rows),
            str(run.error_count),
            "[green]imported[/]" if run.accepted else "[red]refused[/]",
        )
    console.print(table)
    for run in runs:
        for error in run.errors[:5] if not run.accepted else []:
            console.print(f"  #{run.id} {error}", highlight=False)


@friendly
def generate(
    city: Annotated[str, typer.Argument(help="City slug")],
    lights: Annotated[int, typer.Option(min=0, max=2_000_000)] = 20_000,
    intersections: Annotated[int, typer.Option(min=0, max=10_000)] = 150,
    seed: Annotated[int, typer.Option(help="Same seed, same fleet")] = 0,
) -> None:
    """Generate a realistic synthetic inventory around the city's centre and store it."""
    with opened() as container:
        target = container.cities.get(city)
        generate_into(container, target, lights, intersections, seed)


def generate_into(
    container: Container, city: City, lights: int, intersections: int, seed: int
) -> None:
    """Generate a fleet with a progress bar and store it in one transaction."""
    with Progress(console=err_console, transient=True) as progress:
        task = progress.add_task("laying out streets and poles", total=lights or 1)
        fleet = generate_fleet(
            city,
            lights=lights,
            intersections=intersections,
            seed=seed,
            on_progress=lambda done: progress.update(task, completed=done),
        )
        progress.update(task, description="storing", completed=lights or 1)
        result = container.inventory.write(city, fleet.records)
    console.print(
        f"[green]generated[/] {len(fleet.records)} assets on {len(fleet.streets)} streets "
        f"({result.inserted} new, {result.updated} updated)"
    )
