"""The console's sign-in and live map in a real headless Chromium, on a real server."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from signalight.domain.alarms import AlarmType, Severity
from tests.web.console_rig import (
    PASSWORD,
    ConsoleSite,
    assert_accessible,
    new_page,
    page_errors,
    sign_in,
    snap,
)

pytestmark = pytest.mark.browser


def _count(page: Page, status: str) -> int:
    item = page.locator(".legend li").filter(has=page.locator(f'input[data-status="{status}"]'))
    return int(item.locator(".count").get_attribute("data-count") or "0")


def _open_map(page: Page, site: ConsoleSite, user: str = "vera") -> None:
    sign_in(page, site, user, f"/c/{site.city.slug}/map")
    expect(page.locator("#mapbox")).to_have_attribute("data-ready", "true")


def _worst_cluster_rank(page: Page) -> Any:
    """The highest `worst` among the clusters drawn now (None if no cluster is drawn)."""
    return page.evaluate(
        """() => {
            const map = window.signalightMap;
            const drawn = map.queryRenderedFeatures({layers: ["clusters"]});
            const ranks = drawn.map((f) => f.properties.worst);
            return ranks.length ? Math.max(...ranks) : null;
        }"""
    )


def test_a_wrong_password_is_refused_and_a_right_one_opens_the_city(
    site: ConsoleSite, browser: Browser
) -> None:
    context, page = new_page(browser)
    page.goto(f"{site.base_url}/")
    expect(page.get_by_role("heading", name="Sign in to Signalight")).to_be_visible()
    assert_accessible(page)
    snap(page, "01-sign-in")
    page.get_by_label("Username").fill("vera")
    page.get_by_label("Password").fill("not the password at all")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#who")).to_have_text("vera")
    # Only the cities the user holds a role in are offered.
    options = page.locator("#city-switch option").all_text_contents()
    assert options == [site.city.name]
    cookie = next(c for c in context.cookies() if c["name"] == "signalight_session")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"
    assert page.evaluate("() => document.cookie") == ""  # the session is out of the page's reach
    assert page_errors(page) == []
    context.close()


def test_another_city_is_not_there_and_signing_out_ends_the_session(
    site: ConsoleSite, browser: Browser
) -> None:
    context, page = new_page(browser)
    sign_in(page, site, "vera")
    page.goto(f"{site.base_url}/#/c/{site.other.slug}/map")
    expect(page.get_by_role("heading", name="No such city")).to_be_visible()
    answer = page.request.get(f"{site.base_url}/api/v1/cities/{site.other.slug}/map")
    assert answer.status == 403
    page.locator("#signout").click()
    expect(page.get_by_role("heading", name="Sign in to Signalight")).to_be_visible()
    assert page.request.get(f"{site.base_url}/api/v1/auth/session").status == 401
    context.close()


def test_the_map_shows_statuses_clusters_by_the_worst_and_follows_alarms_live(
    site: ConsoleSite, browser: Browser
) -> None:
    site.alarm("SL-001", AlarmType.LAMP_FAILURE, Severity.CRITICAL)
    site.alarm("SL-002", AlarmType.LOW_VOLTAGE, Severity.MINOR)
    site.alarm("XSL-001", AlarmType.LAMP_FAILURE, Severity.MAJOR, city=site.other)
    context, page = new_page(browser)
    _open_map(page, site)
    assert _count(page, "critical") == 1
    assert _count(page, "minor") == 1
    assert _count(page, "major") == 0  # the hidden city's alarm is not here
    shown = sum(_count(page, s) for s in ("critical", "minor", "silent", "working", "unknown"))
    shown += _count(page, "off_by_schedule")
    assert shown == len(site.assets)
    snap(page, "02-map")

    # Zoomed out, every asset is in one cluster, coloured as its worst: critical (rank 8).
    page.evaluate("() => window.signalightMap.jumpTo({zoom: 12})")
    page.wait_for_function(
        "() => window.signalightMap.queryRenderedFeatures({layers: ['clusters']}).length > 0"
    )
    assert _worst_cluster_rank(page) == 8
    # Each cluster says how many it holds: here one cluster of them all.
    expect(page.locator(".cluster-count")).to_have_text([str(len(site.assets))])

    # A major alarm raised now recolours its light without a reload.
    site.alarm("SL-050", AlarmType.HIGH_POWER, Severity.MAJOR)
    expect(
        page.locator(".legend li")
        .filter(has=page.locator('input[data-status="major"]'))
        .locator(".count")
    ).to_have_attribute("data-count", "1", timeout=15_000)

    # Hiding a status leaves its assets out of the map.
    before = int(page.locator("#mapbox").get_attribute("data-shown") or "0")
    page.locator('input[data-status="critical"]').uncheck()
    expect(page.locator("#mapbox")).to_have_attribute("data-shown", str(before - 1))
    page.locator('input[data-status="critical"]').check()

    # Filter by alarm type: only the light with a low-voltage alarm is left.
    page.get_by_label("Alarm type").select_option("lowVoltage")
    expect(page.locator("#mapbox")).to_have_attribute("data-shown", "1")
    page.get_by_label("Alarm type").select_option("")

    # Search by pole code flies there and opens the light's card.
    page.get_by_label("Find by code").fill("SL-001")
    page.get_by_label("Find by code").press("Enter")
    popup = page.locator(".maplibregl-popup")
    expect(popup).to_contain_text("SL-001")
    expect(popup).to_contain_text("Alarm: critical")
    snap(page, "03-map-search")
    popup.get_by_role("link", name="Open the asset page").click()
    expect(page).to_have_url(f"{site.base_url}/#/c/{site.city.slug}/assets/{site.assets['SL-001']}")
    page.go_back()
    expect(page.locator("#mapbox")).to_have_attribute("data-ready", "true")
    assert_accessible(page, exclude=(".maplibregl-canvas-container",))
    assert page_errors(page) == []
    context.close()


def test_the_map_fits_a_phone(site: ConsoleSite, browser: Browser) -> None:
    context, page = new_page(browser, {"width": 390, "height": 844})
    _open_map(page, site)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390
    snap(page, "04-map-phone")
    context.close()
