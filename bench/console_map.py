"""Console map benchmark: time to first render and to a pan of 100,000 lights in headless Chromium.

A real server over SQLite holds a generated city (cabinets, 100,000 lights,
intersections; a share of the lights with devices and open alarms), and the
system Chromium opens the live map signed in as a viewer. Measured from the
page's own clock (``performance.now()`` from navigation start):

- first render: navigation to the map drawn with every asset (the page's
  ``data-ready``, set on MapLibre's first ``idle`` after the data is in),
  cold (a browser that never loaded the page, a snapshot the server makes
  anew) and warm (scripts cached, the snapshot kept by the server, as when
  another screen opened the city's map within 30 s) and anew (scripts
  cached, the kept snapshot brought up to date after an alarm event, as in
  a live city) and renewed (the first screen of a new 30 s window, when the
  server judges the whole city again);
- pan: ``panBy`` of half the map's width to the next ``idle``, median of 5.

Reference, measured in the same run and browser: the same map page over a
city of 1,000 lights, which costs the page's fixed part (scripts, base map,
sign-in check, WebGL set up in software here) with next to no data. The
floor (issue 16): 100,000 lights drawn within 2 s of navigation in an
operator's browser, warm and anew. The cold and renewed figures are printed
beside their references without a floor: most of cold is the browser's first
fetch and compile of the map library, which the 1,000-light reference pays as
well; both pay the server's judging of the whole city (see the snapshot API
figure), which a screen meets once per 30 s at most.
Printed with PASS or FAIL; exits 1 on a FAIL.

Run with ``make bench`` or ``.venv/bin/python bench/console_map.py``;
``BENCH_LIGHTS`` changes the size.
"""

from __future__ import annotations

import dataclasses
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx2 as httpx
from playwright.sync_api import Page, sync_playwright

from map_snapshot import raise_alarm

# The browser and the server the console's tests use; this script runs from bench/.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from signalight.adapters.sql.database import SqlDatabase
from signalight.container import Container
from signalight.domain.alarms import Alarm, AlarmType, EventKind, Severity
from signalight.domain.assets import AssetKind, AssetQuery, AssetRecord
from signalight.domain.cities import City
from signalight.domain.users import Role
from signalight.services.city_status import SNAPSHOT_FRESH_S
from signalight.settings import Settings
from signalight.sim.generator import generate_fleet
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS, serve

LIGHTS = int(os.environ.get("BENCH_LIGHTS", "100000"))
REFERENCE_LIGHTS = 1_000
FIRST_RENDER_FLOOR_S = 2.0
PANS = 5
PASSWORD = "bench password, long enough"  # noqa: S105 - a throwaway local user


def seed(db: SqlDatabase, container: Container, slug: str, lights: int) -> City:
    """A generated city, a viewer, and open alarms on one light in fifty."""
    city = db.cities.add_city(
        City(
            slug=slug,
            name=f"Bench {lights}",
            country="MY",
            timezone="Asia/Kuala_Lumpur",
            lat=5.38,
            lon=100.43,
            currency="MYR",
        )
    )
    fleet = generate_fleet(city, lights=lights, intersections=min(150, lights // 500), seed=1)
    records: list[AssetRecord] = [
        dataclasses.replace(r, device=f"node-{n}")
        if n % 3 == 0 and r.kind is AssetKind.STREETLIGHT
        else r
        for n, r in enumerate(fleet.records)
    ]
    db.assets.upsert_assets(city.pk, records)
    ids = [a.id for a in db.assets.query_assets(city.pk, AssetQuery(limit=lights * 2)).items]
    rng = random.Random(7)
    severities = list(Severity)
    now = time.time()
    alarms = [
        (
            Alarm(
                city_id=city.pk,
                type=AlarmType.LAMP_FAILURE,
                severity=rng.choice(severities),
                asset_id=asset_id,
                raised_at=now,
                observed_at=now,
                updated_at=now,
                message="bench",
                detail={},
            ),
            EventKind.RAISED,
            now,
        )
        for asset_id in ids[::50]
    ]
    db.alarms.record(alarms)
    container.auth.add_user(f"viewer-{slug}", PASSWORD)
    container.auth.grant(f"viewer-{slug}", city, Role.VIEWER)
    return city


def start_of_window() -> None:
    """Wait for the server's snapshots to start a new window (they are kept within one)."""
    time.sleep(SNAPSHOT_FRESH_S - time.time() % SNAPSHOT_FRESH_S + 0.5)


def first_render(page: Page, base: str, city: City) -> float:
    """Seconds from navigation to the map drawn, by the page's clock."""
    page.goto("about:blank")  # a new document each time: a hash change alone would not reload
    page.goto(f"{base}/#/c/{city.slug}/map")
    page.wait_for_selector("#mapbox[data-ready='true']", timeout=120_000)
    return float(page.evaluate("() => performance.now()")) / 1000


def pan(page: Page) -> float:
    """Median seconds of a half-width pan to the map's next idle."""
    samples = []
    for n in range(PANS):
        seconds = page.evaluate(
            """(direction) => new Promise((resolve) => {
                const map = window.signalightMap;
                const start = performance.now();
                map.once("idle", () => resolve((performance.now() - start) / 1000));
                map.panBy([direction * map.getCanvas().clientWidth / 2, 0], {duration: 0});
            })""",
            1 if n % 2 == 0 else -1,
        )
        samples.append(float(seconds))
    return statistics.median(samples)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        db = SqlDatabase.connect(url)
        db.migrate()
        container = Container(Settings(data_dir=Path(tmp), database_url=url), db)
        print(f"seeding {LIGHTS:,} lights and {REFERENCE_LIGHTS:,} for the reference…", flush=True)
        big = seed(db, container, "big", LIGHTS)
        small = seed(db, container, "small", REFERENCE_LIGHTS)
        snapshot_s = 0.0
        with serve(container) as base:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                results = {}
                for city, user in ((small, "viewer-small"), (big, "viewer-big")):
                    context = browser.new_context(viewport={"width": 1280, "height": 800})
                    page = context.new_page()
                    page.request.post(
                        f"{base}/api/v1/auth/session",
                        data={"username": user, "password": PASSWORD},
                    )
                    # Cold: a browser that never loaded the page, a snapshot never made.
                    start_of_window()
                    cold = first_render(page, base, city)
                    # Warm: the scripts in the browser's cache, the snapshot kept by
                    # the server (another screen on the city within the last 30 s).
                    warm = first_render(page, base, city)
                    # Live: an alarm event since (as every few seconds in a city at
                    # night): the kept snapshot brought up to date for the next screen.
                    raise_alarm(db, city, 0)
                    anew = first_render(page, base, city)
                    # Renewed: the first screen of the next 30 s, judged whole again.
                    start_of_window()
                    renewed = first_render(page, base, city)
                    results[city.slug] = (cold, warm, anew, renewed, pan(page))
                    context.close()
                browser.close()
            with httpx.Client(base_url=base, timeout=120) as http:
                http.post(
                    "/api/v1/auth/session",
                    json={"username": "viewer-big", "password": PASSWORD},
                ).raise_for_status()
                # The lights alone: a key the server has not kept, so made anew.
                start = time.perf_counter()
                answer = http.get(f"/api/v1/cities/{big.slug}/map?kind=streetlight")
                snapshot_s = time.perf_counter() - start
                answer.raise_for_status()
                rows = len(answer.json()["rows"])
        db.close()
    (ref_cold, ref_warm, ref_anew, ref_renewed, ref_pan) = results["small"]
    (cold, warm, anew, renewed, panned) = results["big"]
    ok = max(warm, anew) <= FIRST_RENDER_FLOOR_S
    print(f"snapshot API  {rows:>7,} lights  {snapshot_s * 1000:8.0f} ms (one request, made anew)")
    for label, ref, big_s in (
        ("cold", ref_cold, cold),
        ("warm", ref_warm, warm),
        ("anew", ref_anew, anew),
        ("renewed", ref_renewed, renewed),
    ):
        verdict = ""
        if label in {"warm", "anew"}:
            verdict = f" (floor {FIRST_RENDER_FLOOR_S * 1000:.0f} ms) "
            verdict += "PASS" if big_s <= FIRST_RENDER_FLOOR_S else "FAIL"
        print(
            f"first render {label}  {REFERENCE_LIGHTS:,} lights {ref * 1000:6.0f} ms (reference)"
            f"  {LIGHTS:,} lights {big_s * 1000:6.0f} ms{verdict}"
        )
    print(f"pan           {REFERENCE_LIGHTS:>7,} lights  {ref_pan * 1000:8.0f} ms (reference)")
    print(f"pan           {LIGHTS:>7,} lights  {panned * 1000:8.0f} ms (median of {PANS})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
