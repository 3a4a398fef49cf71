"""A city's traffic-signal reports: the daily watchdog report of its intersections."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Final

from fastapi import APIRouter, Query
from pydantic import BeforeValidator

from signalight.api.deps import CITY_ERRORS, ContainerDep, ReadableCity
from signalight.api.signal_report_schemas import WatchdogOut
from signalight.container import Container
from signalight.services.signal_watchdog import SignalWatchdog

router = APIRouter(tags=["signal reports"], responses=CITY_ERRORS)

_ISO_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: object) -> object:
    # pydantic would also read a bare number such as 0 as a day of 1970; a day is YYYY-MM-DD.
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
        raise ValueError("must be a day as YYYY-MM-DD, e.g. 2024-05-01")
    return value


def _watchdog(container: Container) -> SignalWatchdog:
    return SignalWatchdog(container.db.signal_events, container.db.assets, container.clock)


@router.get("/cities/{city}/signals/watchdog", response_model=WatchdogOut)
def watchdog_report(
    city: ReadableCity,
    container: ContainerDep,
    date: Annotated[
        dt.date | None,
        BeforeValidator(_iso_date),
        Query(description="The local day, YYYY-MM-DD; default: yesterday in the city"),
    ] = None,
) -> WatchdogOut:
    """The watchdog report of a day (viewer): ATSPM's checks and detector faults per intersection.

    Missing records, low detector hits, max-outs, force-offs and stuck
    pedestrian buttons of each intersection in service, with the detectors
    that faulted; the rules are in ``docs/faults.md``. A day after today in
    the city is 422.
    """
    return WatchdogOut.of(_watchdog(container).report(city, date))
