"""Map snapshot benchmark: GET /cities/{city}/map of 100,000 lights on SQLite, beside references.

The city is a generated fleet of 100,000 streetlights (with their cabinets,
intersections and devices), every device heard once and a few thousand open
alarms. Timed through the ASGI app (TestClient), gzip accepted as a browser
would: the first request (the snapshot made anew), then best of three of the
kept snapshot and of one brought up to date after an alarm event, beside two
references measured in the same run on the same database:

- the existing ``GET /assets?format=geojson`` paged over the same city
  (5,000 a page), the other way a page could fetch the whole inventory;
- a bare driver ``SELECT`` of the city's rows of the assets table.

Floor: the map of 100,000 lights made anew in under 2 s. Printed with PASS or FAIL;
the run exits 1 if it fails. Run with ``.venv/bin/python bench/map_snapshot.py``.
"""

from __future__ import annotations

import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from signalight.adapters.sql.database import SqlDatabase
from signalight.api.app import create_app
from signalight.container import Container
from signalight.domain.alarms import Alarm, AlarmType, EventKind, Severity
from signalight.domain.assets import AssetQuery
from signalight.domain.cities import City
from signalight.domain.readings import Reading
from signalight.domain.telemetry import Accepted
from signalight.domain.users import Role
from signalight.settings import Settings
from signalight.sim.generator import generate_fleet

LIGHTS = 100_000
ALARMS = 3_000
FLOOR_S = 2.0
CITY = City(
    slug="bench-map",
    name="Seberang Perai",
    country="MY",
    timezone="Asia/Kuala_Lumpur",
    lat=5.38,
    lon=100.40,
    currency="MYR",
)


def best_of(runs: int, action: Callable[[], object]) -> float:
    """The fastest of ``runs`` timed calls, in seconds."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - start)
    return best


def populate(db: SqlDatabase) -> City:
    """The city, its fleet, a message from every device and ALARMS open alarms."""
    city = db.cities.add_city(CITY)
    fleet = generate_fleet(city, lights=LIGHTS, intersections=150, seed=1)
    db.assets.upsert_assets(city.pk, fleet.records)
    now = time.time()
    devices = [d for d in db.telemetry.devices() if d.city_slug == city.slug]
    rng = random.Random(1)
    batch = [
        Accepted(d, [Reading(now - 61, "power", 60.0)], now - rng.uniform(0, 1800)) for d in devices
    ]
    for start in range(0, len(batch), 10_000):
        db.telemetry.write(batch[start : start + 10_000], [])
    with db.engine.connect() as conn:
        asset_ids = [row[0] for row in conn.exec_driver_sql("SELECT id FROM assets")]
    kinds = list(AlarmType)
    alarms = [
        Alarm(
            city_id=city.pk,
            type=rng.choice(kinds),
            severity=rng.choice(list(Severity)),
            asset_id=asset_id,
            raised_at=now - 3600,
            observed_at=now - 3600,
            updated_at=now - 3600,
        )
        for asset_id in rng.sample(asset_ids, ALARMS)
    ]
    db.alarms.record([(alarm, EventKind.RAISED, now - 3600) for alarm in alarms])
    return city


def raise_alarm(db: SqlDatabase, city: City, n: int) -> None:
    """One more open alarm on the city's n-th asset."""
    asset = db.assets.query_assets(city.pk, AssetQuery(limit=n + 1)).items[n]
    now = time.time()
    alarm = Alarm(
        city_id=city.pk,
        type=AlarmType.HIGH_VOLTAGE,
        severity=Severity.MINOR,
        asset_id=asset.id,
        raised_at=now,
        observed_at=now,
        updated_at=now,
        message="bench",
        detail={},
    )
    db.alarms.record([(alarm, EventKind.RAISED, now)])


def after_alarm(db: SqlDatabase, city: City, n: int, get: Callable[[], object]) -> float:
    """Seconds of a map request just after an alarm event: the kept snapshot brought up to date."""
    raise_alarm(db, city, n)
    return best_of(1, get)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "signalight.db"
        settings = Settings(data_dir=Path(tmp), database_url=f"sqlite:///{path}", retention_days=0)
        db = SqlDatabase.connect(settings.effective_database_url)
        db.migrate()
        started = time.perf_counter()
        city = populate(db)
        print(
            f"populated {LIGHTS:,} lights, {ALARMS:,} alarms: {time.perf_counter() - started:.1f} s"
        )
        container = Container(settings, db)
        container.auth.add_user("bench", None)
        container.auth.grant("bench", city, Role.VIEWER)
        headers = {
            "Authorization": f"Bearer {container.auth.issue_token('bench')}",
            "Accept-Encoding": "gzip",
        }
        with TestClient(create_app(container)) as client:
            url = f"/api/v1/cities/{city.slug}/map"
            start = time.perf_counter()
            first = client.get(url, headers=headers)
            anew_s = time.perf_counter() - start  # made anew: the first screen on the city
            if first.status_code != 200:
                print(f"GET {url}: {first.status_code} {first.text}")
                return 1
            rows = first.json()["rows"]
            statuses: dict[str, int] = {}
            for row in rows:
                statuses[row[5]] = statuses.get(row[5], 0) + 1
            wire = int(first.headers["content-length"])
            kept_s = best_of(3, lambda: client.get(url, headers=headers))
            updated_s = min(
                after_alarm(db, city, n, lambda: client.get(url, headers=headers)) for n in range(3)
            )

            def geojson_pages() -> int:
                count, cursor = 0, None
                while True:
                    params: dict[str, str | int] = {"format": "geojson", "limit": 5000}
                    if cursor:
                        params["cursor"] = cursor
                    page = client.get(
                        f"/api/v1/cities/{city.slug}/assets", params=params, headers=headers
                    )
                    body = page.json()
                    count += len(body["features"])
                    cursor = page.headers.get("x-next-cursor") or body.get("next_cursor")
                    if not cursor:
                        return count

            paged = geojson_pages()
            geojson_s = best_of(1, geojson_pages)
        conn = sqlite3.connect(path)
        select_s = best_of(
            3,
            lambda: conn.execute("SELECT * FROM assets WHERE city_id = ?", (city.pk,)).fetchall(),
        )
        conn.close()
        db.close()
    print(f"map rows: {len(rows):,} ({statuses}); {wire / 1e6:.1f} MB gzip on the wire")
    print(f"GET /map, whole city, made anew:     {anew_s * 1000:7.0f} ms")
    print(f"GET /map, kept (another screen):     {kept_s * 1000:7.0f} ms")
    print(f"GET /map, after an alarm event:      {updated_s * 1000:7.0f} ms")
    print(
        f"reference GET /assets?format=geojson ({paged:,} in pages of 5,000): "
        f"{geojson_s * 1000:7.0f} ms"
    )
    print(f"reference bare SELECT * of the assets: {select_s * 1000:7.0f} ms")
    ok = len(rows) >= LIGHTS and anew_s < FLOOR_S
    print(f"{'PASS' if ok else 'FAIL'}: {LIGHTS:,} lights under {FLOOR_S:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
