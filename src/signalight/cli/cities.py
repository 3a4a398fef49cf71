"""`signalight city`: add, list and show cities."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Column, Table

from signalight.cli.context import console, friendly, opened
from signalight.services.cities import CityRequest

app = typer.Typer(help="Cities (tenants).", no_args_is_help=True)


@app.command("add")
@friendly
def add(
    name: Annotated[str, typer.Argument(help="The city's name, e.g. 'Seberang Perai'")],
    country: Annotated[
        str | None,
        typer.Option(help="ISO 3166 alpha-2 code, e.g. MY (default: the gazetteer's)"),
    ] = None,
    slug: Annotated[str | None, typer.Option(help="Short id in URLs and topics")] = None,
    lat: Annotated[float | None, typer.Option(help="Centre latitude")] = None,
    lon: Annotated[float | None, typer.Option(help="Centre longitude")] = None,
    timezone: Annotated[str | None, typer.Option(help="IANA zone, e.g. Asia/Kuala_Lumpur")] = None,
    currency: Annotated[str | None, typer.Option(help="ISO 4217 code")] = None,
    tariff: Annotated[float | None, typer.Option(help="Electricity price per kWh")] = None,
    co2: Annotated[float | None, typer.Option(help="Grid emission factor, kg CO2/kWh")] = None,
) -> None:
    """Add a city; what is not given comes from the offline gazetteer."""
    request = CityRequest(name, country, slug, lat, lon, timezone, currency, tariff, co2)
    with opened() as container:
        added = container.cities.add(request)
    city = added.city
    if added.matched:
        console.print(f"centre from the gazetteer: {added.matched}")
    if added.country_from:
        console.print(f"country from the gazetteer: {added.country_from}")
    console.print(
        f"added [bold]{city.slug}[/] ({city.name}, {city.country}): "
        f"{city.lat:.5f}, {city.lon:.5f}, {city.timezone}, {city.currency}"
    )
    if city.tariff_per_kwh is None or city.co2_kg_per_kwh is None:
        console.print(
            "[yellow]note:[/] set --tariff and --co2 (or PATCH the city) before energy reports"
        )


@app.command("list")
@friendly
def list_() -> None:
    """List every city with its asset counts."""
    with opened() as container:
        table = Table("name", "country", "timezone", "lights", "cabinets", "intersections")
        # The slug is what people copy into other commands: never wrap it.
        table.columns.insert(0, Column("slug", no_wrap=True))
        for city in container.cities.all():
            counts = container.inventory.counts(city)
            table.add_row(
                city.slug,
                city.name,
                city.country,
                city.timezone,
                *(str(n) for n in counts.values()),
            )
    console.print(table)
