"""The energy page in headless Chromium, on a real server with a month and more of readings.

Fourteen lights report every hour through the real ingest service, from the
first day of last month until now: their energy counter (Wh), power and
relay. Most burn as the city's default plan says (full from 19:00, half
from midnight to 05:00, off at 07:00, local); SL-009 stays dark and EL-003
burns day and night, so both ignore their schedule. The page's figures are
checked against what the API answers for the same month.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from playwright.sync_api import Browser, Page, expect

from signalight.domain.assets import AssetKind, AssetQuery, AssetRecord, StreetClass
from signalight.domain.telemetry import DeadLetter
from tests.web.console_rig import (
    ConsoleSite,
    assert_accessible,
    console_site,
    new_page,
    page_errors,
    sign_in,
    snap,
)

pytestmark = pytest.mark.browser

ZONE = ZoneInfo("Asia/Kuala_Lumpur")
PHONE_NARROW = {"width": 360, "height": 740}
DARK, ALWAYS_ON = "SL-009", "EL-003"
TARIFF, CO2 = 0.45, 0.76
SERIES_NAMES = ("Actual", "Baseline", "Planned")
NO_FIGURE = "\N{EN DASH}"  # what the page shows for a figure the city cannot have


def _level(local_hour: int) -> float:
    """The share of rated power the well-behaved lights burn at in a local hour."""
    if 0 <= local_hour < 5:
        return 0.5
    if 5 <= local_hour < 7 or local_hour >= 19:
        return 1.0
    return 0.0


def _extra_lights(site: ConsoleSite) -> list[AssetRecord]:
    """Four 100 W lights on a second cabinet, a local street and the park group."""
    city = site.city
    records = [AssetRecord(kind=AssetKind.CABINET, code="CAB-2", lat=city.lat, lon=city.lon + 0.01)]
    records += [
        AssetRecord(
            kind=AssetKind.STREETLIGHT,
            code=f"EL-{n:03d}",
            lat=city.lat + 0.001 * n,
            lon=city.lon + 0.01,
            street="Jalan Taman",
            street_class=StreetClass.LOCAL,
            cabinet="CAB-2",
            group="park",
            rated_watts=100.0,
            device=f"el-node-{n:03d}",
        )
        for n in range(4)
    ]
    return records


def _feed(site: ConsoleSite, start: float, end: float) -> int:
    """Every light with a device reports at the start of each hour in [start, end); answers packs.

    Each pack is received a minute after it was measured, as if sent live then.
    """
    lights = {f"node-{n:03d}": (f"SL-{n:03d}", 60.0) for n in range(10)}
    lights |= {f"el-node-{n:03d}": (f"EL-{n:03d}", 100.0) for n in range(4)}
    devices = {uid: site.container.db.telemetry.find_device(site.city.slug, uid) for uid in lights}
    counters = dict.fromkeys(lights, 1000.0)
    batch: list[Any] = []
    sent = 0
    for hour in range(int(start), int(end), 3600):
        local = datetime.fromtimestamp(hour, ZONE).hour
        for uid, (code, watts) in lights.items():
            share = 0.0 if code == DARK else 1.0 if code == ALWAYS_ON else _level(local)
            device = devices[uid]
            assert device is not None
            pack = [
                {"bt": hour + 30, "n": "energy", "v": round(counters[uid], 3)},
                {"n": "power", "v": watts * share},
                {"n": "on", "vb": share > 0},
            ]
            outcome = site.container.ingest.check_from(
                device, orjson.dumps(pack), hour + 60.0, "http:/api/v1/ingest"
            )
            assert not isinstance(outcome, DeadLetter), outcome
            batch.append(outcome)
            counters[uid] += watts * share  # what it uses in the hour that follows
        if len(batch) >= 2000:
            sent += len(batch)
            site.container.ingest.write(batch, [])
            batch = []
    sent += len(batch)
    site.container.ingest.write(batch, [])
    return sent


def _months() -> tuple[str, str]:
    """This month and the one before it, in the city's zone."""
    today = datetime.now(ZONE).date()
    before = today.replace(day=1) - timedelta(days=1)
    return today.strftime("%Y-%m"), before.strftime("%Y-%m")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleSite]:
    """The seeded console, a tariff and a grid factor, and readings since last month began."""
    place = {"tariff_per_kwh": TARIFF, "co2_kg_per_kwh": CO2}
    with console_site(tmp_path_factory.mktemp("energy"), place=place) as running:
        db = running.container.db
        db.assets.upsert_assets(running.city.pk, _extra_lights(running))
        found = db.assets.query_assets(running.city.pk, AssetQuery(limit=1000)).items
        running.assets.update({a.code: a.id for a in found})
        _, before = _months()
        first = datetime.combine(date.fromisoformat(f"{before}-01"), datetime.min.time(), ZONE)
        start = first.timestamp() - 3 * 3600  # the counters' first step lands before the month
        assert _feed(running, start, time.time()) > 10_000
        yield running


def _api(page: Page, site: ConsoleSite, path: str) -> Any:
    """What the API answers the signed-in user of the page (the same session cookie)."""
    response = page.context.request.get(f"{site.base_url}/api/v1/cities/{site.city.slug}{path}")
    assert response.ok, response.text()
    return response.json()


def _month_range(month: str) -> str:
    """The query of a month's days, up to today in the month in progress (as the page asks)."""
    year, number = map(int, month.split("-"))
    nxt = date(year + number // 12, number % 12 + 1, 1)
    last = min(nxt - timedelta(days=1), datetime.now(ZONE).date())
    return f"from={month}-01&to={last.isoformat()}"


def _kwh_words(value: float) -> str:
    """A figure as the page writes it: en-US grouping, at most one decimal."""
    text = f"{value:,.1f}"
    return f"{text.removesuffix('.0')} kWh"


def _assert_totals(page: Page, total: dict[str, Any]) -> None:
    totals = page.locator("#energy-totals")
    for key in (
        "actual_kwh",
        "baseline_kwh",
        "planned_kwh",
        "saved_kwh",
        "saved_money",
        "saved_co2_kg",
    ):
        figure = totals.locator(f'[data-total="{key}"]')
        expect(figure).to_have_attribute("data-value", str(total[key]).removesuffix(".0"))
    for key in ("actual_kwh", "baseline_kwh", "planned_kwh", "saved_kwh"):
        expect(totals.locator(f'[data-total="{key}"] dd')).to_have_text(_kwh_words(total[key]))


def test_the_month_shows_each_day_against_baseline_and_plan_with_totals_as_the_api_says(
    site: ConsoleSite, browser: Browser
) -> None:
    context, page = new_page(browser)
    this_month, before = _months()
    sign_in(page, site, "vera", f"/c/{site.city.slug}")
    page.locator("#nav").get_by_role("link", name="Energy").click()
    expect(page.get_by_role("heading", name="Energy", level=1)).to_be_visible()
    expect(page.locator("#energy-month")).to_have_value(this_month)
    expect(page.locator("#energy-next")).to_be_disabled()
    expect(page.locator("#energy-h-month")).to_contain_text("(today so far)")
    expect(page.locator("#energy-totals")).to_be_visible()
    report = _api(page, site, f"/energy?{_month_range(this_month)}&by=city&period=day")
    _assert_totals(page, report["total"])
    assert report["total"]["actual_kwh"] > 0

    # Last month, whole: a bar a day, the baseline and the plan, and the same totals as the API.
    page.get_by_role("button", name="Previous month").click()
    expect(page.locator("#energy-month")).to_have_value(before)
    expect(page.locator("#energy-next")).to_be_enabled()
    report = _api(page, site, f"/energy?{_month_range(before)}&by=city&period=day")
    total = report["total"]
    expect(page.locator("#energy-totals [data-total='actual_kwh']")).to_have_attribute(
        "data-value", str(total["actual_kwh"]).removesuffix(".0")
    )
    _assert_totals(page, total)
    # Fourteen lights: most near their plan, one dark, one always on; all under the baseline.
    assert 0 < total["actual_kwh"] < total["baseline_kwh"]
    assert total["planned_kwh"] < total["baseline_kwh"]
    assert total["saved_money"] == pytest.approx(total["saved_kwh"] * TARIFF, rel=1e-3)
    assert total["saved_co2_kg"] == pytest.approx(total["saved_kwh"] * CO2, rel=1e-3)
    expect(page.locator("#energy-totals [data-total='saved_money'] dd")).to_contain_text("MYR")
    expect(page.locator("#energy-totals")).to_contain_text("kg CO2")
    expect(page.locator("[data-note]")).to_have_count(0)
    chart = page.locator("#energy-chart")
    expect(chart.locator("canvas")).to_have_count(1)
    legend = chart.locator(".u-legend .u-series")
    assert [legend.nth(i).locator(".u-label").inner_text() for i in range(1, 4)] == list(
        SERIES_NAMES
    )
    expect(chart.locator("figcaption")).to_contain_text(
        f"actual {_kwh_words(total['actual_kwh'])} against a baseline of "
        f"{_kwh_words(total['baseline_kwh'])}"
    )
    # Every day of the month in the table, each as the API gives it.
    days = page.locator("#energy-days tbody tr")
    expect(days).to_have_count(len(report["rows"]))
    day_one = report["rows"][0]
    first_row = page.locator(f'#energy-days tr[data-day="{day_one["period"]}"] td')
    expect(first_row.nth(0)).to_have_text(_kwh_words(day_one["actual_kwh"]).removesuffix(" kWh"))
    expect(first_row.nth(1)).to_have_text(_kwh_words(day_one["baseline_kwh"]).removesuffix(" kWh"))
    snap(page, "energy-01-month")
    assert_accessible(page)
    assert page_errors(page) == []
    context.close()


def test_the_breakdown_and_the_lights_off_plan_are_the_apis_with_links_to_their_pages(
    site: ConsoleSite, browser: Browser
) -> None:
    context, page = new_page(browser)
    _, before = _months()
    sign_in(page, site, "vera", f"/c/{site.city.slug}/energy")
    page.get_by_role("button", name="Previous month").click()
    expect(page.locator("#energy-month")).to_have_value(before)

    # The breakdown by street class, then by cabinet and by group, as the API adds them up.
    table = page.locator("#energy-breakdown-table tbody tr")
    expect(table).to_have_count(2)
    by_class = _api(page, site, f"/energy?{_month_range(before)}&by=street_class&period=month")
    for row in by_class["rows"]:
        cells = page.locator(f'#energy-breakdown-table tr[data-key="{row["key"]}"] td')
        expect(cells.nth(0)).to_have_text(str(row["lights"]))
        expect(cells.nth(1)).to_have_text(_kwh_words(row["actual_kwh"]).removesuffix(" kWh"))
    page.get_by_label("Break down by").select_option("cabinet")
    expect(page.locator('#energy-breakdown-table tr[data-key="CAB-2"] td').first).to_have_text("4")
    expect(page.locator('#energy-breakdown-table tr[data-key="CAB-1"] td').first).to_have_text("10")
    page.get_by_label("Break down by").select_option("group")
    expect(page.locator('#energy-breakdown-table tr[data-key="park"]')).to_be_visible()
    expect(page.locator('#energy-breakdown-table tr[data-key=""] th')).to_have_text("(none)")

    # The lights that ignore their schedule, each linked to its page.
    deviations = _api(page, site, f"/energy/deviations?{_month_range(before)}")
    codes = {d["code"] for d in deviations["items"]}
    assert {DARK, ALWAYS_ON} <= codes
    listed = page.locator("#energy-deviation-list li")
    expect(listed).to_have_count(len(codes))
    link = page.locator(f'#energy-deviation-list li[data-code="{DARK}"] a')
    expect(link).to_have_attribute("href", f"#/c/{site.city.slug}/assets/{site.assets[DARK]}")
    link.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(DARK)
    assert page_errors(page) == []
    context.close()


def test_the_csv_link_downloads_the_month_by_the_chosen_breakdown(
    site: ConsoleSite, browser: Browser
) -> None:
    context, page = new_page(browser)
    _, before = _months()
    sign_in(page, site, "vera", f"/c/{site.city.slug}/energy")
    page.get_by_role("button", name="Previous month").click()
    expect(page.locator("#energy-month")).to_have_value(before)
    page.get_by_label("Break down by").select_option("cabinet")
    with page.expect_download() as info:
        page.locator("#energy-csv").click()
    download = info.value
    name = download.suggested_filename  # the server's: city, month's days, breakdown, period
    assert name.endswith(".csv"), name
    assert f"{before}-01" in name, name
    assert "cabinet" in name, name
    rows = list(csv.DictReader(io.StringIO(download.path().read_text(encoding="utf-8"))))
    days = len(_api(page, site, f"/energy?{_month_range(before)}&by=city&period=day")["rows"])
    assert len(rows) == 2 * days + 1  # each cabinet each day, and the total
    assert {r["key"] for r in rows} == {"CAB-1", "CAB-2", "total"}
    assert rows[-1]["key"] == "total"
    assert sum(float(r["actual_kwh"]) for r in rows[:-1]) == pytest.approx(
        float(rows[-1]["actual_kwh"]), abs=0.01 * days
    )
    assert float(rows[-1]["actual_kwh"]) > 0
    assert rows[-1]["currency"] == "MYR"
    context.close()


def test_a_city_without_tariff_or_factor_is_told_so_and_the_page_fits_a_phone(
    site: ConsoleSite, browser: Browser
) -> None:
    bare = dataclasses.replace(site.city, tariff_per_kwh=None, co2_kg_per_kwh=None)
    site.container.cities.update(bare)
    try:
        context, page = new_page(browser, PHONE_NARROW)
        sign_in(page, site, "otto", f"/c/{site.city.slug}/energy")
        notes = page.locator("[data-note]")
        expect(notes).to_have_count(2)
        expect(notes.first).to_contain_text("no tariff")
        expect(notes.last).to_contain_text("no grid CO2 factor")
        for key in ("saved_money", "saved_co2_kg"):
            expect(page.locator(f"#energy-totals [data-total='{key}'] dd")).to_have_text(NO_FIGURE)
        # Nothing wider than the phone.
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE_NARROW["width"], width
        snap(page, "energy-02-phone-no-tariff")
        assert_accessible(page)
        assert page_errors(page) == []
        context.close()
    finally:
        site.container.cities.update(site.city)


def test_no_request_leaves_the_server(site: ConsoleSite, browser: Browser) -> None:
    context, page = new_page(browser)
    hosts: set[str] = set()
    page.on("request", lambda r: hosts.add(r.url.split("/")[2]))
    sign_in(page, site, "vera", f"/c/{site.city.slug}/energy")
    expect(page.locator("#energy-chart")).to_be_visible()
    assert hosts == {site.base_url.split("/")[2]}
    context.close()
