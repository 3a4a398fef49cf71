"""The asset page in headless Chromium: details, live state, charts, alarms, work orders."""

from __future__ import annotations

import time

import orjson
import pytest
from playwright.sync_api import Browser, Page, expect

from signalight.domain.alarms import AlarmType, Severity
from signalight.domain.telemetry import DeadLetter
from tests.web.console_rig import (
    PHONE,
    ConsoleSite,
    assert_accessible,
    new_page,
    page_errors,
    sign_in,
    snap,
)

pytestmark = pytest.mark.browser


HOUR = 3600
DAY = 24 * HOUR


def _send(site: ConsoleSite, uid: str, records: list[dict[str, object]]) -> None:
    """Decode and store a pack through the ingest service, as HTTP ingest does."""
    device = site.container.db.telemetry.find_device(site.city.slug, uid)
    assert device is not None
    outcome = site.container.ingest.check_from(
        device, orjson.dumps(records), time.time(), "http:/api/v1/ingest"
    )
    assert not isinstance(outcome, DeadLetter), outcome
    site.container.ingest.write([outcome], [])


@pytest.fixture(scope="module")
def fed(site: ConsoleSite) -> float:
    """node-000 (SL-000) reported twelve times in six whole hours today, and once three days ago.

    Reading i of today's, half an hour apart: power 10*i W, voltage 230+i V,
    dim 40 % (first six) then 80 %, on from the fifth. Three days ago: 200 W,
    250 V, dim 10 %, off. Returns the first hour's start.
    """
    base = (time.time() // HOUR) * HOUR - 6 * HOUR
    for i in range(12):
        t = base + i * 1800 + 60
        _send(
            site,
            "node-000",
            [
                {"bt": t, "n": "power", "v": 10.0 * i},
                {"n": "voltage", "v": 230.0 + i},
                {"n": "dim", "v": 40.0 if i < 6 else 80.0},
                {"n": "on", "vb": i >= 4},
            ],
        )
    earlier = base - 3 * DAY
    _send(
        site,
        "node-000",
        [
            {"bt": earlier, "n": "power", "v": 200.0},
            {"n": "voltage", "v": 250.0},
            {"n": "dim", "v": 10.0},
            {"n": "on", "vb": False},
        ],
    )
    return base


def _open(page: Page, site: ConsoleSite, code: str, user: str = "vera") -> None:
    sign_in(page, site, user, f"/c/{site.city.slug}/assets/{site.assets[code]}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(code)


def _legend_series(page: Page, chart: str) -> int:
    """The series uPlot drew in a chart (its legend has a row per series and one for time)."""
    return page.locator(f"#{chart} .u-legend .u-series").count() - 1


def test_the_page_shows_details_state_charts_and_captions_of_the_day_and_week(
    site: ConsoleSite, browser: Browser, fed: float
) -> None:
    context, page = new_page(browser)
    _open(page, site, "SL-000")
    details = page.locator("#asset-details")
    expect(details).to_contain_text("Streetlight")
    expect(details).to_contain_text("Jalan 1")
    expect(details).to_contain_text("collector")
    expect(details).to_contain_text("60 W")
    expect(details).to_contain_text("node-000")
    cabinet = details.get_by_role("link", name="CAB-1")
    expect(cabinet).to_have_attribute("href", f"#/c/{site.city.slug}/assets/{site.assets['CAB-1']}")
    expect(page.get_by_role("link", name="Show on the map")).to_have_attribute(
        "href", f"#/c/{site.city.slug}/map"
    )
    # The newest values, and when the device was last heard from.
    expect(page.locator("#asset-last-seen")).to_contain_text("Last seen")
    state = page.locator("#asset-state")
    expect(state.locator('tr[data-name="power"]')).to_contain_text("110 W")
    expect(state.locator('tr[data-name="voltage"]')).to_contain_text("241 V")
    expect(state.locator('tr[data-name="on"]')).to_contain_text("yes")

    # The last day, from the stored readings: one series in each chart.
    charts = page.locator("#asset-charts")
    expect(charts).to_have_attribute("data-period", "day")
    expect(charts.locator("canvas")).to_have_count(4)
    for chart in ("chart-power", "chart-voltage", "chart-dim", "chart-on"):
        assert _legend_series(page, chart) == 1, chart
    captions = {
        "chart-power": "lowest 0 W, mean 55 W, highest 110 W, from 12 readings",
        "chart-voltage": "lowest 230 V, mean 235.5 V, highest 241 V, from 12 readings",
        "chart-dim": "lowest 40 %, mean 60 %, highest 80 %, from 12 readings",
        "chart-on": "on in 8 of 12 reports (66.7 %), last reported on",
    }
    for chart, words in captions.items():
        expect(page.locator(f"#{chart} figcaption")).to_contain_text(words)
    expect(page.get_by_role("figure", name="Power")).to_be_visible()
    snap(page, "asset-01-day")
    assert_accessible(page)

    # The last week, from the hourly rollups: mean, lowest and highest of each hour.
    page.get_by_role("button", name="Last week").click()
    expect(charts).to_have_attribute("data-period", "week")
    expect(page.get_by_role("button", name="Last week")).to_have_attribute("aria-pressed", "true")
    expect(charts.locator("canvas")).to_have_count(4)
    assert _legend_series(page, "chart-power") == 3
    assert _legend_series(page, "chart-voltage") == 3
    assert _legend_series(page, "chart-dim") == 1
    assert _legend_series(page, "chart-on") == 1
    # Hourly means of power: 5, 25, ... 105 W today and 200 W three days ago.
    expect(page.locator("#chart-power figcaption")).to_contain_text(
        "lowest 0 W, mean of the hourly means 75.7 W, highest 200 W, over 7 hours with readings"
    )
    expect(page.locator("#chart-voltage figcaption")).to_contain_text(
        "lowest 230 V, mean of the hourly means 237.6 V, highest 250 V, over 7 hours"
    )
    expect(page.locator("#chart-dim figcaption")).to_contain_text(
        "lowest 10 %, mean 56.2 %, highest 80 %, from 13 readings"
    )
    expect(page.locator("#chart-on figcaption")).to_contain_text(
        "on for 4 h of the 7 hours with reports (57.1 %)"
    )
    snap(page, "asset-02-week")
    assert_accessible(page)
    assert page_errors(page) == []
    context.close()


def test_alarms_with_their_history_work_orders_and_live_refresh(
    site: ConsoleSite, browser: Browser, fed: float
) -> None:
    old = site.alarm("SL-001", AlarmType.LAMP_FAILURE, Severity.MAJOR)
    site.clear(old)
    site.alarm("SL-001", AlarmType.HIGH_POWER, Severity.MINOR, at=1_700_001_000.0)
    context, page = new_page(browser)
    _open(page, site, "SL-001", user="otto")
    rows = page.locator("#asset-alarms tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("highPower")
    expect(rows.nth(0)).to_contain_text("raised")
    expect(rows.nth(1)).to_contain_text("lampFailure")
    expect(rows.nth(1)).to_contain_text("cleared")
    expect(page.locator("#asset-orders")).to_have_text("None.")
    # SL-001 has a device that never reported.
    expect(page.locator("#asset-last-seen")).to_have_text("Never heard from.")

    # The cleared alarm's history: raised by the detector, then cleared.
    history = page.locator(f"#history-{old.id}")
    rows.nth(1).get_by_role("button", name="History").click()
    expect(history.locator("li")).to_have_count(2)
    expect(history.locator("li").nth(0)).to_contain_text("raised by the detector")
    expect(history.locator("li").nth(1)).to_contain_text("cleared")
    expect(rows.nth(1).get_by_role("button", name="History")).to_have_attribute(
        "aria-expanded", "true"
    )
    snap(page, "asset-03-alarms")
    assert_accessible(page)

    # A work order on the asset is listed with a link to it.
    csrf = page.request.get(f"{site.base_url}/api/v1/auth/session").json()["csrf_token"]
    made = page.request.post(
        f"{site.base_url}/api/v1/cities/{site.city.slug}/work-orders",
        data={"asset": site.assets["SL-001"], "title": "Check the node", "priority": "minor"},
        headers={"X-CSRF-Token": csrf},
    )
    assert made.status == 201, made.text()
    order = made.json()["id"]
    # The alarm stream starts from the moment it answers: wait for its headers.
    with page.expect_response(lambda r: "/alarms/stream" in r.url):
        page.reload()
    link = page.locator("#asset-orders").get_by_role("link", name=f"#{order} Check the node")
    expect(link).to_have_attribute("href", f"#/c/{site.city.slug}/work-orders/{order}")

    # An alarm event of this asset reads the live state and the alarms again.
    _send(site, "node-001", [{"bt": time.time() - 5, "n": "power", "v": 61.5}])
    site.alarm("SL-001", AlarmType.NODE_FAULT, Severity.WARNING, at=time.time())
    # The stream is read from the store every few seconds.
    expect(page.locator("#asset-alarms tbody tr").first).to_contain_text(
        "nodeFault", timeout=15_000
    )
    expect(page.locator('#asset-state tr[data-name="power"]')).to_contain_text("61.5 W")
    expect(page.locator("#asset-last-seen")).to_contain_text("s ago")
    assert page_errors(page) == []
    context.close()


def test_another_citys_asset_is_not_found_and_a_light_without_device_has_no_charts(
    site: ConsoleSite, browser: Browser
) -> None:
    context, page = new_page(browser)
    sign_in(page, site, "vera", f"/c/{site.city.slug}/assets/{site.other_assets['XSL-000']}")
    expect(page.get_by_role("heading", name="No such asset")).to_be_visible()
    expect(page.locator("#asset-missing")).to_contain_text("Not found")
    expect(page.locator("#asset-details")).to_have_count(0)
    snap(page, "asset-04-other-city")

    page.goto(f"{site.base_url}/#/c/{site.city.slug}/assets/{site.assets['SL-050']}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("SL-050")
    expect(page.locator("#asset-state")).to_contain_text("No device is bound")
    expect(page.locator("#asset-alarms")).to_have_text("No alarms on this asset.")
    expect(page.locator("#asset-charts")).to_have_count(0)
    assert page_errors(page) == []
    context.close()


def test_on_a_phone_the_page_does_not_scroll_sideways(
    site: ConsoleSite, browser: Browser, fed: float
) -> None:
    context, page = new_page(browser, PHONE)
    _open(page, site, "SL-000")
    expect(page.locator("#asset-charts canvas")).to_have_count(4)
    page.get_by_role("button", name="Last week").click()
    expect(page.locator("#asset-charts")).to_have_attribute("data-period", "week")
    expect(page.locator("#asset-charts canvas")).to_have_count(4)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    canvas = page.locator("#chart-power canvas").bounding_box()
    assert canvas is not None
    assert canvas["x"] + canvas["width"] <= PHONE["width"]
    snap(page, "asset-05-phone")
    assert page_errors(page) == []
    context.close()
