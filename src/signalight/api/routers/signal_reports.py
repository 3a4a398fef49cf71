"""A city's traffic-signal reports: the daily watchdog report, and the controller logs taken."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Final

from fastapi import APIRouter, Query
from pydantic import BeforeValidator

from signalight.api.deps import CITY_ERRORS, ContainerDep, OperatorCity, ReadableCity
from signalight.api.signal_report_schemas import LogFileOut, LogFilesOut, WatchdogOut
from signalight.domain.signals import LogStatus

router = APIRouter(tags=["signal reports"], responses=CITY_ERRORS)

_ISO_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: object) -> object:
    # pydantic would also read a bare number such as 0 as a day of 1970; a day is YYYY-MM-DD.
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
        raise ValueError("must be a day as YYYY-MM-DD, e.g. 2024-05-01")
    return value


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
    return WatchdogOut.of(container.signal_watchdog.report(city, date))


@router.get("/cities/{city}/signals/logs", response_model=LogFilesOut)
def signal_logs(
    city: OperatorCity,
    container: ContainerDep,
    status: Annotated[LogStatus | None, Query(description="Only files of this status")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> LogFilesOut:
    """The controller log files the city took, newest first, with what came of each (operator).

    A refused file is kept with its reason, as a dead letter is; ``counts``
    says how many files of each status the city has had.
    """
    store = container.db.signal_logs
    files = store.files(city.pk, status=status, limit=limit)
    counts = store.counts(city.pk)
    return LogFilesOut(
        counts={s.value: counts.get(s, 0) for s in LogStatus},
        items=[LogFileOut.of(log) for log in files],
    )
