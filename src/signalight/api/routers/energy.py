"""Energy reports: what a city's lights used against the baseline and the plan, and who strayed."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse, Response

from signalight.api.deps import CITY_ERRORS, ContainerDep, ReadableCity
from signalight.api.energy_schemas import DeviationOut, DeviationsOut, EnergyReportOut
from signalight.api.schemas import ErrorOut
from signalight.domain.energy_periods import Grouping, Period
from signalight.services.energy_csv import report_csv

router = APIRouter(tags=["energy"], responses=CITY_ERRORS)

From = Annotated[date, Query(alias="from", description="The first local day, YYYY-MM-DD")]
To = Annotated[date, Query(alias="to", description="The last local day, included")]
CSV = "text/csv"


@router.get(
    "/cities/{city}/energy",
    response_model=EnergyReportOut,
    responses={200: {"content": {CSV: {}}}, 422: {"model": ErrorOut}},
)
def energy_report(
    city: ReadableCity,
    container: ContainerDep,
    first: From,
    last: To,
    by: Grouping = Grouping.CITY,
    period: Period = Period.DAY,
    format: Annotated[str | None, Query(pattern="^(json|csv)$")] = None,  # noqa: A002
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    """The city's energy per key (``by``) and ``period`` over local days ``from..to``.

    At most 400 days, and 31 by the hour. Savings are against each light at
    its rated power from sunset to sunrise; money and CO2 are null where the
    city has no tariff or grid factor. ``format=csv`` or ``Accept:
    text/csv`` gives CSV. Any role of the city may read it.
    """
    report = container.energy.report(city, first, last, by, period)
    if format == "csv" or (format is None and accept is not None and CSV in accept):
        filename = f"{city.slug}-energy-{first.isoformat()}-{last.isoformat()}-{by}-{period}.csv"
        return Response(
            report_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    body = EnergyReportOut.of(report).model_dump(mode="json", by_alias=True)
    return JSONResponse(body)


@router.get(
    "/cities/{city}/energy/deviations",
    response_model=DeviationsOut,
    responses={422: {"model": ErrorOut}},
)
def energy_deviations(
    city: ReadableCity, container: ContainerDep, first: From, last: To
) -> DeviationsOut:
    """The lights whose local day was far from their plan (at most 31 days), by day and code."""
    found = container.energy.deviations(city, first, last)
    return DeviationsOut(items=[DeviationOut.of(item) for item in found])
