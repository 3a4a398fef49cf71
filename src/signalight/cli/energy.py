"""`signalight energy`: what a city's lights used, against the baseline and the plan."""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape
from rich.table import Table

from signalight.cli.context import console, friendly, opened
from signalight.domain.energy_periods import Grouping, Period
from signalight.services.energy import EnergyReport
from signalight.services.energy_csv import report_csv

app = typer.Typer(help="Energy used and saved: reports and lights off their plan.")

CityArg = Annotated[str, typer.Argument(help="City slug")]
FromOpt = Annotated[str, typer.Option("--from", help="First local day, YYYY-MM-DD", metavar="DAY")]
ToOpt = Annotated[str, typer.Option("--to", help="Last local day, included", metavar="DAY")]


def _day(text: str, label: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a day (YYYY-MM-DD)", param_hint=label) from None


def _kwh(wh: float | None) -> str:
    return "-" if wh is None else f"{wh / 1000:,.1f}"


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


@app.command()
@friendly
def report(
    city: CityArg,
    first: FromOpt,
    last: ToOpt,
    by: Annotated[Grouping, typer.Option(help="What each row adds up")] = Grouping.CITY,
    period: Annotated[Period, typer.Option(help="The length of a row")] = Period.DAY,
    csv: Annotated[bool, typer.Option("--csv", help="CSV on stdout")] = False,
) -> None:
    """The city's energy per key and period over local days FROM..TO (at most 400; 31 by hour)."""
    start, end = _day(first, "--from"), _day(last, "--to")
    with opened() as container:
        found = container.energy.report(container.cities.get(city), start, end, by, period)
    if csv:
        sys.stdout.write(report_csv(found))
        return
    _print(found)


def _print(found: EnergyReport) -> None:
    tariff = found.tariff
    table = Table(title=f"{found.city}: energy {found.first}..{found.last} by {found.grouping}")
    for column in ("key", "period", "lights", "metered", "actual kWh", "baseline kWh"):
        table.add_column(column, justify="left" if column in {"key", "period"} else "right")
    for column in ("planned kWh", "saved kWh", f"saved {tariff.currency}", "saved kg CO2"):
        table.add_column(column, justify="right")
    for row in [*found.rows, None]:
        key, label, lights, metered, figures = (
            (row.key, row.period, row.lights, row.metered, row.figures)
            if row is not None
            else ("total", "", found.lights, 0, found.total)
        )
        table.add_row(
            escape(key or "-"),
            label,
            f"{lights:,}",
            f"{metered:,}",
            _kwh(figures.actual_wh),
            _kwh(figures.baseline_wh),
            _kwh(figures.planned_wh),
            _kwh(figures.saved_wh),
            _money(figures.saved_money(tariff)),
            _money(figures.saved_co2_kg(tariff)),
        )
    console.print(table)
    for note in found.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
    if found.unrated:
        console.print(f"[yellow]note:[/] {len(found.unrated):,} lights have no rated power")


@app.command()
@friendly
def deviations(city: CityArg, first: FromOpt, last: ToOpt) -> None:
    """The lights whose local day was far from their plan (at most 31 days)."""
    start, end = _day(first, "--from"), _day(last, "--to")
    with opened() as container:
        found = container.energy.deviations(container.cities.get(city), start, end)
    table = Table(title=f"{city}: lights off their plan {start}..{end}")
    for column in ("day", "light", "actual kWh", "planned kWh"):
        table.add_column(column)
    for item in found:
        table.add_row(
            item.day.isoformat(),
            escape(item.code),
            _kwh(item.actual_wh),
            _kwh(item.planned_wh),
        )
    console.print(table)


@app.command()
@friendly
def settle(
    city: CityArg,
    first: Annotated[str | None, typer.Option("--from", help="First local day")] = None,
    last: Annotated[str | None, typer.Option("--to", help="Last local day")] = None,
) -> None:
    """Count and keep what each light used on the days that are due (default: the last 31).

    Run it daily (cron, a systemd timer): reports then read those days
    instead of counting them. A day is due once ingest takes no more of its
    readings (SIGNALIGHT_INGEST_MAX_PAST_DAYS) and two days more.
    """
    with opened() as container:
        found = container.cities.get(city)
        today = datetime.now(ZoneInfo(found.timezone)).date()
        end = _day(last, "--to") if last else today
        start = _day(first, "--from") if first else end - timedelta(days=30)
        settled = container.energy.settle(found, start, end)
    console.print(f"{city}: {settled} days settled from {start} to {end}")
