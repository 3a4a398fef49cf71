"""Inventory benchmark: generation, import rate and bbox query latency on SQLite and PostgreSQL.

Each figure is printed beside a reference measured in the same run on the
same machine, so a slow machine does not pass for slow code:

- import: the whole service path (decode CSV, check every row, write in one
  transaction) against a bare driver ``executemany`` of the same rows;
- bbox: the repository query (what the API handler calls) and the HTTP API
  through a real uvicorn server, against the same SQL sent straight through
  the driver, on one connection from the same engine, warmed like the others.

Floors: an import of at least 20,000 rows/s, and a bbox p99 through the HTTP
API of at most 50 ms. Each is printed with PASS or FAIL; the run exits 1 if
any fails.

Run with ``make bench`` (PostgreSQL at SIGNALIGHT_BENCH_POSTGRES_URL, default
the local server; the database ``signalight_bench`` is dropped and created).
"""

from __future__ import annotations

import os
import random
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx2 as httpx
import psycopg
import uvicorn
from sqlalchemy.pool import PoolProxiedConnection

from signalight.adapters.sql.database import SqlDatabase
from signalight.api.app import create_app
from signalight.codecs.inventory_csv import encode_csv
from signalight.container import Container
from signalight.domain.assets import AssetKind, AssetQuery, AssetRecord
from signalight.domain.cities import City
from signalight.domain.users import Role
from signalight.services.inventory import InventoryFormat, import_inventory
from signalight.settings import Settings
from signalight.sim.generator import generate_fleet

LIGHTS = int(os.environ.get("BENCH_LIGHTS", "100000"))
QUERIES = int(os.environ.get("BENCH_QUERIES", "300"))
IMPORT_FLOOR = 20_000.0  # rows/s
BBOX_P99_FLOOR_MS = 50.0  # through the HTTP API
PG_URL = os.environ.get(
    "SIGNALIGHT_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/signalight_bench"
)
CITY = City(
    slug="bench",
    name="Seberang Perai",
    country="MY",
    timezone="Asia/Kuala_Lumpur",
    lat=5.38,
    lon=100.43,
    currency="MYR",
)


def timed(func: Callable[[], object]) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return p50 * 1000, p99 * 1000


def boxes(
    records_lat_lon: list[tuple[float, float]], count: int
) -> list[tuple[float, float, float, float]]:
    """Viewport-sized boxes centred on random lights, each holding at most ~1,000 assets."""
    rng = random.Random(7)
    result = []
    for _ in range(count):
        lat, lon = rng.choice(records_lat_lon)
        half = rng.uniform(0.002, 0.006)  # 450 m to 1.3 km across: a street-level map view
        result.append((lon - half, lat - half, lon + half, lat + half))
    return result


def fresh_postgres() -> bool:
    base, _, name = PG_URL.rpartition("/")
    try:
        with psycopg.connect(f"{base}/postgres", autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL not reachable ({exc}); skipping it", file=sys.stderr)
        return False
    return True


Row = tuple[str, str, float, float, str | None, float | None, str | None]


def reference_insert(backend: str, url: str, rows: list[Row]) -> float:
    """Seconds for a bare driver executemany of the same rows into a scratch table."""
    ddl = (
        "CREATE TABLE ref_assets (id INTEGER PRIMARY KEY, code TEXT, kind TEXT, lat REAL, "
        "lon REAL, cabinet TEXT, watts REAL, device TEXT)"
    )
    sql = "INSERT INTO ref_assets (code, kind, lat, lon, cabinet, watts, device) VALUES "
    if backend == "sqlite":
        lite = sqlite3.connect(url.removeprefix("sqlite:///") + ".ref")
        lite.execute("PRAGMA journal_mode=WAL")
        lite.execute("PRAGMA synchronous=NORMAL")
        lite.execute(ddl)
        start = time.perf_counter()
        lite.executemany(sql + "(?,?,?,?,?,?,?)", rows)
        lite.commit()
        seconds = time.perf_counter() - start
        lite.close()
        return seconds
    with psycopg.connect(url) as pg:
        pg.execute(ddl.replace("INTEGER PRIMARY KEY", "SERIAL PRIMARY KEY"))
        pg.commit()
        start = time.perf_counter()
        with pg.cursor() as cur:
            cur.executemany(sql + "(%s,%s,%s,%s,%s,%s,%s)", rows)
        pg.commit()
        return time.perf_counter() - start


def reference_bbox(
    backend: str,
    driver: PoolProxiedConnection,
    city_id: int,
    box: tuple[float, float, float, float],
) -> list[Any]:
    """The bbox query sent straight through the driver, on a connection already open."""
    sql = (
        "SELECT * FROM assets WHERE city_id = {p} AND lon BETWEEN {p} AND {p} "
        "AND lat BETWEEN {p} AND {p} ORDER BY id LIMIT 1001"
    )
    west, south, east, north = box
    cursor = driver.cursor()
    try:
        cursor.execute(
            sql.format(p="?" if backend == "sqlite" else "%s"), (city_id, west, east, south, north)
        )
        rows = list(cursor.fetchall())
    finally:
        cursor.close()
    return rows


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def serve(container: Container, port: int) -> uvicorn.Server:
    server = uvicorn.Server(
        uvicorn.Config(create_app(container), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server


def run_backend(
    backend: str,
    url: str,
    csv_data: bytes,
    fleet_records: list[AssetRecord],
    ref_rows: list[Row],
    lat_lon: list[tuple[float, float]],
    port: int,
) -> list[bool]:
    """Measure one backend; whether each floor was met."""
    db = SqlDatabase.connect(url)
    db.migrate()
    city = db.cities.add_city(CITY)
    settings = Settings(database_url=url)
    container = Container(settings, db)

    report = None

    def do_import() -> None:
        nonlocal report
        report = import_inventory(
            city,
            csv_data,
            InventoryFormat.CSV,
            assets=db.assets,
            imports=db.imports,
            actor="bench",
            source="bench.csv",
            max_distance_m=100_000,
        )

    seconds = timed(do_import)
    if report is None or not report.run.accepted:
        sys.exit(f"the generated inventory did not import: {report and report.errors[:3]}")
    rows = report.run.rows
    # The store's share alone: the same records written into a second, empty city.
    twin = db.cities.add_city(CITY.with_changes(slug="bench-twin"))
    write_seconds = timed(lambda: db.assets.upsert_assets(twin.pk, fleet_records))
    ref_seconds = reference_insert(backend, url, ref_rows)
    import_ok = rows / seconds >= IMPORT_FLOOR
    print(
        f"[{backend}] import {rows} rows (decode+check+write): {seconds:.2f} s = "
        f"{rows / seconds:,.0f} rows/s  | floor {IMPORT_FLOOR:,.0f} rows/s: "
        f"{verdict(import_ok)}\n"
        f"[{backend}]   of which the store's write alone: {rows / write_seconds:,.0f} rows/s"
        f"  | reference bare executemany, 7 columns, no indexes: "
        f"{len(ref_rows) / ref_seconds:,.0f} rows/s"
    )

    container.auth.add_user("bench", None)
    container.auth.grant("bench", city, Role.VIEWER)
    token = container.auth.issue_token("bench")
    queries = boxes(lat_lon, QUERIES)
    repo, ref, http, counts = [], [], [], []
    server = serve(container, port)
    # The reference's connection comes from the engine the repository uses, so
    # it has the same settings (SQLite's page cache, say); it is opened once
    # and warmed with the others, as the repository's pooled connections are.
    driver = db.engine.raw_connection()
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}
        ) as client:
            for box in queries[:20]:  # warm caches and the connection pools
                db.assets.query_assets(city.pk, AssetQuery(bbox=box, limit=1000))
                reference_bbox(backend, driver, city.pk, box)
                client.get(
                    f"/api/v1/cities/{city.slug}/assets",
                    params={"bbox": ",".join(map(str, box)), "limit": 1000},
                )
            for box in queries:
                params: dict[str, str | int] = {
                    "bbox": ",".join(map(str, box)),
                    "limit": 1000,
                    "format": "geojson",
                }
                start = time.perf_counter()
                page = db.assets.query_assets(city.pk, AssetQuery(bbox=box, limit=1000))
                repo.append(time.perf_counter() - start)
                counts.append(len(page.items))
                ref.append(timed(partial(reference_bbox, backend, driver, city.pk, box)))
                start = time.perf_counter()
                client.get(f"/api/v1/cities/{city.slug}/assets", params=params).raise_for_status()
                http.append(time.perf_counter() - start)
    finally:
        driver.close()
        server.should_exit = True
    for name, samples in (
        ("repository", repo),
        ("HTTP API (GeoJSON)", http),
        ("reference raw SQL", ref),
    ):
        p50, p99 = percentiles(samples)
        print(f"[{backend}] bbox {name:<19} p50 {p50:6.1f} ms  p99 {p99:6.1f} ms")
    http_p99 = percentiles(http)[1]
    bbox_ok = http_p99 <= BBOX_P99_FLOOR_MS
    print(
        f"[{backend}] bbox results per query: median {statistics.median(counts):.0f}, "
        f"max {max(counts)} (of {QUERIES} queries)  | floor HTTP API p99 <= "
        f"{BBOX_P99_FLOOR_MS:.0f} ms: {verdict(bbox_ok)}"
    )
    db.close()
    return [import_ok, bbox_ok]


def main() -> int:
    print(
        f"inventory benchmark: {LIGHTS:,} lights, {os.cpu_count()} cores, "
        f"Python {sys.version.split()[0]}"
    )
    seconds = timed(lambda: generate_fleet(CITY, lights=LIGHTS, intersections=150, seed=1))
    fleet = generate_fleet(CITY, lights=LIGHTS, intersections=150, seed=1)
    print(f"generate {len(fleet.records):,} assets ({LIGHTS:,} lights): {seconds:.2f} s")
    csv_data = "".join(encode_csv(fleet.records)).encode()
    print(f"CSV file: {len(csv_data) / 1e6:.1f} MB")
    ref_rows: list[Row] = [
        (r.code, r.kind.value, r.lat, r.lon, r.cabinet, r.rated_watts, r.device)
        for r in fleet.records
    ]
    lat_lon = [(r.lat, r.lon) for r in fleet.records if r.kind is AssetKind.STREETLIGHT]
    with tempfile.TemporaryDirectory() as tmp:
        met = run_backend(
            "sqlite",
            f"sqlite:///{Path(tmp) / 'bench.db'}",
            csv_data,
            fleet.records,
            ref_rows,
            lat_lon,
            8765,
        )
    if fresh_postgres():
        met += run_backend("postgresql", PG_URL, csv_data, fleet.records, ref_rows, lat_lon, 8766)
    failed = met.count(False)
    print(f"floors: {len(met) - failed} of {len(met)} met")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
