"""A city's watchdog report from its stored events: real logs imported, counted in SQL.

The real samples of ``../shared/atspm_samples`` are imported as
``signalight signals import`` imports them; each report is checked against
figures read from the files by other means, and against the domain's own
counts of the stored events, so that the SQL ``GROUP BY`` and the rules
agree on both backends.
"""

from __future__ import annotations

import csv
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from signalight.adapters.clock import ManualClock
from signalight.adapters.sql.database import SqlDatabase
from signalight.domain.assets import AssetKind, AssetQuery, AssetRecord, AssetStatus
from signalight.domain.cities import City
from signalight.domain.errors import InvalidInputError
from signalight.domain.watchdog import (
    Check,
    PhaseCounts,
    WatchdogThresholds,
    tally_events,
    watch_day,
)
from signalight.services.signal_logs import SignalLogs
from signalight.services.signal_watchdog import SignalWatchdog, WatchdogReport
from tests.conftest import make_city

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "atspm_samples"
TERMINATIONS = SAMPLES / "udot-atspm" / "7115TerminationData.csv"
HIRES = SAMPLES / "shawnstrasser-atspm" / "hires_test_data.parquet"
DENVER = ZoneInfo("America/Denver")
# The 7115 log is an evening (19:00-23:00); judge its phases then, and at 30%.
EVENING = WatchdogThresholds(night_hours=(19, 24), percent_threshold=0.3)

pytestmark = pytest.mark.skipif(
    not (TERMINATIONS.is_file() and HIRES.is_file()), reason=f"no ATSPM samples at {SAMPLES}"
)


@pytest.fixture
def denver(database: SqlDatabase) -> City:
    return make_city(database, timezone="America/Denver", country="US", lat=40.76, lon=-111.89)


def intersection(
    db: SqlDatabase,
    city: City,
    code: str,
    controller: str = "",
    status: AssetStatus = AssetStatus.IN_SERVICE,
) -> int:
    """An intersection of the city; its asset id."""
    record = AssetRecord(
        kind=AssetKind.INTERSECTION,
        code=code,
        lat=40.7,
        lon=-111.9,
        controller_id=controller,
        status=status,
    )
    db.assets.upsert_assets(city.pk, [record])
    (found,) = db.assets.query_assets(city.pk, AssetQuery(code=code)).items
    return found.id


def watchdog(
    db: SqlDatabase, now: datetime, thresholds: WatchdogThresholds | None = None
) -> SignalWatchdog:
    return SignalWatchdog(db.signal_events, db.assets, ManualClock(now), thresholds)


def same_as_the_domain(
    db: SqlDatabase, city: City, report: WatchdogReport, ids: dict[str, int]
) -> None:
    """Each intersection's day as the domain judges the stored events themselves."""
    for day in report.intersections:
        start, end = report.windows.day
        stored = db.signal_events.events(city.pk, ids[day.intersection], start, end, limit=10**6)
        events = [(e.time, e.code, e.param) for e in stored]
        tallies = tally_events(events, report.windows)
        assert day == watch_day(day.intersection, tallies, report.thresholds)


def test_the_report_of_real_logs_counted_in_sql(database: SqlDatabase, denver: City) -> None:
    ids = {
        "INT-7115": intersection(database, denver, "INT-7115", "7115"),
        "INT-227": intersection(database, denver, "INT-227", "227"),
        "INT-452": intersection(database, denver, "INT-452", "452"),
        "INT-454": intersection(database, denver, "INT-454", "454"),
        "INT-QUIET": intersection(database, denver, "INT-QUIET"),
    }
    intersection(database, denver, "INT-PLANNED", status=AssetStatus.PLANNED)
    logs = SignalLogs(database.signal_events, database.signal_logs, max_bytes=64 * 1024 * 1024)
    assert logs.take_path(denver, TERMINATIONS).new == 1611
    logs.take_path(denver, HIRES)
    now = datetime(2024, 6, 1, tzinfo=UTC)

    evening = watchdog(database, now, EVENING).report(denver, date(2023, 4, 17))
    assert [d.intersection for d in evening.intersections] == sorted(ids)  # not the planned one
    days = {d.intersection: d for d in evening.intersections}
    with TERMINATIONS.open(encoding="utf-8-sig", newline="") as file:
        counted = Counter((int(r[2]), int(r[3])) for r in csv.reader(file))
    assert list(days["INT-7115"].phases) == [
        PhaseCounts(p, counted[(4, p)], counted[(5, p)], counted[(6, p)], counted[(21, p)] * 2)
        for p in (2, 4)
    ]
    assert [(f.check, f.phase, f.figure) for f in days["INT-7115"].findings] == [
        (Check.FORCE_OFF, 2, counted[(6, 2)] / (counted[(4, 2)] + counted[(6, 2)]))
    ]
    assert days["INT-7115"].records == 1611
    for quiet in ("INT-227", "INT-452", "INT-454", "INT-QUIET"):  # nothing logged that day
        (finding,) = days[quiet].findings
        assert (finding.check, finding.figure, finding.words[:9]) == (
            Check.MISSING_RECORDS,
            0,
            "no events",
        )
    assert (evening.totals.intersections, evening.totals.flagged) == (5, 5)
    assert evening.totals.findings[Check.MISSING_RECORDS] == 4
    assert evening.totals.findings[Check.FORCE_OFF] == 1
    same_as_the_domain(database, denver, evening, ids)

    hires = watchdog(database, now).report(denver, date(2024, 5, 13))
    days = {d.intersection: d for d in hires.intersections}
    assert {(c, f.channel): f.restored for c, d in days.items() for f in d.faults} == {
        ("INT-227", 63): False,
        ("INT-227", 64): False,
        ("INT-452", 46): True,
        ("INT-454", 3): True,
        ("INT-454", 4): False,
        ("INT-454", 8): False,
        ("INT-454", 18): True,
        ("INT-454", 66): True,
    }
    assert (hires.totals.detectors_faulted, hires.totals.still_faulted) == (8, 4)
    assert [f.detector for f in days["INT-227"].findings] == [1, 12, 13, 26, 63, 64]
    assert days["INT-7115"].findings[0].check is Check.MISSING_RECORDS
    same_as_the_domain(database, denver, hires, ids)


def atspm_csv(controller: str, events: list[tuple[datetime, int, int]]) -> bytes:
    """An ATSPM CSV export (no header) of events: their wall-clock times, as a controller logs."""
    return "".join(
        f"{controller},{t.month}/{t.day}/{t.year} {t.hour}:{t:%M:%S}.{t.microsecond // 100_000},"
        f"{code},{param}\n"
        for t, code, param in events
    ).encode()


def test_the_day_is_local_midnight_to_midnight_even_when_the_clocks_change(
    database: SqlDatabase, denver: City
) -> None:
    intersection(database, denver, "INT-1", "1")
    logs = SignalLogs(database.signal_events, database.signal_logs, max_bytes=1024 * 1024)
    day = date(2024, 3, 10)  # 23 hours long in Denver: 02:00-03:00 never comes
    three = datetime(2024, 3, 10, 3, tzinfo=DENVER)
    inside = [(three + timedelta(minutes=i), 1, 2) for i in range(499)]
    inside.append(
        (datetime(2024, 3, 10, 23, 59, 59, 900_000, tzinfo=DENVER), 1, 4)
    )  # the day's last tenth
    outside = [
        (datetime(2024, 3, 9, 23, 59, 59, 900_000, tzinfo=DENVER), 1, 2),
        (datetime(2024, 3, 11, tzinfo=DENVER), 1, 2),
    ]
    assert logs.take(denver, "day.csv", atspm_csv("1", inside + outside)).new == 502
    service = watchdog(database, datetime(2024, 3, 12, tzinfo=UTC))
    report = service.report(denver, day)
    assert report.windows.day[1] - report.windows.day[0] == 23 * 3600
    (judged,) = report.intersections
    assert (judged.records, [f.check for f in judged.findings]) == (500, [Check.MISSING_RECORDS])
    first = [(datetime(2024, 3, 10, tzinfo=DENVER), 1, 6)]  # the day's first tenth makes 501
    assert logs.take(denver, "first.csv", atspm_csv("1", first)).new == 1
    (judged,) = service.report(denver, day).intersections
    assert (judged.records, judged.findings) == (501, ())


def test_the_default_day_is_yesterday_in_the_city_and_a_later_day_is_refused(
    database: SqlDatabase, city: City
) -> None:
    intersection(database, city, "INT-1")
    now = datetime(2024, 5, 14, 17, 0, tzinfo=UTC)  # 01:00 on the 15th in Kuala Lumpur
    service = watchdog(database, now)
    report = service.report(city)
    assert report.day == date(2024, 5, 14)
    assert report.windows.day[0] == datetime(2024, 5, 13, 16, tzinfo=UTC).timestamp()
    assert service.report(city, date(2024, 5, 15)).day == date(2024, 5, 15)  # today, so far
    with pytest.raises(InvalidInputError, match="after today"):
        service.report(city, date(2024, 5, 15) + timedelta(days=1))
