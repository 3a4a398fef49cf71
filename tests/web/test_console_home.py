"""The console's home page (a city's figures) in a real headless Chromium, on a real server."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Browser, Page, expect

from signalight.domain.alarms import AlarmType, Severity
from tests.status_rig import heard
from tests.web.console_rig import (
    ConsoleSite,
    assert_accessible,
    new_page,
    page_errors,
    sign_in,
    snap,
)

pytestmark = pytest.mark.browser

LIVE_MS = 15_000  # the stream's poll, the page's two-second wait and the new figures


def figure(page: Page, name: str) -> str:
    return page.locator(f'[data-kpi="{name}"] .value').inner_text()


def test_home_shows_the_citys_figures_and_follows_alarms_live(
    site: ConsoleSite, browser: Browser
) -> None:
    # The ten lights with a device are heard now: 10 of the 100 lights work.
    now = time.time()
    for n in range(10):
        heard(site.container.db, site.city, f"node-{n:03d}", now)
    site.alarm("XSL-001", AlarmType.LAMP_FAILURE, Severity.MAJOR, city=site.other)
    context, page = new_page(browser)
    sign_in(page, site, "vera", f"/c/{site.city.slug}")
    expect(page.get_by_role("heading", name=site.city.name, level=1)).to_be_visible()
    expect(page.locator('[data-kpi="working_share"] .value')).to_have_text("10.0 %")
    expect(page.locator('[data-kpi="working_share"]')).to_contain_text(
        "10 of 100 lights heard and without an open alarm"
    )
    assert figure(page, "lights") == "100"
    assert figure(page, "open_alarms") == "0"  # the hidden city's alarm is not counted here
    assert figure(page, "mttr_hours") == "\u2013"  # no repair in 30 days
    assert figure(page, "work_orders_open") == "0"
    assert figure(page, "work_orders_past_due") == "0"
    expect(page.get_by_text("No open fault.")).to_be_visible()
    expect(page.locator('[data-kpi="later"]')).to_have_count(0)  # the API gives none yet
    assert_accessible(page)
    snap(page, "home-01-figures")

    # A heard light fails and a silent one too: the figures change without a reload.
    site.alarm("SL-003", AlarmType.LAMP_FAILURE, Severity.CRITICAL)
    site.alarm("SL-050", AlarmType.LAMP_FAILURE, Severity.MINOR)
    site.alarm("SL-051", AlarmType.LOW_VOLTAGE, Severity.MINOR)
    expect(page.locator('[data-kpi="working_share"] .value')).to_have_text("9.0 %", timeout=LIVE_MS)
    expect(page.locator('[data-kpi="open_alarms"] .value')).to_have_text("3")
    faults = page.get_by_role("table", name="Open faults by type")
    expect(faults.get_by_role("row")).to_have_count(3)  # the head and two types
    expect(faults.locator('tr[data-type="lampFailure"]')).to_have_text("Lamp failure2")
    expect(faults.locator('tr[data-type="lowVoltage"]')).to_have_text("Low voltage1")
    assert_accessible(page)
    snap(page, "home-02-after-alarms")

    # The board and the map are one click away.
    page.get_by_role("link", name="Alarms board").click()
    expect(page.get_by_role("heading", name="Alarms", level=1)).to_be_visible()
    page.go_back()
    page.get_by_role("link", name="Live map").click()
    expect(page).to_have_url(f"{site.base_url}/#/c/{site.city.slug}/map")
    assert page_errors(page) == []
    context.close()


def test_home_fits_a_phone(site: ConsoleSite, browser: Browser) -> None:
    context, page = new_page(browser, {"width": 390, "height": 844})
    sign_in(page, site, "otto", f"/c/{site.city.slug}")
    expect(page.locator('[data-kpi="working_share"] .value')).to_be_visible()
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390
    snap(page, "home-03-phone")
    assert page_errors(page) == []
    context.close()
