"""Energy report benchmark: a month of a 20,000-light city's hourly rollups, reported by day.

The rollups (20,000 lights x 30 days x 24 hours = 14.4 M rows, each with
its counter's first and last reading and rise) are generated in SQL
straight into ``reading_hours``; the lights are stored as an inventory. The
city/day report (``EnergyService.report``: the SQL that counts the steps
between hours and spreads gaps, the baseline per sun cell, the plan per day)
is timed beside a reference measured in the same run on the same rows: a
plain ``SELECT count(*), sum(energy_rise)`` over the report's hours, the
least any report over them must read. Settling the month's days (counting
each light's day once and keeping it, as the daily ``signalight energy
settle`` does a day at a time) is timed first; then the city/day and the
light/month reports over the settled days, and a week counted live.

Usage: python bench/energy_report.py [--quick] [--backend postgresql|sqlite]
[--lights 20000] [--days 30]. PostgreSQL is the server at
SIGNALIGHT_BENCH_POSTGRES_URL (default the local one, user postgres); the
database ``signalight_bench_energy`` is created and dropped.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from sqlalchemy import text

from signalight.adapters.clock import SystemClock
from signalight.adapters.sql.database import SqlDatabase
from signalight.adapters.sql.energy import SqlEnergyReads
from signalight.adapters.sql.schedule_lights import SqlLightDirectory
from signalight.adapters.sql.schedules import SqlScheduleStore
from signalight.domain.assets import AssetKind, AssetRecord
from signalight.domain.cities import City
from signalight.domain.energy_periods import Grouping, Period
from signalight.domain.faults import DetectionSettings
from signalight.services.energy import EnergyService
from signalight.services.schedules import Schedules

SERVER = os.environ.get("SIGNALIGHT_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
NAME = "signalight_bench_energy"
ZONE = "Asia/Kuala_Lumpur"
FIRST = date(2024, 5, 1)

# One row a light and hour: 45 Wh counted within the hour, 5 across into the next.
_ROWS = """
    INSERT INTO reading_hours (device_id, hour, city_id, samples, on_reports, on_true,
        voltage_sum, voltage_count, power_sum, power_count,
        energy_min, energy_max, energy_first, energy_first_at, energy_last, energy_last_at,
        energy_rise)
    SELECT d.id, h.hour, d.city_id, 12, 12, 12, 2760.0, 12, 600.0, 12,
        d.id * 1e6 + (h.hour - :lo) / 72.0, d.id * 1e6 + (h.hour - :lo) / 72.0 + 45.0,
        d.id * 1e6 + (h.hour - :lo) / 72.0, h.hour + 60.0,
        d.id * 1e6 + (h.hour - :lo) / 72.0 + 45.0, h.hour + 3540.0, 45.0
    FROM devices d CROSS JOIN ({hours}) AS h
    WHERE d.city_id = :city
"""
_PG_HOURS = (
    "SELECT generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint) - 3600, 3600)::float8 AS hour"
)
_SQLITE_HOURS = (
    "WITH RECURSIVE s (hour) AS (SELECT :lo UNION ALL SELECT hour + 3600.0 FROM s"
    " WHERE hour + 3600.0 < :hi) SELECT hour FROM s"
)
_REFERENCE = (
    "SELECT count(*), sum(energy_rise) FROM reading_hours"
    " WHERE city_id = :city AND hour >= :lo AND hour < :hi"
)


def _schedules(db: SqlDatabase) -> Schedules:
    """The city's plans, as the service plans by (no profile assigned: its default)."""
    return Schedules(
        SqlScheduleStore(db.engine),
        SqlLightDirectory(db.engine),
        lambda _city_id: DetectionSettings(),
        SystemClock(),
    )


def _database(backend: str, workdir: Path) -> SqlDatabase:
    if backend == "sqlite":
        return SqlDatabase.connect(f"sqlite:///{workdir / 'bench.db'}")
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{NAME}"')
    return SqlDatabase.connect(f"{SERVER}/{NAME}")


def _drop(backend: str) -> None:
    if backend == "postgresql":
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')


def _timed(action: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def _fill(db: SqlDatabase, backend: str, lights: int, days: int) -> tuple[City, float, float]:
    city = db.cities.add_city(
        City(
            slug="bench-energy",
            name="Bench Energy",
            country="MY",
            timezone=ZONE,
            lat=5.38,
            lon=100.40,
            currency="MYR",
            tariff_per_kwh=0.4,
            co2_kg_per_kwh=0.69,
        )
    )
    side = int(lights**0.5) + 1
    records = [
        AssetRecord(
            kind=AssetKind.STREETLIGHT,
            code=f"SL-{i:05d}",
            lat=5.30 + 0.16 * (i // side) / side,
            lon=100.32 + 0.16 * (i % side) / side,
            device=f"N-{i:05d}",
            rated_watts=100.0,
            group=f"g{i % 40}",
        )
        for i in range(lights)
    ]
    started = time.perf_counter()
    db.assets.upsert_assets(city.pk, records)
    zone = ZoneInfo(ZONE)
    lo = datetime.combine(FIRST, datetime.min.time(), tzinfo=zone).timestamp()
    hi = lo + days * 86_400.0
    hours = _PG_HOURS if backend == "postgresql" else _SQLITE_HOURS
    with db.engine.begin() as conn:
        conn.execute(text(_ROWS.format(hours=hours)), {"lo": lo, "hi": hi, "city": city.pk})
    analyse = "VACUUM ANALYZE reading_hours" if backend == "postgresql" else "ANALYZE"
    with db.engine.connect() as plain:
        plain.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(analyse)
    took = time.perf_counter() - started
    print(f"stored {lights:,} lights and their hourly rollups in {took:.1f} s")
    return city, lo, hi


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 lights for 7 days")
    parser.add_argument("--backend", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--lights", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    lights, days = (2_000, 7) if args.quick else (args.lights, args.days)
    with tempfile.TemporaryDirectory() as workdir:
        db = _database(args.backend, Path(workdir))
        try:
            db.migrate()
            city, lo, hi = _fill(db, args.backend, lights, days)
            service = EnergyService(SqlEnergyReads(db.engine), _schedules(db))
            last = FIRST + timedelta(days=days - 1)

            def reference() -> tuple[int, float]:
                bounds = {"city": city.pk, "lo": lo, "hi": hi}
                with db.engine.connect() as conn:
                    count, total = conn.execute(text(_REFERENCE), bounds).one()
                return int(count), float(total or 0.0)

            ref_s, (rows, _total) = _timed(reference, args.runs)
            settle_s, _ = _timed(lambda: service.settle(city, FIRST, last), 1)
            day_s, report = _timed(
                lambda: service.report(city, FIRST, last, Grouping.CITY, Period.DAY), args.runs
            )
            light_s, by_light = _timed(
                lambda: service.report(city, FIRST, last, Grouping.LIGHT, Period.MONTH), 1
            )
            live = EnergyService(
                SqlEnergyReads(db.engine), _schedules(db), now=lambda: lo
            )  # nothing is due: every day is counted from the rollups
            live_s, _ = _timed(
                lambda: live.report(
                    city, FIRST, FIRST + timedelta(days=6), Grouping.CITY, Period.DAY
                ),
                1,
            )
        finally:
            db.close()
            _drop(args.backend)
    tag = f"[{args.backend}]"
    print(f"{tag} {rows:,} hourly rows: {lights:,} lights x {days} days x 24 hours")
    print(f"{tag} reference: count(*) and sum over the same rows: {ref_s:.2f} s")
    print(
        f"{tag} settling the {days} days (once; daily, a day at a time, in use):"
        f" {settle_s:.1f} s = {settle_s / ref_s:.0f} x the reference"
    )
    print(
        f"{tag} city/day report of the settled days ({len(report.rows)} rows,"
        f" {report.total.actual_wh / 1000:,.0f} kWh): {day_s:.2f} s"
        f" = {day_s / ref_s:.1f} x the reference (median of {args.runs})"
    )
    print(
        f"{tag} light/month report of the settled days ({len(by_light.rows):,} rows):"
        f" {light_s:.2f} s = {light_s / ref_s:.1f} x the reference"
    )
    print(f"{tag} city/day report of 7 days not yet settled (counted from rollups): {live_s:.2f} s")


if __name__ == "__main__":
    main()
